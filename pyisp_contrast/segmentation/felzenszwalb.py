"""Batched wrapper over scikit-image's Felzenszwalb-Huttenlocher graph segmentation.

Felzenszwalb, Huttenlocher, "Efficient graph-based image segmentation", IJCV 59(2), 2004,
doi:10.1023/B:VISI.0000022288.19776.77. PIE's released code segments with this method; here it is
one more label source for the region API (:func:`~pyisp_contrast.segmentation.region_stats`).
"""

from __future__ import annotations

import numpy as np
import torch
from skimage.segmentation import felzenszwalb as _sk_felzenszwalb
from torch import Tensor, nn

from pyisp_contrast.core.checks import check_float, check_image, check_int
from pyisp_contrast.segmentation.regions import relabel_sequential
from pyisp_contrast.segmentation.slic import Superpixels

__all__ = ["Felzenszwalb", "felzenszwalb"]


def felzenszwalb(
    images: Tensor, scale: float = 100.0, sigma: float = 0.8, min_size: int = 50
) -> Superpixels:
    """Felzenszwalb segmentation of every image of a batch (CPU, a loop over scikit-image).

    Args:
        images: ``(B, C, H, W)`` or ``(C, H, W)`` float in ``[0, 1]``, C = 1 or 3, any device
            (computed on the CPU; labels are returned on the images' device).
        scale: larger gives larger segments (> 0); scikit-image's ``scale``.
        sigma: Gaussian pre-smoothing width in pixels (>= 0).
        min_size: minimum segment size in pixels, enforced by merging (>= 0).

    Returns:
        :class:`~pyisp_contrast.segmentation.Superpixels` with labels ``0 .. K_b - 1`` per image.

    Example:
        >>> img = torch.zeros(3, 16, 16)
        >>> img[:, :, 8:] = 1.0
        >>> sp = felzenszwalb(img, scale=10, min_size=20)
        >>> int(sp.num_segments), sp.labels[0, 0].item(), sp.labels[0, 15].item()
        (2, 0, 1)
    """
    images, unbatched = check_image(images, "images", channels=(1, 3))
    scale = check_float(scale, "scale", 0.0, low_open=True)
    sigma = check_float(sigma, "sigma", 0.0)
    min_size = check_int(min_size, "min_size", 0, allow_numpy=True)
    arr = images.detach().to("cpu", torch.float64).numpy()
    out = np.empty((arr.shape[0], *arr.shape[2:]), dtype=np.int64)
    for i, img in enumerate(arr):
        if img.shape[0] == 1:
            out[i] = _sk_felzenszwalb(
                img[0], scale=scale, sigma=sigma, min_size=min_size, channel_axis=None
            )
        else:
            out[i] = _sk_felzenszwalb(
                np.moveaxis(img, 0, -1),
                scale=scale,
                sigma=sigma,
                min_size=min_size,
                channel_axis=-1,
            )
    labels, num = relabel_sequential(torch.from_numpy(out))
    labels, num = labels.to(images.device), num.to(images.device)
    if unbatched:
        return Superpixels(labels[0], num[0])
    return Superpixels(labels, num)


class Felzenszwalb(nn.Module):
    """Module twin of :func:`felzenszwalb`.

    Example:
        >>> Felzenszwalb(scale=10)(torch.rand(2, 3, 8, 8)).labels.shape
        torch.Size([2, 8, 8])
    """

    def __init__(self, scale: float = 100.0, sigma: float = 0.8, min_size: int = 50):
        super().__init__()
        self.scale = scale
        self.sigma = sigma
        self.min_size = min_size

    def forward(self, images: Tensor) -> Superpixels:
        return felzenszwalb(images, self.scale, self.sigma, self.min_size)
