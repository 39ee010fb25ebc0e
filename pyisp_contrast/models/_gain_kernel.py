"""Fused CPU kernel for the full-resolution half of :class:`~pyisp_contrast.models.gain_net.GuidedGainEnhancer` (numba).

Inference applies the guided filter's coefficients and the exposure gain, both smooth maps
resized bilinearly to the photo, pixel by pixel: ``q = a * grey + b`` per channel, then the value
``V = max(R, G, B)`` goes through the rational gain curve in linear light and the colour is scaled
by ``V' / V``. In torch that is some twenty passes over each block of rows (resizes, the two sRGB
transfer functions' ``where`` with both branches, the ratio, the clamps), each streaming the block
through memory. Here each output row is produced once, in three loops over row buffers in the L1
cache: the first (``q`` and ``V``) and the last (the scaled colour) vectorise; the middle one does
the two powers of the sRGB curves (IEC 61966-2-1) and the rational gain (Schlick, Graphics Gems IV,
1994) and computes a power only for the branch a pixel takes.

The arithmetic follows torch's operation for operation in float32 (``torch.lerp`` as
``base + coeff (end - start)``, ``x.mean(1)`` as a sum divided by 3), so results agree with the
torch path to a few float32 ulps (torch's ``lerp`` fuses its multiply-add, its powers are SLEEF's;
tests check the difference). One ratio scales all three channels, so a grey pixel stays exactly
grey. Float32, three channels, inference only; anything else takes the torch path.
"""

from __future__ import annotations

import numba
import numpy as np

# Constants as float32 so that no loop promotes to float64 (a Python float literal would).
_ZERO = np.float32(0.0)
_ONE = np.float32(1.0)
_HALF = np.float32(0.5)
_THREE = np.float32(3.0)
_SRGB_THRESH = np.float32(0.04045)
_LIN_THRESH = np.float32(0.0031308)
_SLOPE = np.float32(12.92)
_OFFSET = np.float32(0.055)
_SCALE = np.float32(1.055)
_GAMMA = np.float32(2.4)
_INV_GAMMA = np.float32(1.0 / 2.4)
# torch raises to the float32 exponents; the float64 power takes the same numbers.
_GAMMA64 = np.float64(_GAMMA)
_INV_GAMMA64 = np.float64(_INV_GAMMA)
_LN2 = np.log(2.0)
_SQRT2 = np.sqrt(2.0)
_MANTISSA = np.int64((1 << 52) - 1)
_ONE_BITS = np.int64(1023 << 52)


@numba.njit(cache=True, error_model="numpy")
def _lerp_row(a, b, w, out):  # pragma: no cover - compiled
    # torch.lerp: a + w (b - a) for |w| < 1/2, else b + (w - 1)(b - a); the weight a scalar here.
    if abs(w) < _HALF:
        base, coeff = a, w
    else:
        base, coeff = b, w - _ONE
    for i in range(out.size):
        out[i] = base[i] + coeff * (b[i] - a[i])


@numba.njit(cache=True, error_model="numpy")
def _colour_and_value(x0, x1, x2, coef, v):  # pragma: no cover - compiled
    # coef rows 0-2 hold a, rows 3-5 b; rows 0-2 become q. v = clamp(max(q), 0, 1).
    a0, a1, a2 = coef[0], coef[1], coef[2]
    b0, b1, b2 = coef[3], coef[4], coef[5]
    for i in range(v.size):
        g = (x0[i] + x1[i] + x2[i]) / _THREE
        q0 = b0[i] + a0[i] * g
        q1 = b1[i] + a1[i] * g
        q2 = b2[i] + a2[i] * g
        a0[i] = q0
        a1[i] = q1
        a2[i] = q2
        v[i] = min(max(max(max(q0, q1), q2), _ZERO), _ONE)


