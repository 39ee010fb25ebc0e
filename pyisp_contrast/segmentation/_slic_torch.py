"""torch SLIC path (private; any device). Same algorithm and tie-breaking as ``_slic_numba``.

Everything runs as whole-batch tensor ops with no host synchronisation inside the k-means loop:
the 9 candidate distances of every pixel come from one gather of their centres (``argmin`` takes
the first of equal minima, so the first candidate wins ties, as in the numba kernel). Centre sums are integer: features are multiples of
``2**-16``, so ``round(feature * 2**16)`` is an exact int64 and one ``index_add_`` of int64 rows
gives exact sums in any order, hence the same centres as the numba path's exact float64 sums and
the same result on every run and every device (float32 sums would depend on the order the
atomics land in; int32 overflows: a 1024x1024 image's cluster of ~2600 pixels with features
near 100 sums to ~1.7e10 * 2**-16 units). Connectivity is min-label propagation with pointer
jumping, then small components follow pointers to the component above them (pointer jumping
again); both loops test for convergence every few rounds, not every round.

GPU timing is pending: this path is tested on CPU (labels equal to the numba path's given the same
features) and, where CUDA is present, against the CPU path; it has not yet been timed on a GPU.
"""

from __future__ import annotations

import torch
from torch import Tensor

from pyisp_contrast.segmentation.slic import FEATURE_QUANTUM

#: Rounds of label propagation between two convergence tests (each test is a host sync).
ROUNDS_PER_CHECK = 4


def _fixed_point(feat: Tensor) -> Tensor:
    """(..., 5) quantised float32 features -> (..., 6) int64 ``(1, feature * 2**16)``, exact."""
    q = torch.round(feat * FEATURE_QUANTUM).long()
    return torch.cat([torch.ones_like(q[..., :1]), q], -1)


def _means(sums: Tensor) -> Tensor:
    """(..., 6) int64 ``(count, sums)`` -> (..., 5) float32 means, rounded as the numba path does
    (float64 quotient, then float32)."""
    cnt = sums[..., :1].double()
    return (sums[..., 1:].double() / FEATURE_QUANTUM / cnt.clamp_min(1)).float()


def _segment_sums(fixed: Tensor, labels: Tensor, k: int) -> Tensor:
    """(B, N, 6) int64 rows summed per label: (B, K, 6) int64."""
    b = fixed.shape[0]
    idx = (labels + torch.arange(b, device=labels.device).view(b, 1) * k).reshape(-1)
    sums = torch.zeros(b * k, 6, dtype=torch.int64, device=fixed.device)
    sums.index_add_(0, idx, fixed.reshape(-1, 6))
    return sums.view(b, k, 6)


def cell_means(feat: Tensor, cellmap: Tensor, n_cells: int) -> Tensor:
    """(B, N, 5) float32 raster features -> (B, K, 5) float32 mean per seed cell."""
    b, n, _ = feat.shape
    labels = cellmap.view(1, n).expand(b, n)
    return _means(_segment_sums(_fixed_point(feat), labels, n_cells))


def assign(feat: Tensor, cand: Tensor, centres: Tensor) -> Tensor:
    """Nearest of the 9 candidate centres for every pixel; (B, N) int64 cluster ids.

    ``cand``: (N, 9) int64, each pixel's candidate clusters in (dy, dx) raster order. All 9
    distances come from one gather and a few whole-tensor ops (a handful of kernels, not 9 rounds
    of them); ``argmin`` returns the first of equal minima, so the first candidate wins a tie, as
    in the numba kernel.
    """
    b = feat.shape[0]
    c = centres[torch.arange(b, device=feat.device).view(b, 1, 1), cand]  # (B, N, 9, 5)
    t = feat.unsqueeze(2) - c
    t = t * t
    # left-to-right sum, as in the numba kernel, so equal inputs give equal distances
    d = t[..., 0] + t[..., 1]
    d = d + t[..., 2]
    d = d + t[..., 3]
    d = d + t[..., 4]
    return cand.expand(b, -1, -1).gather(2, d.argmin(2, keepdim=True)).squeeze(2)


def update(fixed: Tensor, labels: Tensor, centres: Tensor) -> Tensor:
    """Move every non-empty centre to the mean of its pixels; ``fixed`` from :func:`_fixed_point`."""
    sums = _segment_sums(fixed, labels, centres.shape[1])
    return torch.where(sums[..., :1] > 0, _means(sums), centres)


