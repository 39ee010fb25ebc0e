"""Pixel-space embedders: grey level and multi-scale luminance/colour statistics (no weights).

They cost a few poolings, so a contrastive term on brightness and colour can run at full
resolution or serve as a cheap companion to a learned embedder.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pyisp_contrast.core.checks import check_image, check_int
from pyisp_contrast.core.color import luma

__all__ = ["GrayLevel", "PixelStatistics", "gray_level", "pixel_statistics"]

_EPS = 1e-6


def gray_level(images: Tensor) -> Tensor:
    """Grey level ``0.299 R + 0.587 G + 0.114 B`` (BT.601); grey input is returned as is.

    Args:
        images: ``(B, 3, H, W)`` or ``(B, 1, H, W)``.

    Returns:
        ``(B, 1, H, W)``.

    Example:
        >>> round(gray_level(torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1)).item(), 4)
        0.299
    """
    x, _ = check_image(images, "images", allow_unbatched=False, check_range=False)
    return luma(x)


class GrayLevel(nn.Module):
    """Embedder returning ``[gray_level(images)]``; with :class:`L1Distance` it gives PIE's grey-level
    distance (see :class:`IntensityHingeLoss`).

    Example:
        >>> [f.shape for f in GrayLevel()(torch.rand(2, 3, 4, 4))]
        [torch.Size([2, 1, 4, 4])]
    """

    def forward(self, images: Tensor) -> list[Tensor]:
        return [gray_level(images)]


def pixel_statistics(images: Tensor, scales: Sequence[int] = (1, 4, 16)) -> list[Tensor]:
    """Local luminance and colour statistics at several scales.

    For each scale ``s`` the image is cut into ``s x s`` cells (average pooling, stride ``s``) and
    each cell gets four channels: mean grey level, standard deviation of the grey level (local
    contrast), and the means of two opponent colour axes, ``R - G`` and ``(R + G) / 2 - B``.
    Exposure moves the first two; colour casts the last two.

    Args:
        images: ``(B, 3, H, W)`` or ``(B, 1, H, W)`` in ``[0, 1]`` (grey gives zero colour channels).
        scales: cell sizes in pixels, each ``>= 1`` and at most ``min(H, W)``.

    Returns:
        List of ``(B, 4, H // s, W // s)``, one per scale.

    Example:
        >>> [tuple(f.shape) for f in pixel_statistics(torch.rand(1, 3, 16, 16), scales=(1, 8))]
        [(1, 4, 16, 16), (1, 4, 2, 2)]
    """
    x, _ = check_image(images, "images", allow_unbatched=False, check_range=False)
    scales = _check_scales(scales, x.shape[-2:])
    y = gray_level(x)
    if x.shape[1] == 3:
        r, g, b = x.unbind(1)
        opp = torch.stack([r - g, 0.5 * (r + g) - b], dim=1)
    else:
        opp = torch.zeros_like(x).expand(-1, 2, -1, -1)
    out = []
    for s in scales:
        mean = F.avg_pool2d(y, s) if s > 1 else y
        sq = F.avg_pool2d(y * y, s) if s > 1 else y * y
        # eps inside the sqrt keeps the gradient finite on flat cells (std = 0).
        std = (sq - mean * mean).clamp_min(0).add(_EPS).sqrt()
        colour = F.avg_pool2d(opp, s) if s > 1 else opp
        out.append(torch.cat([mean, std, colour], dim=1))
    return out


def _check_scales(scales: Sequence[int], size: Sequence[int]) -> tuple[int, ...]:
    if isinstance(scales, int):
        scales = (scales,)
    scales = tuple(scales)
    if not scales:
        raise ValueError("`scales` must be a non-empty sequence of integers >= 1, got ().")
    scales = tuple(
        check_int(s, f"scales[{i}]", 1, hint="a cell size") for i, s in enumerate(scales)
    )
    if max(scales) > min(size):
        raise ValueError(
            f"`scales` {scales} has a cell larger than the image ({size[0]}x{size[1]})."
        )
    return scales


class PixelStatistics(nn.Module):
    """Module twin of :func:`pixel_statistics` (an embedder with no weights).

    Args:
        scales: cell sizes in pixels.

    Example:
        >>> emb = PixelStatistics(scales=(2, 4))
        >>> [tuple(f.shape) for f in emb(torch.rand(2, 3, 8, 8))]
        [(2, 4, 4, 4), (2, 4, 2, 2)]
    """

    def __init__(self, scales: Sequence[int] = (1, 4, 16)):
        super().__init__()
        # The image size is only known at call time; check the cell sizes themselves now.
        self.scales = _check_scales(scales, (2**31, 2**31))

    def forward(self, images: Tensor) -> list[Tensor]:
        return pixel_statistics(images, self.scales)
