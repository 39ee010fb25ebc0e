"""Full-reference quality: PSNR and SSIM per image, wrapping :mod:`kornia.metrics`.

Used on held-out synthetic pairs (a normal image and its synthetic low-light version enhanced back),
where a ground truth exists.
"""

from __future__ import annotations

import kornia.metrics
import torch
from torch import Tensor, nn

from pyisp_contrast.core.checks import check_float, check_image, check_int

__all__ = ["PSNR", "SSIM", "psnr", "ssim"]


def _pair(images: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    x, _ = check_image(images, "images", channels=None)
    y, _ = check_image(target, "target", channels=None)
    if x.shape != y.shape:
        raise ValueError(
            f"`images` and `target` must have the same shape, got {tuple(x.shape)} and {tuple(y.shape)}."
        )
    return x, y.to(dtype=x.dtype)


def psnr(images: Tensor, target: Tensor, *, max_val: float = 1.0) -> Tensor:
    """Peak signal-to-noise ratio of each image against its target, in dB.

    ``PSNR = 10 log10(max_val^2 / MSE)`` with the MSE over all channels and pixels of one image
    (``inf`` for identical images).

    Args:
        images: ``(B, C, H, W)`` or ``(C, H, W)`` in [0, 1].
        target: same shape.
        max_val: peak value of the range.

    Returns:
        ``(B,)`` PSNR per image.

    Example:
        >>> x = torch.full((1, 3, 4, 4), 0.5)
        >>> psnr(x + 0.1, x)
        tensor([20.0000])
    """
    x, y = _pair(images, target)
    max_val = check_float(max_val, "max_val", 0.0, low_open=True, hint="the peak of the range")
    return torch.stack([kornia.metrics.psnr(a, b, max_val) for a, b in zip(x, y)])


def ssim(images: Tensor, target: Tensor, *, window_size: int = 11, max_val: float = 1.0) -> Tensor:
    """Structural similarity (Wang et al., IEEE TIP 2004) of each image against its target.

    Gaussian window (sigma 1.5) of ``window_size`` pixels, ``K1 = 0.01``, ``K2 = 0.03``, averaged over
    channels and over the positions where the window fits entirely inside the image (no padding),
    which matches ``skimage.metrics.structural_similarity(..., gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=1)``.

    Args:
        images: ``(B, C, H, W)`` or ``(C, H, W)`` in [0, 1], at least ``window_size`` pixels a side.
        target: same shape.
        window_size: odd window side.
        max_val: peak value of the range.

    Returns:
        ``(B,)`` SSIM per image (1 for identical images).

    Example:
        >>> x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
        >>> ssim(x, x)
        tensor([1., 1.])
    """
    x, y = _pair(images, target)
    window_size = check_int(window_size, "window_size", 1, odd=True)
    max_val = check_float(max_val, "max_val", 0.0, low_open=True, hint="the peak of the range")
    if min(x.shape[-2:]) < window_size:
        raise ValueError(
            f"SSIM needs images of at least {window_size}x{window_size} pixels, got {tuple(x.shape[-2:])}; "
            "pass a smaller `window_size`."
        )
    smap = kornia.metrics.ssim(x, y, window_size, max_val=max_val, padding="valid")
    return smap.mean(dim=(1, 2, 3))


class PSNR(nn.Module):
    """Module form of :func:`psnr`."""

    def __init__(self, max_val: float = 1.0) -> None:
        super().__init__()
        self.max_val = max_val

    def forward(self, images: Tensor, target: Tensor) -> Tensor:
        return psnr(images, target, max_val=self.max_val)


class SSIM(nn.Module):
    """Module form of :func:`ssim`."""

    def __init__(self, window_size: int = 11, max_val: float = 1.0) -> None:
        super().__init__()
        self.window_size = window_size
        self.max_val = max_val

    def forward(self, images: Tensor, target: Tensor) -> Tensor:
        return ssim(images, target, window_size=self.window_size, max_val=self.max_val)
