"""NIQE, the Natural Image Quality Evaluator (Mittal, Soundararajan and Bovik, IEEE SPL 20(3), 2013).

A "completely blind" quality score: the distance between a multivariate Gaussian (MVG) fitted to
natural-scene-statistics features of the test image and an MVG fitted once to pristine images.
Lower is better (more natural).

Recipe (following the authors' reference implementation):

1. Grey level ``0.299 R + 0.587 G + 0.114 B`` on a 0..255 scale, cropped to a multiple of 96 px.
2. At two scales (the image, then the image halved with an antialiased bicubic resize), the MSCN
   coefficients ``(I - mu) / (sigma + 1)`` with a 7x7 Gaussian window (sigma 7/6, replicated borders).
3. In non-overlapping blocks (96 px at scale 1, 48 px at scale 2), 18 features: the asymmetric
   generalised Gaussian (AGGD) shape and mean scale of the MSCN coefficients, and shape, mean, left
   and right scale of the products of neighbouring coefficients in 4 orientations (horizontal,
   vertical, two diagonals; circular shifts inside the block). 36 features per block.
4. Pristine model: mean and covariance of the features of the sharpest blocks (mean local sigma above
   0.75 of the image's sharpest block) of pristine images. Test image: mean and covariance of all its
   blocks. ``NIQE = sqrt((m_p - m_t)^T ((S_p + S_t) / 2)^+ (m_p - m_t))``.

The shipped pristine model (``niqe_pristine.npz``) was fitted by ``scripts/fit_niqe_model.py`` on the
training split of the project's well-exposed images (Kodak24, CBSD68, McMaster; every 5th image by
sorted path held out), not on the authors' pristine set, so the scores are not on the scale of
MATLAB's NIQE: compare methods with it, do not quote it against papers.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pyisp_contrast.core.checks import check_image
from pyisp_contrast.core.color import LUMA_WEIGHTS

__all__ = [
    "NIQE",
    "NIQE_BLOCK",
    "NIQEModel",
    "fit_niqe_model",
    "niqe",
    "niqe_features",
]

#: Block side at the first scale (the reference implementation's 96 px).
NIQE_BLOCK = 96
_SHIFTS = (
    (0, 1),
    (1, 0),
    (1, 1),
    (-1, 1),
)  # horizontal, vertical, main and anti-diagonal neighbours
_DEFAULT_MODEL_FILE = "niqe_pristine.npz"


@functools.lru_cache(maxsize=4)
def _aggd_table(device_type: str) -> tuple[Tensor, Tensor]:
    """Shapes alpha on the reference's grid 0.2:0.001:10 and the ratio r(alpha) they imply."""
    alpha = torch.arange(200, 10001, dtype=torch.float64) / 1000.0
    lg = torch.lgamma
    ratio = torch.exp(2 * lg(2 / alpha) - lg(1 / alpha) - lg(3 / alpha))  # increasing in alpha
    return alpha.to(device_type), ratio.to(device_type)


