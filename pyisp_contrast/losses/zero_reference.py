"""Zero-reference losses of Zero-DCE: exposure, colour, spatial consistency, illumination smoothness.

These need no reference image (Guo et al., "Zero-Reference Deep Curve Estimation for Low-Light Image
Enhancement", CVPR 2020, arXiv:2001.06826, Sec. 3.3). PIE keeps two of them as auxiliaries (colour
constancy, weight 8, and illumination smoothness, weight 200); the others are here so that a
zero-reference baseline can be trained with the same parts.

Where the paper's equations and the authors' released code differ, the choice made is stated in each
docstring; the published loss weights were tuned against the code.

Each loss reduces per image first, then over the batch with ``reducer`` (the package's one
reduction system, :mod:`pyisp_contrast.contrastive.reducers`): ``"mean"`` (the default), ``"sum"``,
``"none"`` for the ``(B,)`` per-image values, or any :class:`~pyisp_contrast.contrastive.Reducer`.
The old keyword ``reduction=`` still works, with a ``DeprecationWarning``.
"""

from __future__ import annotations

import warnings

import torch.nn.functional as F
from torch import Tensor, nn

from pyisp_contrast.contrastive.reducers import (
    Reducer,
    Reduction,
    ReductionAlias,
    get_reducer,
    resolve_reducer,
)
from pyisp_contrast.core.checks import as_batch_param, check_image, check_int

__all__ = [
    "ColorConstancy",
    "ExposureControl",
    "IlluminationSmoothness",
    "SpatialConsistency",
    "color_constancy_loss",
    "exposure_control_loss",
    "illumination_smoothness_loss",
    "reduce_loss",
    "spatial_consistency_loss",
]

#: ``reducer`` of a loss: a :class:`Reduction` name or a :class:`Reducer`.
ReducerLike = Reduction | str | Reducer


def reduce_loss(per_image: Tensor, reduction: ReducerLike) -> Tensor:
    """Reduce per-image losses ``(B,)`` with ``"mean"``, ``"sum"``, ``"none"`` or a Reducer.

    Deprecated: use ``get_reducer(reducer)(per_image)``
    (:func:`pyisp_contrast.contrastive.get_reducer`), the one reduction system; this function
    warns and will be removed in the next release.
    """
    warnings.warn(
        "reduce_loss is deprecated and will be removed in the next release; use "
        "pyisp_contrast.contrastive.get_reducer(reducer)(per_image).",
        DeprecationWarning,
        stacklevel=2,
    )
    try:
        reducer = get_reducer(reduction)
    except ValueError:
        raise ValueError(
            f"`reduction` must be 'mean', 'sum', 'none' or a Reducer, got {reduction!r}."
        ) from None
    return reducer(per_image)


def exposure_control_loss(
    images: Tensor,
    patch: int = 16,
    target: float | Tensor = 0.6,
    reducer: ReducerLike = Reduction.MEAN,
    *,
    reduction: ReducerLike | None = None,
) -> Tensor:
    """Exposure control loss: squared distance of local mean brightness from a target level.

    The grey level (mean of the channels) is averaged over non-overlapping ``patch x patch`` blocks
    (a partial block at the right/bottom edge is dropped) and each block's mean is compared with
    ``target``: ``mean_k (Y_k - E)^2``. The paper (Eq. 3) writes ``|Y_k - E|``; the squared form is
    the one of the authors' code, smooth at the target.

    Args:
        images: ``(B, C, H, W)`` or ``(C, H, W)``, with ``H, W >= patch``.
        patch: block side in pixels (16 in Zero-DCE).
        target: well-exposedness level ``E`` in [0, 1] (0.6 in Zero-DCE), float or ``(B,)``.
        reducer: ``"mean"``, ``"sum"``, ``"none"`` or a :class:`~pyisp_contrast.contrastive.Reducer`,
            applied to the ``(B,)`` per-image values.
        reduction: deprecated name of ``reducer``.

    Returns:
        Scalar, or ``(B,)`` for ``reducer="none"``.

    Example:
        >>> exposure_control_loss(torch.full((1, 3, 16, 16), 0.4), patch=8)
        tensor(0.0400)
    """
    reduce = resolve_reducer(reducer, reduction, "exposure_control_loss")
    x, _ = check_image(images, "images", channels=None, check_range=False)
    patch = check_int(patch, "patch", 1)
    if x.shape[-2] < patch or x.shape[-1] < patch:
        raise ValueError(
            f"`images` ({x.shape[-2]}x{x.shape[-1]}) must be at least `patch` ({patch}) on each side."
        )
    e = as_batch_param(target, x.shape[0], "target", like=x, low=0.0, high=1.0)
    means = F.avg_pool2d(x.mean(dim=1, keepdim=True), patch)
    return reduce((means - e).square().mean(dim=(1, 2, 3)))