def _shift(x: Tensor, dy: int, dx: int, fill: int) -> Tensor:
    """x[y + dy, x + dx] with ``fill`` outside the image; x is (B, H, W)."""
    out = torch.full_like(x, fill)
    h, w = x.shape[1:]
    ys = slice(max(-dy, 0), h - max(dy, 0))
    xs = slice(max(-dx, 0), w - max(dx, 0))
    yd = slice(max(dy, 0), h - max(-dy, 0))
    xd = slice(max(dx, 0), w - max(-dx, 0))
    out[:, ys, xs] = x[:, yd, xd]
    return out


_ORDER = ((-1, 0), (0, -1), (0, 1), (1, 0))  # the 4-neighbours: up, left, right, down


def enforce_connectivity(labels: Tensor, min_size: float) -> tuple[Tensor, Tensor]:
    """Same rule as ``_slic_numba._connect_one`` on a whole (B, H, W) batch."""
    b, h, w = labels.shape
    n = h * w
    dev = labels.device
    pix = torch.arange(n, device=dev).view(1, h, w).expand(b, h, w)
    comp = pix.clone()
    big = n + 1
    same = [_shift(labels, dy, dx, -1) == labels for dy, dx in _ORDER]
    while True:
        before = comp
        for _ in range(ROUNDS_PER_CHECK):  # rounds past convergence change nothing
            new = comp
            for (dy, dx), eq in zip(_ORDER, same):
                other = _shift(comp, dy, dx, big)
                new = torch.where(eq & (other < new), other, new)
            flat = new.reshape(b, n)
            comp = flat.gather(1, flat).view(b, h, w)  # pointer jumping: follow the chain twice
        if torch.equal(comp, before):
            break
    flat = comp.reshape(b, n)  # every pixel -> first (smallest raster index) pixel of its component
    size = torch.zeros(b, n, dtype=torch.int64, device=dev)
    size.scatter_add_(1, flat, torch.ones_like(flat))
    idx = torch.arange(n, device=dev)
    is_root = flat == idx
    kept = is_root & ((size >= min_size) | (idx == 0))
    # a small component joins the one holding the pixel above its first pixel (left in the top
    # row); that pixel is earlier in raster order, so the pointers reach a kept root by jumping
    above = torch.where(idx >= w, idx - w, (idx - 1).clamp_min(0))
    ptr = torch.where(kept, idx, flat.gather(1, above.view(1, n).expand(b, n)))
    while True:
        before = ptr
        for _ in range(ROUNDS_PER_CHECK):
            ptr = ptr.gather(1, ptr)
        if torch.equal(ptr, before):
            break
    new_id = kept.long().cumsum(1) - 1
    out = new_id.gather(1, ptr.gather(1, flat)).view(b, h, w)
    return out, kept.sum(1)


def slic_core(
    feat: Tensor,
    cellmap: Tensor,
    nbr: Tensor,
    jitter: Tensor | None,
    max_iter: int,
    subsample_stride: int,
    height: int,
) -> Tensor:
    """k-means on (B, N, 5) float32 quantised raster features of ``height``-row images; (B, N)
    cluster ids.

    Every pixel starts in its own grid cell (whose mean is the initial centre). Iteration
    ``i < max_iter - 1`` re-assigns the rows ``y`` with ``y % subsample_stride ==
    i % subsample_stride``, the other pixels keep their cluster, then every centre moves to the
    mean of all its pixels; the last iteration re-assigns every pixel.
    """
    b, n, _ = feat.shape
    h, w = height, n // height
    k = nbr.shape[0]
    fixed = _fixed_point(feat)
    cand = nbr[cellmap]  # (N, 9)
    labels = cellmap.view(1, n).repeat(b, 1)
    centres = _means(_segment_sums(fixed, labels, k))
    if jitter is not None:
        centres = torch.cat([centres[..., :3], centres[..., 3:] + jitter], -1)
    rows = feat.view(b, h, w, 5)
    cand_rows = cand.view(h, w, 9)
    grid = labels.view(b, h, w)
    for i in range(max_iter - 1):
        sl = slice(i % subsample_stride, None, subsample_stride)  # strided views: no index lists
        sub = rows[:, sl].reshape(b, -1, 5)
        grid[:, sl] = assign(sub, cand_rows[sl].reshape(-1, 9), centres).view(b, -1, w)
        centres = update(fixed, labels, centres)
    return assign(feat, cand, centres)
