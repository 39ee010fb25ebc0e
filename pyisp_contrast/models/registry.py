"""One registry of models: networks that weight files name, and compositions the Trainer trains.

In the manner of torchvision's ``register_model`` / ``get_model`` / ``list_models``: each model
registers itself explicitly where it is defined (``@register_model("guided-gain", ...)`` on the
class), with its task and whether it is trainable (has ``training_step``). Weight files record the
class name of their network (``architecture``); :func:`~pyisp_contrast.models.load_pretrained` looks
it up here, and the Trainer's ``model = "..."`` names a trainable entry.

Example:
    >>> from pyisp_contrast.models import list_models
    >>> "guided-gain" in list_models(task="lowlight") and "pie-physics" in list_models(trainable=True)
    True
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from torch import nn

__all__ = [
    "TASKS",
    "ModelInfo",
    "get_model",
    "get_model_info",
    "list_models",
    "register_model",
]

#: Tasks a model may serve; ``"any"`` for models of your own that serve none in particular.
TASKS = ("lowlight", "dehaze", "derain", "any")


@dataclass(frozen=True)
class ModelInfo:
    """What the registry knows of one model.

    Attributes:
        name: registry name (``get_model(name)``; a config's ``model = name``).
        builder: the class or function that builds it from keyword arguments.
        task: one of :data:`TASKS`.
        trainable: it has ``training_step`` (the Trainer can train it).
        summary: one line on what it is.
        architecture: the name weight files store for it (the class name), or ``None`` for
            builders that are not classes.
    """

    name: str
    builder: Callable[..., nn.Module]
    task: str
    trainable: bool
    summary: str
    architecture: str | None


_MODELS: dict[str, ModelInfo] = {}


def register_model(
    name: str,
    builder: Callable[..., nn.Module] | None = None,
    *,
    task: str = "any",
    trainable: bool | None = None,
    summary: str | None = None,
    overwrite: bool = False,
):
    """Register ``builder`` under ``name``; usable as a decorator (``@register_model("mine")``).

    Args:
        name: registry name, a non-empty string.
        builder: a class or function returning an ``nn.Module``.
        task: one of :data:`TASKS`.
        trainable: whether the Trainer can train it; default: the builder is a class with a
            ``training_step`` method (a function builder counts as trainable).
        summary: one line; default the first line of the builder's docstring.
        overwrite: replace an existing entry of that name instead of refusing.

    Example:
        >>> @register_model("identity-example", task="any", overwrite=True)
        ... def _make(**kw):
        ...     return torch.nn.Identity()
        >>> type(get_model("identity-example")).__name__
        'Identity'
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"`name` must be a non-empty string, got {name!r}.")
    if task not in TASKS:
        raise ValueError(f"`task` must be one of {TASKS}, got {task!r}.")

    def add(f: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if not callable(f):
            raise TypeError(f"builder for {name!r} must be callable, got {type(f).__name__}.")
        if name in _MODELS and not overwrite and _MODELS[name].builder is not f:
            raise ValueError(
                f"a model named {name!r} is already registered; pass overwrite=True to replace it."
            )
        is_class = isinstance(f, type)
        can_train = (not is_class) or callable(getattr(f, "training_step", None))
        doc = (f.__doc__ or "").strip().splitlines()
        _MODELS[name] = ModelInfo(
            name=name,
            builder=f,
            task=task,
            trainable=can_train if trainable is None else bool(trainable),
            summary=summary if summary is not None else (doc[0] if doc else ""),
            architecture=f.__name__ if is_class else None,
        )
        return f

    return add if builder is None else add(builder)


def get_model_info(name: str) -> ModelInfo:
    """The :class:`ModelInfo` registered as ``name`` (``KeyError`` listing the names otherwise)."""
    try:
        return _MODELS[name]
    except KeyError:
        raise KeyError(
            f"unknown model {name!r}; registered models: {', '.join(sorted(_MODELS))}."
        ) from None


def get_model(name: str, **kwargs) -> nn.Module:
    """Build the model registered as ``name`` with ``kwargs``."""
    return get_model_info(name).builder(**kwargs)


def list_models(*, task: str | None = None, trainable: bool | None = None) -> list[str]:
    """Sorted registry names, optionally only those of one ``task`` or trainability."""
    return sorted(
        n
        for n, info in _MODELS.items()
        if (task is None or info.task == task)
        and (trainable is None or info.trainable == trainable)
    )


class _Architectures(Mapping):
    """Read-only view ``architecture name -> class`` of the registry, for weight files."""

    def _table(self) -> dict[str, Callable[..., nn.Module]]:
        return {i.architecture: i.builder for i in _MODELS.values() if i.architecture is not None}

    def __getitem__(self, key: str) -> Callable[..., nn.Module]:
        return self._table()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())

    def __repr__(self) -> str:
        return f"Architectures({sorted(self._table())})"


class _Trainables(Mapping):
    """Read-only view ``name -> builder`` of the trainable entries (the Trainer's names)."""

    def __getitem__(self, key: str) -> Callable[..., nn.Module]:
        info = _MODELS[key]
        if not info.trainable:
            raise KeyError(key)
        return info.builder

    def __iter__(self) -> Iterator[str]:
        return iter(list_models(trainable=True))

    def __len__(self) -> int:
        return len(list_models(trainable=True))


#: ``architecture -> class``, as weight files name them (a live view of the registry).
ARCHITECTURE_VIEW: Mapping[str, Callable[..., nn.Module]] = _Architectures()
#: ``name -> builder`` of the trainable models (a live view of the registry).
TRAINABLE_VIEW: Mapping[str, Callable[..., nn.Module]] = _Trainables()