def color_constancy_loss(
    images: Tensor,
    reducer: ReducerLike = Reduction.MEAN,
    *,
    reduction: ReducerLike | None = None,
) -> Tensor:
    """Colour constancy loss (grey-world): squared differences between the channel means.

    ``sum_{(p, q)} (J^p - J^q)^2`` over the pairs (R, G), (R, B), (G, B), where ``J^p`` is the mean
    of channel ``p`` (Zero-DCE, Eq. 4). The authors' code takes ``sqrt(sum d^4)`` instead, whose
    gradient is infinite for a grey image; the paper's form is used here.

    Args:
        images: ``(B, 3, H, W)`` or ``(3, H, W)``.
        reducer: ``"mean"``, ``"sum"``, ``"none"`` or a :class:`~pyisp_contrast.contrastive.Reducer`,
            applied to the ``(B,)`` per-image values.
        reduction: deprecated name of ``reducer``.

    Returns:
        Scalar, or ``(B,)`` for ``reducer="none"``.

    Example:
        >>> x = torch.zeros(1, 3, 4, 4)
        >>> x[:, 0] = 0.5
        >>> color_constancy_loss(x)
        tensor(0.5000)
    """
    reduce = resolve_reducer(reducer, reduction, "color_constancy_loss")
    x, _ = check_image(images, "images", channels=(3,), check_range=False)
    m = x.mean(dim=(2, 3))
    r, g, b = m.unbind(dim=1)
    return reduce((r - g).square() + (r - b).square() + (g - b).square())


def spatial_consistency_loss(
    enhanced: Tensor,
    original: Tensor,
    pool: int = 4,
    reducer: ReducerLike = Reduction.MEAN,
    *,
    reduction: ReducerLike | None = None,
) -> Tensor:
    """Spatial consistency loss: keep the contrast between neighbouring regions of the input.

    Both images are reduced to grey (channel mean) and averaged over ``pool x pool`` blocks; for
    every block ``i`` and each of its (up to) 4 neighbours ``j``,
    ``((Y_i - Y_j) - (I_i - I_j))^2`` is summed, and the sum is averaged over the blocks (Zero-DCE,
    Eq. 1). Differences are signed, as in the authors' code (the paper writes absolute values): the
    loss is smooth everywhere and also penalises a reversed contrast. Unlike the code, which pads
    with zeros, blocks on the border have only their existing neighbours.

    Args:
        enhanced: ``(B, C, H, W)`` or ``(C, H, W)``, the output.
        original: the input, same shape.
        pool: block side (4 in Zero-DCE).
        reducer: ``"mean"``, ``"sum"``, ``"none"`` or a :class:`~pyisp_contrast.contrastive.Reducer`,
            applied to the ``(B,)`` per-image values.
        reduction: deprecated name of ``reducer``.

    Returns:
        Scalar, or ``(B,)`` for ``reducer="none"``.

    Example:
        >>> x = torch.rand(1, 3, 16, 16)
        >>> spatial_consistency_loss(x, x)
        tensor(0.)
        >>> bool(spatial_consistency_loss(0.5 * x, x) > 0)
        True
    """
    reduce = resolve_reducer(reducer, reduction, "spatial_consistency_loss")
    y, _ = check_image(enhanced, "enhanced", channels=None, check_range=False)
    i, _ = check_image(original, "original", channels=None, check_range=False)
    if y.shape != i.shape:
        raise ValueError(
            f"`enhanced` {tuple(y.shape)} and `original` {tuple(i.shape)} must have the same shape."
        )
    pool = check_int(pool, "pool", 1)
    if y.shape[-2] < pool or y.shape[-1] < pool:
        raise ValueError(
            f"images ({y.shape[-2]}x{y.shape[-1]}) must be at least `pool` ({pool}) per side."
        )
    # Linear in the images, so pool the difference once.
    d = F.avg_pool2d((y - i).mean(dim=1, keepdim=True), pool)
    h, w = d.shape[-2:]
    horizontal = (d[..., 1:] - d[..., :-1]).square().sum(dim=(1, 2, 3))
    vertical = (d[..., 1:, :] - d[..., :-1, :]).square().sum(dim=(1, 2, 3))
    # Each neighbouring pair is seen from both of its blocks.
    return reduce(2.0 * (horizontal + vertical) / (h * w))


