"""Evaluation harnesses: what a model is scored on and against, built from the lower layers.

A harness fixes the data (which held-out images, how they are degraded, with which seeds), the
classical baselines and the scores, so the benchmarks, the ``pyisp-contrast evaluate`` command and
a user's script all score the same thing. The scores themselves live in
:mod:`pyisp_contrast.metrics`; the held-out split is the training split's
(:func:`pyisp_contrast.train.split_paths`), which is why this package sits above
:mod:`pyisp_contrast.train`.

- Dehazing and deraining on held-out synthetic pairs: :func:`synthetic_pairs`,
  :func:`evaluate_restoration`, :func:`classical_baseline`, :data:`RESTORATION_TASKS`.
"""

from pyisp_contrast.evaluation.restoration import (
    RESTORATION_TASKS,
    classical_baseline,
    evaluate_restoration,
    synthetic_pairs,
)

__all__ = ["RESTORATION_TASKS", "classical_baseline", "evaluate_restoration", "synthetic_pairs"]
