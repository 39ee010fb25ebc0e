"""The names a training config may give as ``model``: the trainable entries of the model registry.

There is one registry (:mod:`pyisp_contrast.models.registry`); this module is the Trainer's view of
it. ``"pie"``, ``"pie-physics"``, ``"dehaze"`` and ``"derain"`` are registered by
:mod:`pyisp_contrast.models`; compositions of your own register with :func:`register_model` (here or
in :mod:`pyisp_contrast.models`) and are then trainable with ``pyisp-contrast train`` by setting
``model = "<name>"`` in the config. An import path ``"package.module:Factory"`` works without
registering.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from torch import nn

from pyisp_contrast.models import registry as _registry

__all__ = ["MODEL_FACTORIES", "build_model", "register_model"]

#: name -> builder of the trainable models: a read-only, live view of the model registry.
MODEL_FACTORIES = _registry.TRAINABLE_VIEW


def register_model(
    name: str, factory: Callable[..., nn.Module] | None = None, *, overwrite: bool = False
):
    """Register a trainable ``factory`` under ``name``; usable as a decorator.

    The same registry as :func:`pyisp_contrast.models.register_model` (with ``trainable=True``).

    Example:
        >>> @register_model("identity-example-train", overwrite=True)
        ... def _make(**kw):
        ...     return torch.nn.Identity()
        >>> type(build_model("identity-example-train")).__name__
        'Identity'
    """
    return _registry.register_model(name, factory, trainable=True, overwrite=overwrite)


def build_model(name: str, **kwargs) -> nn.Module:
    """Build the trainable model registered as ``name`` with ``kwargs``.

    ``name`` may also be an import path ``"package.module:Factory"`` (a class or function), so a
    config file can train a model of your own without registering it first.

    Example:
        >>> type(build_model("torch.nn:Identity")).__name__
        'Identity'
    """
    if name not in MODEL_FACTORIES and ":" in name:
        module, _, attr = name.partition(":")
        try:
            factory = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"cannot import model factory {name!r}: {exc}") from exc
        return factory(**kwargs)
    if name not in MODEL_FACTORIES:
        raise ValueError(
            f"unknown model {name!r}; registered models: {', '.join(sorted(MODEL_FACTORIES))}. "
            "Register others with pyisp_contrast.train.register_model."
        )
    return MODEL_FACTORIES[name](**kwargs)
