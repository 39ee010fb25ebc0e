"""Lightness order error (LOE), the no-reference naturalness measure of enhancement papers.

LOE (Wang et al., "Naturalness preserved enhancement algorithm for non-uniform illumination
images", IEEE TIP 2013) counts how often the *order* of lightness between two pixels differs between
the input and the enhanced output: an enhancer that keeps the scene's light order scores 0.

Lightness is ``max(R, G, B)``. Comparing all pixel pairs is quadratic, so, as is usual, both lightness
maps are first resized to a ``grid x grid`` (50 x 50) map (bilinear with antialiasing, like PIL's
``BILINEAR`` resize used by the project's reference script). LOE is then the number of pairs
``(i, j)`` where ``L_in[i] >= L_in[j]`` and ``L_out[i] >= L_out[j]`` disagree, divided by the number of
grid cells (so it lies in ``[0, grid^2]``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pyisp_contrast.core.checks import check_image, check_int

__all__ = ["LOE", "lightness_map", "loe"]


def lightness_map(images: Tensor, *, grid: int = 50) -> Tensor:
    """``max(R, G, B)`` resized to ``grid x grid``; returns ``(B, grid * grid)``.

    Example:
        >>> lightness_map(torch.rand(2, 3, 64, 80), grid=10).shape
        torch.Size([2, 100])
    """
    x, _ = check_image(images, "images")
    check_int(grid, "grid", 2)
    light = x.amax(dim=1, keepdim=True)
    small = F.interpolate(
        light, size=(grid, grid), mode="bilinear", align_corners=False, antialias=True
    )
    return small.flatten(1)


def loe(input: Tensor, output: Tensor, *, grid: int = 50) -> Tensor:
    """Lightness order error between each input image and its enhanced output.

    Args:
        input: ``(B, C, H, W)`` or ``(C, H, W)`` in [0, 1] (C = 1 or 3), the image before enhancement.
        output: the enhanced images; same batch size and channels (the spatial size may differ: both
            are resized to the grid).
        grid: side of the lightness grid.

    Returns:
        ``(B,)`` LOE per image (0 = light order kept; lower is better).

    Example:
        >>> x = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(0))
        >>> loe(x, x.sqrt(), grid=8)  # a monotone curve keeps the light order
        tensor([0.])
        >>> bool(loe(x, 1 - x, grid=8) > 0)
        True
    """
    a = lightness_map(input, grid=grid)
    b = lightness_map(output, grid=grid)
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            f"`input` and `output` must have the same batch size, got {a.shape[0]} and {b.shape[0]}."
        )
    out = []
    # One image at a time: the pair matrix is grid^4 booleans (6 MB at grid 50).
    for la, lb in zip(a, b):
        order_in = la[:, None] >= la[None, :]
        order_out = lb[:, None] >= lb[None, :]
        out.append((order_in ^ order_out).sum(dtype=torch.float64) / la.numel())
    return torch.stack(out).to(dtype=a.dtype)


class LOE(nn.Module):
    """Module form of :func:`loe`."""

    def __init__(self, grid: int = 50) -> None:
        super().__init__()
        self.grid = grid

    def forward(self, input: Tensor, output: Tensor) -> Tensor:
        return loe(input, output, grid=self.grid)
