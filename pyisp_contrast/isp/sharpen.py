"""Sharpening: restore the fine detail and local contrast that a dark photo's lift leaves soft.

An ISP sharpens after tone mapping. :func:`sharpen_luma` is an unsharp mask on the luma only,
with an optional second, wider band (local contrast, "clarity"),

.. code-block:: text

    Y' = clip(Y + amount (Y - G_sigma * Y) + contrast (G_sigma * Y - L), 0, 1),
    RGB' = clip(RGB (1 + (Y' - Y) / Y), 0, 1),

with ``G_sigma`` a Gaussian blur (replicated border; :func:`gaussian_taps`), ``L`` a wide low-pass
(:func:`cell_blur`: the luma's means over cells of :data:`CONTRAST_CELL` pixels, blurred by a
Gaussian of ``contrast_sigma`` pixels, upsampled bilinearly; it costs the same for any width) and
``Y`` at least ``1e-4`` in the division. The wide band starts where the fine one ends, so pixel
noise is boosted by ``amount`` only, however large ``contrast`` is. Every channel is scaled by the
same ratio, so chromaticity is kept: a grey stays exactly grey and colour noise is not sharpened
into speckle. Flat regions and constant images are left as they are (to rounding), and
``amount = contrast = 0`` leaves every pixel exactly as it is.

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
from torch import Tensor, nn

from pyisp_contrast.core.checks import check_float, check_image, per_image_amount
from pyisp_contrast.core.color import LUMA_WEIGHTS
from pyisp_contrast.core.threads import cpu_kernel_applies, follow_torch_threads
from pyisp_contrast.isp.denoise import upsample_cells

__all__ = [
    "SharpenLuma",
    "cell_blur",
    "cell_taps",
    "gaussian_taps",
    "luma",
    "luma_unsharp",
    "luma_unsharp_",
    "separable_blur",
    "sharpen_luma",
]

#: Smallest luma the colour ratio divides by.
LUMA_FLOOR = 1e-4
#: ``sigma``'s largest value, in pixels (of ``contrast_sigma``: in cells).
SIGMA_LIMIT = 16.0
#: The local-contrast band's low-pass works on means over cells of this many pixels a side.
CONTRAST_CELL = 4
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


def cell_taps(sigma: float) -> list[float]:
    """The Gaussian of :func:`cell_blur` for a width of ``sigma`` pixels: :func:`gaussian_taps` of
    ``sigma / CONTRAST_CELL`` cells (``sigma`` in ``(0, 64]``).

    Example:
        >>> cell_taps(8.0) == gaussian_taps(2.0)
        True
    """
    sigma = check_float(
        sigma, "contrast_sigma", 0.0, SIGMA_LIMIT * CONTRAST_CELL, low_open=True, hint="in pixels"
    )
    return gaussian_taps(sigma / CONTRAST_CELL)


def cell_blur(grey: Tensor, taps: list[float], cell: int = CONTRAST_CELL) -> Tensor:
    """A wide low-pass of ``grey`` ``(B, 1, H, W)`` at a fraction of a wide Gaussian's cost.

    The means over ``cell x cell`` blocks (the image padded by replication to a multiple of
    ``cell``, as :func:`~pyisp_contrast.isp.denoise.block_statistics`), blurred by the symmetric
    ``taps`` (:func:`cell_taps`) along both axes, then upsampled bilinearly to the pixels with the
    cells centred on their blocks (:func:`~pyisp_contrast.isp.denoise.upsample_cells`). For a
    Gaussian of ``s`` pixels on the cells the whole acts as a blur of about
    ``sqrt(s^2 + cell^2 / 4)`` pixels. Constant images stay constant (to rounding); compiles with
    ``torch.jit.script``.

    Example:
        >>> flat = torch.full((1, 1, 10, 13), 0.25)
        >>> torch.allclose(cell_blur(flat, cell_taps(8.0)), flat)
        True
    """
    h, w = grey.shape[-2], grey.shape[-1]
    ph, pw = (-h) % cell, (-w) % cell
    padded = F.pad(grey, [0, pw, 0, ph], mode="replicate") if ph > 0 or pw > 0 else grey
    return upsample_cells(separable_blur(F.avg_pool2d(padded, cell), taps), cell, (h, w))


def separable_blur(grey: Tensor, taps: list[float]) -> Tensor:
    """``grey`` ``(B, C, H, W)`` blurred by the symmetric ``taps`` (an odd number, at least 3)
    along both axes, border replicated (as ``kornia.filters.gaussian_blur2d(...,
    border_type="replicate")`` with :func:`gaussian_taps`); no checks, compiles with
    ``torch.jit.script`` and exports to ONNX for any image size."""
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


def luma(images: Tensor, weights: tuple[float, float, float] = LUMA_WEIGHTS) -> Tensor:
    """The luma ``(B, 1, H, W)`` of RGB ``images`` ``(B, 3, H, W)`` (Rec. 601 weights, on the
    values as they are); compiles with ``torch.jit.script``."""
    return weights[0] * images[:, 0:1] + weights[1] * images[:, 1:2] + weights[2] * images[:, 2:3]


def luma_unsharp(
    images: Tensor,
    amount: Tensor,
    taps: list[float],
    contrast: Tensor | None = None,
    low: Tensor | None = None,
    weights: tuple[float, float, float] = LUMA_WEIGHTS,
    floor: float = LUMA_FLOOR,
) -> Tensor:
    """:func:`sharpen_luma` without input checks: ``images`` ``(B, 3, H, W)``, ``amount``
    ``(B,)`` in their dtype, ``taps`` from :func:`gaussian_taps`; with both ``contrast`` ``(B,)``
    and ``low`` (the wide low-pass ``L`` of the luma, ``(B, 1, H, W)``: :func:`cell_blur` of
    :func:`luma`), also the wide band.

    For callers that have checked their input already; compiles with ``torch.jit.script`` (the
    exported enhancers run it; ``weights`` and ``floor`` are arguments only so that it can).
    Differentiable.
    """
    y = luma(images, weights)
    # y + amount (y - blur), clipped; then every channel scaled by the luma's ratio, written as
    # 1 + change / y so that an amount of 0 (or a flat region) leaves the pixels exactly as they are
    fine = separable_blur(y, taps)
    sharp = torch.lerp(fine, y, 1.0 + amount.view(-1, 1, 1, 1))
    if contrast is not None and low is not None:
        sharp = sharp + contrast.view(-1, 1, 1, 1) * (fine - low)
    ratio = sharp.clamp_(0.0, 1.0).sub_(y).div_(y.clamp_min(floor)).add_(1.0)
    return (images * ratio).clamp_(0.0, 1.0)


def _float32(values: Tensor) -> np.ndarray:
    return values.detach().to(torch.float32).contiguous().numpy()


def luma_unsharp_(
    images: Tensor,
    amount: Tensor,
    taps: list[float],
    contrast: Tensor | None = None,
    contrast_taps: list[float] | None = None,
) -> Tensor:
    """:func:`luma_unsharp` at inference, writing into ``images`` where it can.

    On the CPU in float32 with no gradient, for images of at least :data:`KERNEL_MIN_PIXELS`, one
    numba kernel sharpens ``images`` in place (two passes over the rows instead of torch's twenty;
    equal to :func:`luma_unsharp` within a few float32 ulps; 2.6 against 4.0 ms at 1200 x 900) and
    returns it; anything else returns :func:`luma_unsharp`'s new tensor. For callers that own
    ``images`` (an output they just made); no checks.
    """
    wide = amount if contrast is None or contrast_taps is None else contrast
    if not (cpu_kernel_applies(images, KERNEL_MIN_PIXELS, amount, wide) and images.shape[1] == 3):
        if contrast is None or contrast_taps is None:
            return luma_unsharp(images, amount, taps)
        low = cell_blur(luma(images), contrast_taps)
        return luma_unsharp(images, amount, taps, contrast.to(images.dtype), low)
    from pyisp_contrast.isp._sharpen_kernel import luma_unsharp_inplace

    n, _, h, w = images.shape
    follow_torch_threads()
    luma_unsharp_inplace(
        images.detach().numpy(),
        _float32(amount),
        np.asarray(taps, dtype=np.float32),
        np.asarray(LUMA_WEIGHTS, dtype=np.float32),
        np.float32(LUMA_FLOOR),
        np.empty((n, h, w + len(taps) - 1), dtype=np.float32),
        np.empty((n, h, w), dtype=np.float32),
        np.empty(0, np.float32) if contrast_taps is None else _float32(wide),
        np.asarray(contrast_taps or [1.0], dtype=np.float32),
        CONTRAST_CELL,
    )
    return images


def sharpen_luma(
    images: Tensor,
    amount: float | Tensor,
    *,
    sigma: float = 1.0,
    contrast: float | Tensor = 0.0,
    contrast_sigma: float = 8.0,
) -> Tensor:
    """Unsharp-mask the luma of RGB ``images`` and scale the colour by the same ratio.

    See the module notes for the formula. Differentiable in ``images``, ``amount`` and
    ``contrast``.

    Args:
        images: ``(B, 3, H, W)`` or ``(3, H, W)`` RGB in [0, 1].
        amount: how much of the detail ``Y - G_sigma * Y`` to add, ``>= 0``: a number, or one per
            image ``(B,)``.
        sigma: the Gaussian's standard deviation in pixels, in ``(0, 16]``.
        contrast: how much of the wider band ``G_sigma * Y - L`` (local contrast) to add,
            ``>= 0``: a number, or one per image ``(B,)``; 0 (the default) leaves it out.
        contrast_sigma: the width of ``L`` (:func:`cell_blur`) in pixels, in ``(0, 64]``.

    Returns:
        The sharpened images, same shape, in [0, 1].

    Raises:
        ValueError: ``images`` is not RGB in [0, 1]; ``amount`` or ``contrast`` is negative, not
            finite or has another length than the batch; ``sigma`` or ``contrast_sigma`` is out of
            range.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> photo = torch.rand(1, 3, 32, 32, generator=g)
        >>> grey = photo[0].mean(0, keepdim=True).expand(3, 32, 32)  # a grey image stays grey
        >>> out = sharpen_luma(grey, 0.5, contrast=0.3)
        >>> bool((out[0] == out[1]).all() and (out[1] == out[2]).all())
        True
        >>> bool((sharpen_luma(photo, 0.0) == photo).all())
        True
    """
    x, unbatched = check_image(images, "images", channels=(3,))
    taps = gaussian_taps(sigma)
    wide = cell_taps(contrast_sigma)
    amounts = per_image_amount(amount, "amount", x, hint="how much detail to add")
    contrasts = per_image_amount(contrast, "contrast", x, hint="how much local contrast to add")
    if isinstance(contrast, Tensor) or contrast != 0.0:
        out = luma_unsharp(x, amounts, taps, contrasts, cell_blur(luma(x), wide))
    else:
        out = luma_unsharp(x, amounts, taps)
    return out[0] if unbatched else out


class SharpenLuma(nn.Module):
    """Module form of :func:`sharpen_luma`, its settings checked once; ``forward(images)``.

    Example:
        >>> clarity = SharpenLuma(0.25, contrast=0.2, contrast_sigma=6.0)
        >>> x = torch.rand(2, 3, 32, 32)
        >>> torch.equal(clarity(x), sharpen_luma(x, 0.25, contrast=0.2, contrast_sigma=6.0))
        True
    """

    def __init__(
        self,
        amount: float = 0.25,
        *,
        sigma: float = 1.0,
        contrast: float = 0.0,
        contrast_sigma: float = 8.0,
    ) -> None:
        super().__init__()
        self.amount = check_float(amount, "amount", 0.0, hint="how much detail to add")
        self.contrast = check_float(contrast, "contrast", 0.0, hint="how much local contrast")
        gaussian_taps(sigma)  # checks
        cell_taps(contrast_sigma)
        self.sigma, self.contrast_sigma = float(sigma), float(contrast_sigma)

    def forward(self, images: Tensor) -> Tensor:
        return sharpen_luma(
            images,
            self.amount,
            sigma=self.sigma,
            contrast=self.contrast,
            contrast_sigma=self.contrast_sigma,
        )

    def extra_repr(self) -> str:
        return (
            f"amount={self.amount}, sigma={self.sigma}, contrast={self.contrast}, "
            f"contrast_sigma={self.contrast_sigma}"
        )
