"""numba kernel for :func:`~pyisp_contrast.isp.denoise.block_statistics` at inference on the CPU.

torch forms the full-size products ``I^2``, ``p`` and ``I p`` and pools each (eight channels'
worth of memory traffic, about 7 ms for a 1200 x 900 photo); here one parallel loop over the rows
of cells reads each pixel once and sums all eight terms as it goes. Float32 throughout; the sums
run in another order than torch's, so results agree to a few float32 ulps (tests check it).
"""

from __future__ import annotations

import numba
import numpy as np

_ZERO = np.float32(0.0)


@numba.njit(parallel=True, cache=True, error_model="numpy")
def block_statistics_into(images, guide, block, out):  # pragma: no cover
    """Block means of ``[I, I^2, p, I p]`` of ``images`` ``(B, C, H, W)`` and ``guide``
    ``(B, 1, H, W)`` into ``out`` ``(B, 2 + 2 C, ceil(H / block), ceil(W / block))``, the image
    padded by replication to a multiple of ``block`` (float32)."""
    n, c, h, w = images.shape
    gh, gw = out.shape[2], out.shape[3]
    scale = np.float32(1.0) / np.float32(block * block)
    for task in numba.prange(n * gh):
        b, ci = task // gh, task % gh
        # each term summed down the cell's rows (along a row: vectorised), then across its columns
        rows = np.zeros((2 + 2 * c, w), dtype=np.float32)
        for k in range(block):
            i = min(ci * block + k, h - 1)
            g = guide[b, 0, i]
            for j in range(w):
                rows[0, j] += g[j]
                rows[1, j] += g[j] * g[j]
            for ch in range(c):
                p = images[b, ch, i]
                for j in range(w):
                    rows[2 + ch, j] += p[j]
                    rows[2 + c + ch, j] += p[j] * g[j]
        for t in range(2 + 2 * c):
            row = rows[t]
            dst = out[b, t, ci]
            for cj in range(gw):
                s = _ZERO
                for m in range(block):
                    s += row[min(cj * block + m, w - 1)]
                dst[cj] = s * scale
