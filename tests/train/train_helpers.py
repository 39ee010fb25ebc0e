"""Shared helpers for the training tests: tiny image folders and a tiny trainable model.

A uniquely named module (not conftest) so that `import` cannot pick up another folder's conftest.
"""

from __future__ import annotations

import torch
from torch import nn

from pyisp_contrast.core.io import write_image


def make_folder(root, n=6, size=(20, 24), seed=0, suffix=".png"):
    g = torch.Generator().manual_seed(seed)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        write_image(root / f"img_{i:02d}{suffix}", torch.rand(3, *size, generator=g))
    return root


def darken(images, generator):
    """Stand-in for isp.degrade.low_light: a random exposure drop and a little noise."""
    b = images.shape[0]
    scale = 0.05 + 0.2 * torch.rand(b, 1, 1, 1, generator=generator)
    noise = 0.01 * torch.randn(images.shape, generator=generator)
    return (images * scale + noise).clamp(0, 1), {"scale": scale.flatten()}


class TinyEnhancer(nn.Module):
    """A per-pixel affine colour map; its loss draws from the global RNG like a real objective would."""

    def __init__(self) -> None:
        super().__init__()
        self.mix = nn.Conv2d(3, 3, 1)

    def forward(self, x):
        return torch.sigmoid(self.mix(x))

    def training_step(self, batch):
        out = self(batch["low"])
        jitter = 0.05 * torch.randn(out.shape[0], 1, 1, 1, device=out.device)
        bright = ((out.mean((1, 2, 3)) - batch["normal"].mean((1, 2, 3)) - jitter) ** 2).mean()
        smooth = (out - batch["low"]).abs().mean()
        return {"total": bright + 0.1 * smooth, "bright": bright, "smooth": smooth}

    def validation_images(self, batch):
        return self(batch["low"])
