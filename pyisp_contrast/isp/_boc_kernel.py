"""Fused CPU kernel for the Bag of Curves' built-in families (numba).

One pass over the pixels applies each negative's curve, accumulates the luma difference to its
positive and gathers the input statistics that :func:`~pyisp_contrast.core.checks.check_image`
needs (min, max, finiteness). The torch path of :mod:`pyisp_contrast.isp.bank` needs about a dozen
passes and as many temporary images for the same work; on the CPU the cost is memory traffic and
page faults of those temporaries, not arithmetic. The kernel reproduces the torch curves
(``value_curve(gamma)``, ``gamma``, ``log_curve``) to float rounding; tests check that.

Float32 images take :func:`boc_kernel_f32`, whose pixel loop has no library calls, so LLVM
vectorises it: ``pow`` and ``log`` there are :func:`_log2` / :func:`_exp2` below (exponent split by
bit casts plus a polynomial, within 1e-7 absolute of the float64 curves on [0, 1], as close as
torch's float32 ``pow``; ``tests/isp/test_boc_kernel.py`` checks it). A scalar libm ``powf`` costs
about 5 ns a value, which on 8 x 3 x 384 x 384 negatives was 3/4 of the bank's time. Float64 images
keep :func:`boc_kernel` and libm.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic
from numpy.polynomial import chebyshev

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


@numba.njit(cache=True, inline="always")
def _job(job, n_neg, npix):  # pragma: no cover - compiled
    """Negative, chunk and pixel span of one job of the kernels' ``prange``.

    Chunk-major: negatives vary in cost (an RGB gamma is three powers a pixel, the value curve
    one), and prange splits the jobs statically, so each thread gets a share of every negative.
    """
    n = job % n_neg
    ch = job // n_neg
    start = ch * _CHUNK
    return n, ch, start, min(start + _CHUNK, npix)


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
        n, ch, start, stop = _job(job, n_neg, npix)
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


# ----------------------------------------------------------------------------- float32, vectorised


@intrinsic
def _f32_bits(typingctx, x):  # pragma: no cover - compiled
    """The IEEE bits of a float32 as an int32 (a bit cast, which LLVM vectorises)."""
    if x != types.float32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))

    return types.int32(x), codegen


@intrinsic
def _bits_f32(typingctx, n):  # pragma: no cover - compiled
    """The float32 whose IEEE bits are the low 32 bits of integer ``n``."""
    if not isinstance(n, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        v = args[0]
        if n.bitwidth > 32:  # numba widens int32 arithmetic to int64
            v = builder.trunc(v, ir.IntType(32))
        return builder.bitcast(v, ir.FloatType())

    return types.float32(n), codegen


def _fit(fn, lo: float, hi: float, degree: int) -> tuple[np.float32, ...]:
    """Power-basis coefficients of a least-squares fit at Chebyshev nodes (close to minimax)."""
    t = np.cos(np.pi * (np.arange(2048) + 0.5) / 2048) * (hi - lo) / 2 + (hi + lo) / 2
    return tuple(np.float32(c) for c in chebyshev.cheb2poly(chebyshev.chebfit(t, fn(t), degree)))


# log(1 + f) = f - f^2 / 2 + f^3 L(f) for the mantissa m = 1 + f in [sqrt(1/2), sqrt(2)) (error
# 1e-8), and 2^r = 1 + r E(r) for r in [-1/2, 1/2] (relative error 5e-9). np.float32 globals keep
# numba's arithmetic in float32 (a Python float would promote every pixel to double).
_L0, _L1, _L2, _L3, _L4, _L5, _L6, _L7 = _fit(
    lambda f: (np.log1p(f) - f + f * f / 2) / f**3, math.sqrt(0.5) - 1, math.sqrt(2) - 1, 7
)
_E0, _E1, _E2, _E3, _E4, _E5 = _fit(lambda r: np.expm1(r * math.log(2)) / r, -0.5, 0.5, 5)
_HALF = np.float32(0.5)
_ONE = np.float32(1.0)
_LOG2E = np.float32(1 / math.log(2))
_LN2 = np.float32(math.log(2))
#: Bits of float32 +inf: finite values >= 0 have bits (as int32) from 0 up to below it.
_INF_BITS = 0x7F800000
_SQRT_HALF_BITS = int(np.array(math.sqrt(0.5), dtype=np.float32).view(np.int32))
# 2^t below 2^-126 is returned as 2^-126 (at most 1.2e-38 off); above 2^126 never happens on [0, 1].
_T_MIN = np.float32(-126.0)
_T_MAX = np.float32(126.0)
_LUMA32 = tuple(np.float32(w) for w in LUMA_WEIGHTS)


@numba.njit(cache=True, fastmath=_FLAGS, inline="always")
def _ln_f32(v):  # pragma: no cover - compiled
    """Natural log of a positive float32; finite garbage for 0 or negatives (callers select)."""
    bits = _f32_bits(v)
    e = (bits - _SQRT_HALF_BITS) >> 23  # exponent that puts the mantissa in [sqrt(1/2), sqrt(2))
    f = _bits_f32(bits - (e << 23)) - _ONE
    z = f * f
    poly = _L0 + f * (_L1 + f * (_L2 + f * (_L3 + f * (_L4 + f * (_L5 + f * (_L6 + f * _L7))))))
    return np.float32(e) * _LN2 + (f - _HALF * z + z * f * poly)


@numba.njit(cache=True, fastmath=_FLAGS, inline="always")
def _exp2_f32(t):  # pragma: no cover - compiled
    t = min(max(t, _T_MIN), _T_MAX)
    n = np.int32(t + np.float32(127.5)) - 127  # floor(t + 1/2): the argument is positive
    r = t - np.float32(n)
    poly = _ONE + r * (_E0 + r * (_E1 + r * (_E2 + r * (_E3 + r * (_E4 + r * _E5)))))
    return poly * _bits_f32((n + 127) << 23)


@numba.njit(cache=True, fastmath=_FLAGS, inline="always")
def _spow_f32(v, p, toe, eps):  # pragma: no cover - compiled
    # safe_pow without a branch: both sides computed, one selected (the loop stays vectorised).
    y = _exp2_f32(p * _LOG2E * _ln_f32(v))
    return y if v >= eps else v * toe


@numba.njit(cache=True, fastmath=_FLAGS, inline="always")
def _is_bad(v):  # pragma: no cover - compiled
    # NaN or inf: all exponent bits set (an integer test, vectorised, and blind to fastmath).
    return np.int32((_f32_bits(v) & 0x7F800000) == 0x7F800000)


@numba.njit(cache=True, fastmath=_FLAGS, inline="always")
def _order_key(v):  # pragma: no cover - compiled
    # An int32 ordered as the float32 values are (negatives' magnitude bits flipped): a float
    # min/max reduction does not vectorise without fastmath's no-NaN promise, an integer one does.
    # The map is its own inverse.
    bits = _f32_bits(v)
    return bits ^ ((bits >> 31) & 0x7FFFFFFF)


@numba.njit(cache=True, fastmath=_FLAGS, inline="always")
def _put_stats(stats, lo, hi, bad):  # pragma: no cover - compiled
    stats[0] = min(stats[0], _bits_f32(_order_key(_bits_f32(lo))))
    stats[1] = max(stats[1], _bits_f32(_order_key(_bits_f32(hi))))
    stats[2] += bad


# The float32 loops below each read one or two arrays and write one: with more (three channels in,
# three out) LLVM's runtime overlap checks give up and the loop runs scalar, about 4x slower.
# So a block is done channel by channel, then one read-only loop measures it, while the block is
# still in the L1 cache. Each loop takes views of the block and counts from 0: with a signed
# ``range(start, stop)`` numba wraps negative indices, and the select that adds turns every load
# into a gather (6x slower). error_model="numpy": numba's default checks each division for a zero
# divisor, a branch that also stops vectorisation (the divisor is at least VALUE_EPS here).
_BLOCK = 1024


@numba.njit(cache=True, fastmath=_FLAGS, error_model="numpy")
def _curve_f32(x, y, o, p, toe, eps):  # pragma: no cover
    """``y = curve(x)`` for the per-channel curves (RGB gamma, log curve)."""
    one = _ONE
    if o == OP_LOG_CURVE:
        scale = p / np.float32(255.0)
        c255 = np.float32(255.0)
        for i in range(x.size):
            y[i] = min(scale * _ln_f32(one + c255 * x[i]), one)
    else:
        for i in range(x.size):
            y[i] = min(_spow_f32(x[i], p, toe, eps), one)


@numba.njit(cache=True, fastmath=_FLAGS, error_model="numpy")
def _value_gain_f32(r, g, b, gain, lift, p, toe, eps, veps):  # pragma: no cover
    """``value_curve(gamma)`` as ``y = x * gain + lift``: ``(f(v) / v, 0)``, or ``(0, f(v))`` for
    black pixels (``v <= veps``), whose hue is undefined."""
    zero = np.float32(0.0)
    for i in range(r.size):
        v = max(r[i], max(g[i], b[i]))
        fv = _spow_f32(v, p, toe, eps)
        dark = v <= veps
        gain[i] = zero if dark else fv / max(v, veps)
        lift[i] = fv if dark else zero


@numba.njit(cache=True, fastmath=_FLAGS, error_model="numpy")
def _scale_f32(x, y, gain, lift):  # pragma: no cover
    one = _ONE
    for i in range(x.size):
        y[i] = min(x[i] * gain[i] + lift[i], one)


@numba.njit(cache=True, fastmath=_FLAGS, error_model="numpy")
def _measure_rgb_f32(r, g, b, ro, go, bo, keys):  # pragma: no cover
    """Sum of |luma(out) - luma(in)|; ``keys[:2]`` get the min / max of the input's bits.

    The bits as int32 are ordered as the values only for finite values >= 0, which is all that
    valid input holds: two integer reductions a value. Anything else leaves a minimum below 0 or
    a maximum from ``0x7F800000`` (inf and NaN) up, and :func:`_chunk_f32` measures it again
    exactly (:func:`_exact_keys_f32`).
    """
    wr, wg, wb = _LUMA32
    acc = 0.0
    lo = keys[0]
    hi = keys[1]
    for i in range(r.size):
        x0 = r[i]
        x1 = g[i]
        x2 = b[i]
        acc += abs(wr * (ro[i] - x0) + wg * (go[i] - x1) + wb * (bo[i] - x2))
        k0 = _f32_bits(x0)
        k1 = _f32_bits(x1)
        k2 = _f32_bits(x2)
        lo = min(lo, min(k0, min(k1, k2)))
        hi = max(hi, max(k0, max(k1, k2)))
    keys[0] = lo
    keys[1] = hi
    return acc


@numba.njit(cache=True, fastmath=_FLAGS, error_model="numpy")
def _measure_grey_f32(v, vo, keys):  # pragma: no cover
    acc = 0.0
    lo = keys[0]
    hi = keys[1]
    for i in range(v.size):
        x = v[i]
        acc += abs(vo[i] - x)
        kx = _f32_bits(x)
        lo = min(lo, kx)
        hi = max(hi, kx)
    keys[0] = lo
    keys[1] = hi
    return acc


@numba.njit(cache=True, fastmath=_FLAGS, error_model="numpy")
def _exact_keys_f32(v, keys):  # pragma: no cover
    """Min / max order keys and the count of non-finite values of ``v``, any values."""
    lo = keys[0]
    hi = keys[1]
    bad = keys[2]
    for i in range(v.size):
        kx = _order_key(v[i])
        lo = min(lo, kx)
        hi = max(hi, kx)
        bad += _is_bad(v[i])
    keys[0] = lo
    keys[1] = hi
    keys[2] = bad


@numba.njit(cache=True, fastmath=_FLAGS, error_model="numpy")
def _chunk_f32(x, out, o, p, eps, veps, start, stop, stats):  # pragma: no cover
    """One chunk of one negative: ``out`` (C, P) from ``x`` (C, P); returns the difference sum."""
    c = x.shape[0]
    toe = eps ** (p - _ONE)
    keys = np.empty(3, dtype=np.int32)
    keys[0] = 0x7FFFFFFF
    keys[1] = -0x7FFFFFFF
    keys[2] = 0
    gain = np.empty(_BLOCK, dtype=np.float32)
    lift = np.empty(_BLOCK, dtype=np.float32)
    acc = 0.0
    curve = OP_GAMMA if o == OP_VALUE_POWER else o  # on one channel the value power is gamma
    for s0 in range(start, stop, _BLOCK):
        s1 = min(s0 + _BLOCK, stop)
        xb = [x[k][s0:s1] for k in range(c)]
        yb = [out[k][s0:s1] for k in range(c)]
        if c == 3 and o == OP_VALUE_POWER:
            gb = gain[: s1 - s0]
            lb = lift[: s1 - s0]
            _value_gain_f32(xb[0], xb[1], xb[2], gb, lb, p, toe, eps, veps)
            for k in range(3):
                _scale_f32(xb[k], yb[k], gb, lb)
        else:
            for k in range(c):
                _curve_f32(xb[k], yb[k], curve, p, toe, eps)
        if c == 3:
            acc += _measure_rgb_f32(xb[0], xb[1], xb[2], yb[0], yb[1], yb[2], keys)
        else:
            acc += _measure_grey_f32(xb[0], yb[0], keys)
    if keys[0] >= 0 and keys[1] < _INF_BITS:  # finite and >= 0: the bits' order is the values'
        stats[0] = min(stats[0], _bits_f32(keys[0]))
        stats[1] = max(stats[1], _bits_f32(keys[1]))
        return acc
    keys[0] = 0x7FFFFFFF
    keys[1] = -0x7FFFFFFF
    keys[2] = 0
    for k in range(c):
        _exact_keys_f32(x[k][start:stop], keys)
    _put_stats(stats, keys[0], keys[1], keys[2])
    return acc


@numba.njit(parallel=True, cache=True)
def boc_kernel_f32(x, src, op, par, consts, out, diff_parts, stats_parts):  # pragma: no cover
    """:func:`boc_kernel` for float32 images, with the vectorised ``pow`` / ``log``.

    The same arguments; ``par`` and ``consts`` are float32; sums of |luma difference| are float64.
    """
    n_neg = out.shape[0]
    npix = x.shape[2]
    nchunks = diff_parts.shape[1]
    eps = consts[0]
    veps = consts[1]
    for job in numba.prange(n_neg * nchunks):
        n, ch, start, stop = _job(job, n_neg, npix)
        diff_parts[n, ch] = _chunk_f32(
            x[src[n]], out[n], op[n], par[n], eps, veps, start, stop, stats_parts[n, ch]
        )


def n_chunks(npix: int) -> int:
    return max(1, -(-npix // _CHUNK))
