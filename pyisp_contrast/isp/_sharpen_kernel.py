"""numba kernel for :func:`~pyisp_contrast.isp.sharpen.luma_unsharp` at inference on the CPU.

The torch version streams the photo through memory some twenty times (the luma, the padded copy,
the seven taps of each direction, the ratio, the clamps); here two parallel loops over the rows do
it: the first writes each row's luma and its horizontal blur into two buffers, the second blurs
vertically, forms the ratio and scales the three channels in place. Float32 throughout; the sums
run in another order than torch's, so results agree to a few float32 ulps (tests check it).
"""

from __future__ import annotations

import numba
import numpy as np

_ZERO = np.float32(0.0)
_ONE = np.float32(1.0)


@numba.njit(parallel=True, cache=True, error_model="numpy")
def luma_unsharp_inplace(img, amount, taps, weights, floor, padded, blurred):  # pragma: no cover
    """Sharpen ``img`` ``(B, 3, H, W)`` float32 in place. Scratch float32 buffers: ``padded``
    ``(B, H, W + 2 r)`` (the luma, border replicated) and ``blurred`` ``(B, H, W)``; ``taps`` is
    the symmetric float32 Gaussian of ``2 r + 1`` taps."""
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
    for row in numba.prange(n * h):
        b, i = row // h, row % h
        s = np.empty(w, dtype=np.float32)  # one row: stays in the cache
        c = taps[r]
        mid = blurred[b, i]
        for j in range(w):
            s[j] = c * mid[j]
        for t in range(1, r + 1):
            c = taps[r - t]
            up = blurred[b, max(i - t, 0)]
            down = blurred[b, min(i + t, h - 1)]
            for j in range(w):
                s[j] += c * (up[j] + down[j])
        a = amount[b]
        lp = padded[b, i]
        for j in range(w):
            y = lp[r + j]
            sharp = min(max(y + a * (y - s[j]), _ZERO), _ONE)
            ratio = (sharp - y) / max(y, floor) + _ONE
            for ch in range(3):
                img[b, ch, i, j] = min(max(img[b, ch, i, j] * ratio, _ZERO), _ONE)
