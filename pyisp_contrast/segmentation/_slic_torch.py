"""torch SLIC path (private; any device). Same algorithm and tie-breaking as ``_slic_numba``.

Everything runs as whole-batch tensor ops: the 9 candidate centres of every pixel are visited one
slot at a time (strict ``<``, so the first candidate wins ties, as in the numba kernel), centre sums
are float64 ``index_add`` (exact, because features are quantised to multiples of 2**-16), and
connectivity is min-label propagation with pointer jumping, then small components follow
pointers to the component above them (pointer jumping again).
"""

from __future__ import annotations

import torch
from torch import Tensor


def cell_means(feat: Tensor, cellmap: Tensor, n_cells: int) -> Tensor:
    """(B, N, 5) float32 raster features -> (B, K, 5) float32 mean per seed cell."""
    b, n, _ = feat.shape
    idx = (cellmap.view(1, n) + torch.arange(b, device=feat.device).view(b, 1) * n_cells).view(-1)
    sums = torch.zeros(b * n_cells, 5, dtype=torch.float64, device=feat.device)
    sums.index_add_(0, idx, feat.reshape(-1, 5).double())
    cnt = torch.bincount(cellmap, minlength=n_cells).double().view(1, n_cells, 1)
    return (sums.view(b, n_cells, 5) / cnt).float()


def assign(feat: Tensor, cellmap: Tensor, nbr: Tensor, centres: Tensor) -> Tensor:
    """Nearest of the 9 candidate centres for every pixel; (B, N) int64 cluster ids."""
    best = None
    lab = None
    bidx = torch.arange(feat.shape[0], device=feat.device).view(-1, 1)
    for s in range(9):
        ids = nbr[cellmap, s]  # (N,)
        c = centres[bidx, ids.view(1, -1)]  # (B, N, 5)
        t = feat - c
        t = t * t
        # left-to-right sum, as in the numba kernel, so equal inputs give equal distances
        d = t[..., 0] + t[..., 1]
        d = d + t[..., 2]
        d = d + t[..., 3]
        d = d + t[..., 4]
        if best is None:
            best = d
            lab = ids.view(1, -1).expand_as(d).clone()
        else:
            closer = d < best
            best = torch.where(closer, d, best)
            lab = torch.where(closer, ids.view(1, -1), lab)
    return lab


def update(feat: Tensor, labels: Tensor, centres: Tensor) -> Tensor:
    """Move every non-empty centre to the mean of its pixels (float64 sums, float32 result)."""
    b, k, _ = centres.shape
    idx = (labels + torch.arange(b, device=feat.device).view(b, 1) * k).view(-1)
    sums = torch.zeros(b * k, 6, dtype=torch.float64, device=feat.device)
    src = torch.cat([torch.ones_like(feat[..., :1]), feat], -1).reshape(-1, 6).double()
    sums.index_add_(0, idx, src)
    sums = sums.view(b, k, 6)
    cnt = sums[..., :1]
    new = (sums[..., 1:] / cnt.clamp_min(1)).float()
    return torch.where(cnt > 0, new, centres)


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
    while True:
        new = comp
        for dy, dx in _ORDER:
            same = _shift(labels, dy, dx, -1) == labels
            other = _shift(comp, dy, dx, big)
            new = torch.where(same & (other < new), other, new)
        flat = new.reshape(b, n)
        new = flat.gather(1, flat).view(b, h, w)  # pointer jumping: follow the chain twice
        if torch.equal(new, comp):
            break
        comp = new
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
        nxt = ptr.gather(1, ptr)
        if torch.equal(nxt, ptr):
            break
        ptr = nxt
    new_id = kept.long().cumsum(1) - 1
    out = new_id.gather(1, ptr.gather(1, flat)).view(b, h, w)
    return out, kept.sum(1)


def slic_core(
    feat: Tensor, cellmap: Tensor, nbr: Tensor, jitter: Tensor | None, max_iter: int
) -> Tensor:
    """k-means iterations on (B, N, 5) float32 quantised features; (B, N) cluster ids."""
    centres = cell_means(feat, cellmap, nbr.shape[0])
    if jitter is not None:
        centres = torch.cat([centres[..., :3], centres[..., 3:] + jitter], -1)
    labels = assign(feat, cellmap, nbr, centres)
    for _ in range(max_iter - 1):
        centres = update(feat, labels, centres)
        labels = assign(feat, cellmap, nbr, centres)
    return labels
