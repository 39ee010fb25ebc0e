"""Fused CPU kernel for applying upsampled LE curve maps at full resolution (numba).

Inference with :class:`~pyisp_contrast.models.curve_net.FastCurveEstimator` upsamples a low
resolution curve map bilinearly and iterates the LE curve ``x <- x + r (x^2 - x)`` (Zero-DCE, CVPR
2020, Eq. 2 and 4) on every pixel. In torch that is about 25 passes over the image (3 per iteration
plus the resize and the clamp), each a separate kernel launch that streams the block through
memory. Here each output row is produced once: its map row is interpolated into a row buffer, then
all iterations and the clamp run on the row while it sits in the L1 cache.

The arithmetic is torch's, operation for operation (``torch.lerp``'s two-sided formula, then
``x * x - x``, ``x + r * t``; no fused multiply-add), so results agree with the torch path to a
few float32 ulps (tests check it). Float32, one shared map (``n_maps = 1``, as the shipped
``pie-default`` and Zero-DCE++) only; anything else takes the torch path.

For training, :func:`le_forward` / :func:`le_backward` are the differentiable version at full
resolution (any float dtype, one shared map): the forward is :func:`~pyisp_contrast.isp.curves.
le_curve`'s arithmetic exactly, the backward is written out by hand and checked by float64
``gradcheck``.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, error_model="numpy")
def _lerp_row(a, b, w, out):  # pragma: no cover - compiled
    # torch.lerp: a + w (b - a) for |w| < 1/2, else b - (b - a)(1 - w), the weight a scalar here.
    if abs(w) < 0.5:
        for i in range(out.size):
            out[i] = a[i] + w * (b[i] - a[i])
    else:
        wc = np.float32(1.0) - w
        for i in range(out.size):
            out[i] = b[i] - (b[i] - a[i]) * wc


@numba.njit(cache=True, error_model="numpy")
def _le_row(x, r, out, iterations):  # pragma: no cover - compiled
    # One loop per iteration over a row in L1 (a loop inside the pixel loop would not vectorise);
    # the first reads the input, the last clamps.
    zero = np.float32(0.0)
    one = np.float32(1.0)
    if iterations == 0:
        for i in range(out.size):
            out[i] = min(max(x[i], zero), one)
        return
    for i in range(out.size):
        v = x[i]
        out[i] = v + r[i] * (v * v - v)
    for _ in range(iterations - 2):
        for i in range(out.size):
            v = out[i]
            out[i] = v + r[i] * (v * v - v)
    if iterations == 1:
        for i in range(out.size):
            out[i] = min(max(out[i], zero), one)
    else:
        for i in range(out.size):
            v = out[i]
            out[i] = min(max(v + r[i] * (v * v - v), zero), one)


@numba.njit(parallel=True, cache=True)
def le_apply_upsampled(x, wide, r0, r1, rw, iterations, out):  # pragma: no cover - compiled
    """``out = clamp(LE^iterations(x; r), 0, 1)`` with ``r`` the rows of ``wide`` interpolated.

    Shapes: ``x, out (B, C, H, W)`` float32; ``wide (B, C, h, W)`` the map already resized along
    the width; ``r0, r1 (H,)`` int64 source rows and ``rw (H,)`` float32 weights, as
    :func:`~pyisp_contrast.core.resize.linear_resize_indices` gives them.
    """
    b, c, h, w = x.shape
    for job in numba.prange(b * h):
        n = job // h
        y = job % h
        r = np.empty(w, dtype=np.float32)
        for k in range(c):
            _lerp_row(wide[n, k, r0[y]], wide[n, k, r1[y]], rw[y], r)
            _le_row(x[n, k, y], r, out[n, k, y], iterations)


# ---------------------------------------------------------------------- differentiable, one map
# x_{k+1} = x_k + r (x_k^2 - x_k), k = 0 .. n-1, the same map r at every step (n_maps = 1). Torch's
# autograd keeps three full-resolution tensors per step for this; the backward below keeps only
# x and r and recomputes each row's n intermediate states into a row buffer. No literals in the
# loops (2 v is v + v): a Python int would promote float32 arithmetic to float64.


@numba.njit(cache=True, error_model="numpy")
def _le_forward_row(x, r, out, n):  # pragma: no cover - compiled
    for i in range(out.size):
        out[i] = x[i]
    for _ in range(n):
        for i in range(out.size):
            v = out[i]
            out[i] = v + r[i] * (v * v - v)


@numba.njit(parallel=True, cache=True)
def le_forward(x, r, n, out):  # pragma: no cover - compiled
    """``out = LE^n(x; r)`` row by row; ``x, r, out`` are ``(rows, W)`` of one dtype."""
    for j in numba.prange(x.shape[0]):
        _le_forward_row(x[j], r[j], out[j], n)


@numba.njit(cache=True, error_model="numpy")
def _le_states_row(x, r, hist):  # pragma: no cover - compiled
    first = hist[0]
    for i in range(x.size):
        first[i] = x[i]
    for k in range(1, hist.shape[0]):
        prev = hist[k - 1]
        cur = hist[k]
        for i in range(x.size):
            v = prev[i]
            cur[i] = v + r[i] * (v * v - v)


@numba.njit(cache=True, error_model="numpy")
def _le_step_back(xk, r, gx, gr):  # pragma: no cover - compiled
    # d x_{k+1} / d r = x_k^2 - x_k;  d x_{k+1} / d x_k = 1 + r (2 x_k - 1)
    for i in range(xk.size):
        v = xk[i]
        g = gx[i]
        gr[i] += g * (v * v - v)
        gx[i] = g + g * r[i] * (v + v) - g * r[i]


@numba.njit(parallel=True, cache=True)
def le_backward(x, r, grad_out, n, grad_x, grad_r):  # pragma: no cover - compiled
    """Gradients of :func:`le_forward`: ``grad_x`` gets d/dx, ``grad_r`` (zeros) d/dr."""
    w = x.shape[1]
    for j in numba.prange(x.shape[0]):
        hist = np.empty((n, w), dtype=x.dtype)
        _le_states_row(x[j], r[j], hist)
        gx = grad_x[j]
        g_in = grad_out[j]
        for i in range(w):
            gx[i] = g_in[i]
        for k in range(n - 1, -1, -1):
            _le_step_back(hist[k], r[j], gx, grad_r[j])