@numba.njit(cache=True, error_model="numpy")
def _pow_row(base, p, out, scratch):  # pragma: no cover - compiled
    # out = base ** p for base in (0, 1], as exp(p log(base)) in float64 from the bits (libm's
    # pow is a call per pixel, which no loop vectorises); the float64 error is far below float32's
    # rounding. log: base = m 2^e with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh((m - 1) / (m + 1))
    # (|s| <= 0.172, the series to s^11 leaves < 1e-10). exp: y = n ln 2 + r, |r| <= ln(2) / 2,
    # Taylor to r^10 (< 1e-10), times 2^n built from its bits.
    bits = base.view(np.int64)
    ints = scratch.view(np.int64)
    for i in range(out.size):
        b = bits[i]
        ints[i] = (b & _MANTISSA) | _ONE_BITS
        out[i] = np.float64((b >> 52) - 1023)
    for i in range(out.size):
        m = scratch[i]
        e = out[i]
        if m > _SQRT2:
            m = m * 0.5
            e = e + 1.0
        t = (m - 1.0) / (m + 1.0)
        z = t * t
        log_m = (
            2.0 * t * (1.0 + z * (1.0 / 3 + z * (1.0 / 5 + z * (1.0 / 7 + z * (1.0 / 9 + z / 11)))))
        )
        y = p * (e * _LN2 + log_m)
        n = np.floor(y / _LN2 + 0.5)
        r = y - n * _LN2
        er = 1.0 + r * (
            1.0
            + r
            * (
                1.0 / 2
                + r
                * (
                    1.0 / 6
                    + r
                    * (
                        1.0 / 24
                        + r
                        * (
                            1.0 / 120
                            + r
                            * (
                                1.0 / 720
                                + r
                                * (
                                    1.0 / 5040
                                    + r * (1.0 / 40320 + r * (1.0 / 362880 + r / 3628800))
                                )
                            )
                        )
                    )
                )
            )
        )
        out[i] = er
        ints[i] = (np.int64(n) + 1023) << 52
    for i in range(out.size):
        out[i] = out[i] * scratch[i]


@numba.njit(cache=True, error_model="numpy")
def _value_ratio(v, gain, lin, v_floor, wide):  # pragma: no cover - compiled
    # v <- linear_to_srgb(rational_gain(srgb_to_linear(v), gain)) / max(v, v_floor), in float32
    # like torch; only the powers go through float64 (rows of ``wide``).
    base, power, scratch = wide[0], wide[1], wide[2]
    for i in range(v.size):
        base[i] = np.float64((max(v[i], _SRGB_THRESH) + _OFFSET) / _SCALE)
    _pow_row(base, _GAMMA64, power, scratch)
    for i in range(v.size):
        s = v[i]
        low = s / _SLOPE
        high = np.float32(power[i])
        x = low if s <= _SRGB_THRESH else high
        g = gain[i]
        x = g * x / (_ONE + (g - _ONE) * x)
        lin[i] = x
        base[i] = np.float64(max(x, _LIN_THRESH))
    _pow_row(base, _INV_GAMMA64, power, scratch)
    for i in range(v.size):
        s = v[i]
        x = lin[i]
        low = _SLOPE * x
        high = _ONE + _SCALE * (np.float32(power[i]) - _ONE)
        enc = low if x <= _LIN_THRESH else high
        v[i] = enc / max(s, v_floor)


@numba.njit(cache=True, error_model="numpy")
def _scale_colour(q, ratio, out):  # pragma: no cover - compiled
    for i in range(ratio.size):
        out[i] = min(max(max(q[i], _ZERO) * ratio[i], _ZERO), _ONE)


@numba.njit(parallel=True, cache=True)
def gain_apply_upsampled(
    x, coef, c0, c1, cw, gain, g0, g1, gw, v_floor, out
):  # pragma: no cover - compiled
    """Denoise and lift ``x`` with the guided filter's coefficients and the gain, rows resized here.

    Shapes: ``x, out (B, 3, H, W)`` float32; ``coef (B, 6, h, W)`` the coefficients ``a`` then
    ``b`` already resized along the width, ``c0, c1 (H,)`` int64 source rows and ``cw (H,)``
    float32 weights of their row resize; ``gain (B, 1, h', W)`` and ``g0, g1, gw`` likewise;
    ``v_floor`` the smallest value the colour ratio divides by (float32).
    """
    b, _, h, w = x.shape
    for job in numba.prange(b * h):
        n = job // h
        y = job % h
        buf = np.empty((9, w), dtype=np.float32)
        wide = np.empty((3, w), dtype=np.float64)
        for k in range(6):
            _lerp_row(coef[n, k, c0[y]], coef[n, k, c1[y]], cw[y], buf[k])
        _lerp_row(gain[n, 0, g0[y]], gain[n, 0, g1[y]], gw[y], buf[6])
        _colour_and_value(x[n, 0, y], x[n, 1, y], x[n, 2, y], buf, buf[7])
        _value_ratio(buf[7], buf[6], buf[8], v_floor, wide)
        for k in range(3):
            _scale_colour(buf[k], buf[7], out[n, k, y])