def illumination_smoothness_loss(
    curves: Tensor,
    reducer: ReducerLike = Reduction.MEAN,
    *,
    reduction: ReducerLike | None = None,
) -> Tensor:
    """Illumination smoothness loss: total variation of the curve maps (Zero-DCE, Eq. 5).

    ``2 * sum_c (mean (dA/dy)^2 + mean (dA/dx)^2)`` over the channels of the curve maps, with
    squared forward differences averaged over the pixel pairs of each direction. The factor 2 and
    the sum over channels follow the authors' code, against which the published weight (200) was
    tuned. A direction with a single pixel contributes 0.

    Args:
        curves: ``(B, M, H, W)`` or ``(M, H, W)`` curve maps (any range).
        reducer: ``"mean"``, ``"sum"``, ``"none"`` or a :class:`~pyisp_contrast.contrastive.Reducer`,
            applied to the ``(B,)`` per-image values.
        reduction: deprecated name of ``reducer``.

    Returns:
        Scalar, or ``(B,)`` for ``reducer="none"``.

    Example:
        >>> illumination_smoothness_loss(torch.ones(2, 24, 8, 8))
        tensor(0.)
    """
    reduce = resolve_reducer(reducer, reduction, "illumination_smoothness_loss")
    a, _ = check_image(curves, "curves", channels=None, check_range=False)
    zero = a.new_zeros(a.shape[0])
    dy = (a[:, :, 1:] - a[:, :, :-1]).square().mean(dim=(2, 3)).sum(1) if a.shape[-2] > 1 else zero
    dx = (a[..., 1:] - a[..., :-1]).square().mean(dim=(2, 3)).sum(1) if a.shape[-1] > 1 else zero
    return reduce(2.0 * (dy + dx))


class ExposureControl(nn.Module):
    """Module form of :func:`exposure_control_loss` (``reducer``: see there).

    Example:
        >>> ExposureControl(patch=4)(torch.full((2, 3, 8, 8), 0.6))
        tensor(0.)
    """

    reduction = ReductionAlias()

    def __init__(
        self,
        patch: int = 16,
        target: float = 0.6,
        reducer: ReducerLike = Reduction.MEAN,
        *,
        reduction: ReducerLike | None = None,
    ) -> None:
        super().__init__()
        self.patch = check_int(patch, "patch", 1)
        self.target = target
        self.reducer = resolve_reducer(reducer, reduction, "ExposureControl")

    def forward(self, images: Tensor) -> Tensor:
        return exposure_control_loss(images, self.patch, self.target, self.reducer)


class ColorConstancy(nn.Module):
    """Module form of :func:`color_constancy_loss` (``reducer``: see there).

    Example:
        >>> ColorConstancy()(torch.full((1, 3, 4, 4), 0.3))
        tensor(0.)
    """

    reduction = ReductionAlias()

    def __init__(
        self, reducer: ReducerLike = Reduction.MEAN, *, reduction: ReducerLike | None = None
    ) -> None:
        super().__init__()
        self.reducer = resolve_reducer(reducer, reduction, "ColorConstancy")

    def forward(self, images: Tensor) -> Tensor:
        return color_constancy_loss(images, self.reducer)


class SpatialConsistency(nn.Module):
    """Module form of :func:`spatial_consistency_loss`; called as ``(enhanced, original)``.

    Example:
        >>> x = torch.rand(1, 3, 8, 8)
        >>> SpatialConsistency()(x, x)
        tensor(0.)
    """

    reduction = ReductionAlias()

    def __init__(
        self,
        pool: int = 4,
        reducer: ReducerLike = Reduction.MEAN,
        *,
        reduction: ReducerLike | None = None,
    ) -> None:
        super().__init__()
        self.pool = check_int(pool, "pool", 1)
        self.reducer = resolve_reducer(reducer, reduction, "SpatialConsistency")

    def forward(self, enhanced: Tensor, original: Tensor) -> Tensor:
        return spatial_consistency_loss(enhanced, original, self.pool, self.reducer)


class IlluminationSmoothness(nn.Module):
    """Module form of :func:`illumination_smoothness_loss` (``reducer``: see there).

    Example:
        >>> IlluminationSmoothness()(torch.zeros(1, 3, 4, 4))
        tensor(0.)
    """

    reduction = ReductionAlias()

    def __init__(
        self, reducer: ReducerLike = Reduction.MEAN, *, reduction: ReducerLike | None = None
    ) -> None:
        super().__init__()
        self.reducer = resolve_reducer(reducer, reduction, "IlluminationSmoothness")

    def forward(self, curves: Tensor) -> Tensor:
        return illumination_smoothness_loss(curves, self.reducer)
