"""Image sizes and separable bilinear resizing by index tables, for memory-bounded inference on
large photos.

``F.interpolate`` resizes a whole tensor at once; an enhancer that upsamples low-resolution maps
to a 12-megapixel photo would hold every full-size map at once. These tables give the same
arithmetic as ``F.interpolate(mode="bilinear", align_corners=False)`` one block of rows at a time.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["fit_long_side", "linear_resize_indices", "resize_rows"]


def fit_long_side(h: int, w: int, side: int, min_side: int = 1) -> tuple[int, int]:
    """The size of an ``h x w`` image scaled down so that its longer side is ``side``, aspect kept
    (each side rounded, and at least ``min_side``); ``(h, w)`` itself if it already fits.

    Every "at most N pixels a side" of the package (``--max-side``, the networks' working sizes,
    video frames, evaluation pairs) is this arithmetic.

    Example:
        >>> fit_long_side(900, 1200, 512), fit_long_side(300, 400, 512), fit_long_side(10, 4000, 400)
        ((384, 512), (300, 400), (1, 400))
    """
    if max(h, w) <= side:
        return h, w
    s = side / max(h, w)
    return max(min_side, round(h * s)), max(min_side, round(w * s))


def linear_resize_indices(
    out_len: int, in_len: int, device: torch.device | str, dtype: torch.dtype
) -> tuple[Tensor, Tensor, Tensor]:
    """Source indices ``(i0, i1)`` and weights ``w`` of 1-D linear resizing from ``in_len`` to ``out_len``.

    ``out[k] = lerp(in[i0[k]], in[i1[k]], w[k])`` equals ``F.interpolate(..., align_corners=False)``
    (half-pixel centres, clamped at the borders).

    Example:
        >>> import torch.nn.functional as F
        >>> x = torch.rand(1, 1, 1, 5)
        >>> i0, i1, w = linear_resize_indices(12, 5, "cpu", torch.float32)
        >>> ref = F.interpolate(x, size=(1, 12), mode="bilinear", align_corners=False)
        >>> torch.allclose(torch.lerp(x[..., i0], x[..., i1], w), ref, atol=1e-6)
        True
    """
    scale = in_len / out_len
    src = (torch.arange(out_len, device=device, dtype=torch.float64) + 0.5) * scale - 0.5
    src = src.clamp_(min=0.0)
    i0 = src.floor().long().clamp_(max=in_len - 1)
    i1 = (i0 + 1).clamp_(max=in_len - 1)
    return i0, i1, (src - i0).to(dtype)


def resize_rows(
    maps: Tensor, rows: slice, out_size: tuple[int, int], *, width_first: Tensor | None = None
) -> Tensor:
    """Rows ``rows`` of ``maps`` ``(B, C, h, w)`` resized bilinearly to ``out_size`` ``(H, W)``.

    Args:
        maps: low-resolution maps.
        rows: the output rows wanted (a slice of ``range(H)`` with step 1).
        out_size: the full output size.
        width_first: ``maps`` already resized along the width (``(B, C, h, W)``), to reuse it
            across row blocks.

    Example:
        >>> import torch.nn.functional as F
        >>> m = torch.rand(1, 2, 3, 4)
        >>> ref = F.interpolate(m, size=(10, 9), mode="bilinear", align_corners=False)
        >>> torch.allclose(resize_rows(m, slice(2, 7), (10, 9)), ref[:, :, 2:7], atol=1e-6)
        True
    """
    big_h, big_w = out_size
    h, w = maps.shape[-2:]
    wide = width_first
    if wide is None:
        c0, c1, cw = linear_resize_indices(big_w, w, maps.device, maps.dtype)
        wide = torch.lerp(maps[..., c0], maps[..., c1], cw)
    r0, r1, rw = linear_resize_indices(big_h, h, maps.device, maps.dtype)
    return torch.lerp(wide[:, :, r0[rows]], wide[:, :, r1[rows]], rw[rows, None])
