"""numba kernels of the CPU SLIC path (private; see :func:`pyisp_contrast.segmentation.slic`).

Why it is fast:

* Pixels are stored cell by cell (grid-cell-major): every pixel of a seed cell compares itself
  with the same 9 centres (its cell and the 8 around it), so those 45 numbers are loaded once
  per cell into locals and the inner loop over the cell's pixels touches only contiguous memory.
* The 9 distances are written out in full (no inner loop, no centre array access per pixel).
* Each cell accumulates the sums of its 9 candidate clusters into its own slots, so the
  assignment runs in parallel over cells without races; a small per-image pass adds the slots.
* Connectivity works on runs of equal labels (union-find over runs), not on pixels.

Determinism: features are quantised to multiples of 2**-16 before they get here, so every float64
sum below is exact and independent of summation order; the torch path gets bit-identical centres.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_QUANT = np.float32(65536.0)


@njit(cache=True, inline="always")
def _dist(f0, f1, f2, f3, f4, c0, c1, c2, c3, c4):
    # Fixed left-to-right order; the torch path sums in the same order so ties resolve alike.
    t0 = f0 - c0
    t1 = f1 - c1
    t2 = f2 - c2
    t3 = f3 - c3
    t4 = f4 - c4
    return t0 * t0 + t1 * t1 + t2 * t2 + t3 * t3 + t4 * t4


_LUT_N = 4096


def make_luts() -> tuple[np.ndarray, np.ndarray]:
    """Tables for the two power laws of sRGB -> Lab (kornia's formula, computed in float64).

    ``pow`` and ``cbrt`` do not vectorise in numba and cost most of the conversion; a linearly
    interpolated table is exact to float32 precision for the sRGB curve (error < 3e-8), and one
    Newton step after the table makes the cube root exact to about one float32 ulp.
    """
    v = np.arange(_LUT_N + 2, dtype=np.float64) / _LUT_N
    lin = np.where(v > 0.04045, ((v + 0.055) / 1.055) ** 2.4, v / 12.92)
    t = np.arange(_LUT_N + 2, dtype=np.float64) * (1.25 / _LUT_N)
    return lin.astype(np.float32), np.cbrt(t).astype(np.float32)


@njit(cache=True, inline="always")
def _interp(lut, t):
    i = min(np.int64(t), _LUT_N - 1)
    f = t - np.float32(i)
    a = lut[i]
    return a + f * (lut[i + 1] - a)


@njit(cache=True, inline="always")
def _lab_f(t, cbrt_lut):
    # Both branches computed and selected: keeps the loop free of jumps.
    y = _interp(cbrt_lut, t * np.float32(_LUT_N / 1.25))
    y = y - (y * y * y - t) / (np.float32(3.0) * y * y)
    lin = np.float32(7.787) * t + np.float32(4.0 / 29.0)
    return y if t > np.float32(0.008856) else lin


# kornia's RGB->XYZ matrix with the D65 white point folded in.
_MX = (0.412453 / 0.95047, 0.357580 / 0.95047, 0.180423 / 0.95047)
_MY = (0.212671, 0.715160, 0.072169)
_MZ = (0.019334 / 1.08883, 0.119193 / 1.08883, 0.950227 / 1.08883)


@njit(cache=True, parallel=True)
def features_cell_major(
    img, perm, cell_start, lo, rng, inv_m, coord_y, coord_x, lab, lin_lut, cbrt_lut
):
    """Rescale, convert to Lab (kornia's formula), weight and quantise, in cell-major order.

    img: (B, C, H*W) float32 raster; perm: (N,) raster index of each cell-major position;
    lo, rng, inv_m: (B,) float32; coord_y, coord_x: (N,) float32 already-scaled coordinates
    (cell-major); returns (B, 5, N) float32.
    """
    b_n = img.shape[0]
    n_cells = cell_start.shape[0] - 1
    out = np.zeros((b_n, 5, perm.shape[0]), dtype=np.float32)
    mx0, mx1, mx2 = np.float32(_MX[0]), np.float32(_MX[1]), np.float32(_MX[2])
    my0, my1, my2 = np.float32(_MY[0]), np.float32(_MY[1]), np.float32(_MY[2])
    mz0, mz1, mz2 = np.float32(_MZ[0]), np.float32(_MZ[1]), np.float32(_MZ[2])
    for job in prange(b_n * n_cells):
        b = job // n_cells
        c = job % n_cells
        l0 = lo[b]
        m = inv_m[b] * _QUANT
        if lab:
            s = np.float32(_LUT_N) / rng[b]
            for p in range(cell_start[c], cell_start[c + 1]):
                r = perm[p]
                cr = _interp(lin_lut, (img[b, 0, r] - l0) * s)
                cg = _interp(lin_lut, (img[b, 1, r] - l0) * s)
                cb = _interp(lin_lut, (img[b, 2, r] - l0) * s)
                fx = _lab_f(mx0 * cr + mx1 * cg + mx2 * cb, cbrt_lut)
                fy = _lab_f(my0 * cr + my1 * cg + my2 * cb, cbrt_lut)
                fz = _lab_f(mz0 * cr + mz1 * cg + mz2 * cb, cbrt_lut)
                out[b, 0, p] = np.rint((np.float32(116.0) * fy - np.float32(16.0)) * m) / _QUANT
                out[b, 1, p] = np.rint(np.float32(500.0) * (fx - fy) * m) / _QUANT
                out[b, 2, p] = np.rint(np.float32(200.0) * (fy - fz) * m) / _QUANT
                out[b, 3, p] = coord_y[p]
                out[b, 4, p] = coord_x[p]
        else:
            r0 = rng[b]
            for p in range(cell_start[c], cell_start[c + 1]):
                out[b, 0, p] = np.rint((img[b, 0, perm[p]] - l0) / r0 * m) / _QUANT
                out[b, 3, p] = coord_y[p]
                out[b, 4, p] = coord_x[p]
    return out


@njit(cache=True)
def to_cell_major(feat, perm):
    """(B, 5, N) raster -> cell-major."""
    out = np.empty_like(feat)
    for b in range(feat.shape[0]):
        for j in range(feat.shape[1]):
            for p in range(perm.shape[0]):
                out[b, j, p] = feat[b, j, perm[p]]
    return out


@njit(cache=True, parallel=True)
def cell_means(feat, cell_start):
    """Initial centres: the mean feature of each seed cell, (B, K, 5) float32."""
    b_n = feat.shape[0]
    n_cells = cell_start.shape[0] - 1
    centres = np.empty((b_n, n_cells, 5), dtype=np.float32)
    for job in prange(b_n * n_cells):
        b = job // n_cells
        c = job % n_cells
        s0 = cell_start[c]
        s1 = cell_start[c + 1]
        for j in range(5):
            acc = 0.0
            for p in range(s0, s1):
                acc += np.float64(feat[b, j, p])
            centres[b, c, j] = np.float32(acc / (s1 - s0))
    return centres


@njit(cache=True, parallel=True)
def assign(feat, cell_start, nbr, centres, labels, partial, slots):
    """Assign every pixel to the nearest of its 9 candidate centres; fill per-cell slot sums.

    Ties go to the first candidate in the order (dy, dx) = (-1, -1), (-1, 0), ..., (1, 1).
    labels: (B, N) int32 out (cell-major); partial: (B, K, 9, 6) float64 out
    (count, then the 5 feature sums, per candidate slot).
    """
    b_n = feat.shape[0]
    n_cells = nbr.shape[0]
    for job in prange(b_n * n_cells):
        b = job // n_cells
        c = job % n_cells
        k0 = nbr[c, 0]
        k1 = nbr[c, 1]
        k2 = nbr[c, 2]
        k3 = nbr[c, 3]
        k4 = nbr[c, 4]
        k5 = nbr[c, 5]
        k6 = nbr[c, 6]
        k7 = nbr[c, 7]
        k8 = nbr[c, 8]
        c00, c01, c02, c03, c04 = (
            centres[b, k0, 0],
            centres[b, k0, 1],
            centres[b, k0, 2],
            centres[b, k0, 3],
            centres[b, k0, 4],
        )
        c10, c11, c12, c13, c14 = (
            centres[b, k1, 0],
            centres[b, k1, 1],
            centres[b, k1, 2],
            centres[b, k1, 3],
            centres[b, k1, 4],
        )
        c20, c21, c22, c23, c24 = (
            centres[b, k2, 0],
            centres[b, k2, 1],
            centres[b, k2, 2],
            centres[b, k2, 3],
            centres[b, k2, 4],
        )
        c30, c31, c32, c33, c34 = (
            centres[b, k3, 0],
            centres[b, k3, 1],
            centres[b, k3, 2],
            centres[b, k3, 3],
            centres[b, k3, 4],
        )
        c40, c41, c42, c43, c44 = (
            centres[b, k4, 0],
            centres[b, k4, 1],
            centres[b, k4, 2],
            centres[b, k4, 3],
            centres[b, k4, 4],
        )
        c50, c51, c52, c53, c54 = (
            centres[b, k5, 0],
            centres[b, k5, 1],
            centres[b, k5, 2],
            centres[b, k5, 3],
            centres[b, k5, 4],
        )
        c60, c61, c62, c63, c64 = (
            centres[b, k6, 0],
            centres[b, k6, 1],
            centres[b, k6, 2],
            centres[b, k6, 3],
            centres[b, k6, 4],
        )
        c70, c71, c72, c73, c74 = (
            centres[b, k7, 0],
            centres[b, k7, 1],
            centres[b, k7, 2],
            centres[b, k7, 3],
            centres[b, k7, 4],
        )
        c80, c81, c82, c83, c84 = (
            centres[b, k8, 0],
            centres[b, k8, 1],
            centres[b, k8, 2],
            centres[b, k8, 3],
            centres[b, k8, 4],
        )
        for s in range(9):
            for j in range(6):
                partial[b, c, s, j] = 0.0
        s0 = cell_start[c]
        s1 = cell_start[c + 1]
        # 1-D views of this cell's run: plain unit-stride loops that LLVM vectorises.
        g0 = feat[b, 0, s0:s1]
        g1 = feat[b, 1, s0:s1]
        g2 = feat[b, 2, s0:s1]
        g3 = feat[b, 3, s0:s1]
        g4 = feat[b, 4, s0:s1]
        sl = slots[b, s0:s1]
        for q in range(s1 - s0):
            f0 = g0[q]
            f1 = g1[q]
            f2 = g2[q]
            f3 = g3[q]
            f4 = g4[q]
            best = _dist(f0, f1, f2, f3, f4, c00, c01, c02, c03, c04)
            slot = np.int32(0)
            d = _dist(f0, f1, f2, f3, f4, c10, c11, c12, c13, c14)
            lt = d < best
            slot = np.int32(1) if lt else slot
            best = d if lt else best
            d = _dist(f0, f1, f2, f3, f4, c20, c21, c22, c23, c24)
            lt = d < best
            slot = np.int32(2) if lt else slot
            best = d if lt else best
            d = _dist(f0, f1, f2, f3, f4, c30, c31, c32, c33, c34)
            lt = d < best
            slot = np.int32(3) if lt else slot
            best = d if lt else best
            d = _dist(f0, f1, f2, f3, f4, c40, c41, c42, c43, c44)
            lt = d < best
            slot = np.int32(4) if lt else slot
            best = d if lt else best
            d = _dist(f0, f1, f2, f3, f4, c50, c51, c52, c53, c54)
            lt = d < best
            slot = np.int32(5) if lt else slot
            best = d if lt else best
            d = _dist(f0, f1, f2, f3, f4, c60, c61, c62, c63, c64)
            lt = d < best
            slot = np.int32(6) if lt else slot
            best = d if lt else best
            d = _dist(f0, f1, f2, f3, f4, c70, c71, c72, c73, c74)
            lt = d < best
            slot = np.int32(7) if lt else slot
            best = d if lt else best
            d = _dist(f0, f1, f2, f3, f4, c80, c81, c82, c83, c84)
            lt = d < best
            slot = np.int32(8) if lt else slot
            best = d if lt else best
            sl[q] = slot
        # Neighbouring pixels mostly share a slot: sum runs in registers, flush on change.
        cur = slots[b, s0] if s1 > s0 else 0
        a0 = 0.0
        a1 = 0.0
        a2 = 0.0
        a3 = 0.0
        a4 = 0.0
        a5 = 0.0
        for p in range(s0, s1):
            slot = slots[b, p]
            labels[b, p] = nbr[c, slot]
            if slot != cur:
                partial[b, c, cur, 0] += a0
                partial[b, c, cur, 1] += a1
                partial[b, c, cur, 2] += a2
                partial[b, c, cur, 3] += a3
                partial[b, c, cur, 4] += a4
                partial[b, c, cur, 5] += a5
                a0 = 0.0
                a1 = 0.0
                a2 = 0.0
                a3 = 0.0
                a4 = 0.0
                a5 = 0.0
                cur = slot
            a0 += 1.0
            a1 += feat[b, 0, p]
            a2 += feat[b, 1, p]
            a3 += feat[b, 2, p]
            a4 += feat[b, 3, p]
            a5 += feat[b, 4, p]
        partial[b, c, cur, 0] += a0
        partial[b, c, cur, 1] += a1
        partial[b, c, cur, 2] += a2
        partial[b, c, cur, 3] += a3
        partial[b, c, cur, 4] += a4
        partial[b, c, cur, 5] += a5


@njit(cache=True)
def update(partial, nbr, centres):
    """Add the slot sums into cluster sums and move each non-empty centre to its mean."""
    b_n, n_cells = partial.shape[0], partial.shape[1]
    for b in range(b_n):
        acc = np.zeros((n_cells, 6))
        for c in range(n_cells):
            for s in range(9):
                t = nbr[c, s]
                for j in range(6):
                    acc[t, j] += partial[b, c, s, j]
        for t in range(n_cells):
            if acc[t, 0] > 0:
                for j in range(5):
                    centres[b, t, j] = np.float32(acc[t, j + 1] / acc[t, 0])


@njit(cache=True)
def to_raster(labels_cm, perm):
    out = np.empty(labels_cm.shape, dtype=np.int64)
    for b in range(labels_cm.shape[0]):
        for p in range(perm.shape[0]):
            out[b, perm[p]] = labels_cm[b, p]
    return out


@njit(cache=True)
def _find(parent, i):
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:  # path compression
        nxt = parent[i]
        parent[i] = root
        i = nxt
    return root


@njit(cache=True)
def connect_one(lab, min_size, out):
    """Connectivity for one (H, W) label map; writes (H, W) int64 labels, returns their count.

    Components (4-connected) of at least ``min_size`` pixels keep a label of their own, numbered in
    raster order of their first pixel; the rest grow into them in synchronous waves, each pixel
    taking the label of its first labelled 4-neighbour in the order up, left, right, down.
    """
    h, w = lab.shape
    # 1) runs of equal labels per row
    run_start = np.empty(h * w + 1, dtype=np.int64)  # raster index of first pixel
    run_len = np.empty(h * w, dtype=np.int64)
    row_first = np.empty(h + 1, dtype=np.int64)
    n = 0
    for y in range(h):
        row_first[y] = n
        x = 0
        while x < w:
            v = lab[y, x]
            x1 = x + 1
            while x1 < w and lab[y, x1] == v:
                x1 += 1
            run_start[n] = y * w + x
            run_len[n] = x1 - x
            n += 1
            x = x1
    row_first[h] = n
    # 2) union-find over runs touching the run above with the same label; root = smallest run id
    parent = np.arange(n)
    for y in range(1, h):
        i = row_first[y - 1]
        i_end = row_first[y]
        for j in range(row_first[y], row_first[y + 1]):
            xs = run_start[j] - y * w
            xe = xs + run_len[j]
            v = lab[y, xs]
            while i < i_end and run_start[i] - (y - 1) * w + run_len[i] <= xs:
                i += 1
            k = i
            while k < i_end and run_start[k] - (y - 1) * w < xe:
                if lab[y - 1, run_start[k] - (y - 1) * w] == v:
                    ra = _find(parent, j)
                    rb = _find(parent, k)
                    if ra < rb:
                        parent[rb] = ra
                    elif rb < ra:
                        parent[ra] = rb
                k += 1
    size = np.zeros(n, dtype=np.int64)
    for j in range(n):
        r = _find(parent, j)
        parent[j] = r
        size[r] += run_len[j]
    # 3) keep the big components; number them in raster order (run ids are in raster order)
    new_id = np.full(n, -1, dtype=np.int64)
    count = 0
    for j in range(n):
        if parent[j] == j and size[j] >= min_size:
            new_id[j] = count
            count += 1
    if count == 0:  # nothing big enough: keep the largest (first in raster order on ties)
        best = 0
        for j in range(n):
            if parent[j] == j and size[j] > size[best]:
                best = j
        new_id[best] = 0
        count = 1
    flat = out.reshape(-1)
    for j in range(n):
        v = new_id[parent[j]]
        s = run_start[j]
        for p in range(s, s + run_len[j]):
            flat[p] = v
    # 4) synchronous waves from the kept components into the small fragments
    frontier = np.empty(h * w, dtype=np.int64)
    nf = 0
    for p in range(h * w):
        if flat[p] < 0:
            y = p // w
            x = p - y * w
            if (
                (y > 0 and flat[p - w] >= 0)
                or (x > 0 and flat[p - 1] >= 0)
                or (x < w - 1 and flat[p + 1] >= 0)
                or (y < h - 1 and flat[p + w] >= 0)
            ):
                frontier[nf] = p
                nf += 1
    vals = np.empty(h * w, dtype=np.int64)
    seen = np.zeros(h * w, dtype=np.bool_)
    nxt = np.empty(h * w, dtype=np.int64)
    while nf > 0:
        for i in range(nf):
            p = frontier[i]
            y = p // w
            x = p - y * w
            v = -1
            if y > 0 and flat[p - w] >= 0:
                v = flat[p - w]
            elif x > 0 and flat[p - 1] >= 0:
                v = flat[p - 1]
            elif x < w - 1 and flat[p + 1] >= 0:
                v = flat[p + 1]
            elif y < h - 1 and flat[p + w] >= 0:
                v = flat[p + w]
            vals[i] = v
        for i in range(nf):
            flat[frontier[i]] = vals[i]
        nn = 0
        for i in range(nf):
            p = frontier[i]
            y = p // w
            x = p - y * w
            if y > 0 and flat[p - w] < 0 and not seen[p - w]:
                seen[p - w] = True
                nxt[nn] = p - w
                nn += 1
            if x > 0 and flat[p - 1] < 0 and not seen[p - 1]:
                seen[p - 1] = True
                nxt[nn] = p - 1
                nn += 1
            if x < w - 1 and flat[p + 1] < 0 and not seen[p + 1]:
                seen[p + 1] = True
                nxt[nn] = p + 1
                nn += 1
            if y < h - 1 and flat[p + w] < 0 and not seen[p + w]:
                seen[p + w] = True
                nxt[nn] = p + w
                nn += 1
        frontier, nxt = nxt, frontier
        nf = nn
    return count


@njit(cache=True, parallel=True)
def enforce_connectivity(labels, min_size):
    """(B, H, W) labels -> (relabelled (B, H, W) int64, (B,) int64 counts)."""
    b_n = labels.shape[0]
    out = np.empty(labels.shape, dtype=np.int64)
    counts = np.empty(b_n, dtype=np.int64)
    for b in prange(b_n):  # one image per thread
        counts[b] = connect_one(labels[b], min_size, out[b])
    return out, counts


@njit(cache=True)
def cell_major_perm(y_bounds, x_bounds, w):
    """Raster index of every cell-major position, and the first position of every cell."""
    gy = y_bounds.shape[0] - 1
    gx = x_bounds.shape[0] - 1
    n = (y_bounds[gy] - y_bounds[0]) * (x_bounds[gx] - x_bounds[0])
    perm = np.empty(n, dtype=np.int64)
    start = np.empty(gy * gx + 1, dtype=np.int64)
    p = 0
    for cy in range(gy):
        for cx in range(gx):
            start[cy * gx + cx] = p
            for y in range(y_bounds[cy], y_bounds[cy + 1]):
                for x in range(x_bounds[cx], x_bounds[cx + 1]):
                    perm[p] = y * w + x
                    p += 1
    start[gy * gx] = p
    return perm, start
