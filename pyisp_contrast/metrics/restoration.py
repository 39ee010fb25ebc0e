"""Deprecated: the restoration harness moved to :mod:`pyisp_contrast.evaluation`.

``from pyisp_contrast.metrics.restoration import synthetic_pairs`` (and the other three names)
still works in this release, with a ``DeprecationWarning``; this module goes away in the next
one. Import them from :mod:`pyisp_contrast.evaluation`.
"""

from __future__ import annotations

import warnings
from typing import Any

__all__: list[str] = []  # nothing public is defined here any more

#: The names that moved to :mod:`pyisp_contrast.evaluation` (``pyisp_contrast.metrics`` forwards
#: them too, with :func:`moved`).
MOVED = frozenset(
    {"RESTORATION_TASKS", "classical_baseline", "evaluate_restoration", "synthetic_pairs"}
)


def moved(module: str, name: str) -> Any:
    """``pyisp_contrast.evaluation.<name>``, after a ``DeprecationWarning`` naming the old path."""
    warnings.warn(
        f"{module}.{name} moved to pyisp_contrast.evaluation.{name}; import it from there "
        f"(the old name goes away in the next release).",
        DeprecationWarning,
        stacklevel=3,
    )
    # metrics sits below evaluation: this deprecated alias is the one upward import, listed in
    # tests/test_import_graph.py's ALLOWED
    from pyisp_contrast import evaluation

    return getattr(evaluation, name)


def __getattr__(name: str) -> Any:
    if name in MOVED:
        return moved(__name__, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