def _aggd(x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Moment-matching AGGD fit of each row of ``x`` ``(N, P)``: shape, left scale, right scale (float64)."""
    neg_sq = x.clamp(max=0).square().sum(1, dtype=torch.float64)
    pos_sq = x.clamp(min=0).square().sum(1, dtype=torch.float64)
    n_neg = (x < 0).sum(1)
    n_pos = (x > 0).sum(1)
    left = torch.sqrt(neg_sq / n_neg)  # NaN when a side is empty, as in the reference
    right = torch.sqrt(pos_sq / n_pos)
    g = left / right
    r = x.abs().mean(1, dtype=torch.float64) ** 2 / ((neg_sq + pos_sq) / x.shape[1])
    r_norm = r * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
    alpha_grid, ratio_grid = _aggd_table(x.device.type)
    # Nearest grid ratio (the table is monotone, so a sorted search replaces the reference's argmin).
    safe = torch.nan_to_num(r_norm, nan=0.0)
    hi = torch.searchsorted(ratio_grid, safe.contiguous()).clamp(1, ratio_grid.numel() - 1)
    lo = hi - 1
    pick = torch.where((ratio_grid[hi] - safe).abs() < (safe - ratio_grid[lo]).abs(), hi, lo)
    alpha = torch.where(torch.isfinite(r_norm), alpha_grid[pick], torch.nan)
    scale = torch.exp(0.5 * (torch.lgamma(1 / alpha) - torch.lgamma(3 / alpha)))
    return alpha, left * scale, right * scale


def _gauss_taps(device: torch.device, dtype: torch.dtype) -> Tensor:
    t = torch.arange(-3, 4, dtype=torch.float64)
    w = torch.exp(-0.5 * (t / (7 / 6)) ** 2)
    return (w / w.sum()).to(device=device, dtype=dtype)


def _blur(x: Tensor, taps: Tensor) -> Tensor:
    # The 7x7 Gaussian is separable: two 7-tap passes instead of 49 taps.
    x = F.conv2d(F.pad(x, (3, 3, 0, 0), mode="replicate"), taps.view(1, 1, 1, 7))
    return F.conv2d(F.pad(x, (0, 0, 3, 3), mode="replicate"), taps.view(1, 1, 7, 1))


def _mscn(img: Tensor) -> tuple[Tensor, Tensor]:
    """MSCN coefficients and local sigma of a ``(1, 1, H, W)`` image."""
    taps = _gauss_taps(img.device, img.dtype)
    mu = _blur(img, taps)
    sigma = torch.sqrt((_blur(img * img, taps) - mu * mu).abs())
    return (img - mu) / (sigma + 1), sigma


def _blocks(x: Tensor, block: int) -> Tensor:
    """``(1, 1, H, W)`` with H, W multiples of ``block`` -> ``(N, block, block)``."""
    h, w = x.shape[-2:]
    return (
        x.reshape(h // block, block, w // block, block)
        .permute(0, 2, 1, 3)
        .reshape(-1, block, block)
    )


def _block_features(mscn: Tensor, block: int) -> Tensor:
    b = _blocks(mscn, block)
    flat = b.flatten(1)
    alpha, left, right = _aggd(flat)
    feats = [alpha, (left + right) / 2]
    for dy, dx in _SHIFTS:
        prod = (b * torch.roll(b, shifts=(dy, dx), dims=(1, 2))).flatten(1)
        alpha, left, right = _aggd(prod)
        mean = (right - left) * torch.exp(torch.lgamma(2 / alpha) - torch.lgamma(1 / alpha))
        feats += [alpha, mean, left, right]
    return torch.stack(feats, dim=1)


def _grey255(image: Tensor) -> Tensor:
    """``(C, H, W)`` in [0, 1] -> ``(1, 1, H', W')`` float32 grey on 0..255, cropped to 96 px multiples.

    float32 is plenty for the filtering (values <= 255, 7-tap sums); the statistics are accumulated
    in float64.
    """
    x = image.to(torch.float32)
    if x.shape[0] == 3:
        r, g, b = LUMA_WEIGHTS
        x = r * x[0] + g * x[1] + b * x[2]
    else:
        x = x[0]
    h, w = x.shape
    if h < NIQE_BLOCK or w < NIQE_BLOCK:
        raise ValueError(
            f"NIQE needs images of at least {NIQE_BLOCK}x{NIQE_BLOCK} pixels, got {h}x{w}."
        )
    h, w = h - h % NIQE_BLOCK, w - w % NIQE_BLOCK
    return (255.0 * x[:h, :w])[None, None]


def niqe_features(image: Tensor) -> tuple[Tensor, Tensor]:
    """The 36 NIQE features of each 96 px block of one image, and the blocks' sharpness.

    Args:
        image: ``(C, H, W)`` or ``(1, C, H, W)`` in [0, 1], C = 1 or 3, at least 96 px a side.

    Returns:
        ``(N, 36)`` float64 features (18 at full scale, 18 at half scale) and ``(N,)`` sharpness (the
        block's mean local sigma, used to pick pristine blocks).

    Example:
        >>> img = torch.rand(3, 192, 200, generator=torch.Generator().manual_seed(0))
        >>> f, s = niqe_features(img)
        >>> f.shape, s.shape
        (torch.Size([4, 36]), torch.Size([4]))
    """
    x, _ = check_image(image, "image")
    if x.shape[0] != 1:
        raise ValueError(
            f"`image` must be one image, got a batch of {x.shape[0]}; use niqe() for batches."
        )
    grey = _grey255(x[0])
    mscn1, sigma = _mscn(grey)
    f1 = _block_features(mscn1, NIQE_BLOCK)
    sharp = _blocks(sigma, NIQE_BLOCK).mean(dim=(1, 2), dtype=torch.float64)
    half = F.interpolate(
        grey, scale_factor=0.5, mode="bicubic", align_corners=False, antialias=True
    )
    mscn2, _ = _mscn(half)
    f2 = _block_features(mscn2, NIQE_BLOCK // 2)
    return torch.cat([f1, f2], dim=1), sharp


def _mean_cov(features: Tensor) -> tuple[Tensor, Tensor, int]:
    ok = torch.isfinite(features).all(dim=1)  # blocks with a flat side give NaN shapes; drop them
    f = features[ok]
    n = f.shape[0]
    if n == 0:
        nan = torch.full(
            (features.shape[1],), torch.nan, dtype=features.dtype, device=features.device
        )
        return nan, nan[:, None] * nan[None, :], 0
    mean = f.mean(0)
    cov = (
        torch.cov(f.T)
        if n > 1
        else torch.zeros(f.shape[1], f.shape[1], dtype=f.dtype, device=f.device)
    )
    return mean, cov, n


@dataclass(frozen=True)
class NIQEModel:
    """The pristine MVG: ``mean (36,)`` and ``cov (36, 36)`` (float64), and how many blocks made it."""

    mean: Tensor
    cov: Tensor
    num_blocks: int = 0

    def save(self, path: str | os.PathLike) -> None:
        """Write as ``.npz`` (plain arrays, safe to load)."""
        np.savez(path, mean=self.mean.cpu().numpy(), cov=self.cov.cpu().numpy(),
                 num_blocks=np.int64(self.num_blocks))  # fmt: skip

    @classmethod
    def load(cls, path: str | os.PathLike) -> NIQEModel:
        """Read a model written by :meth:`save` (``allow_pickle=False``)."""
        try:
            with np.load(path, allow_pickle=False) as data:
                mean = torch.from_numpy(np.asarray(data["mean"], dtype=np.float64))
                cov = torch.from_numpy(np.asarray(data["cov"], dtype=np.float64))
                n = int(data["num_blocks"]) if "num_blocks" in data else 0
        except (OSError, KeyError, ValueError) as exc:
            raise ValueError(
                f"{path}: not a NIQE model file (.npz with 'mean' and 'cov'): {exc}"
            ) from exc
        if mean.shape != (36,) or cov.shape != (36, 36):
            raise ValueError(
                f"{path}: expected mean (36,) and cov (36, 36), got {tuple(mean.shape)}, {tuple(cov.shape)}."
            )
        return cls(mean, cov, n)

    @classmethod
    def default(cls) -> NIQEModel:
        """The pristine model shipped with the package (see the module notes)."""
        return _default_model()


@functools.lru_cache(maxsize=1)
def _default_model() -> NIQEModel:
    ref = resources.files("pyisp_contrast.metrics").joinpath(_DEFAULT_MODEL_FILE)
    with resources.as_file(ref) as path:
        if not Path(path).is_file():
            raise FileNotFoundError(
                f"the shipped NIQE model {_DEFAULT_MODEL_FILE} is missing from the installation; "
                "fit one with scripts/fit_niqe_model.py and pass it as `model=`."
            )
        return NIQEModel.load(path)


def fit_niqe_model(images: Iterable[Tensor], *, sharpness_threshold: float = 0.75) -> NIQEModel:
    """Fit the pristine MVG on well-exposed, sharp images.

    Args:
        images: ``(C, H, W)`` images in [0, 1] (an iterable, so files can be read one by one).
        sharpness_threshold: keep the blocks whose sharpness exceeds this fraction of the image's
            sharpest block (the reference's 0.75).

    Returns:
        The fitted :class:`NIQEModel`.
    """
    if not 0 <= sharpness_threshold < 1:
        raise ValueError(f"`sharpness_threshold` must lie in [0, 1), got {sharpness_threshold}.")
    kept = []
    for img in images:
        f, sharp = niqe_features(img)
        kept.append(f[sharp > sharpness_threshold * sharp.max()])
    if not kept:
        raise ValueError("`images` is empty; pass at least a few pristine images.")
    mean, cov, n = _mean_cov(torch.cat(kept))
    if n < 2:
        raise ValueError(
            "too few usable blocks to fit a covariance; pass more (and larger) images."
        )
    return NIQEModel(mean, cov, n)


def niqe(images: Tensor, *, model: NIQEModel | str | os.PathLike | None = None) -> Tensor:
    """NIQE of each image (lower is more natural).

    Args:
        images: ``(B, C, H, W)`` or ``(C, H, W)`` in [0, 1], C = 1 or 3, at least 96x96 pixels.
        model: pristine model, or a path to one (``.npz``); default the shipped model.

    Returns:
        ``(B,)`` scores in ``images``' dtype; NaN for an image with no usable block (e.g. flat).

    Example:
        >>> from skimage.data import astronaut
        >>> img = torch.from_numpy(astronaut()[:192, 160:352].copy()).permute(2, 0, 1).float() / 255
        >>> noisy = (img + 0.1 * torch.randn(img.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
        >>> bool(niqe(noisy) > niqe(img))
        True
    """
    x, _ = check_image(images, "images")
    if model is None:
        model = NIQEModel.default()
    elif not isinstance(model, NIQEModel):
        model = NIQEModel.load(model)
    scores = []
    for img in x:
        feats, _ = niqe_features(img)
        mean, cov, n = _mean_cov(feats)
        if n == 0:
            scores.append(math.nan)
            continue
        mp, cp = model.mean.to(feats.device), model.cov.to(feats.device)
        d = (mp - mean)[:, None]
        dist = d.T @ torch.linalg.pinv((cp + cov) / 2, hermitian=True) @ d
        scores.append(float(dist.clamp_min(0).sqrt()))
    return torch.tensor(scores, dtype=x.dtype, device=x.device)


class NIQE(nn.Module):
    """Module form of :func:`niqe` holding its pristine model (loaded once)."""

    def __init__(self, model: NIQEModel | str | os.PathLike | None = None) -> None:
        super().__init__()
        self.model = model if isinstance(model, NIQEModel) else (
            NIQEModel.default() if model is None else NIQEModel.load(model)
        )  # fmt: skip

    def forward(self, images: Tensor) -> Tensor:
        return niqe(images, model=self.model)
