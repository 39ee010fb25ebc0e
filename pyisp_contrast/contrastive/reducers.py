"""Reducers: turn a loss's per-element values into what the caller asked for.

The reduction is named by :class:`Reduction` (a string enum, so ``"mean"`` works too) or given as
any :class:`Reducer` object, e.g. a subclass that weights elements.
"""

from __future__ import annotations

import enum

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
