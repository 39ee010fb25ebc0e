"""Lightness order: monotone fits that keep brighter regions brighter.

An enhancer that lifts each region by its own gain can lift a dark region past a lit one, which
the lightness-order error (:func:`~pyisp_contrast.metrics.lightness_order_error`) counts. Making the
output light a non-decreasing function of the input light keeps the order by construction:

- :func:`isotonic_fit` is the least-squares non-decreasing fit of ``y`` against ``x`` on a grid of
  bins (isotonic regression, in batched tensor operations, differentiable, and exportable to ONNX
  since it has no data-dependent loop);
- :func:`order_preserving_gain` projects a map of :func:`~pyisp_contrast.isp.curves.rational_gain`
  gains so the light it gives rises with the input light.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from pyisp_contrast.core.checks import check_float, check_int

__all__ = ["isotonic_fit", "order_preserving_gain"]


def _check_pair(x: Tensor, y: Tensor) -> None:
    if not isinstance(x, Tensor) or not isinstance(y, Tensor):
        raise TypeError("`x` and `y` must be tensors.")
    if x.ndim != 2 or x.shape != y.shape or x.shape[1] == 0:
        raise ValueError(
            f"`x` and `y` must both be (B, N) with N >= 1, got {tuple(x.shape)} and "
            f"{tuple(y.shape)}; flatten maps with .flatten(1)."
        )
    if not x.is_floating_point() or x.dtype != y.dtype:
        raise TypeError(f"`x` and `y` must share a float dtype, got {x.dtype} and {y.dtype}.")


def _bin_position(x: Tensor, bins: int, low: float, high: float) -> tuple[Tensor, Tensor]:
    """Lower bin index and fraction towards the next: each sample is split between its two nearest
    bin centres (tent weights ``1 - frac`` and ``frac``)."""
    u = ((x - low) * ((bins - 1) / (high - low))).clamp(0.0, bins - 1)
    lower = u.detach().floor().clamp(max=bins - 2)
    return lower.long(), u - lower


def _to_bins(values: Tensor, lower: Tensor, frac: Tensor, bins: int) -> Tensor:
    """Sum ``values`` ``(B, N)`` into ``bins`` bins with the tent weights."""
    out = values.new_zeros(values.shape[0], bins)
    out = out.scatter_add(1, lower, values * (1.0 - frac))
    return out.scatter_add(1, lower + 1, values * frac)


def _isotonic_bins(w: Tensor, s: Tensor) -> Tensor:
    """Isotonic regression of the bin means ``s / w`` with weights ``w`` (both ``(B, K)``).

    The min-max formula ``f_i = max_{j <= i} min_{k >= i} mean(j..k)`` over the bins that hold
    weight (Barlow et al. 1972), with every range mean from two cumulative sums; bins without
    weight take the value of their neighbours (the nearest one at either end).
    """
    k = w.shape[1]
    # A finite stand-in for infinity (the graph stays free of inf and isfinite; TorchScript reads
    # no float globals, hence a local).
    inf = 1e30
    zero = torch.zeros_like(w[:, :1])
    cw = torch.cat([zero, w.cumsum(1)], 1)
    cs = torch.cat([zero, s.cumsum(1)], 1)
    idx = torch.arange(k, device=w.device)
    held = w > 1e-6 * w.sum(1, keepdim=True) / k  # (B, K)
    # mean[b, j, k] of bins j..k, defined for j <= k where both ends hold weight.
    total = (cw[:, None, 1:] - cw[:, :-1, None]).clamp_min(1e-30)
    mean = (cs[:, None, 1:] - cs[:, :-1, None]) / total
    ends = (idx[:, None] <= idx[None, :]) & held[:, :, None] & held[:, None, :]
    big = torch.full_like(mean, inf)
    mean = torch.where(ends, mean, big)
    # inner[b, j, i] = min over k >= i of mean[b, j, k]
    later = idx[None, :] >= idx[:, None]  # [i, k]
    inner = torch.where(later, mean[:, :, None, :], big[:, :, None, :]).amin(-1)
    # f[b, i] = max over held j <= i of inner[b, j, i]
    earlier = (idx[:, None] <= idx[None, :])[None] & held[:, :, None]  # [b, j, i]
    f = torch.where(earlier, inner, -big[:, :, :1].expand_as(inner)).amax(1)
    # No held bin at or above i gives +BIG, none at or below gives -BIG: take the nearest value.
    inside = f.abs() < 0.5 * inf
    top = torch.where(inside, f, torch.full_like(f, -inf)).amax(1, keepdim=True)
    bottom = torch.where(inside, f, torch.full_like(f, inf)).amin(1, keepdim=True)
    return torch.where(f > 0.5 * inf, top, torch.where(f < -0.5 * inf, bottom, f))


def isotonic_fit(
    x: Tensor, y: Tensor, *, bins: int = 64, low: float = 0.0, high: float = 1.0
) -> Tensor:
    """Non-decreasing least-squares fit of ``y`` against ``x``, per batch element, on ``bins`` bins.

    Each sample is split between the two bin centres nearest to its ``x`` (tent weights on
    ``bins`` centres spread evenly over ``[low, high]``; ``x`` outside is clamped), the bins' weighted
    means are fitted by isotonic regression, and each sample reads the fit back with the same
    weights. So the result is a non-decreasing, piecewise-linear function of ``x``, within
    ``[min y, max y]``; a ``y`` that already rises with ``x`` changes only by the binning. It is
    differentiable almost everywhere (a fixed-size graph of sums, minima and maxima), on any
    device, in the dtype of its inputs. Memory is about ``B (4 N + 2 bins^3)`` values.

    Args:
        x: ``(B, N)`` positions (e.g. log input light per region).
        y: ``(B, N)`` values to fit, same dtype.
        bins: bin centres (``>= 2``); more follow ``y`` more closely.
        low, high: the range of ``x`` that the bins cover (``low < high``).

    Returns:
        ``(B, N)``: the fitted ``y``.

    Example:
        >>> x = torch.tensor([[0.1, 0.4, 0.5, 0.9]])
        >>> y = torch.tensor([[1.0, 3.0, 2.0, 4.0]])
        >>> fit = isotonic_fit(x, y, bins=11)
        >>> fit
        tensor([[1.0000, 2.5000, 2.5000, 4.0000]])
        >>> bool((fit.diff() >= 0).all())
        True
    """
    _check_pair(x, y)
    check_int(bins, "bins", 2)
    low = check_float(low, "low")
    high = check_float(high, "high")
    if not high > low:
        raise ValueError(f"`high` must be greater than `low`, got low={low}, high={high}.")
    return _isotonic_fit(x, y, bins, low, high)


def _isotonic_fit(x: Tensor, y: Tensor, bins: int, low: float, high: float) -> Tensor:
    """:func:`isotonic_fit` without checks (TorchScript compiles it; :mod:`pyisp_contrast.export`)."""
    lower, frac = _bin_position(x, bins, low, high)
    f = _isotonic_bins(
        _to_bins(torch.ones_like(y), lower, frac, bins), _to_bins(y, lower, frac, bins)
    )
    return torch.lerp(f.gather(1, lower), f.gather(1, lower + 1), frac)


def order_preserving_gain(
    light: Tensor, gain: Tensor, *, bins: int = 64, floor: float = 1e-4
) -> Tensor:
    """Project rational-gain maps so their output light rises with the input light.

    A region of linear light ``v`` lifted by :func:`~pyisp_contrast.isp.curves.rational_gain` with
    gain ``g`` reaches ``t = g v / (1 + (g - 1) v)``. Over all regions of one image, ``log t`` is
    refitted as a non-decreasing function of ``log v`` (:func:`isotonic_fit`), and the gain that
    reaches the fitted ``t`` is returned: ``t (1 - v) / (v (1 - t))``. Regions keep their light
    order (a darker region never ends brighter than a lighter one); a map whose output already
    rises with ``v`` changes only by the binning.

    Args:
        light: ``(B, 1, h, w)`` linear light per region in [0, 1] (e.g. ``max(R, G, B)`` of block
            means, in linear light); clamped to ``[floor, 1 - floor]``.
        gain: ``(B, 1, h, w)`` gains ``> 0``, same size and dtype.
        bins: bins of ``log v`` between ``log floor`` and 0.
        floor: smallest light (``0 < floor < 0.5``).

    Returns:
        ``(B, 1, h, w)`` gains.

    Example:
        >>> light = torch.tensor([[[[0.01, 0.02, 0.04]]]])
        >>> gain = torch.tensor([[[[8.0, 1.0, 2.0]]]])  # the darkest region lifted past the others
        >>> out = order_preserving_gain(light, gain, bins=16)
        >>> from pyisp_contrast.isp.curves import rational_gain
        >>> lifted = rational_gain(light, out).flatten()
        >>> bool((lifted.diff() >= 0).all())
        True
    """
    if not isinstance(light, Tensor) or not isinstance(gain, Tensor):
        raise TypeError("`light` and `gain` must be tensors.")
    if light.ndim != 4 or light.shape[1] != 1 or light.shape != gain.shape:
        raise ValueError(
            f"`light` and `gain` must both be (B, 1, h, w), got {tuple(light.shape)} and "
            f"{tuple(gain.shape)}."
        )
    if light.dtype != gain.dtype or not light.is_floating_point():
        raise TypeError(
            f"`light` and `gain` must share a float dtype, got {light.dtype} and {gain.dtype}."
        )
    check_int(bins, "bins", 2)
    floor = check_float(floor, "floor", 0.0, 0.5, low_open=True, high_open=True)
    return _order_preserving_gain(light, gain, bins, floor)


def _order_preserving_gain(light: Tensor, gain: Tensor, bins: int, floor: float) -> Tensor:
    """:func:`order_preserving_gain` without checks (TorchScript compiles it)."""
    v = light.clamp(floor, 1.0 - floor)
    t = gain * v / (1.0 + (gain - 1.0) * v)
    log_t = _isotonic_fit(
        torch.log(v).flatten(1), torch.log(t).flatten(1), bins, math.log(floor), 0.0
    ).view_as(t)
    t = torch.exp(log_t).clamp(max=1.0 - 1e-6)
    return t * (1.0 - v) / (v * (1.0 - t))
