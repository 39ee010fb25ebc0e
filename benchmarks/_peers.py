"""Peers re-written for timing only: same architecture and arithmetic, random weights.

Speed does not depend on the weights, so a peer whose official weights are not in this repository
is timed with random ones. Written from the papers' descriptions, not copied.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class _Separable(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.depth = nn.Conv2d(cin, cin, 3, padding=1, groups=cin)
        self.point = nn.Conv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.point(self.depth(x))


class ZeroDCEPlusPlus(nn.Module):
    """Zero-DCE++ at test time (Li et al., TPAMI 2021, arXiv:2103.00860), as its released code runs.

    The input is downscaled by ``scale`` (bilinear), seven depthwise-separable 3 x 3 convolutions
    with 32 channels and DCE-Net's skip concatenations predict one 3-channel curve map (tanh), the
    map is upsampled by ``scale`` (bilinear, aligned corners) and applied out of place for eight
    iterations of ``x + r (x^2 - x)``.
    """

    def __init__(self, scale: int = 12, channels: int = 32) -> None:
        super().__init__()
        c = channels
        self.scale = scale
        self.c1, self.c2, self.c3, self.c4 = (
            _Separable(3, c), _Separable(c, c), _Separable(c, c), _Separable(c, c)
        )  # fmt: skip
        self.c5, self.c6, self.c7 = _Separable(2 * c, c), _Separable(2 * c, c), _Separable(2 * c, 3)

    @torch.no_grad()
    def enhance(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        small = F.interpolate(x, scale_factor=1 / self.scale, mode="bilinear")
        x1 = F.relu(self.c1(small))
        x2 = F.relu(self.c2(x1))
        x3 = F.relu(self.c3(x2))
        x4 = F.relu(self.c4(x3))
        x5 = F.relu(self.c5(torch.cat([x3, x4], 1)))
        x6 = F.relu(self.c6(torch.cat([x2, x5], 1)))
        r = torch.tanh(self.c7(torch.cat([x1, x6], 1)))
        r = F.interpolate(r, size=(h, w), mode="bilinear", align_corners=True)
        for _ in range(8):
            x = x + r * (torch.pow(x, 2) - x)
        return x
