"""Colour constants shared by every module: the Rec. 601 luma weights and the grey level they give.

One definition, so that the grey level of a metric, a loss, a guide image and a written file are the
same numbers. numba kernels cannot call torch; they read :data:`LUMA_WEIGHTS` (plain floats) instead.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["LUMA_WEIGHTS", "luma"]

#: ITU-R BT.601 luma weights ``(R, G, B)``: ``Y = 0.299 R + 0.587 G + 0.114 B``. The grey level of
#: PIE's intensity hinge, of the Bag of Curves' margin, of NIQE and of grey output files (the same
#: weights as OpenCV's and kornia's RGB-to-grey).
LUMA_WEIGHTS: tuple[float, float, float] = (0.299, 0.587, 0.114)


def luma(images: Tensor) -> Tensor:
    """Rec. 601 luma ``0.299 R + 0.587 G + 0.114 B`` as ``(B, 1, H, W)`` (grey input is returned).

    Works on any ``(..., C, H, W)`` with 1 or 3 channels in dimension -3; no checks.

    Example:
        >>> luma(torch.ones(1, 3, 2, 2)).shape
        torch.Size([1, 1, 2, 2])
        >>> round(luma(torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1)).item(), 4)
        0.299
    """
    if images.shape[-3] == 1:
        return images
    w = torch.tensor(LUMA_WEIGHTS, device=images.device, dtype=images.dtype)
    return (images * w.view(3, 1, 1)).sum(dim=-3, keepdim=True)
