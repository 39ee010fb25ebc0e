"""Differentiable ISP tone curves on ``(B, C, H, W)`` images in [0, 1].

Every curve is a snake_case function plus a thin ``nn.Module`` twin whose ``forward`` only calls it.
Parameters are a float (one value for the batch) or a ``(B,)`` tensor (one value per image) and are
differentiable. Curves map [0, 1] to [0, 1] and are monotone non-decreasing in the pixel value, which
is what makes them physically valid exposure changes (the "imaging rules" of PIE's Bag of Curves,
Liang et al., IJCV 2024, arXiv 2404.04586).

Gradients are finite everywhere on [0, 1], including exactly at 0 and 1: powers ``x ** p`` below
``POW_EPS`` continue as the straight line through the origin that meets the power curve at
``POW_EPS`` (the same idea as sRGB's linear toe), so ``p < 1`` never produces an infinite slope at 0
(kornia's ``adjust_gamma`` does) and the parameter gradient ``x ** p * log(x)`` never sees ``log(0)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from pyisp_contrast.core.checks import (
    as_batch_param,
    check_image,
    check_int,
    unbatch,
    value_checks_enabled,
)

__all__ = [
    "POW_EPS",
    "Aces",
    "Exposure",
    "Gamma",
    "Hable",
    "InverseAces",
    "InverseExposure",
    "InverseGamma",
    "InverseHable",
    "InverseLogCurve",
    "InverseReinhard",
    "InverseSigmoidContrast",
    "LeCurve",
    "LinearToSrgb",
    "LogCurve",
    "RationalGain",
    "Reinhard",
    "SigmoidContrast",
    "SrgbToLinear",
    "ValueCurve",
    "aces",
    "exposure",
    "gamma",
    "hable",
    "inverse_aces",
    "inverse_exposure",
    "inverse_gamma",
    "inverse_hable",
    "inverse_log_curve",
    "inverse_reinhard",
    "inverse_sigmoid_contrast",
    "le_curve",
    "linear_to_srgb",
    "log_curve",
    "rational_gain",
    "reinhard",
    "safe_pow",
    "sigmoid_contrast",
    "srgb_to_linear",
    "value_curve",
]

#: Below this value powers continue linearly to 0 (finite slope at 0 for any exponent > 0).
POW_EPS = 1e-6

Param = float | Tensor


def safe_pow(x: Tensor, p: Tensor | float, eps: float = POW_EPS) -> Tensor:
    """``x ** p`` for ``x >= 0`` and ``p > 0`` with finite gradients at ``x = 0``.

    Equal to ``x ** p`` for ``x >= eps``; below ``eps`` it is the line ``x * eps ** (p - 1)``, which
    meets the power at ``eps``, keeps ``0 -> 0`` and has slope ``eps ** (p - 1)`` instead of infinity.

    Args:
        x: non-negative tensor.
        p: positive exponent, broadcastable to ``x``.
        eps: where the linear toe starts.

    Example:
        >>> x = torch.tensor([0.0, 0.25], requires_grad=True)
        >>> y = safe_pow(x, 0.5)
        >>> y.detach()
        tensor([0.0000, 0.5000])
        >>> bool(torch.isfinite(torch.autograd.grad(y.sum(), x)[0]).all())
        True
    """
    # The power branch only ever sees x >= eps, so neither its value nor its gradients hit 0 ** p
    # or log(0); torch.where then routes gradients to the branch actually used.
    xs = x.clamp_min(eps)
    toe = x * (eps ** (p - 1) if isinstance(p, Tensor) else eps ** (p - 1.0))
    return torch.where(x >= eps, xs**p, toe)


def _prep(images: Tensor, channels: tuple[int, ...] | None = (1, 3)) -> tuple[Tensor, bool]:
    return check_image(images, "images", channels=channels)


# --------------------------------------------------------------------------------------------------
# gamma
# --------------------------------------------------------------------------------------------------


def gamma(images: Tensor, gamma: Param, gain: Param = 1.0) -> Tensor:
    r"""Power-law curve :math:`y = \mathrm{clip}(g\,x^{\gamma}, 0, 1)`.

    ``gamma > 1`` darkens, ``gamma < 1`` brightens; PIE's Bag of Curves draws ``gamma ~ U(5, 8)`` for
    under-exposed and ``U(0, 0.2)`` for over-exposed negatives. Unlike ``kornia.enhance.adjust_gamma``
    the gradient stays finite at ``x = 0`` for ``gamma < 1`` (see :func:`safe_pow`).

    Args:
        images: ``(B, C, H, W)`` or ``(C, H, W)`` in [0, 1].
        gamma: exponent ``> 0``, float or ``(B,)``.
        gain: multiplier ``>= 0`` applied after the power, float or ``(B,)``.

    Returns:
        Tensor of the input's shape.

    Example:
        >>> gamma(torch.tensor([[[[0.0, 0.25, 1.0]]]]), 2.0)
        tensor([[[[0.0000, 0.0625, 1.0000]]]])
    """
    x, unb = _prep(images)
    g = as_batch_param(gamma, x.shape[0], "gamma", like=x, low=0.0, low_inclusive=False)
    k = as_batch_param(gain, x.shape[0], "gain", like=x, low=0.0)
    return unbatch((k * safe_pow(x, g)).clamp(0.0, 1.0), unb)


def inverse_gamma(images: Tensor, gamma: Param, gain: Param = 1.0) -> Tensor:
    r"""Inverse of :func:`gamma` on its unclipped part: :math:`x = (y / g)^{1/\gamma}`.

    Values above ``gain`` (which :func:`gamma` cannot produce) map to 1.

    Args:
        images: ``(B, C, H, W)`` or ``(C, H, W)`` in [0, 1].
        gamma: exponent ``> 0`` used by the forward curve.
        gain: multiplier ``> 0`` used by the forward curve.

    Example:
        >>> inverse_gamma(torch.tensor([[[[0.0625, 1.0]]]]), 2.0)
        tensor([[[[0.2500, 1.0000]]]])
    """
    x, unb = _prep(images)
    g = as_batch_param(gamma, x.shape[0], "gamma", like=x, low=0.0, low_inclusive=False)
    k = as_batch_param(gain, x.shape[0], "gain", like=x, low=0.0, low_inclusive=False)
    return unbatch(safe_pow((x / k).clamp(0.0, 1.0), 1.0 / g), unb)


# --------------------------------------------------------------------------------------------------
# sRGB transfer function and exposure
# --------------------------------------------------------------------------------------------------

#: sRGB values up to this are on the linear toe of the sRGB decoding curve (IEC 61966-2-1).
SRGB_THRESH = 0.04045
#: Linear values up to this are on the linear toe of the sRGB encoding curve (IEC 61966-2-1).
LIN_THRESH = 0.0031308


def srgb_to_linear(images: Tensor) -> Tensor:
    r"""Decode sRGB to linear light with the exact piecewise curve of IEC 61966-2-1.

    :math:`x / 12.92` for :math:`x \le 0.04045`, else :math:`((x + 0.055) / 1.055)^{2.4}`.

    Example:
        >>> srgb_to_linear(torch.tensor([[[[0.0, 0.5, 1.0]]]]))
        tensor([[[[0.0000, 0.2140, 1.0000]]]])
    """
    x, unb = _prep(images)
    # The power's base is >= 0.055 / 1.055, so no epsilon is needed; clamping keeps the unused
    # branch of torch.where well defined for slightly negative inputs.
    high = ((x.clamp_min(SRGB_THRESH) + 0.055) / 1.055) ** 2.4
    return unbatch(torch.where(x <= SRGB_THRESH, x / 12.92, high), unb)


def linear_to_srgb(images: Tensor) -> Tensor:
    r"""Encode linear light as sRGB (IEC 61966-2-1), the inverse of :func:`srgb_to_linear`.

    :math:`12.92\,x` for :math:`x \le 0.0031308`, else :math:`1.055\,x^{1/2.4} - 0.055`.

    Example:
        >>> linear_to_srgb(torch.tensor([[[[0.0, 0.214, 1.0]]]]))
        tensor([[[[0.0000, 0.5000, 1.0000]]]])
    """
    x, unb = _prep(images)
    # Written as 1 + 1.055 (x^(1/2.4) - 1) so that 1 maps to exactly 1 in float32 too.
    high = 1.0 + 1.055 * (x.clamp_min(LIN_THRESH) ** (1.0 / 2.4) - 1.0)
    return unbatch(torch.where(x <= LIN_THRESH, 12.92 * x, high), unb)


def exposure(images: Tensor, ev: Param) -> Tensor:
    r"""Change exposure by ``ev`` stops in linear light: decode sRGB, scale by :math:`2^{ev}`, clip, encode.

    This is what a longer or shorter shutter time does to a well-exposed photo (highlights clip).

    Args:
        images: sRGB ``(B, C, H, W)`` or ``(C, H, W)`` in [0, 1].
        ev: exposure change in stops, float or ``(B,)``; ``0`` is the identity, ``-1`` halves the light.

    Example:
        >>> exposure(torch.tensor([[[[0.5, 1.0]]]]), -1.0)
        tensor([[[[0.3608, 0.7354]]]])
    """
    x, unb = _prep(images)
    e = as_batch_param(ev, x.shape[0], "ev", like=x)
    lin = (srgb_to_linear(x) * torch.exp2(e)).clamp(0.0, 1.0)
    return unbatch(linear_to_srgb(lin), unb)


def inverse_exposure(images: Tensor, ev: Param) -> Tensor:
    """Undo :func:`exposure` on its unclipped part (the same as ``exposure(images, -ev)``).

    Example:
        >>> x = torch.tensor([[[[0.2, 0.6]]]])
        >>> torch.allclose(inverse_exposure(exposure(x, -2.0), -2.0), x, atol=1e-6)
        True
    """
    x, unb = _prep(images)
    e = as_batch_param(ev, x.shape[0], "ev", like=x)
    return unbatch(exposure(x, -e.reshape(-1)), unb)


def rational_gain(images: Tensor, gain: Param) -> Tensor:
    r"""Exposure gain with a highlight roll-off: :math:`g x / (1 + (g - 1) x)` (Schlick's bias curve).

    For :math:`g > 0` the curve is monotone increasing, keeps 0 and 1 fixed, has slope :math:`g` at 0
    (a plain gain in the shadows) and slope :math:`1 / g` at 1, so lifted highlights approach 1
    instead of clipping; :math:`g = 1` is the identity and :math:`1 / g` is its inverse. Apply it to
    linear light for a physical exposure change (Schlick, "Fast alternatives to Perlin's bias and
    gain functions", Graphics Gems IV, 1994).

    Args:
        images: ``(B, C, H, W)`` or ``(C, H, W)`` in [0, 1].
        gain: :math:`g > 0`: a float, a ``(B,)`` tensor, or a map broadcastable to ``images``
            (e.g. ``(B, 1, H, W)``, one gain per pixel).

    Example:
        >>> x = torch.tensor([[[[0.0, 0.1, 1.0]]]])
        >>> rational_gain(x, 4.0)
        tensor([[[[0.0000, 0.3077, 1.0000]]]])
        >>> torch.allclose(rational_gain(rational_gain(x, 4.0), 0.25), x)
        True
    """
    x, unb = _prep(images)
    if isinstance(gain, Tensor) and gain.ndim == 4:
        g = gain.to(x)
        if value_checks_enabled() and bool((g <= 0).any()):
            raise ValueError("`gain` must be > 0 everywhere.")
    else:
        g = as_batch_param(gain, x.shape[0], "gain", like=x, low=0.0, low_inclusive=False)
    return unbatch(g * x / (1.0 + (g - 1.0) * x), unb)


# --------------------------------------------------------------------------------------------------
# Tone-mapping operators
# --------------------------------------------------------------------------------------------------


def reinhard(images: Tensor, white: Param | None = None) -> Tensor:
    r"""Reinhard's global tone-mapping operator (Reinhard et al., SIGGRAPH 2002, eq. 3 and 4).

    Without a white point :math:`y = x / (1 + x)` (so 1 maps to 0.5); with white point :math:`w`,
    :math:`y = x (1 + x / w^2) / (1 + x)`, which maps :math:`w` to 1 (values above clip) and is the
    identity for :math:`w = 1`.

    Args:
        images: ``(B, C, H, W)`` or ``(C, H, W)`` in [0, 1].
        white: smallest value that maps to pure white, ``> 0``, float or ``(B,)``; ``None`` for the
            basic operator.

    Example:
        >>> reinhard(torch.tensor([[[[0.0, 1.0]]]]))
        tensor([[[[0.0000, 0.5000]]]])
        >>> reinhard(torch.tensor([[[[0.5]]]]), white=1.0)
        tensor([[[[0.5000]]]])
    """
    x, unb = _prep(images)
    if white is None:
        y = x / (1.0 + x)
    else:
        w = as_batch_param(white, x.shape[0], "white", like=x, low=0.0, low_inclusive=False)
        y = (x * (1.0 + x / (w * w)) / (1.0 + x)).clamp(0.0, 1.0)
    return unbatch(y, unb)


def inverse_reinhard(images: Tensor, white: Param | None = None) -> Tensor:
    r"""Inverse of :func:`reinhard` (clipped to [0, 1]).

    Solves :math:`x^2 / w^2 + x (1 - y) - y = 0` for its non-negative root in the cancellation-free
    form :math:`x = 2y / ((1 - y) + \sqrt{(1 - y)^2 + 4y / w^2})`; without a white point this is
    :math:`y / (1 - y)`.

    Example:
        >>> inverse_reinhard(torch.tensor([[[[0.0, 0.25, 0.5]]]]))
        tensor([[[[0.0000, 0.3333, 1.0000]]]])
    """
    x, unb = _prep(images)
    one_minus = 1.0 - x
    if white is None:
        y = x / one_minus.clamp_min(torch.finfo(x.dtype).eps)
    else:
        w = as_batch_param(white, x.shape[0], "white", like=x, low=0.0, low_inclusive=False)
        disc = one_minus * one_minus + 4.0 * x / (w * w)
        # disc >= (1 - y)^2 and > 0 unless y == 1 and ... never both 0 for y in [0, 1]
        y = 2.0 * x / (one_minus + disc.clamp_min(torch.finfo(x.dtype).tiny).sqrt())
    return unbatch(y.clamp(0.0, 1.0), unb)


# John Hable's "Uncharted 2" filmic curve constants (Hable, "Filmic tonemapping operators", 2010):
# shoulder strength, linear strength, linear angle, toe strength, toe numerator, toe denominator.
_HA, _HB, _HC, _HD, _HE, _HF = 0.15, 0.50, 0.10, 0.20, 0.02, 0.30
_HABLE_WHITE = 11.2


def _hable_raw(x: Tensor) -> Tensor:
    return (x * (_HA * x + _HC * _HB) + _HD * _HE) / (x * (_HA * x + _HB) + _HD * _HF) - _HE / _HF


def hable(images: Tensor, exposure_bias: Param = 2.0) -> Tensor:
    r"""Hable's filmic ("Uncharted 2") tone curve, normalised by its white point 11.2.

    :math:`y = F(b\,x) / F(11.2)` with the rational toe/shoulder function :math:`F` of Hable (2010,
    "Filmic tonemapping operators"), clipped to [0, 1].

    Args:
        images: ``(B, C, H, W)`` or ``(C, H, W)`` in [0, 1].
        exposure_bias: scale ``> 0`` applied before the curve (Hable uses 2), float or ``(B,)``.

    Example:
        >>> hable(torch.tensor([[[[0.0, 1.0]]]]))
        tensor([[[[0.0000, 0.4929]]]])
    """
    x, unb = _prep(images)
    b = as_batch_param(
        exposure_bias, x.shape[0], "exposure_bias", like=x, low=0.0, low_inclusive=False
    )
    white = _hable_raw(torch.tensor(_HABLE_WHITE, dtype=x.dtype, device=x.device))
    return unbatch((_hable_raw(b * x) / white).clamp(0.0, 1.0), unb)


def inverse_hable(images: Tensor, exposure_bias: Param = 2.0) -> Tensor:
    r"""Inverse of :func:`hable` (clipped to [0, 1]), from the quadratic the rational curve gives.

    With :math:`z = y F(11.2) + E/F`, :math:`A(1-z)u^2 + B(C-z)u + D(E - Fz) = 0` has one
    non-negative root :math:`u`; then :math:`x = u / b`.

    Example:
        >>> x = torch.tensor([[[[0.1, 0.7]]]])
        >>> torch.allclose(inverse_hable(hable(x)), x, atol=1e-5)
        True
    """
    y, unb = _prep(images)
    b = as_batch_param(
        exposure_bias, y.shape[0], "exposure_bias", like=y, low=0.0, low_inclusive=False
    )
    white = _hable_raw(torch.tensor(_HABLE_WHITE, dtype=y.dtype, device=y.device))
    z = y * white + _HE / _HF
    qa = _HA * (1.0 - z)  # > 0 since F < 1 - E/F
    qb = _HB * (_HC - z)
    qc = _HD * (_HE - _HF * z)  # <= 0: the product of the roots is <= 0
    s = (qb * qb - 4.0 * qa * qc).clamp_min(0.0).sqrt()
    # Pick the algebraically equal form that does not subtract nearly equal numbers.
    u = torch.where(
        qb <= 0, (s - qb) / (2.0 * qa), -2.0 * qc / (qb + s).clamp_min(torch.finfo(y.dtype).tiny)
    )
    return unbatch((u / b).clamp(0.0, 1.0), unb)


# Krzysztof Narkowicz's fit of the ACES filmic curve (blog post "ACES filmic tone mapping curve", 2016).
_AA, _AB, _AC, _AD, _AE = 2.51, 0.03, 2.43, 0.59, 0.14


def aces(images: Tensor, exposure_scale: Param = 1.0) -> Tensor:
    r"""Narkowicz's rational fit of the ACES filmic tone curve, clipped to [0, 1].

    :math:`y = \frac{u (2.51 u + 0.03)}{u (2.43 u + 0.59) + 0.14}` with :math:`u = s x`.

    Args:
        images: ``(B, C, H, W)`` or ``(C, H, W)`` in [0, 1].
        exposure_scale: scale ``> 0`` applied before the curve, float or ``(B,)``.

    Example:
        >>> aces(torch.tensor([[[[0.0, 1.0]]]]))
        tensor([[[[0.0000, 0.8038]]]])
    """
    x, unb = _prep(images)
    s = as_batch_param(
        exposure_scale, x.shape[0], "exposure_scale", like=x, low=0.0, low_inclusive=False
    )
    u = s * x
    return unbatch((u * (_AA * u + _AB) / (u * (_AC * u + _AD) + _AE)).clamp(0.0, 1.0), unb)


def inverse_aces(images: Tensor, exposure_scale: Param = 1.0) -> Tensor:
    r"""Inverse of :func:`aces` (clipped to [0, 1]).

    Solves :math:`(2.43y - 2.51)u^2 + (0.59y - 0.03)u + 0.14y = 0` for its non-negative root.

    Example:
        >>> x = torch.tensor([[[[0.1, 0.7]]]])
        >>> torch.allclose(inverse_aces(aces(x)), x, atol=1e-5)
        True
    """
    y, unb = _prep(images)
    s = as_batch_param(
        exposure_scale, y.shape[0], "exposure_scale", like=y, low=0.0, low_inclusive=False
    )
    qa = _AC * y - _AA  # < 0 on [0, 1]
    qb = _AD * y - _AB
    qc = _AE * y  # >= 0
    disc = (qb * qb - 4.0 * qa * qc).clamp_min(0.0).sqrt()
    tiny = torch.finfo(y.dtype).tiny
    u = torch.where(qb <= 0, 2.0 * qc / (disc - qb).clamp_min(tiny), (-qb - disc) / (2.0 * qa))
    return unbatch((u / s).clamp(0.0, 1.0), unb)


# --------------------------------------------------------------------------------------------------
# PIE's log curve
# --------------------------------------------------------------------------------------------------


def log_curve(images: Tensor, a: Param) -> Tensor:
    r"""The log tone curve of PIE's Bag of Curves, normalised to [0, 1].

    PIE (Liang et al., arXiv 2404.04586) applies :math:`V' = \mathrm{clip}(a \ln(1 + V), 0, 255)` to
    8-bit values :math:`V`; on [0, 1] that is :math:`y = \mathrm{clip}(a \ln(1 + 255x) / 255, 0, 1)`.
    PIE uses ``a = 10`` (dark) and ``a = 40`` (bright); ``a > 46`` starts clipping highlights.

    Args:
        images: ``(B, C, H, W)`` or ``(C, H, W)`` in [0, 1].
        a: gain ``> 0``, float or ``(B,)``.

    Example:
        >>> log_curve(torch.tensor([[[[0.0, 1.0]]]]), 10.0)
        tensor([[[[0.0000, 0.2175]]]])
    """
    x, unb = _prep(images)
    g = as_batch_param(a, x.shape[0], "a", like=x, low=0.0, low_inclusive=False)
    # Only the top can clip (log1p(255 x) >= 0 on [0, 1]); leaving 0 unclamped keeps the
    # gradient at exactly 0 the curve's own slope a.
    return unbatch((g * torch.log1p(255.0 * x) / 255.0).clamp(max=1.0), unb)


def inverse_log_curve(images: Tensor, a: Param) -> Tensor:
    r"""Inverse of :func:`log_curve` on its unclipped part: :math:`x = (e^{255y/a} - 1) / 255`, clipped.

    Example:
        >>> x = torch.tensor([[[[0.1, 0.9]]]])
        >>> torch.allclose(inverse_log_curve(log_curve(x, 10.0), 10.0), x)
        True
    """
    y, unb = _prep(images)
    g = as_batch_param(a, y.shape[0], "a", like=y, low=0.0, low_inclusive=False)
    # Cap the exponent where the result would clip anyway so large 1/a cannot overflow to inf.
    arg = (255.0 * y / g).clamp(max=math.log(256.0))
    return unbatch((torch.expm1(arg) / 255.0).clamp(0.0, 1.0), unb)


# --------------------------------------------------------------------------------------------------
# Light-enhancement curve (Zero-DCE)
# --------------------------------------------------------------------------------------------------


def le_curve(images: Tensor, alpha_maps: Param, iterations: int | None = None) -> Tensor:
    r"""Iterated quadratic light-enhancement curve of Zero-DCE (Guo et al., CVPR 2020, arXiv 2001.06826).

    Each iteration computes :math:`x \leftarrow x + r\,(x^2 - x)` (the sign convention of the
    released Zero-DCE and PIE code: negative ``r`` brightens, positive ``r`` darkens). For
    :math:`|r| \le 1` every step is monotone and maps [0, 1] onto itself with 0 and 1 fixed.

    Args:
        images: ``(B, C, H, W)`` or ``(C, H, W)`` in [0, 1].
        alpha_maps: either per-pixel maps ``(B, C * n, H, W)`` (``(C * n, H, W)`` for unbatched
            input) holding ``n`` iterations of ``C``-channel maps in order, as DCE-Net outputs
            them; or one value per image (float or ``(B,)``) applied ``iterations`` times.
            Values must lie in [-1, 1].
        iterations: number of iterations for scalar ``alpha_maps`` (default 1); for maps it may be
            given and must equal ``n``.

    Returns:
        Tensor of the input's shape.

    Example:
        >>> x = torch.tensor([[[[0.0, 0.5, 1.0]]]])
        >>> le_curve(x, -1.0, iterations=2)
        tensor([[[[0.0000, 0.9375, 1.0000]]]])
    """
    x, unb = _prep(images)
    b, c = x.shape[:2]
    check_int(iterations, "iterations", 1, optional=True)
    if isinstance(alpha_maps, Tensor) and alpha_maps.ndim >= 3:
        maps = alpha_maps.unsqueeze(0) if (unb and alpha_maps.ndim == 3) else alpha_maps
        if maps.ndim != 4 or maps.shape[0] != b or maps.shape[-2:] != x.shape[-2:]:
            raise ValueError(
                f"`alpha_maps` must have shape (B, C * n, H, W) = ({b}, {c} * n, {x.shape[-2]}, "
                f"{x.shape[-1]}) for these images, got {tuple(alpha_maps.shape)}."
            )
        if not maps.is_floating_point():
            raise TypeError(f"`alpha_maps` must be a floating-point tensor, got {maps.dtype}.")
        if maps.shape[1] % c or maps.shape[1] == 0:
            raise ValueError(
                f"`alpha_maps` has {maps.shape[1]} channels, not a positive multiple of the image's {c}."
            )
        n = maps.shape[1] // c
        if iterations is not None and iterations != n:
            raise ValueError(
                f"`iterations` is {iterations} but `alpha_maps` holds {n} iterations of maps."
            )
        check_image(maps, "alpha_maps", channels=None, allow_unbatched=False, check_range=False)
        if value_checks_enabled() and bool((maps.detach().abs() > 1.0).any()):
            raise ValueError("`alpha_maps` must hold values in [-1, 1] (e.g. a tanh output).")
        maps = maps.to(x.dtype)
        steps = maps.split(c, dim=1)
    else:
        r = as_batch_param(alpha_maps, b, "alpha_maps", like=x, low=-1.0, high=1.0)
        steps = [r] * (1 if iterations is None else iterations)
    for r in steps:
        x = x + r * (x * x - x)
    return unbatch(x, unb)


# --------------------------------------------------------------------------------------------------
# Sigmoid contrast
# --------------------------------------------------------------------------------------------------


def _sigmoid_parts(
    x: Tensor, gain: Param, cutoff: Param
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    b = x.shape[0]
    g = as_batch_param(gain, b, "gain", like=x, low=0.0)
    c = as_batch_param(cutoff, b, "cutoff", like=x, low=0.0, high=1.0)
    flat = g < 1e-4
    # Replace tiny gains by 1 in the sigmoid branch so 0/0 never reaches the backward pass of
    # torch.where; those images take the identity (the gain -> 0 limit) instead.
    gs = torch.where(flat, torch.ones_like(g), g)
    s0 = torch.sigmoid(gs * (0.0 - c))
    s1 = torch.sigmoid(gs * (1.0 - c))
    return gs, c, s0, s1 - s0, flat


def sigmoid_contrast(images: Tensor, gain: Param = 10.0, cutoff: Param = 0.5) -> Tensor:
    r"""S-shaped contrast curve, rescaled so that 0 and 1 stay fixed.

    :math:`y = (\sigma(g(x - c)) - \sigma(-gc)) / (\sigma(g(1 - c)) - \sigma(-gc))`, the logistic
    contrast adjustment (as in ``skimage.exposure.adjust_sigmoid``) normalised to keep the range.
    ``gain -> 0`` tends to the identity, and ``gain < 1e-4`` returns the input unchanged.

    Args:
        images: ``(B, C, H, W)`` or ``(C, H, W)`` in [0, 1].
        gain: steepness ``>= 0``, float or ``(B,)``.
        cutoff: centre of the S in [0, 1], float or ``(B,)``.

    Example:
        >>> sigmoid_contrast(torch.tensor([[[[0.0, 0.5, 1.0]]]]), 10.0)
        tensor([[[[0.0000, 0.5000, 1.0000]]]])
    """
    x, unb = _prep(images)
    gs, c, s0, span, flat = _sigmoid_parts(x, gain, cutoff)
    y = (torch.sigmoid(gs * (x - c)) - s0) / span
    return unbatch(torch.where(flat, x, y.clamp(0.0, 1.0)), unb)


def inverse_sigmoid_contrast(images: Tensor, gain: Param = 10.0, cutoff: Param = 0.5) -> Tensor:
    r"""Inverse of :func:`sigmoid_contrast`: :math:`x = c + \mathrm{logit}(\sigma_0 + y\,\Delta\sigma) / g`.

    Example:
        >>> x = torch.tensor([[[[0.1, 0.7]]]])
        >>> torch.allclose(inverse_sigmoid_contrast(sigmoid_contrast(x)), x, atol=1e-5)
        True
    """
    y, unb = _prep(images)
    gs, c, s0, span, flat = _sigmoid_parts(y, gain, cutoff)
    s = s0 + y * span
    x = c + torch.logit(s, eps=torch.finfo(y.dtype).eps) / gs
    return unbatch(torch.where(flat, y, x.clamp(0.0, 1.0)), unb)


# --------------------------------------------------------------------------------------------------
# Curves on HSV value
# --------------------------------------------------------------------------------------------------

#: Pixels whose HSV value is at most this are treated as black (grey) by :func:`value_curve`.
VALUE_EPS = 1e-6


def value_curve(images: Tensor, curve: Callable[..., Tensor], **params: Any) -> Tensor:
    r"""Apply a tone curve to the HSV value channel, keeping hue and saturation.

    The result equals ``hsv_to_rgb(h, s, curve(v))`` with kornia's HSV conversion (tested against it),
    computed without the round trip: with hue and saturation fixed every RGB channel is proportional
    to :math:`V = \max(R, G, B)`, so :math:`RGB' = RGB \cdot f(V) / V`. This is PIE's "tone curve on
    HSV value" family (:math:`V' = V^k`) and is about three times cheaper than converting.
    Pixels with :math:`V \le 10^{-6}` are black and become grey :math:`f(V)`.

    Args:
        images: RGB ``(B, 3, H, W)`` or ``(3, H, W)`` in [0, 1].
        curve: a curve of this module (or any callable ``curve(v, **params)`` mapping a
            ``(B, 1, H, W)`` tensor in [0, 1] to [0, 1]), e.g. :func:`gamma`.
        **params: passed to ``curve`` (per-image ``(B,)`` tensors work as usual).

    Example:
        >>> x = torch.tensor([[[[0.5]], [[0.25]], [[0.0]]]])  # orange-brown, V = 0.5
        >>> value_curve(x, gamma, gamma=2.0).flatten()
        tensor([0.2500, 0.1250, 0.0000])
    """
    x, unb = _prep(images, channels=(3,))
    v = x.amax(dim=1, keepdim=True)
    fv = curve(v, **params)
    if not isinstance(fv, Tensor) or fv.shape != v.shape:
        raise ValueError(
            f"`curve` must return a tensor of the value channel's shape {tuple(v.shape)}, "
            f"got {getattr(fv, 'shape', type(fv).__name__)}."
        )
    ratio = fv / v.clamp_min(VALUE_EPS)
    out = torch.where(v > VALUE_EPS, x * ratio, fv.expand_as(x))
    return unbatch(out.clamp(0.0, 1.0), unb)


# --------------------------------------------------------------------------------------------------
# Module twins
# --------------------------------------------------------------------------------------------------


class _Curve(nn.Module):
    """Holds a curve's parameters; subclasses only name the function they call."""

    def _params_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self._cfg.items())

    def extra_repr(self) -> str:
        return self._params_repr()


class Gamma(_Curve):
    """Module form of :func:`gamma`.

    Example:
        >>> Gamma(2.0)(torch.full((1, 3, 2, 2), 0.5))[0, 0, 0, 0]
        tensor(0.2500)
    """

    def __init__(self, gamma: Param, gain: Param = 1.0) -> None:
        super().__init__()
        self.gamma, self.gain = gamma, gain
        self._cfg = {"gamma": gamma, "gain": gain}

    def forward(self, images: Tensor) -> Tensor:
        return gamma(images, self.gamma, self.gain)


class InverseGamma(_Curve):
    """Module form of :func:`inverse_gamma`."""

    def __init__(self, gamma: Param, gain: Param = 1.0) -> None:
        super().__init__()
        self.gamma, self.gain = gamma, gain
        self._cfg = {"gamma": gamma, "gain": gain}

    def forward(self, images: Tensor) -> Tensor:
        return inverse_gamma(images, self.gamma, self.gain)


class SrgbToLinear(_Curve):
    """Module form of :func:`srgb_to_linear`."""

    def __init__(self) -> None:
        super().__init__()
        self._cfg = {}

    def forward(self, images: Tensor) -> Tensor:
        return srgb_to_linear(images)


class LinearToSrgb(_Curve):
    """Module form of :func:`linear_to_srgb`."""

    def __init__(self) -> None:
        super().__init__()
        self._cfg = {}

    def forward(self, images: Tensor) -> Tensor:
        return linear_to_srgb(images)


class Exposure(_Curve):
    """Module form of :func:`exposure`."""

    def __init__(self, ev: Param) -> None:
        super().__init__()
        self.ev = ev
        self._cfg = {"ev": ev}

    def forward(self, images: Tensor) -> Tensor:
        return exposure(images, self.ev)


class InverseExposure(_Curve):
    """Module form of :func:`inverse_exposure`."""

    def __init__(self, ev: Param) -> None:
        super().__init__()
        self.ev = ev
        self._cfg = {"ev": ev}

    def forward(self, images: Tensor) -> Tensor:
        return inverse_exposure(images, self.ev)


class Reinhard(_Curve):
    """Module form of :func:`reinhard`."""

    def __init__(self, white: Param | None = None) -> None:
        super().__init__()
        self.white = white
        self._cfg = {"white": white}

    def forward(self, images: Tensor) -> Tensor:
        return reinhard(images, self.white)


class InverseReinhard(_Curve):
    """Module form of :func:`inverse_reinhard`."""

    def __init__(self, white: Param | None = None) -> None:
        super().__init__()
        self.white = white
        self._cfg = {"white": white}

    def forward(self, images: Tensor) -> Tensor:
        return inverse_reinhard(images, self.white)


class Hable(_Curve):
    """Module form of :func:`hable`."""

    def __init__(self, exposure_bias: Param = 2.0) -> None:
        super().__init__()
        self.exposure_bias = exposure_bias
        self._cfg = {"exposure_bias": exposure_bias}

    def forward(self, images: Tensor) -> Tensor:
        return hable(images, self.exposure_bias)


class InverseHable(_Curve):
    """Module form of :func:`inverse_hable`."""

    def __init__(self, exposure_bias: Param = 2.0) -> None:
        super().__init__()
        self.exposure_bias = exposure_bias
        self._cfg = {"exposure_bias": exposure_bias}

    def forward(self, images: Tensor) -> Tensor:
        return inverse_hable(images, self.exposure_bias)


class Aces(_Curve):
    """Module form of :func:`aces`."""

    def __init__(self, exposure_scale: Param = 1.0) -> None:
        super().__init__()
        self.exposure_scale = exposure_scale
        self._cfg = {"exposure_scale": exposure_scale}

    def forward(self, images: Tensor) -> Tensor:
        return aces(images, self.exposure_scale)


class InverseAces(_Curve):
    """Module form of :func:`inverse_aces`."""

    def __init__(self, exposure_scale: Param = 1.0) -> None:
        super().__init__()
        self.exposure_scale = exposure_scale
        self._cfg = {"exposure_scale": exposure_scale}

    def forward(self, images: Tensor) -> Tensor:
        return inverse_aces(images, self.exposure_scale)


class LogCurve(_Curve):
    """Module form of :func:`log_curve`."""

    def __init__(self, a: Param) -> None:
        super().__init__()
        self.a = a
        self._cfg = {"a": a}

    def forward(self, images: Tensor) -> Tensor:
        return log_curve(images, self.a)


class InverseLogCurve(_Curve):
    """Module form of :func:`inverse_log_curve`."""

    def __init__(self, a: Param) -> None:
        super().__init__()
        self.a = a
        self._cfg = {"a": a}

    def forward(self, images: Tensor) -> Tensor:
        return inverse_log_curve(images, self.a)


class LeCurve(_Curve):
    """Module form of :func:`le_curve` with fixed per-image parameters.

    For per-pixel maps produced by a network, call :func:`le_curve` directly or pass the maps to
    ``forward``.
    """

    def __init__(self, alpha: Param = 0.0, iterations: int = 1) -> None:
        super().__init__()
        self.alpha, self.iterations = alpha, iterations
        self._cfg = {"alpha": alpha, "iterations": iterations}

    def forward(self, images: Tensor, alpha_maps: Tensor | None = None) -> Tensor:
        if alpha_maps is not None:
            return le_curve(images, alpha_maps)
        return le_curve(images, self.alpha, self.iterations)


class SigmoidContrast(_Curve):
    """Module form of :func:`sigmoid_contrast`."""

    def __init__(self, gain: Param = 10.0, cutoff: Param = 0.5) -> None:
        super().__init__()
        self.gain, self.cutoff = gain, cutoff
        self._cfg = {"gain": gain, "cutoff": cutoff}

    def forward(self, images: Tensor) -> Tensor:
        return sigmoid_contrast(images, self.gain, self.cutoff)


class InverseSigmoidContrast(_Curve):
    """Module form of :func:`inverse_sigmoid_contrast`."""

    def __init__(self, gain: Param = 10.0, cutoff: Param = 0.5) -> None:
        super().__init__()
        self.gain, self.cutoff = gain, cutoff
        self._cfg = {"gain": gain, "cutoff": cutoff}

    def forward(self, images: Tensor) -> Tensor:
        return inverse_sigmoid_contrast(images, self.gain, self.cutoff)


class ValueCurve(_Curve):
    """Module form of :func:`value_curve`: ``ValueCurve(gamma, gamma=6.0)``.

    Example:
        >>> m = ValueCurve(gamma, gamma=2.0)
        >>> m(torch.tensor([[[[0.5]], [[0.25]], [[0.0]]]])).flatten()
        tensor([0.2500, 0.1250, 0.0000])
    """

    def __init__(self, curve: Callable[..., Tensor], **params: Any) -> None:
        super().__init__()
        if not callable(curve):
            raise TypeError(f"`curve` must be callable, got {type(curve).__name__}.")
        self.curve, self.params = curve, params
        self._cfg = {"curve": getattr(curve, "__name__", curve), **params}

    def forward(self, images: Tensor) -> Tensor:
        return value_curve(images, self.curve, **self.params)


class RationalGain(_Curve):
    """Module form of :func:`rational_gain`.

    Example:
        >>> RationalGain(4.0)(torch.tensor([[[[0.1]]]]))
        tensor([[[[0.3077]]]])
    """

    def __init__(self, gain: Param = 2.0) -> None:
        super().__init__()
        self.gain = gain
        self._cfg = {"gain": gain}

    def forward(self, images: Tensor) -> Tensor:
        return rational_gain(images, self.gain)
