"""Fused CPU kernel for the Bag of Curves' built-in families (numba).

One pass over the pixels applies each negative's curve, accumulates the luma difference to its
positive and gathers the input statistics that :func:`~pyisp_contrast.core.checks.check_image`
needs (min, max, finiteness). The torch path of :mod:`pyisp_contrast.isp.bank` needs about a dozen
passes and as many temporary images for the same work; on the CPU the cost is memory traffic and
page faults of those temporaries, not arithmetic. The kernel reproduces the torch curves
(``value_curve(gamma)``, ``gamma``, ``log_curve``) to float rounding; tests check that.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from pyisp_contrast.core.color import LUMA_WEIGHTS
from pyisp_contrast.isp.bank import KERNEL_OPS

#: Operation codes of the built-in curves the kernel knows (``CurveFamily.kernel_op`` names).
OP_VALUE_POWER = KERNEL_OPS["value_power"]
OP_GAMMA = KERNEL_OPS["gamma"]
OP_LOG_CURVE = KERNEL_OPS["log_curve"]

_CHUNK = 16384

# Rec. 601 luma weights as plain floats: numba freezes module globals into the compiled kernels.
_LUMA_R, _LUMA_G, _LUMA_B = LUMA_WEIGHTS


_FLAGS = {"contract", "arcp", "nsz", "afn", "reassoc"}  # no nnan/ninf: NaN must be detected


@numba.njit(cache=True, fastmath=_FLAGS, inline="always")
def _spow(v, p, toe, eps):
    # safe_pow of curves.py: the power above eps, the straight line meeting it below.
    if v >= eps:
        return v**p
    return v * toe


@numba.njit(cache=True, fastmath=_FLAGS)
def _stats(a, start, stop, out):  # pragma: no cover
    lo = np.inf
    hi = -np.inf
    bad = 0
    for i in range(start, stop):
        v = a[i]
        lo = min(lo, v)
        hi = max(hi, v)
        if not math.isfinite(v):
            bad += 1
    out[0] = min(out[0], lo)
    out[1] = max(out[1], hi)
    out[2] += bad


@numba.njit(cache=True, fastmath=_FLAGS)
def _rgb_chunk(r, g, b, ro, go, bo, o, p, eps, veps, start, stop):  # pragma: no cover
    zero = eps - eps
    one = zero + 1
    c255 = zero + 255
    toe = eps ** (p - one)
    scale = p / c255
    acc = 0.0
    # log(1 + 255 x) rather than log1p: 1 + 255 x is exact enough at every x where the curve's
    # value matters (the absolute error stays below 1e-9), and log is ~3x cheaper than log1p here.
    if o == OP_VALUE_POWER:
        for i in range(start, stop):
            v = max(r[i], max(g[i], b[i]))
            fv = _spow(v, p, toe, eps)
            if v > veps:
                ratio = fv / v
                ro[i] = min(r[i] * ratio, one)
                go[i] = min(g[i] * ratio, one)
                bo[i] = min(b[i] * ratio, one)
            else:
                ro[i] = min(fv, one)
                go[i] = min(fv, one)
                bo[i] = min(fv, one)
    elif o == OP_GAMMA:
        for i in range(start, stop):
            ro[i] = min(_spow(r[i], p, toe, eps), one)
            go[i] = min(_spow(g[i], p, toe, eps), one)
            bo[i] = min(_spow(b[i], p, toe, eps), one)
    else:
        for i in range(start, stop):
            ro[i] = min(scale * math.log(one + c255 * r[i]), one)
            go[i] = min(scale * math.log(one + c255 * g[i]), one)
            bo[i] = min(scale * math.log(one + c255 * b[i]), one)
    for i in range(start, stop):
        acc += abs(_LUMA_R * (ro[i] - r[i]) + _LUMA_G * (go[i] - g[i]) + _LUMA_B * (bo[i] - b[i]))
    return acc


@numba.njit(cache=True, fastmath=_FLAGS)
def _grey_chunk(v, vo, o, p, eps, start, stop):  # pragma: no cover
    zero = eps - eps
    one = zero + 1
    c255 = zero + 255
    toe = eps ** (p - one)
    scale = p / c255
    acc = 0.0
    if o == OP_LOG_CURVE:
        for i in range(start, stop):
            vo[i] = min(scale * math.log(one + c255 * v[i]), one)
    else:  # value power and gamma coincide on one channel
        for i in range(start, stop):
            vo[i] = min(_spow(v[i], p, toe, eps), one)
    for i in range(start, stop):
        acc += abs(vo[i] - v[i])
    return acc


@numba.njit(parallel=True, cache=True)
def boc_kernel(x, src, op, par, consts, out, diff_parts, stats_parts):  # pragma: no cover
    """Apply curve ``op[n]`` with parameter ``par[n]`` to image ``x[src[n]]`` into ``out[n]``.

    Shapes: ``x (B, C, P)``, ``src/op (N,)``, ``par (N,)``, ``out (N, C, P)``,
    ``diff_parts (N, nchunks)`` (sums of |luma difference|), ``stats_parts (N, nchunks, 3)``
    (min, max, count of non-finite values of the input chunk, which must start at
    ``(inf, -inf, 0)``). ``consts`` holds ``(pow_eps, value_eps)`` in ``x``'s dtype: every constant
    in the pixel loops has that dtype, so float32 images get float32 ``powf``/``logf`` rather
    than a silent promotion to double.
    """
    n_neg = out.shape[0]
    c = x.shape[1]
    npix = x.shape[2]
    nchunks = diff_parts.shape[1]
    eps = consts[0]
    veps = consts[1]
    for job in numba.prange(n_neg * nchunks):
        n = job // nchunks
        ch = job % nchunks
        start = ch * _CHUNK
        stop = min(start + _CHUNK, npix)
        s = src[n]
        for k in range(c):
            _stats(x[s, k], start, stop, stats_parts[n, ch])
        if c == 3:
            diff_parts[n, ch] = _rgb_chunk(
                x[s, 0], x[s, 1], x[s, 2], out[n, 0], out[n, 1], out[n, 2],
                op[n], par[n], eps, veps, start, stop,
            )  # fmt: skip
        else:
            diff_parts[n, ch] = _grey_chunk(x[s, 0], out[n, 0], op[n], par[n], eps, start, stop)


def n_chunks(npix: int) -> int:
    return max(1, -(-npix // _CHUNK))
