"""Sharpening: restore the fine detail that a dark photo's compression and a lift leave soft.

An ISP sharpens after tone mapping. :func:`sharpen_luma` is an unsharp mask on the luma only,

.. code-block:: text

    Y' = clip(Y + amount (Y - G_sigma * Y), 0, 1),    RGB' = clip(RGB (1 + (Y' - Y) / Y), 0, 1),

with ``G_sigma`` a Gaussian blur (replicated border; :func:`gaussian_taps`) and ``Y`` at least
``1e-4`` in the division. Every channel is scaled by the same ratio, so chromaticity is kept: a
grey stays exactly grey and colour noise is not sharpened into speckle. Flat regions and constant
images are left as they are (to rounding), and ``amount = 0`` leaves every pixel exactly as it is.

Why not ``kornia.filters.unsharp_mask``: that one sharpens each channel, which moves neutral greys
apart by their noise and cannot be scaled per image; the blur itself is kornia's Gaussian
(:func:`kornia.filters.get_gaussian_kernel1d`), applied here as separable slices so that the same
code compiles with TorchScript and exports to ONNX (the bundled enhancer's exported files run it).
"""

from __future__ import annotations

import kornia
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from pyisp_contrast.core.checks import check_float, check_image
from pyisp_contrast.core.color import LUMA_WEIGHTS
from pyisp_contrast.core.threads import follow_torch_threads

__all__ = ["gaussian_taps", "luma_unsharp", "luma_unsharp_", "sharpen_luma"]

#: Smallest luma the colour ratio divides by.
LUMA_FLOOR = 1e-4
#: ``sigma``'s largest value, in pixels.
SIGMA_LIMIT = 16.0
#: :func:`luma_unsharp_` takes the numba kernel from this many pixels per image: below, torch is
#: within 0.15 ms of it (a 384 x 384 photo: 0.75 against 0.62 ms) and the kernel's compilation on
#: first use (about 3 s, cached afterwards) would dominate a first run on a small photo.
KERNEL_MIN_PIXELS = 500_000


def gaussian_taps(sigma: float) -> list[float]:
    """The 1-D Gaussian of :func:`sharpen_luma`: ``2 max(1, round(3 sigma)) + 1`` taps, summing
    to 1 (kornia's :func:`~kornia.filters.get_gaussian_kernel1d`, in float64, as Python floats).

    Example:
        >>> [round(t, 4) for t in gaussian_taps(1.0)]
        [0.0044, 0.054, 0.242, 0.3991, 0.242, 0.054, 0.0044]
    """
    sigma = check_float(sigma, "sigma", 0.0, SIGMA_LIMIT, low_open=True, hint="in pixels")
    size = 2 * max(1, round(3 * sigma)) + 1
    return kornia.filters.get_gaussian_kernel1d(size, sigma, dtype=torch.float64)[0].tolist()


def _separable_blur(grey: Tensor, taps: list[float]) -> Tensor:
    """``grey`` ``(B, 1, H, W)`` blurred by the symmetric ``taps`` along both axes, border
    replicated (as ``kornia.filters.gaussian_blur2d(..., border_type="replicate")``)."""
    k = len(taps)
    r = k // 2
    p = F.pad(grey, [r, r, r, r], mode="replicate")
    # Slices end at a fixed distance from the far border (no size arithmetic, so any image size
    # in the exported files); the symmetric taps pair up, which halves the multiplications.
    rows = p[..., r : r - (k - 1)] * taps[r]
    rows.add_(torch.add(p[..., : 1 - k], p[..., k - 1 :]), alpha=taps[0])
    for i in range(1, r):
        rows.add_(torch.add(p[..., i : i - (k - 1)], p[..., k - 1 - i : -i]), alpha=taps[i])
    out = rows[..., r : r - (k - 1), :] * taps[r]
    out.add_(torch.add(rows[..., : 1 - k, :], rows[..., k - 1 :, :]), alpha=taps[0])
    for i in range(1, r):
        out.add_(
            torch.add(rows[..., i : i - (k - 1), :], rows[..., k - 1 - i : -i, :]), alpha=taps[i]
        )
    return out


