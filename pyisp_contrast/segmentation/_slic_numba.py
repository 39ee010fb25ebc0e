"""numba kernels of the CPU SLIC path (private; see :func:`pyisp_contrast.segmentation.slic`).

Why it is fast:

* Colour features are stored cell by cell (grid-cell-major): every pixel of a seed cell compares
  itself with the same 9 centres (its cell and the 8 around it), so those 45 numbers are loaded
  once per cell into locals, and the loop runs over the cell's rows, each contiguous both in the
  cell-major features and in the raster image and label map (no permutation anywhere).
* Positions are not stored: a row's (y - y_k)^2 terms are computed once per row, and x comes from
  a (W,) table; coordinate sums of a run of equal labels come from its length and a prefix table.
* The 9 distances are written out in full (no inner loop, no centre array access per pixel).
* The features pass also sums each seed cell, so the initial centres cost no extra pass, and its
  Lab conversion has no table lookups or libm calls, so LLVM vectorises it.
* Each cell keeps the sums of its 9 candidate clusters in its own slots, so the
  assignment runs in parallel over cells without races; a small per-image pass adds the slots.
  The features pass starts them (every pixel in its own cell); after that only the pixels whose
  slot changed move their sums (exact either way), so an iteration that re-assigns one row in
  ``subsample_stride`` costs about that fraction of a full one.
* Connectivity works on runs of equal labels (union-find over runs, whole fragments merged), not
  on pixels.

Determinism: features are quantised to multiples of 2**-16 before they get here, so every float64
sum below is exact and independent of summation order; the torch path gets bit-identical centres.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from pyisp_contrast.segmentation.slic import FEATURE_QUANTUM

_QUANT = np.float32(FEATURE_QUANTUM)
#: The assignment loops run over multiples of this many pixels; the feature array must have this
#: many spare entries after the last pixel (``slic._workspace``).
BLOCK_PAD = 32


@njit(cache=True, inline="always")
def _dist(f0, f1, f2, e3, f4, c0, c1, c2, c4):
    # Fixed left-to-right order; the torch path sums in the same order so ties resolve alike.
    # e3 is the row's (y - c3)^2, computed once per row.
    t0 = f0 - c0
    t1 = f1 - c1
    t2 = f2 - c2
    t4 = f4 - c4
    return t0 * t0 + t1 * t1 + t2 * t2 + e3 + t4 * t4


# sRGB -> Lab without table lookups or libm calls, so that LLVM vectorises the loop (8 floats
# per instruction); kornia's formula, with the two power laws computed as
#   t**2.4 = t**2 * y, y = t**0.4: a cubic in t**0.25 (two square roots), then one Newton step
#            on y**5 = t**2 (t in [0.0875, 1], the branch above 0.04045);
#   cbrt(t): a cubic in t**0.25, then one Halley step (t in [0.008856, 1]).
# Coefficients: least-squares Chebyshev fits (numpy.polynomial, degree 3) of t**0.4 and cbrt(t)
# against t**0.25 on those intervals. Both results are within 3e-7 (t**2.4) and 1e-7 (cbrt) of
# float64, as close as torch.pow in float32 (tested).
# Divisions by constants (and by the image's range) are multiplications by their reciprocals
# (within an ulp): a vector division costs several multiplications, and without fastmath LLVM
# keeps them. On a 1024 x 1024 photo this pass went from 4.0 to 3.6 ms; the labels changed at 2
# pixels in a million.
_P04 = (-0.03640903, 0.38266027, 0.7446319, -0.09089877)
_PCBRT = (-0.033112302, 0.6388324, 0.49107727, -0.09687482)


@njit(cache=True, inline="always")
def _cubic(c, x):
    return ((np.float32(c[3]) * x + np.float32(c[2])) * x + np.float32(c[1])) * x + np.float32(c[0])


@njit(cache=True, inline="always")
def _srgb_to_linear(v):
    # Both branches computed and selected: keeps the loop free of jumps.
    t = (v + np.float32(0.055)) * np.float32(1.0 / 1.055)
    y = _cubic(_P04, np.sqrt(np.sqrt(t)))
    a = t * t
    y4 = (y * y) * (y * y)
    y = y + (a / y4 - y) * np.float32(0.2)
    return a * y if v > np.float32(0.04045) else v * np.float32(1.0 / 12.92)


@njit(cache=True, inline="always")
def _lab_f(t):
    y = _cubic(_PCBRT, np.sqrt(np.sqrt(t)))
    y3 = y * y * y
    y = y + y * (t - y3) / (np.float32(2.0) * y3 + t)
    lin = np.float32(7.787) * t + np.float32(4.0 / 29.0)
    return y if t > np.float32(0.008856) else lin


# kornia's RGB->XYZ matrix with the D65 white point folded in.
_MX = (0.412453 / 0.95047, 0.357580 / 0.95047, 0.180423 / 0.95047)
_MY = (0.212671, 0.715160, 0.072169)
_MZ = (0.019334 / 1.08883, 0.119193 / 1.08883, 0.950227 / 1.08883)


@njit(cache=True, inline="always")
def _position(start, c, y, y0, cw):
    # Where row y of cell c (first row y0, width cw) starts in the feature layout.
    stride = start.shape[0]
    phase = y % stride
    return start[phase, c] + (y - y0) // stride * cw


@njit(cache=True, parallel=True)
def features(img, y_bounds, x_bounds, start, lo, rng, inv_m, ys, xs, lab, out, partial, slots):
    """Rescale, convert to Lab (kornia's formula), weight and quantise; initial centres.

    img: (B, C, H*W) float32 raster; y_bounds (gy+1,), x_bounds (gx+1,) int64 cell edges;
    start: (stride, K) int64, the feature layout (``slic.phase_layout``); lo, rng, inv_m: (B,)
    float32; ys (H,), xs (W,) float32 already-scaled, quantised coordinates.
    Writes the colour features into ``out`` (B, 3, H*W) float32 in that layout (channels 1-2
    are zero for grey input); returns the mean (L, a, b, y, x) of every seed cell, (B, K, 5).
    Starts the k-means state with every pixel in its own cell: ``slots`` (B, N) int32 all 4 (the
    centre slot of the 3x3 candidates) and ``partial`` (B, K, 9, 6) the cell's count and sums in
    slot 4, zero elsewhere (see :func:`assign`).
    """
    b_n = img.shape[0]
    w = xs.shape[0]
    gy = y_bounds.shape[0] - 1
    gx = x_bounds.shape[0] - 1
    n_cells = gy * gx
    centres = np.empty((b_n, n_cells, 5), dtype=np.float32)
    mx0, mx1, mx2 = np.float32(_MX[0]), np.float32(_MX[1]), np.float32(_MX[2])
    my0, my1, my2 = np.float32(_MY[0]), np.float32(_MY[1]), np.float32(_MY[2])
    mz0, mz1, mz2 = np.float32(_MZ[0]), np.float32(_MZ[1]), np.float32(_MZ[2])
    # One job per row of cells: whole image rows are converted (long unit-stride loops, which
    # vectorise without a scalar tail per cell), then cut into the cells' rows.
    for job in prange(b_n * gy):
        b = job // gy
        cy = job % gy
        y0, y1 = y_bounds[cy], y_bounds[cy + 1]
        l0 = lo[b]
        m = inv_m[b] * _QUANT
        r0 = rng[b]
        o0 = np.empty(w, dtype=np.float32)
        o1 = np.zeros(w, dtype=np.float32)
        o2 = np.zeros(w, dtype=np.float32)
        acc = np.zeros((gx, 4))  # exact float64 sums (multiples of 2**-16): order does not matter
        for y in range(y0, y1):
            ir = img[b, 0, y * w : (y + 1) * w]
            if lab:
                ig = img[b, 1, y * w : (y + 1) * w]
                ib = img[b, 2, y * w : (y + 1) * w]
                inv_r0 = np.float32(1.0) / r0
                for q in range(w):
                    cr = _srgb_to_linear((ir[q] - l0) * inv_r0)
                    cg = _srgb_to_linear((ig[q] - l0) * inv_r0)
                    cb = _srgb_to_linear((ib[q] - l0) * inv_r0)
                    fx = _lab_f(mx0 * cr + mx1 * cg + mx2 * cb)
                    fy = _lab_f(my0 * cr + my1 * cg + my2 * cb)
                    fz = _lab_f(mz0 * cr + mz1 * cg + mz2 * cb)
                    o0[q] = np.rint((np.float32(116.0) * fy - np.float32(16.0)) * m) / _QUANT
                    o1[q] = np.rint(np.float32(500.0) * (fx - fy) * m) / _QUANT
                    o2[q] = np.rint(np.float32(200.0) * (fy - fz) * m) / _QUANT
            else:
                for q in range(w):
                    o0[q] = np.rint((ir[q] - l0) / r0 * m) / _QUANT
            for cx in range(gx):
                x0, x1 = x_bounds[cx], x_bounds[cx + 1]
                cw = x1 - x0
                p = _position(start, cy * gx + cx, y, y0, cw)
                out[b, 0, p : p + cw] = o0[x0:x1]
                out[b, 1, p : p + cw] = o1[x0:x1]
                out[b, 2, p : p + cw] = o2[x0:x1]
                slots[b, p : p + cw] = 4
                s0 = 0.0
                s1 = 0.0
                s2 = 0.0
                for q in range(x0, x1):
                    s0 += o0[q]
                    s1 += o1[q]
                    s2 += o2[q]
                acc[cx, 0] += s0
                acc[cx, 1] += s1
                acc[cx, 2] += s2
                acc[cx, 3] += np.float64(ys[y]) * cw
        for cx in range(gx):
            c = cy * gx + cx
            x0, x1 = x_bounds[cx], x_bounds[cx + 1]
            npx = (y1 - y0) * (x1 - x0)
            a4 = 0.0
            for q in range(x0, x1):
                a4 += xs[q]
            a4 *= y1 - y0
            pc = partial[b, c]
            for s in range(9):
                for j in range(6):
                    pc[s, j] = 0.0
            pc[4, 0] = npx
            pc[4, 1] = acc[cx, 0]
            pc[4, 2] = acc[cx, 1]
            pc[4, 3] = acc[cx, 2]
            pc[4, 4] = acc[cx, 3]
            pc[4, 5] = a4
            for j in range(4):
                centres[b, c, j] = np.float32(acc[cx, j] / npx)
            centres[b, c, 4] = np.float32(a4 / npx)
    return centres


@njit(cache=True, parallel=True)
def assign(
    feat, y_bounds, x_bounds, start, ys, xs, x_prefix, nbr, centres, labels, partial, slots, phase
):
    """Assign pixels to the nearest of their 9 candidate centres.

    Ties go to the first candidate in the order (dy, dx) = (-1, -1), (-1, 0), ..., (1, 1), and the
    squared distance is summed in the order L, a, b, y, x, as on the torch path.
    feat: (B, 3, N) cell-major colour; x_prefix: (W+1,) float64 prefix sums of ``xs``;
    partial: (B, K, 9, 6) float64, per cell and candidate slot
    the count and 5 feature sums of the cell's pixels in that slot; slots: (B, N) int32, each
    pixel's slot (cell-major).
    ``phase`` >= 0 (a k-means iteration): only the rows ``y`` with ``y % stride == phase`` are
    assigned, ``stride = start.shape[0]`` (the feature layout stores them together: see
    ``slic.phase_layout``); the pixels whose slot changes move their features from the old slot's sums to the
    new one's (exact: the sums are exact, so moving gives the sums a recount would). A row in
    which many pixels change does it by runs: it takes its runs of equal old slots out and puts
    its runs of equal new slots in.
    ``phase`` = -1 (the final assignment): every row, writing ``labels`` (B, H*W) int32, raster
    order, and nothing else.
    """
    b_n = feat.shape[0]
    w = xs.shape[0]
    gx = x_bounds.shape[0] - 1
    n_cells = nbr.shape[0]
    for job in prange(b_n * n_cells):
        b = job // n_cells
        c = job % n_cells
        cy = c // gx
        cx = c - cy * gx
        y0, y1 = y_bounds[cy], y_bounds[cy + 1]
        x0, x1 = x_bounds[cx], x_bounds[cx + 1]
        cw = x1 - x0
        stride = start.shape[0]
        k0 = nbr[c, 0]
        k1 = nbr[c, 1]
        k2 = nbr[c, 2]
        k3 = nbr[c, 3]
        k4 = nbr[c, 4]
        k5 = nbr[c, 5]
        k6 = nbr[c, 6]
        k7 = nbr[c, 7]
        k8 = nbr[c, 8]
        c00, c01, c02 = centres[b, k0, 0], centres[b, k0, 1], centres[b, k0, 2]
        c03, c04 = centres[b, k0, 3], centres[b, k0, 4]
        c10, c11, c12 = centres[b, k1, 0], centres[b, k1, 1], centres[b, k1, 2]
        c13, c14 = centres[b, k1, 3], centres[b, k1, 4]
        c20, c21, c22 = centres[b, k2, 0], centres[b, k2, 1], centres[b, k2, 2]
        c23, c24 = centres[b, k2, 3], centres[b, k2, 4]
        c30, c31, c32 = centres[b, k3, 0], centres[b, k3, 1], centres[b, k3, 2]
        c33, c34 = centres[b, k3, 3], centres[b, k3, 4]
        c40, c41, c42 = centres[b, k4, 0], centres[b, k4, 1], centres[b, k4, 2]
        c43, c44 = centres[b, k4, 3], centres[b, k4, 4]
        c50, c51, c52 = centres[b, k5, 0], centres[b, k5, 1], centres[b, k5, 2]
        c53, c54 = centres[b, k5, 3], centres[b, k5, 4]
        c60, c61, c62 = centres[b, k6, 0], centres[b, k6, 1], centres[b, k6, 2]
        c63, c64 = centres[b, k6, 3], centres[b, k6, 4]
        c70, c71, c72 = centres[b, k7, 0], centres[b, k7, 1], centres[b, k7, 2]
        c73, c74 = centres[b, k7, 3], centres[b, k7, 4]
        c80, c81, c82 = centres[b, k8, 0], centres[b, k8, 1], centres[b, k8, 2]
        c83, c84 = centres[b, k8, 3], centres[b, k8, 4]
        pc = partial[b, c]
        xr = xs[x0:x1]
        # One phase's rows of this cell are one contiguous block: one long loop over the block
        # (each pixel's y from ``yb``), rounded up to a multiple of BLOCK_PAD so that it has no scalar
        # tail; the pixels past the block read the padding after it and are ignored.
        n_max = ((y1 - y0 + stride - 1) // stride * cw + BLOCK_PAD - 1) // BLOCK_PAD * BLOCK_PAD
        yb = np.zeros(n_max, dtype=np.float32)
        xb = np.zeros(n_max, dtype=np.float32)
        so = np.empty(n_max, dtype=np.int32)
        ph0 = phase if phase >= 0 else 0
        ph1 = phase + 1 if phase >= 0 else stride
        for ph in range(ph0, ph1):
            y_first = y0 + (ph - y0) % stride
            if y_first >= y1:
                continue
            n_rows = (y1 - y_first + stride - 1) // stride
            n_pad = (n_rows * cw + BLOCK_PAD - 1) // BLOCK_PAD * BLOCK_PAD
            p0 = start[ph, c]
            for r in range(n_rows):
                yv = ys[y_first + r * stride]
                for q in range(cw):
                    yb[r * cw + q] = yv
                    xb[r * cw + q] = xr[q]
            g0 = feat[b, 0, p0 : p0 + n_pad]
            g1 = feat[b, 1, p0 : p0 + n_pad]
            g2 = feat[b, 2, p0 : p0 + n_pad]
            # a plain unit-stride loop that LLVM vectorises
            for q in range(n_pad):
                f0 = g0[q]
                f1 = g1[q]
                f2 = g2[q]
                yy = yb[q]
                f4 = xb[q]
                e = (yy - c03) * (yy - c03)
                best = _dist(f0, f1, f2, e, f4, c00, c01, c02, c04)
                slot = np.int32(0)
                e = (yy - c13) * (yy - c13)
                d = _dist(f0, f1, f2, e, f4, c10, c11, c12, c14)
                lt = d < best
                slot = np.int32(1) if lt else slot
                best = d if lt else best
                e = (yy - c23) * (yy - c23)
                d = _dist(f0, f1, f2, e, f4, c20, c21, c22, c24)
                lt = d < best
                slot = np.int32(2) if lt else slot
                best = d if lt else best
                e = (yy - c33) * (yy - c33)
                d = _dist(f0, f1, f2, e, f4, c30, c31, c32, c34)
                lt = d < best
                slot = np.int32(3) if lt else slot
                best = d if lt else best
                e = (yy - c43) * (yy - c43)
                d = _dist(f0, f1, f2, e, f4, c40, c41, c42, c44)
                lt = d < best
                slot = np.int32(4) if lt else slot
                best = d if lt else best
                e = (yy - c53) * (yy - c53)
                d = _dist(f0, f1, f2, e, f4, c50, c51, c52, c54)
                lt = d < best
                slot = np.int32(5) if lt else slot
                best = d if lt else best
                e = (yy - c63) * (yy - c63)
                d = _dist(f0, f1, f2, e, f4, c60, c61, c62, c64)
                lt = d < best
                slot = np.int32(6) if lt else slot
                best = d if lt else best
                e = (yy - c73) * (yy - c73)
                d = _dist(f0, f1, f2, e, f4, c70, c71, c72, c74)
                lt = d < best
                slot = np.int32(7) if lt else slot
                best = d if lt else best
                e = (yy - c83) * (yy - c83)
                d = _dist(f0, f1, f2, e, f4, c80, c81, c82, c84)
                lt = d < best
                slot = np.int32(8) if lt else slot
                best = d if lt else best
                so[q] = slot
            for r in range(n_rows):
                y = y_first + r * stride
                sr = so[r * cw : (r + 1) * cw]
                if phase < 0:  # the final assignment: labels, no sums
                    lb = labels[b, y * w + x0 : y * w + x1]
                    for q in range(cw):
                        lb[q] = nbr[c, sr[q]]
                    continue
                p = p0 + r * cw
                old = slots[b, p : p + cw]
                changed = 0
                for q in range(cw):
                    changed += old[q] != sr[q]
                if changed == 0:
                    continue
                yy = ys[y]
                h0 = g0[r * cw : (r + 1) * cw]
                h1 = g1[r * cw : (r + 1) * cw]
                h2 = g2[r * cw : (r + 1) * cw]
                if 4 * changed < cw:  # a few pixels: move them one by one
                    for q in range(cw):
                        o = old[q]
                        n = sr[q]
                        if o != n:
                            _move(pc, o, n, h0[q], h1[q], h2[q], yy, xr[q])
                            old[q] = n
                    continue
                _add_runs(pc, old, h0, h1, h2, yy, x_prefix, x0, -1.0)
                _add_runs(pc, sr, h0, h1, h2, yy, x_prefix, x0, 1.0)
                old[:] = sr


@njit(cache=True, inline="always")
def _add_runs(pc, sl, g0, g1, g2, yy, x_prefix, x0, sign):
    # Adds (sign 1) or takes out (sign -1) one row's pixels, slot ``sl[q]`` for pixel q, by runs of
    # equal slots: neighbouring pixels mostly share one, so the sums stay in registers.
    cw = sl.shape[0]
    cur = sl[0]
    qa = 0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    for q in range(cw + 1):
        if q == cw or sl[q] != cur:
            n = q - qa
            pc[cur, 0] += sign * n
            pc[cur, 1] += sign * a1
            pc[cur, 2] += sign * a2
            pc[cur, 3] += sign * a3
            pc[cur, 4] += sign * (n * np.float64(yy))
            pc[cur, 5] += sign * (x_prefix[x0 + q] - x_prefix[x0 + qa])
            if q == cw:
                break
            a1 = 0.0
            a2 = 0.0
            a3 = 0.0
            qa = q
            cur = sl[q]
        a1 += g0[q]
        a2 += g1[q]
        a3 += g2[q]


@njit(cache=True, inline="always")
def _move(pc, old, new, f0, f1, f2, yy, xx):
    # One pixel leaves slot ``old`` for slot ``new``.
    pc[old, 0] -= 1.0
    pc[old, 1] -= f0
    pc[old, 2] -= f1
    pc[old, 3] -= f2
    pc[old, 4] -= yy
    pc[old, 5] -= xx
    pc[new, 0] += 1.0
    pc[new, 1] += f0
    pc[new, 2] += f1
    pc[new, 3] += f2
    pc[new, 4] += yy
    pc[new, 5] += xx


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

    Components (4-connected) of at least ``min_size`` pixels, and the one holding pixel (0, 0),
    keep a label of their own, numbered in raster order of their first pixel; every smaller one
    joins the component holding the pixel above its first pixel (to its left in the top row), as
    scikit-image does. Works on runs of equal labels; no per-pixel search.
    """
    h, w = lab.shape
    # 1) runs of equal labels per row
    row_first = np.empty(h + 1, dtype=np.int64)
    row_first[0] = 0
    for y in range(h):
        row_first[y + 1] = row_first[y] + _count_runs(lab[y])
    n = row_first[h]
    run_start = np.empty(n + 1, dtype=np.int64)  # raster index of first pixel
    run_len = np.empty(n, dtype=np.int64)
    for y in range(h):
        _fill_runs(lab[y], y * w, run_start[row_first[y] :], run_len[row_first[y] :])
    final_id, count = _resolve_runs(lab, run_start, run_len, row_first, min_size)
    flat = out.reshape(-1)
    for y in range(h):
        for j in range(row_first[y], row_first[y + 1]):
            flat[run_start[j] : run_start[j] + run_len[j]] = final_id[j]
    return count


@njit(cache=True, parallel=True)
def connect_one_parallel(lab, min_size, out):
    """:func:`connect_one` with its per-pixel passes (finding the runs, writing the labels) split
    over rows between threads; for a single image, where one thread per image leaves the others
    idle."""
    h, w = lab.shape
    counts = np.empty(h, dtype=np.int64)
    for y in prange(h):
        counts[y] = _count_runs(lab[y])
    row_first = np.empty(h + 1, dtype=np.int64)
    row_first[0] = 0
    for y in range(h):
        row_first[y + 1] = row_first[y] + counts[y]
    n = row_first[h]
    run_start = np.empty(n + 1, dtype=np.int64)
    run_len = np.empty(n, dtype=np.int64)
    for y in prange(h):
        _fill_runs(lab[y], y * w, run_start[row_first[y] :], run_len[row_first[y] :])
    final_id, count = _resolve_runs(lab, run_start, run_len, row_first, min_size)
    flat = out.reshape(-1)
    for y in prange(h):
        for j in range(row_first[y], row_first[y + 1]):
            flat[run_start[j] : run_start[j] + run_len[j]] = final_id[j]
    return count


@njit(cache=True)
def _count_runs(row):
    n = 1
    for x in range(1, row.shape[0]):
        n += row[x] != row[x - 1]
    return n


@njit(cache=True)
def _fill_runs(row, offset, run_start, run_len):
    # The runs of equal labels of one row: raster index of the first pixel, length.
    w = row.shape[0]
    n = 0
    x = 0
    while x < w:
        v = row[x]
        x1 = x + 1
        while x1 < w and row[x1] == v:
            x1 += 1
        run_start[n] = offset + x
        run_len[n] = x1 - x
        n += 1
        x = x1


@njit(cache=True)
def _resolve_runs(lab, run_start, run_len, row_first, min_size):
    """The final label of every run and the number of labels (steps 2 and 3 of the rule)."""
    h, w = lab.shape
    n = run_len.shape[0]
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
    # 3) number the components in raster order of their first pixel (a root run holds it). A
    # component smaller than min_size joins the one holding the pixel above its first pixel (left
    # of it in the top row): that pixel comes earlier in raster order, so its component is final.
    new_id = np.empty(n, dtype=np.int64)
    count = 0
    for j in range(n):
        if parent[j] != j:
            continue
        p = run_start[j]
        if size[j] >= min_size or p == 0:
            new_id[j] = count
            count += 1
        elif p >= w:  # the run of row y-1 that holds the pixel above
            y = p // w
            a = row_first[y - 1]
            k = a + np.searchsorted(run_start[a : row_first[y]], p - w, side="right") - 1
            new_id[j] = new_id[parent[k]]
        else:  # top row: the run just before holds the pixel to the left
            new_id[j] = new_id[parent[j - 1]]
    final_id = np.empty(n, dtype=np.int64)
    for j in range(n):
        final_id[j] = new_id[parent[j]]
    return final_id, count


@njit(cache=True, parallel=True)
def enforce_connectivity(labels, min_size):
    """(B, H, W) labels -> (relabelled (B, H, W) int64, (B,) int64 counts)."""
    b_n = labels.shape[0]
    out = np.empty(labels.shape, dtype=np.int64)
    counts = np.empty(b_n, dtype=np.int64)
    for b in prange(b_n):  # one image per thread
        counts[b] = connect_one(labels[b], min_size, out[b])
    return out, counts
