"""A small registry of trainable models, so a config file can name the model it trains.

``"pie"`` builds :class:`pyisp_contrast.models.pie.PIE`; other compositions (dehazing, deraining, your
own) register a factory with :func:`register_model` and are then trainable with
``pyisp-contrast train`` by setting ``model = "<name>"`` in the config.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from torch import nn

__all__ = ["MODEL_FACTORIES", "build_model", "register_model"]

#: name -> factory ``f(**model_kwargs) -> nn.Module`` (with ``training_step``).
MODEL_FACTORIES: dict[str, Callable[..., nn.Module]] = {}


def register_model(
    name: str, factory: Callable[..., nn.Module] | None = None, *, overwrite: bool = False
):
    """Register ``factory`` under ``name``; usable as a decorator (``@register_model("mine")``).

    Example:
        >>> @register_model("identity-example", overwrite=True)
        ... def _make(**kw):
        ...     return torch.nn.Identity()
        >>> type(build_model("identity-example")).__name__
        'Identity'
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"`name` must be a non-empty string, got {name!r}.")

    def add(f: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if not callable(f):
            raise TypeError(f"factory for {name!r} must be callable, got {type(f).__name__}.")
        if name in MODEL_FACTORIES and not overwrite:
            raise ValueError(
                f"a model named {name!r} is already registered; pass overwrite=True to replace it."
            )
        MODEL_FACTORIES[name] = f
        return f

    return add if factory is None else add(factory)


def _lazy(module: str, attr: str) -> Callable[..., nn.Module]:
    def factory(**kwargs) -> nn.Module:
        return getattr(importlib.import_module(module), attr)(**kwargs)

    factory.__doc__ = f"Build ``{module}.{attr}(**kwargs)``."
    return factory


register_model("pie", _lazy("pyisp_contrast.models.pie", "PIE"))
register_model("pie-physics", _lazy("pyisp_contrast.models.pie_physics", "PhysicsPIE"))
register_model("dehaze", _lazy("pyisp_contrast.models.dehaze", "Dehazer"))
register_model("derain", _lazy("pyisp_contrast.models.derain", "Derainer"))


def build_model(name: str, **kwargs) -> nn.Module:
    """Build the model registered as ``name`` with ``kwargs``.

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
