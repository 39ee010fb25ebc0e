"""Peers re-written for timing only: same architecture and arithmetic, random weights.

Speed does not depend on the weights, so a peer whose official weights are not in this repository
is timed with random ones. Written from the papers' descriptions, not copied.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from pyisp_contrast.models.curve_net import DCEBody


class _Separable(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.depth = nn.Conv2d(cin, cin, 3, padding=1, groups=cin)
        self.point = nn.Conv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.point(self.depth(x))


class ZeroDCEPlusPlus(DCEBody):
    """Zero-DCE++ at test time (Li et al., TPAMI 2021, arXiv:2103.00860), as its released code runs.

    The input is downscaled by ``scale`` (bilinear), DCE-Net's body (the library's
    :class:`~pyisp_contrast.models.curve_net.DCEBody`) with depthwise-separable 3 x 3 convolutions
    and 32 channels predicts one 3-channel curve map (tanh), the map is upsampled by ``scale``
    (bilinear, aligned corners) and applied out of place for eight iterations of ``x + r (x^2 - x)``
    (the released code's arithmetic: no in-place or blocked application).
    """

    def __init__(self, scale: int = 12, channels: int = 32) -> None:
        super().__init__(self.build_layers(channels, 3, _Separable))
        self.scale = scale

    @torch.no_grad()
    def enhance(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        small = F.interpolate(x, scale_factor=1 / self.scale, mode="bilinear")
        r = F.interpolate(self.dce_maps(small), size=(h, w), mode="bilinear", align_corners=True)
        for _ in range(8):
            x = x + r * (torch.pow(x, 2) - x)
        return x
