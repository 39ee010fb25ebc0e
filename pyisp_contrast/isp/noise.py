"""How noisy a photo is: one number per image, from the photo alone.

:func:`noise_sigma` is Immerkær's estimator (J. Immerkær, "Fast Noise Variance Estimation",
Computer Vision and Image Understanding 64(2), 1996, doi:10.1006/cviu.1996.0060): the grey level is
convolved with the difference of two discrete Laplacians,

.. code-block:: text

     1 -2  1
    -2  4 -2
     1 -2  1

which is zero on any image whose rows or columns are linear (ramps, flat regions, and most of the
smooth shading of a photo), so what remains is mostly noise; for white Gaussian noise of standard
deviation ``sigma`` the mean absolute response is ``6 sigma sqrt(2 / pi)``. Fine texture and sharp
edges add to it, so on a photo it is an upper bound that ranks images by noise rather than an exact
figure; :func:`noise_to_signal` divides it by the photo's mean grey level, which is what tells a
noisy dark photo (LOL's, about 0.1) from a clean one (most well-exposed photos, 0.01 to 0.05).

Why here, not from scikit-image: ``skimage.restoration.estimate_sigma`` needs PyWavelets (not a
dependency) and works on NumPy arrays one image at a time; this one is batched, runs on any device,
and is differentiable.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from pyisp_contrast.core.checks import check_float, check_image

__all__ = ["grey_noise_sigma", "grey_noise_to_signal", "noise_sigma", "noise_to_signal"]


def _grey(images: Tensor, *, check_range: bool) -> tuple[Tensor, bool]:
    x, unbatched = check_image(images, "images", channels=None, check_range=check_range)
    if min(x.shape[-2:]) < 3:
        raise ValueError(
            "`images` must be at least 3 x 3 pixels (the estimator uses 3 x 3 windows), got "
            f"{tuple(x.shape[-2:])}."
        )
    return x.mean(1, keepdim=True), unbatched


def grey_noise_sigma(grey: Tensor) -> Tensor:
    """:func:`noise_sigma` of a ``(B, 1, H, W)`` grey level, ``(B,)``, without input checks.

    For callers that have checked their input already; compiles with ``torch.jit.script`` (the
    exported enhancers run it).
    """
    # The kernel is the outer product of two second differences, [1, -2, 1]: applied as two
    # slicing passes it costs a tenth of a 3 x 3 convolution on the CPU.
    d = torch.add(grey[..., :, :-2], grey[..., :, 2:]).sub_(grey[..., :, 1:-1], alpha=2.0)
    r = torch.add(d[..., :-2, :], d[..., 2:, :]).sub_(d[..., 1:-1, :], alpha=2.0)
    # 6 sqrt(2 / pi): the mean absolute response to white noise of unit standard deviation
    return r.abs().mean((1, 2, 3)) / (6.0 * math.sqrt(2.0 / math.pi))


def grey_noise_to_signal(grey: Tensor, floor: float = 1e-3) -> Tensor:
    """:func:`noise_to_signal` of a ``(B, 1, H, W)`` grey level, ``(B,)``, without input checks.

    For callers that have checked their input already; compiles with ``torch.jit.script`` (the
    exported enhancers' per-photo denoiser strength and sharpening run it).
    """
    return grey_noise_sigma(grey) / grey.mean((1, 2, 3)).clamp_min(floor)


def noise_sigma(images: Tensor) -> Tensor:
    """Standard deviation of the noise in each image's grey level (Immerkær's estimator).

    The grey level is the mean of the channels; the estimate is the mean absolute response of the
    3 x 3 kernel of the module notes, scaled so white Gaussian noise gives its standard deviation.
    Texture and edges count as noise too (see the module notes). Differentiable.

    Args:
        images: ``(B, C, H, W)`` or ``(C, H, W)`` with any number of channels, at least 3 x 3
            pixels, any value range (the estimate is in the images' units).

    Returns:
        ``(B,)``, or a 0-dim tensor for an unbatched input.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> flat = torch.full((1, 3, 256, 256), 0.5)
        >>> noisy = flat + 0.05 * torch.randn(1, 1, 256, 256, generator=g)  # same noise in R, G, B
        >>> round(noise_sigma(noisy).item(), 3)
        0.05
        >>> ramp = torch.linspace(0, 1, 64).expand(1, 3, 64, 64)  # a linear ramp has none
        >>> noise_sigma(ramp).abs().item() < 1e-6
        True
    """
    grey, unbatched = _grey(images, check_range=False)
    sigma = grey_noise_sigma(grey)
    return sigma[0] if unbatched else sigma


def noise_to_signal(images: Tensor, *, floor: float = 1e-3) -> Tensor:
    """:func:`noise_sigma` divided by each image's mean grey level (at least ``floor``).

    A scale-free measure of how noisy a photo looks once brightened: multiplying an image by a
    constant (an exposure gain) leaves it unchanged.

    Args:
        images: ``(B, C, H, W)`` or ``(C, H, W)`` in [0, 1], any number of channels, at least
            3 x 3 pixels.
        floor: smallest mean the estimate is divided by (``> 0``), so a black image gives a finite
            value.

    Returns:
        ``(B,)``, or a 0-dim tensor for an unbatched input.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> photo = torch.rand(1, 3, 64, 64, generator=g) * 0.5
        >>> bool(torch.isclose(noise_to_signal(0.1 * photo), noise_to_signal(photo)))
        True
    """
    check_float(floor, "floor", 0.0, low_open=True)
    grey, unbatched = _grey(images, check_range=True)
    ratio = grey_noise_to_signal(grey, floor)
    return ratio[0] if unbatched else ratio
