"""numba kernel for :func:`~pyisp_contrast.isp.sharpen.luma_unsharp` at inference on the CPU.

The torch version streams the photo through memory some twenty times (the luma, the padded copy,
the seven taps of each direction, the ratio, the clamps); here two parallel loops over the rows do
it: the first writes each row's luma and its horizontal blur into two buffers, the second blurs
vertically, forms the ratio and scales the three channels in place. With the local-contrast band,
two small steps run between them on the cell grid (the luma's cell means, then their Gaussian
blur), and the second loop also interpolates the blurred cells to its row. Float32 throughout;
the sums run in another order than torch's, so results agree to a few float32 ulps (tests check
it).
"""

from __future__ import annotations

import numba
import numpy as np

_ZERO = np.float32(0.0)
_ONE = np.float32(1.0)


@numba.njit(cache=True, error_model="numpy")
def _blur_down(rows, i, taps, out):  # pragma: no cover
    """Row ``i`` of ``rows`` ``(H, W)`` blurred down the columns by the symmetric ``taps``, border
    replicated, into ``out`` ``(W,)``; the inner loops run along the row, so they vectorise."""
    q, last = taps.size // 2, rows.shape[0] - 1
    mid = rows[i]
    for j in range(out.size):
        out[j] = taps[q] * mid[j]
    for t in range(1, q + 1):
        c = taps[q - t]
        up, down = rows[max(i - t, 0)], rows[min(i + t, last)]
        for j in range(out.size):
            out[j] += c * (up[j] + down[j])


@numba.njit(parallel=True, cache=True, error_model="numpy")
def _cell_low_pass(padded, r, h, w, cell, taps, scratch, out):  # pragma: no cover
    """The blurred cell means of the luma rows ``padded[b, i, r : r + w]`` into ``out``
    ``(B, gh, gw)`` (``scratch``: another of that shape); the image is padded by replication to
    a multiple of ``cell`` and the blur's border replicated, as :func:`~.sharpen.cell_blur`."""
    n, gh, gw = out.shape
    scale = _ONE / np.float32(cell * cell)
    for row in numba.prange(n * gh):
        b, ci = row // gh, row % gh
        # the cell's rows summed (vectorised), then each cell's columns
        rows = padded[b, min(ci * cell, h - 1), r : r + w].copy()
        for k in range(1, cell):
            rows += padded[b, min(ci * cell + k, h - 1), r : r + w]
        acc = out[b, ci]
        for cj in range(gw):
            s = _ZERO
            for t in range(cell):
                s += rows[min(cj * cell + t, w - 1)]
            acc[cj] = s * scale
    q = taps.size // 2
    # the blur: along the rows into ``scratch``, then down the columns back into ``out``
    for row in numba.prange(n * gh):
        b, ci = row // gh, row % gh
        src, dst = out[b, ci], scratch[b, ci]
        for cj in range(gw):
            s = taps[q] * src[cj]
            for t in range(1, q + 1):
                s += taps[q - t] * (src[max(cj - t, 0)] + src[min(cj + t, gw - 1)])
            dst[cj] = s
    for row in numba.prange(n * gh):
        b, ci = row // gh, row % gh
        _blur_down(scratch[b], ci, taps, out[b, ci])


@numba.njit(parallel=True, cache=True, error_model="numpy")
def luma_unsharp_inplace(
    img, amount, taps, weights, floor, padded, blurred, contrast, cell_taps, cell
):  # pragma: no cover
    """Sharpen ``img`` ``(B, 3, H, W)`` float32 in place. Scratch float32 buffers: ``padded``
    ``(B, H, W + 2 r)`` (the luma, border replicated) and ``blurred`` ``(B, H, W)``; ``taps`` is
    the symmetric float32 Gaussian of ``2 r + 1`` taps. The local-contrast band runs when
    ``contrast`` ``(B,)`` is not empty, with the Gaussian ``cell_taps`` on cells of ``cell``
    pixels."""
    n, _, h, w = img.shape
    r = taps.size // 2
    wr, wg, wb = weights[0], weights[1], weights[2]
    # The inner loops run along a row with no index clamps, so they vectorise.
    for row in numba.prange(n * h):
        b, i = row // h, row % h
        lp = padded[b, i]
        for j in range(w):
            lp[r + j] = wr * img[b, 0, i, j] + wg * img[b, 1, i, j] + wb * img[b, 2, i, j]
        for t in range(r):
            lp[t] = lp[r]
            lp[r + w + t] = lp[r + w - 1]
        out = blurred[b, i]
        c = taps[r]
        for j in range(w):
            out[j] = c * lp[r + j]
        for t in range(1, r + 1):
            c = taps[r - t]
            for j in range(w):
                out[j] += c * (lp[r + j - t] + lp[r + j + t])
    wide = contrast.size > 0
    gh, gw = -(-h // cell), -(-w // cell)
    cell_f = np.float32(cell)
    cells = np.empty((n, gh, gw), dtype=np.float32)
    c0 = np.empty(w, dtype=np.int64)
    c1 = np.empty(w, dtype=np.int64)
    cw = np.empty(w, dtype=np.float32)
    if wide:
        _cell_low_pass(padded, r, h, w, cell, cell_taps, np.empty_like(cells), cells)
        # bilinear from the cells to the columns: half-pixel centres, clamped at the borders
        for j in range(w):
            src = max((np.float32(j) + np.float32(0.5)) / cell_f - np.float32(0.5), _ZERO)
            c0[j] = min(np.int64(src), gw - 1)
            c1[j] = min(c0[j] + 1, gw - 1)
            cw[j] = src - np.float32(c0[j])
    for row in numba.prange(n * h):
        b, i = row // h, row % h
        s = np.empty(w, dtype=np.float32)  # one row: stays in the cache
        _blur_down(blurred[b], i, taps, s)
        a = amount[b]
        lp = padded[b, i]
        if wide:
            # the blurred cells at this row (half-pixel centres, clamped), then at each column
            src = max((np.float32(i) + np.float32(0.5)) / cell_f - np.float32(0.5), _ZERO)
            r0 = min(np.int64(src), gh - 1)
            r1 = min(r0 + 1, gh - 1)
            ry = src - np.float32(r0)
            top, bottom = cells[b, r0], cells[b, r1]
            across = top + ry * (bottom - top)
            k = contrast[b]
            for j in range(w):
                y = lp[r + j]
                low = across[c0[j]] + cw[j] * (across[c1[j]] - across[c0[j]])
                sharp = min(max(y + a * (y - s[j]) + k * (s[j] - low), _ZERO), _ONE)
                ratio = (sharp - y) / max(y, floor) + _ONE
                for ch in range(3):
                    img[b, ch, i, j] = min(max(img[b, ch, i, j] * ratio, _ZERO), _ONE)
        else:
            for j in range(w):
                y = lp[r + j]
                sharp = min(max(y + a * (y - s[j]), _ZERO), _ONE)
                ratio = (sharp - y) / max(y, floor) + _ONE
                for ch in range(3):
                    img[b, ch, i, j] = min(max(img[b, ch, i, j] * ratio, _ZERO), _ONE)
