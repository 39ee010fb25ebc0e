"""Inputs the export tests share (``test_export.py`` and ``test_export_onnx.py``)."""

from __future__ import annotations

import torch

# (batch, height, width): the two sizes, a batch of two below every working size, and a
# size at which pie-physics' cell grid (H/4 x W/4) exceeds its working side of 128, so every
# model downscales to its working resolution.
SHAPES = [(1, 200, 300), (1, 333, 257), (2, 90, 120), (1, 480, 640)]


def photo(b: int, h: int, w: int, seed: int = 0) -> torch.Tensor:
    """A dark, noisy photo-like batch in [0, 1] (smooth scene, texture, a few black pixels)."""
    g = torch.Generator().manual_seed(seed + 7 * h + w)
    yy = torch.linspace(0, 1, h)[:, None]
    xx = torch.linspace(0, 1, w)[None, :]
    scene = 0.2 * (0.5 + 0.5 * torch.sin(11 * xx + 7 * yy)) * (0.2 + xx)
    x = scene * (0.5 + torch.rand(b, 3, 1, 1, generator=g)) + 0.03 * torch.randn(
        b, 3, h, w, generator=g
    )
    return x.clamp(0, 1)
