"""Differentiable soft SLIC (the superpixel layer of Superpixel Sampling Networks).

Jampani, Sun, Liu, Yang, Kautz, "Superpixel Sampling Networks", ECCV 2018 (arXiv:1807.10174):
every pixel is softly associated with the 9 superpixels of its own grid cell and the 8 around it,
``Q[p, k] = softmax_k(-||F_p - S_k||**2 / temperature)``, and the superpixel features are the
association-weighted means ``S_k = sum_p Q[p, k] F_p / sum_p Q[p, k]``. Every step is a smooth tensor
operation, so gradients flow to the image (and to any feature map passed instead of colours).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import kornia
import torch
from torch import Tensor, nn

from pyisp_contrast.core.checks import as_batch_param, check_image, check_int
from pyisp_contrast.segmentation.slic import (
    grid_geometry,
    resolve_spacing_and_lab,
    slic_grid,
)

__all__ = ["SoftSLIC", "SoftSuperpixels", "soft_slic"]


class SoftSuperpixels(NamedTuple):
    """Result of :func:`soft_slic`.

    Attributes:
        association: ``(B, 9, H, W)`` soft assignment of each pixel to its 9 candidate superpixels
            (sums to 1 over dimension 1; 0 for candidates off the grid).
        features: ``(B, K, C')`` superpixel features: the pixel features (scaled Lab or grey, then
            scaled row and column) averaged with the association weights.
        labels: ``(B, H, W)`` int64 hard assignment (arg-max candidate), not connectivity-enforced.
        neighbours: ``(K, 9)`` int64: superpixel index of candidate slot ``s`` for a pixel of grid
            cell ``k`` (``association[:, s]`` refers to ``neighbours[cell, s]``).
        cells: ``(H, W)`` int64 grid cell of every pixel.
    """

    association: Tensor
    features: Tensor
    labels: Tensor
    neighbours: Tensor
    cells: Tensor


def _pixel_features(x: Tensor, inv_m: Tensor, lab: bool, geo: dict) -> Tensor:
    """(B, C, H, W) -> (B, N, C') as in :func:`slic` (rescale, Lab, 1/m), without quantisation."""
    b, _, h, w = x.shape
    flat = x.reshape(b, -1)
    lo = flat.amin(1).view(b, 1, 1, 1)
    rng = (flat.amax(1).view(b, 1, 1, 1) - lo).clamp_min(torch.finfo(x.dtype).eps)
    x = (x - lo) / rng
    v = kornia.color.rgb_to_lab(x) if lab else x
    v = v * inv_m.view(b, 1, 1, 1)
    cy = torch.from_numpy(geo["coord_y"]).to(x).view(1, 1, h * w).expand(b, 1, h * w)
    cx = torch.from_numpy(geo["coord_x"]).to(x).view(1, 1, h * w).expand(b, 1, h * w)
    return torch.cat([v.reshape(b, -1, h * w), cy, cx], 1).transpose(1, 2)


def soft_slic(
    images: Tensor,
    n_segments: int = 400,
    temperature: float | Tensor = 1.0,
    n_iter: int = 5,
    *,
    compactness: float | Tensor = 10.0,
    spacing: Sequence[float] | None = None,
    convert2lab: bool | None = None,
) -> SoftSuperpixels:
    """Soft, differentiable SLIC: soft pixel-superpixel associations and superpixel features.

    Uses the same features, seed grid and 9-cell neighbourhood as :func:`slic` (see its notes);
    the features are not quantised here, and no connectivity is enforced.

    Args:
        images: ``(B, C, H, W)`` or ``(C, H, W)`` float in ``[0, 1]``, C = 1 or 3. Any float dtype.
        n_segments: requested number of superpixels (seed grid :func:`slic_grid`).
        temperature: softmax temperature (> 0), float or ``(B,)``; smaller is harder. Distances are
            in the units of :func:`slic` (squared Lab difference over ``compactness**2`` plus
            squared distance in grid steps), so 1 is a soft and 0.01 a nearly hard assignment.
        n_iter: number of (association, feature update) rounds, >= 1.
        compactness: colour/space balance, as in :func:`slic`.
        spacing: ``(row, column)`` pixel spacing.
        convert2lab: as in :func:`slic`.

    Returns:
        :class:`SoftSuperpixels`.

    Example:
        >>> out = soft_slic(torch.rand(2, 3, 16, 16), n_segments=4, temperature=0.5, n_iter=2)
        >>> out.association.shape, out.features.shape
        (torch.Size([2, 9, 16, 16]), torch.Size([2, 4, 5]))
        >>> torch.allclose(out.association.sum(1), torch.ones(2, 16, 16))
        True
    """
    images, unbatched = check_image(images, "images", channels=(1, 3))
    b, c, h, w = images.shape
    n_segments = check_int(n_segments, "n_segments", 1, h * w, allow_numpy=True)
    n_iter = check_int(n_iter, "n_iter", 1, allow_numpy=True)
    temp = as_batch_param(temperature, b, "temperature", like=images, low=0.0, low_inclusive=False)
    comp = as_batch_param(compactness, b, "compactness", like=images, low=0.0, low_inclusive=False)
    sy, sx, convert2lab = resolve_spacing_and_lab(spacing, convert2lab, c)

    gy, gx = slic_grid(h, w, n_segments)
    geo = grid_geometry(h, w, gy, gx, sy, sx)
    k = gy * gx
    dev = images.device
    feat = _pixel_features(images, 1.0 / comp.view(b), bool(convert2lab), geo)  # (B, N, C')
    cd = feat.shape[-1]
    cellmap = torch.from_numpy(geo["cellmap"]).to(dev)
    nbr = torch.from_numpy(geo["nbr"]).to(dev)
    # Off-grid slots repeat the pixel's own cell in the table; mask them so the cell counts once.
    valid = (nbr != torch.arange(k, device=dev).view(k, 1)) | (torch.arange(9, device=dev) == 4)
    ids = nbr[cellmap]  # (N, 9)
    slot_ok = valid[cellmap].t().unsqueeze(0)  # (1, 9, N)
    offsets = (torch.arange(b, device=dev) * k).view(b, 1)

    # Initial superpixel features: the mean of each grid cell.
    cell_idx = (cellmap.view(1, -1) + offsets).reshape(-1)
    sums = feat.new_zeros(b * k, cd).index_add(0, cell_idx, feat.reshape(-1, cd))
    cnt = torch.bincount(cellmap, minlength=k).to(feat.dtype).view(1, k, 1)
    spx = sums.view(b, k, cd) / cnt

    inv_t = 1.0 / temp.view(b, 1, 1)
    assoc = feat.new_zeros(b, 9, h * w)
    for it in range(n_iter):
        bidx = torch.arange(b, device=dev).view(b, 1, 1)
        cand = spx[bidx, ids.t().unsqueeze(0)]  # (B, 9, N, C')
        dist = (feat.unsqueeze(1) - cand).pow(2).sum(-1)  # (B, 9, N)
        logits = torch.where(slot_ok, -dist * inv_t, torch.finfo(dist.dtype).min)
        assoc = torch.softmax(logits, dim=1)
        if it == n_iter - 1:
            break
        flat_ids = (ids.t().unsqueeze(0) + offsets.view(b, 1, 1)).reshape(-1)  # (B*9*N,)
        wts = assoc.reshape(-1, 1)
        wf = (assoc.unsqueeze(-1) * feat.unsqueeze(1)).reshape(-1, cd)
        num = feat.new_zeros(b * k, cd).index_add(0, flat_ids, wf)
        den = feat.new_zeros(b * k, 1).index_add(0, flat_ids, wts)
        spx = (num / den.clamp_min(torch.finfo(feat.dtype).tiny)).view(b, k, cd)
    slot = assoc.argmax(1)  # (B, N)
    labels = ids.unsqueeze(0).expand(b, -1, 9).gather(2, slot.unsqueeze(-1)).squeeze(-1)
    out = SoftSuperpixels(
        assoc.view(b, 9, h, w),
        spx,
        labels.reshape(b, h, w),
        nbr,
        cellmap.view(h, w),
    )
    if unbatched:
        return SoftSuperpixels(out.association[0], out.features[0], out.labels[0], nbr, out.cells)
    return out


class SoftSLIC(nn.Module):
    """Module twin of :func:`soft_slic`.

    Example:
        >>> SoftSLIC(n_segments=4, temperature=0.5)(torch.rand(1, 3, 8, 8)).features.shape
        torch.Size([1, 4, 5])
    """

    def __init__(self, n_segments: int = 400, temperature: float = 1.0, n_iter: int = 5, **kwargs):
        super().__init__()
        self.n_segments = n_segments
        self.temperature = temperature
        self.n_iter = n_iter
        self.kwargs = kwargs

    def forward(self, images: Tensor) -> SoftSuperpixels:
        return soft_slic(images, self.n_segments, self.temperature, self.n_iter, **self.kwargs)
