"""Reducers: turn a loss's per-element values into what the caller asked for.

The one reduction system of the package: every loss of :mod:`pyisp_contrast.contrastive` and of
:mod:`pyisp_contrast.losses` takes ``reducer=``, a name (:class:`Reduction`: ``"mean"``,
``"sum"`` or ``"none"``) or any :class:`Reducer` object, e.g. a subclass that weights elements.
The losses reduce per image (or per anchor) first, then hand the ``(B,)`` values to the reducer.
"""

from __future__ import annotations

import enum
import warnings
from typing import Any

from torch import Tensor, nn

__all__ = ["MeanReducer", "NoReducer", "Reducer", "Reduction", "SumReducer", "get_reducer"]


class Reduction(enum.StrEnum):
    """Names of the built-in reductions."""

    MEAN = "mean"
    SUM = "sum"
    NONE = "none"


class Reducer(nn.Module):
    """Base class: ``forward(losses)`` maps per-element losses ``(B,)`` to the returned value."""

    def forward(self, losses: Tensor) -> Tensor:
        raise NotImplementedError


class MeanReducer(Reducer):
    """Average over elements.

    Example:
        >>> MeanReducer()(torch.tensor([1.0, 3.0]))
        tensor(2.)
    """

    def forward(self, losses: Tensor) -> Tensor:
        return losses.mean()


class SumReducer(Reducer):
    """Sum over elements.

    Example:
        >>> SumReducer()(torch.tensor([1.0, 3.0]))
        tensor(4.)
    """

    def forward(self, losses: Tensor) -> Tensor:
        return losses.sum()


class NoReducer(Reducer):
    """Return the per-element losses unchanged.

    Example:
        >>> NoReducer()(torch.tensor([1.0, 3.0]))
        tensor([1., 3.])
    """

    def forward(self, losses: Tensor) -> Tensor:
        return losses


_BY_NAME = {Reduction.MEAN: MeanReducer, Reduction.SUM: SumReducer, Reduction.NONE: NoReducer}


def get_reducer(reducer: Reduction | str | Reducer) -> Reducer:
    """A :class:`Reducer` from a name (``"mean" | "sum" | "none"``, or :class:`Reduction`) or an instance.

    Example:
        >>> get_reducer("sum")
        SumReducer()
    """
    if isinstance(reducer, Reducer):
        return reducer
    if isinstance(reducer, str):
        try:
            return _BY_NAME[Reduction(reducer)]()
        except ValueError:
            pass
    raise ValueError(
        f"`reducer` must be one of {[r.value for r in Reduction]} or a Reducer instance, got {reducer!r}."
    )


def _reducer_name(reducer: Reducer) -> Reduction | Reducer:
    """The :class:`Reduction` a built-in reducer stands for; any other reducer itself."""
    for name, cls in _BY_NAME.items():
        if type(reducer) is cls:
            return name
    return reducer


def resolve_reducer(
    reducer: Reduction | str | Reducer, reduction: Reduction | str | Reducer | None, owner: str
) -> Reducer:
    """The :class:`Reducer` of a loss given ``reducer=`` and the deprecated ``reduction=``.

    ``reduction`` (``None`` when not given) is the losses' old name of ``reducer``: it still
    works, with a ``DeprecationWarning``; giving both is an error.
    """
    if reduction is None:
        return get_reducer(reducer)
    warnings.warn(
        f"{owner}: `reduction=` is deprecated and will be removed in the next release; "
        "use `reducer=` (the same names, or a Reducer).",
        DeprecationWarning,
        stacklevel=3,
    )
    if not (isinstance(reducer, str) and reducer == Reduction.MEAN):
        raise TypeError(f"{owner}: give `reducer` only (`reduction` is its deprecated name).")
    try:
        return get_reducer(reduction)
    except ValueError:
        raise ValueError(
            f"`reduction` must be one of {[r.value for r in Reduction]} or a Reducer instance, "
            f"got {reduction!r}."
        ) from None


class ReductionAlias:
    """``module.reduction``: the deprecated name of a loss module's ``reducer`` attribute.

    Reading gives the reducer's name (or the reducer, if it is not a built-in one); assigning
    sets the reducer. Both warn.
    """

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        warnings.warn(
            f"{type(obj).__name__}.reduction is deprecated; use `.reducer` (a Reducer).",
            DeprecationWarning,
            stacklevel=2,
        )
        return _reducer_name(obj.reducer)

    def __set__(self, obj: Any, value: Reduction | str | Reducer) -> None:
        warnings.warn(
            f"{type(obj).__name__}.reduction is deprecated; set `.reducer` instead.",
            DeprecationWarning,
            stacklevel=2,
        )
        obj.reducer = get_reducer(value)
