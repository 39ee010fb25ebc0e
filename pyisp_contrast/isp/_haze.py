"""The haze model shared by :func:`pyisp_contrast.isp.degrade.haze` and the haze bag.

:math:`I = J t + A (1 - t)`, :math:`t = e^{-\\beta d}`, with a grey-ish airlight :math:`A` (a level
plus a small per-channel tint) and, when no depth is known, a depth proxy. One set of default
ranges (:data:`HAZE_DEFAULTS`) serves both the synthesis that scores the dehazer
(:func:`~pyisp_contrast.isp.degrade.haze`, :class:`~pyisp_contrast.isp.degrade.Haze`) and the bag
that trains it (:func:`~pyisp_contrast.isp.bags.haze_families`,
:class:`~pyisp_contrast.isp.bags.BagOfHaze`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["HAZE_DEFAULTS", "HazeDefaults"]


@dataclass(frozen=True)
class HazeDefaults:
    """Default ranges of the haze model (each range is drawn uniformly per image or negative).

    Attributes:
        beta: scattering coefficient :math:`\\beta` (larger: denser haze).
        airlight: grey level of the airlight :math:`A`.
        tint: largest per-channel deviation of :math:`A` from grey when its level is drawn.
        near: depth of the nearest point of a depth layout; depth spans ``[near, 1]`` (``0``: the
            planar ramp of :func:`~pyisp_contrast.isp.degrade.haze`, rescaled to [0, 1]).

    Example:
        >>> HAZE_DEFAULTS.beta, HAZE_DEFAULTS.tint
        ((0.5, 2.0), 0.03)
    """

    beta: tuple[float, float] = (0.5, 2.0)
    airlight: tuple[float, float] = (0.7, 1.0)
    tint: float = 0.03
    near: tuple[float, float] = (0.0, 0.0)


#: The haze model's default ranges, used by :func:`~pyisp_contrast.isp.degrade.haze`,
#: :class:`~pyisp_contrast.isp.degrade.Haze`, :func:`~pyisp_contrast.isp.bags.haze_families` and
#: :class:`~pyisp_contrast.isp.bags.BagOfHaze` alike. They are the ranges the bundled dehazer is
#: scored with (``benchmarks/bench_restoration.py``).
HAZE_DEFAULTS = HazeDefaults()


def grid(h: int, w: int, like: Tensor) -> tuple[Tensor, Tensor]:
    """Pixel coordinates ``ys (1, h, 1)``, ``xs (1, 1, w)`` in [-1, 1] (y down), on ``like``.

    Independent of the image size, so a drawn layout means the same thing at every resolution.
    """
    ys = torch.linspace(-1.0, 1.0, h, device=like.device, dtype=like.dtype)
    xs = torch.linspace(-1.0, 1.0, w, device=like.device, dtype=like.dtype)
    return ys.view(1, h, 1), xs.view(1, 1, w)


def ramp_depth(angle: Tensor, h: int, w: int, like: Tensor) -> Tensor:
    """A planar depth ramp ``(n, 1, h, w)`` rising along ``angle`` (radians), rescaled to [0, 1].

    The far side (depth 1) lies in the direction ``(cos angle, sin angle)`` (x right, y down).
    """
    n = angle.shape[0]
    ys, xs = grid(h, w, like)
    d = torch.cos(angle).view(n, 1, 1) * xs + torch.sin(angle).view(n, 1, 1) * ys
    lo = d.flatten(1).amin(1).view(n, 1, 1)
    hi = d.flatten(1).amax(1).view(n, 1, 1)
    return ((d - lo) / (hi - lo).clamp_min(1e-12)).unsqueeze(1)


def tinted_airlight(level: Tensor, u: Tensor, tint: float) -> Tensor:
    """Airlight colours ``(n, C)``: grey ``level (n, 1)`` plus ``tint * (2 u - 1)``, clamped to [0, 1].

    ``u`` ``(n, C)`` holds uniform draws in [0, 1).
    """
    return (level + tint * (2 * u - 1)).clamp(0.0, 1.0)
