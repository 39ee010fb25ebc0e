"""Regional brightness consistency: brightness should be even within each region of the input.

PIE (Liang et al., "PIE: Physics-inspired low-light enhancement", arXiv:2404.04586, IJCV 2024)
segments the input without semantic labels and asks the enhanced image to keep a consistent
brightness inside every segment, while different segments may be lifted by different amounts
("region-discriminate" enhancement). Here the spread is measured with true per-segment statistics
(:func:`pyisp_contrast.segmentation.region_stats`, all regions of all images at once); the authors'
code compares each pixel with the whole-image mean instead.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from pyisp_contrast.contrastive.pixel import gray_level
from pyisp_contrast.contrastive.reducers import Reduction, ReductionAlias, resolve_reducer
from pyisp_contrast.core.checks import check_float, check_image, check_int, check_labels
from pyisp_contrast.core.devices import resolve_device
from pyisp_contrast.losses.zero_reference import ReducerLike
from pyisp_contrast.segmentation.regions import RegionStats, region_stats

__all__ = [
    "BrightnessWeighting",
    "RegionalBrightnessConsistency",
    "regional_brightness_consistency",
]

#: ``(B, C, H, W)`` images -> ``(B, H, W)`` integer labels (or an object with a ``labels`` field).
LabelsFn = Callable[[Tensor], object]
#: Input region statistics (grey level) -> ``(B, K)`` non-negative region weights.
WeightingFn = Callable[[RegionStats], Tensor]


def _batched_labels(labels: Tensor, shape: tuple[int, int, int]) -> Tensor:
    if isinstance(labels, Tensor) and labels.ndim == 2:
        labels = labels.unsqueeze(0)
    return check_labels(labels, "labels", shape=shape)


def regional_brightness_consistency(
    images: Tensor,
    labels: Tensor,
    *,
    num_regions: int | None = None,
    region_weights: Tensor | None = None,
    reducer: ReducerLike = Reduction.MEAN,
    reduction: ReducerLike | None = None,
) -> Tensor:
    """Within-region spread of the grey level, averaged over pixels.

    For each image, with ``Y`` the grey level (BT.601 luma) of ``images``, ``n_k``, ``mu_k`` and
    ``var_k`` the size, mean and population variance of ``Y`` over region ``k``, and ``w_k`` the
    region weights (1 by default)::

        L = sum_k w_k * n_k * var_k / sum_k n_k  =  (1/N) sum_k w_k sum_{i in k} (Y_i - mu_k)^2

    i.e. the count-weighted mean of the per-region variances: large regions count in proportion to
    their area and every pixel is compared with its own region's mean.

    Args:
        images: ``(B, C, H, W)`` or ``(C, H, W)``, ``C`` = 1 or 3; usually the enhanced output.
        labels: ``(B, H, W)`` (or ``(H, W)``) non-negative integer region labels, e.g. from
            :func:`pyisp_contrast.segmentation.slic` on the input. No gradient flows through them.
        num_regions: ``K`` if known (saves a host sync); default ``labels.max() + 1``.
        region_weights: optional ``(B, K)`` non-negative weights per region (see
            :class:`BrightnessWeighting`).
        reducer: ``"mean"``, ``"sum"``, ``"none"`` (per image, ``(B,)``) or a
            :class:`~pyisp_contrast.contrastive.Reducer` of the ``(B,)`` per-image values.
        reduction: deprecated name of ``reducer``.

    Returns:
        Scalar, or ``(B,)`` for ``reducer="none"``.

    Example:
        >>> x = torch.zeros(1, 1, 2, 4)
        >>> x[..., 1] = 1.0  # region 0 (left half) holds 0 and 1; region 1 is flat
        >>> labels = torch.tensor([[[0, 0, 1, 1], [0, 0, 1, 1]]])
        >>> regional_brightness_consistency(x, labels)  # (4 px * var 0.25 + 0) / 8 px
        tensor(0.1250)
    """
    reduce = resolve_reducer(reducer, reduction, "regional_brightness_consistency")
    x, _ = check_image(images, "images", check_range=False)
    b, _, h, w = x.shape
    lab = _batched_labels(labels, (b, h, w))
    stats = region_stats(gray_level(x), lab, num_regions)
    within = stats.count * stats.var[..., 0]  # (B, K): sum of squared deviations per region
    if region_weights is not None:
        if not isinstance(region_weights, Tensor):
            raise TypeError(
                f"`region_weights` must be a (B, K) tensor, got {type(region_weights).__name__}."
            )
        if tuple(region_weights.shape) != tuple(within.shape):
            raise ValueError(
                f"`region_weights` must have shape (B, K) = {tuple(within.shape)}, "
                f"got {tuple(region_weights.shape)}."
            )
        within = within * region_weights.to(within.dtype)
    return reduce(within.sum(1) / stats.count.sum(1))


class BrightnessWeighting(nn.Module):
    """Region weights from the input's brightness, so dark regions may be lifted more than bright ones.

    Brightening a region by a gain ``g`` multiplies its grey-level variance by about ``g^2``, so an
    unweighted consistency loss resists lifting a dark, textured region. Weighting each region by
    ``(mu_k + eps) ** exponent`` (``mu_k`` the input region's mean grey level) relaxes the penalty
    on dark regions and keeps bright ones even; this is the "region-discriminate" reading used
    here. The weights are divided by their count-weighted mean so the loss keeps the scale of the
    unweighted one. ``exponent=0`` gives uniform weights.

    Args:
        exponent: how strongly brightness sets the weight (>= 0).
        eps: floor added to the mean so pitch-black regions keep a small weight (> 0).

    Example:
        >>> from pyisp_contrast.segmentation import region_stats
        >>> grey = torch.tensor([[[[0.1, 0.1, 0.9, 0.9]]]])
        >>> stats = region_stats(grey, torch.tensor([[[0, 0, 1, 1]]]))
        >>> BrightnessWeighting(exponent=1.0, eps=0.0)(stats)
        tensor([[0.2000, 1.8000]])
    """

    def __init__(self, exponent: float = 1.0, eps: float = 0.05) -> None:
        super().__init__()
        self.exponent = check_float(exponent, "exponent", 0.0)
        self.eps = check_float(eps, "eps", 0.0)

    def forward(self, stats: RegionStats) -> Tensor:
        mean = stats.mean[..., 0].clamp_min(0)
        w = (mean + self.eps).clamp_min(1e-12) ** self.exponent
        norm = (stats.count * w).sum(1, keepdim=True) / stats.count.sum(1, keepdim=True)
        return w / norm.clamp_min(1e-12)


class RegionalBrightnessConsistency(nn.Module):
    """PIE's regional brightness consistency with labels computed from the input on the fly.

    Labels come from ``labels`` when given, else from ``labels_fn(original)`` (SLIC superpixels by
    default), always under ``torch.no_grad()``: the regions are a property of the input, not a
    path for gradients. The loss itself is :func:`regional_brightness_consistency` on the enhanced
    images.

    Args:
        labels_fn: images ``(B, C, H, W)`` -> ``(B, H, W)`` labels (or a result with a ``labels``
            field, such as :class:`pyisp_contrast.segmentation.Superpixels`). Default: SLIC with
            ``n_segments`` and ``compactness``.
        n_segments: superpixels per image for the default SLIC.
        compactness: SLIC compactness for the default.
        slic_device: where the default SLIC runs; ``"cpu"`` (default) copies the input to the CPU
            and the labels back, because for training-sized batches the numba CPU kernel is
            faster than the torch path even on a GPU (figures on the docs' benchmark page);
            ``None`` runs it where the images are.
        weighting: optional callable from the input's grey-level :class:`RegionStats` to ``(B, K)``
            weights, e.g. :class:`BrightnessWeighting`; ``None`` weighs all regions alike (PIE).
        reducer: ``"mean"``, ``"sum"``, ``"none"`` or a
            :class:`~pyisp_contrast.contrastive.Reducer` of the ``(B,)`` per-image values.
        reduction: deprecated name of ``reducer``.

    Example:
        >>> loss = RegionalBrightnessConsistency(labels_fn=lambda x: torch.zeros_like(x[:, 0], dtype=torch.long))
        >>> x = torch.rand(2, 3, 8, 8)
        >>> bool(loss(x, x) > 0)
        True
    """

    reduction = ReductionAlias()

    def __init__(
        self,
        labels_fn: LabelsFn | None = None,
        *,
        n_segments: int = 100,
        compactness: float = 10.0,
        slic_device: str | torch.device | None = "cpu",
        weighting: WeightingFn | None = None,
        reducer: ReducerLike = Reduction.MEAN,
        reduction: ReducerLike | None = None,
    ) -> None:
        super().__init__()
        self.reducer = resolve_reducer(reducer, reduction, "RegionalBrightnessConsistency")
        if labels_fn is not None and not callable(labels_fn):
            raise TypeError(f"`labels_fn` must be callable, got {type(labels_fn).__name__}.")
        if weighting is not None and not callable(weighting):
            raise TypeError(f"`weighting` must be callable, got {type(weighting).__name__}.")
        check_int(n_segments, "n_segments", 1)
        self.labels_fn = labels_fn
        self.n_segments = n_segments
        self.compactness = compactness
        self.slic_device = (
            None if slic_device is None else resolve_device(slic_device, what="`slic_device`")
        )
        self.weighting = weighting

    def compute_labels(self, original: Tensor) -> Tensor:
        """Region labels ``(B, H, W)`` of the input, without gradient."""
        with torch.no_grad():
            if self.labels_fn is None:
                from pyisp_contrast.segmentation.slic import slic

                src = original if self.slic_device is None else original.to(self.slic_device)
                out = slic(src, n_segments=self.n_segments, compactness=self.compactness)
            else:
                out = self.labels_fn(original)
        labels = getattr(out, "labels", out)
        if isinstance(labels, Tensor):
            labels = labels.to(original.device, non_blocking=True)
        if not isinstance(labels, Tensor):
            raise TypeError(
                f"`labels_fn` must return a (B, H, W) tensor or a result with `labels`, got {type(out).__name__}."
            )
        return labels

    def forward(
        self, enhanced: Tensor, original: Tensor | None = None, labels: Tensor | None = None
    ) -> Tensor:
        """Loss of ``enhanced`` with regions of ``original`` (or the given ``labels``)."""
        if original is None and (labels is None or self.weighting is not None):
            raise ValueError(
                "pass `original` (the input images) so regions and weights can be computed from it, "
                "or pass `labels` (and use no weighting)."
            )
        if labels is None:
            labels = self.compute_labels(original)
        weights = None
        if self.weighting is not None:
            x, _ = check_image(original, "original", check_range=False)
            lab = _batched_labels(labels, (x.shape[0], *x.shape[-2:]))
            with torch.no_grad():
                k = int(lab.max()) + 1
                weights = self.weighting(region_stats(gray_level(x), lab, k))
            return regional_brightness_consistency(
                enhanced, lab, num_regions=k, region_weights=weights, reducer=self.reducer
            )
        return regional_brightness_consistency(enhanced, labels, reducer=self.reducer)