def luma_unsharp(
    images: Tensor,
    amount: Tensor,
    taps: list[float],
    weights: tuple[float, float, float] = LUMA_WEIGHTS,
    floor: float = LUMA_FLOOR,
) -> Tensor:
    """:func:`sharpen_luma` without input checks: ``images`` ``(B, 3, H, W)``, ``amount``
    ``(B,)`` in their dtype, ``taps`` from :func:`gaussian_taps`.

    For callers that have checked their input already; compiles with ``torch.jit.script`` (the
    exported enhancers run it; ``weights`` and ``floor`` are arguments only so that it can).
    Differentiable.
    """
    y = weights[0] * images[:, 0:1] + weights[1] * images[:, 1:2] + weights[2] * images[:, 2:3]
    # y + amount (y - blur), clipped; then every channel scaled by the luma's ratio, written as
    # 1 + change / y so that an amount of 0 (or a flat region) leaves the pixels exactly as they are
    sharp = torch.lerp(_separable_blur(y, taps), y, 1.0 + amount.view(-1, 1, 1, 1))
    ratio = sharp.clamp_(0.0, 1.0).sub_(y).div_(y.clamp_min(floor)).add_(1.0)
    return (images * ratio).clamp_(0.0, 1.0)


def luma_unsharp_(images: Tensor, amount: Tensor, taps: list[float]) -> Tensor:
    """:func:`luma_unsharp` at inference, writing into ``images`` where it can.

    On the CPU in float32 with no gradient, for images of at least :data:`KERNEL_MIN_PIXELS`, one
    numba kernel sharpens ``images`` in place (two passes over the rows instead of torch's twenty;
    equal to :func:`luma_unsharp` within a few float32 ulps; 2.6 against 4.0 ms at 1200 x 900) and
    returns it; anything else returns :func:`luma_unsharp`'s new tensor. For callers that own
    ``images`` (an output they just made); no checks.
    """
    if not (
        images.device.type == "cpu"
        and images.dtype == torch.float32
        and images.ndim == 4
        and images.shape[1] == 3
        and images.is_contiguous()
        and images.shape[-2] * images.shape[-1] >= KERNEL_MIN_PIXELS
        and not (torch.is_grad_enabled() and (images.requires_grad or amount.requires_grad))
    ):
        return luma_unsharp(images, amount, taps)
    from pyisp_contrast.isp._sharpen_kernel import luma_unsharp_inplace

    n, _, h, w = images.shape
    follow_torch_threads()
    luma_unsharp_inplace(
        images.detach().numpy(),
        amount.detach().to(torch.float32).contiguous().numpy(),
        np.asarray(taps, dtype=np.float32),
        np.asarray(LUMA_WEIGHTS, dtype=np.float32),
        np.float32(LUMA_FLOOR),
        np.empty((n, h, w + len(taps) - 1), dtype=np.float32),
        np.empty((n, h, w), dtype=np.float32),
    )
    return images


def sharpen_luma(images: Tensor, amount: float | Tensor, *, sigma: float = 1.0) -> Tensor:
    """Unsharp-mask the luma of RGB ``images`` and scale the colour by the same ratio.

    See the module notes for the formula. Differentiable in ``images`` and ``amount``.

    Args:
        images: ``(B, 3, H, W)`` or ``(3, H, W)`` RGB in [0, 1].
        amount: how much of the detail ``Y - G_sigma * Y`` to add, ``>= 0``: a number, or one per
            image ``(B,)``.
        sigma: the Gaussian's standard deviation in pixels, in ``(0, 16]``.

    Returns:
        The sharpened images, same shape, in [0, 1].

    Raises:
        ValueError: ``images`` is not RGB in [0, 1]; ``amount`` is negative, not finite or has
            another length than the batch; ``sigma`` is out of range.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> photo = torch.rand(1, 3, 32, 32, generator=g)
        >>> grey = photo[0].mean(0, keepdim=True).expand(3, 32, 32)  # a grey image stays grey
        >>> out = sharpen_luma(grey, 0.5)
        >>> bool((out[0] == out[1]).all() and (out[1] == out[2]).all())
        True
        >>> bool((sharpen_luma(photo, 0.0) == photo).all())
        True
    """
    x, unbatched = check_image(images, "images", channels=(3,))
    taps = gaussian_taps(sigma)
    if isinstance(amount, Tensor):
        if amount.shape != (x.shape[0],):
            raise ValueError(
                f"`amount` must be a number or hold one value per image, shape ({x.shape[0]},); "
                f"got shape {tuple(amount.shape)}."
            )
        if not bool(torch.isfinite(amount).all()) or bool((amount < 0).any()):
            raise ValueError(f"`amount` must be finite and >= 0, got {amount.tolist()}.")
        amounts = amount.to(device=x.device, dtype=x.dtype)
    else:
        value = check_float(amount, "amount", 0.0, hint="how much detail to add")
        amounts = x.new_full((x.shape[0],), value)
    out = luma_unsharp(x, amounts, taps)
    return out[0] if unbatched else out
