"""Batched region operations on label maps: statistics, paint-back, relabelling, boundaries.

Any label source plugs in here: :func:`~pyisp_contrast.segmentation.slic`,
:func:`~pyisp_contrast.segmentation.felzenszwalb` or a user-given ``(B, H, W)`` integer tensor.
Every function handles the whole batch at once with scatter/gather ops (no Python loop over images
or regions), works on any device, and accepts a different number of regions per image: region
indices are per image, so image 0 and image 1 may both use label 3 for unrelated regions.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import torch
from torch import Tensor

from pyisp_contrast.core.checks import (
    check_choice,
    check_image,
    check_int,
    check_labels,
    value_checks_enabled,
)

__all__ = ["RegionStats", "boundaries", "paint", "region_stats", "relabel_sequential"]


class RegionStats(NamedTuple):
    """Per-region statistics returned by :func:`region_stats`.

    Attributes:
        count: ``(B, K)`` number of pixels of each region, in the dtype of the values (exact integers).
        mean: ``(B, K, C)`` mean of each channel over the region.
        var: ``(B, K, C)`` population variance (divided by the count, not count - 1).
    """

    count: Tensor
    mean: Tensor
    var: Tensor


def _num_regions(labels: Tensor, num_regions: int | None) -> int:
    if num_regions is None:
        return int(labels.max()) + 1
    num_regions = check_int(num_regions, "num_regions", 1, optional=True)
    if value_checks_enabled() and int(labels.max()) >= num_regions:
        raise ValueError(
            f"`labels` holds index {int(labels.max())} but `num_regions` is {num_regions}; "
            "pass num_regions=None to use labels.max() + 1."
        )
    return num_regions


def region_stats(values: Tensor, labels: Tensor, num_regions: int | None = None) -> RegionStats:
    """Count, mean and variance of ``values`` over every labelled region of every image.

    All regions of all images are reduced at once with ``index_add`` over the flattened index
    ``b * K + label``; the result is differentiable with respect to ``values``. The variance is
    computed in two passes (mean first, then the mean squared deviation), which avoids the
    cancellation of ``E[x^2] - E[x]^2`` on large, nearly constant regions.

    Args:
        values: ``(B, C, H, W)`` floating-point tensor (any range).
        labels: ``(B, H, W)`` non-negative integer region indices.
        num_regions: ``K``, the number of region slots per image; defaults to ``labels.max() + 1``
            over the batch (one host sync). Regions absent from an image get count 0 and mean and
            variance 0.

    Returns:
        :class:`RegionStats` with ``count (B, K)``, ``mean (B, K, C)`` and ``var (B, K, C)``.

    Raises:
        TypeError: non-float values, non-integer labels.
        ValueError: shapes that do not match, a label ``>= num_regions``.

    Example:
        >>> x = torch.tensor([[[[1.0, 3.0], [5.0, 5.0]]]])
        >>> lab = torch.tensor([[[0, 0], [1, 1]]])
        >>> s = region_stats(x, lab)
        >>> s.count.tolist(), s.mean[..., 0].tolist(), s.var[..., 0].tolist()
        ([[2.0, 2.0]], [[2.0, 5.0]], [[1.0, 0.0]])
    """
    values, _ = check_image(
        values, "values", channels=None, allow_unbatched=False, check_range=False
    )
    b, c, h, w = values.shape
    labels = check_labels(labels, "labels", shape=(b, h, w))
    if labels.device != values.device:
        raise ValueError(f"`labels` is on {labels.device} but `values` is on {values.device}.")
    k = _num_regions(labels, num_regions)

    offsets = torch.arange(b, device=labels.device).view(b, 1) * k
    flat = (labels.reshape(b, h * w) + offsets).reshape(-1)  # (B*H*W,)
    pix = values.permute(0, 2, 3, 1).reshape(b * h * w, c)  # (B*H*W, C)

    count = torch.zeros(b * k, device=values.device, dtype=values.dtype)
    count.index_add_(0, flat, torch.ones_like(flat, dtype=values.dtype))
    sums = values.new_zeros(b * k, c).index_add(0, flat, pix)
    denom = count.clamp_min(1).unsqueeze(1)
    mean = sums / denom
    dev = pix - mean.index_select(0, flat)
    var = values.new_zeros(b * k, c).index_add(0, flat, dev * dev) / denom
    return RegionStats(count.view(b, k), mean.view(b, k, c), var.view(b, k, c))


def paint(per_region: Tensor, labels: Tensor) -> Tensor:
    """Paint per-region values back onto the pixels of each region (a batched gather).

    Args:
        per_region: ``(B, K, C)`` values per region, or ``(B, K)`` for one channel.
        labels: ``(B, H, W)`` region indices in ``[0, K)``.

    Returns:
        ``(B, C, H, W)`` (``C = 1`` for a ``(B, K)`` input); differentiable w.r.t. ``per_region``.

    Example:
        >>> lab = torch.tensor([[[0, 1], [1, 1]]])
        >>> paint(torch.tensor([[0.25, 0.75]]), lab)
        tensor([[[[0.2500, 0.7500],
                  [0.7500, 0.7500]]]])
    """
    if not isinstance(per_region, Tensor):
        raise TypeError(f"`per_region` must be a torch.Tensor, got {type(per_region).__name__}.")
    if per_region.ndim == 2:
        per_region = per_region.unsqueeze(-1)
    if per_region.ndim != 3:
        raise ValueError(
            f"`per_region` must have shape (B, K, C) or (B, K), got {tuple(per_region.shape)}."
        )
    b, k, c = per_region.shape
    labels = check_labels(labels, "labels")
    if labels.shape[0] != b:
        raise ValueError(
            f"`labels` has batch size {labels.shape[0]} but `per_region` has {b}; they must match."
        )
    if labels.device != per_region.device:
        raise ValueError(
            f"`labels` is on {labels.device} but `per_region` is on {per_region.device}."
        )
    if value_checks_enabled() and int(labels.max()) >= k:
        raise ValueError(
            f"`labels` holds index {int(labels.max())} but `per_region` has only K = {k} regions."
        )
    h, w = labels.shape[1:]
    idx = labels.reshape(b, 1, h * w).expand(b, c, h * w)
    return per_region.transpose(1, 2).gather(2, idx).view(b, c, h, w)


def relabel_sequential(labels: Tensor) -> tuple[Tensor, Tensor]:
    """Renumber each image's labels as ``0 .. K_b - 1`` without gaps, keeping their order.

    Args:
        labels: ``(B, H, W)`` non-negative integer labels.

    Returns:
        ``(labels, counts)``: the relabelled ``(B, H, W)`` int64 tensor and ``(B,)`` int64 number of
        distinct regions per image.

    Example:
        >>> lab, k = relabel_sequential(torch.tensor([[[7, 7], [2, 9]], [[5, 5], [5, 5]]]))
        >>> lab.tolist(), k.tolist()
        ([[[1, 1], [0, 2]], [[0, 0], [0, 0]]], [3, 1])
    """
    labels = check_labels(labels, "labels")
    b, h, w = labels.shape
    m = int(labels.max()) + 1
    flat = labels.reshape(b, h * w)
    if b * m <= 4 * flat.numel():
        # Dense presence table: a scatter and a cumsum, far cheaper than sorting.
        present = torch.zeros(b, m, dtype=torch.bool, device=labels.device)
        present.scatter_(1, flat, True)
        new_id = present.cumsum(1) - 1
        out = new_id.gather(1, flat)
        counts = present.sum(1)
    else:
        # Sparse, huge label values: sort the (image, label) keys instead.
        keys = flat + torch.arange(b, device=labels.device).view(b, 1) * m
        uniq, inverse = torch.unique(keys.reshape(-1), sorted=True, return_inverse=True)
        counts = torch.bincount(uniq // m, minlength=b)
        starts = counts.cumsum(0) - counts
        out = inverse.view(b, h * w) - starts.view(b, 1)
    return out.view(b, h, w), counts.long()


def boundaries(labels: Tensor, mode: Literal["inner", "thick"] = "inner") -> Tensor:
    """Pixels on the border between regions (4-connectivity).

    Args:
        labels: ``(B, H, W)`` integer labels.
        mode: ``"thick"`` marks every pixel with a 4-neighbour of another label, so a border is two
            pixels wide (one on each side). ``"inner"`` marks only the pixel on the side of the larger
            label, so every border is exactly one pixel wide and lies inside one of the two regions.

    Returns:
        ``(B, H, W)`` bool tensor.

    Example:
        >>> lab = torch.tensor([[[0, 0, 1, 1]]])
        >>> boundaries(lab).int().tolist(), boundaries(lab, "thick").int().tolist()
        ([[[0, 0, 1, 0]]], [[[0, 1, 1, 0]]])
    """
    labels = check_labels(labels, "labels")
    check_choice(mode, "mode", ("inner", "thick"))
    out = torch.zeros_like(labels, dtype=torch.bool)
    # Horizontal and vertical neighbour pairs; each pair marks one or both of its pixels.
    for dim in (1, 2):
        n = labels.shape[dim]
        if n < 2:
            continue
        a = labels.narrow(dim, 0, n - 1)
        bb = labels.narrow(dim, 1, n - 1)
        if mode == "thick":
            diff = a != bb
            out.narrow(dim, 0, n - 1).logical_or_(diff)
            out.narrow(dim, 1, n - 1).logical_or_(diff)
        else:
            out.narrow(dim, 0, n - 1).logical_or_(a > bb)
            out.narrow(dim, 1, n - 1).logical_or_(bb > a)
    return out
