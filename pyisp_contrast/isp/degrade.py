"""Physics-based synthetic degradations of well-exposed sRGB images: low light, haze, rain.

Each degradation returns ``(degraded, params)`` where ``params`` maps names to the per-sample values
used (``(B,)`` tensors, or larger for maps), is deterministic under a ``torch.Generator`` and is
differentiable with respect to the images. Random parameters are given as a ``(low, high)`` range
(drawn per image), a float (the same for every image) or a ``(B,)`` tensor (given per image).

- :func:`low_light`: linearise, drop the exposure, add Poisson-Gaussian sensor noise, optional
  colour cast, re-encode (the unprocessing view of Brooks et al., CVPR 2019, arXiv 1811.11127).
- :func:`haze`: the atmospheric scattering model :math:`I = J t + A (1 - t)` with
  :math:`t = e^{-\\beta d}` (Koschmieder; He et al., CVPR 2009), plus :func:`scatter` and
  :func:`inverse_scatter` for dehazing models.
- :func:`rain`: a rain-streak layer (sparse seeds blurred along a direction) composited with the
  screen blend (as in the additive/screen rain models of Yang et al., CVPR 2017, arXiv 1609.07769).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pyisp_contrast.core.checks import (
    as_batch_param,
    check_finite,
    check_float,
    check_generator,
    check_image,
    check_int,
    unbatch,
    value_checks,
    value_checks_enabled,
)

from ._haze import HAZE_DEFAULTS, ramp_depth, tinted_airlight
from .curves import linear_to_srgb, srgb_to_linear

__all__ = [
    "METERING",
    "TONE_CURVES",
    "Haze",
    "LowLight",
    "Rain",
    "haze",
    "inverse_scatter",
    "jpeg_round_trip",
    "low_light",
    "rain",
    "rain_kernel",
    "scatter",
]

Range = tuple[float, float] | float | Tensor


def _draw(
    value: Range,
    name: str,
    batch: int,
    like: Tensor,
    generator: torch.Generator | None,
    *,
    low: float | None = None,
    high: float | None = None,
    log: bool = False,
) -> Tensor:
    """A ``(B,)`` parameter from a ``(low, high)`` range, a float or a ``(B,)`` tensor.

    A sequence of ranges is a mixture: each image draws one of the ranges (equal odds; repeat a
    range to weight it), then a value inside it.
    """
    if (
        isinstance(value, tuple | list)
        and value
        and all(isinstance(v, tuple | list) for v in value)
    ):
        parts = [_draw(v, name, batch, like, generator, low=low, high=high, log=log) for v in value]
        pick = torch.randint(len(parts), (batch,), generator=generator, device=like.device)
        return torch.stack(parts, 1).gather(1, pick[:, None])[:, 0]
    if isinstance(value, tuple | list):
        if len(value) != 2:
            raise ValueError(
                f"`{name}` must be a (low, high) range, a float or a (B,) tensor, got {value!r}."
            )
        lo, hi = (float(v) for v in value)
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
            raise ValueError(f"`{name}` range must be finite with low <= high, got {value!r}.")
        for bound in (lo, hi):
            as_batch_param(bound, 1, name, like=like, low=low, high=high)
        if log and lo <= 0:
            raise ValueError(
                f"`{name}` range must be positive (it is drawn log-uniformly), got {value!r}."
            )
        u = torch.rand(batch, generator=generator, device=like.device, dtype=like.dtype)
        if log:
            return torch.exp(math.log(lo) + (math.log(hi) - math.log(lo)) * u)
        return lo + (hi - lo) * u
    return as_batch_param(value, batch, name, like=like, low=low, high=high).reshape(batch)


# --------------------------------------------------------------------------------------- low light


def low_light(
    images: Tensor,
    ev_range: Range = (-5.0, -2.0),
    shot_noise: Range = (1e-4, 4e-3),
    read_noise: Range = (5e-4, 5e-3),
    color_cast: Range | None = None,
    generator: torch.Generator | None = None,
    *,
    illumination_spread: Range | None = None,
    illumination_cells: int = 3,
    metering: str | Sequence[str] = "average",
    tone: str | Sequence[str] = "srgb",
    jpeg_quality: Range | None = None,
) -> tuple[Tensor, dict[str, Tensor]]:
    r"""Synthesise a low-light photo from a well-exposed sRGB image.

    In linear light (:func:`~pyisp_contrast.isp.curves.srgb_to_linear`) the exposure drops by
    :math:`2^{ev}`, an optional per-channel gain casts a colour, and sensor noise is added with the
    heteroscedastic Gaussian approximation of Poisson-Gaussian noise,
    :math:`y = x + \sqrt{a x + b^2}\,n`, :math:`n \sim \mathcal{N}(0, 1)` (shot level :math:`a`,
    read noise standard deviation :math:`b`; Foi et al., IEEE TIP 2008). The result is clipped and
    re-encoded as sRGB. Differentiable with respect to ``images``.

    Real dark photos are rarely lit evenly (a lit sky over a dark street, a lamp in a dark room).
    With ``illumination_spread`` the exposure change varies smoothly over the image: a
    ``cells x cells`` grid of standard normal values, upsampled bicubically to the image and scaled
    by the spread, is added to ``ev`` (in stops) pixel by pixel; highlights that it pushes above 1
    clip, as a sensor would.

    Args:
        images: sRGB ``(B, C, H, W)`` or ``(C, H, W)`` in [0, 1].
        ev_range: exposure change in stops (negative darkens), in [-16, 8]: a range, a list of
            ranges (a mixture: each image draws one range, then a value in it), a float or
            ``(B,)``.
        shot_noise: shot-noise level :math:`a \ge 0` (linear units), drawn log-uniformly from a
            range, or a float / ``(B,)``.
        read_noise: read-noise standard deviation :math:`b \ge 0`, like ``shot_noise``.
        color_cast: ``None`` for no cast, or per-channel gains: a range (each channel drawn
            independently), a float, or a ``(B, C)`` tensor.
        generator: source of all randomness.
        illumination_spread: ``None`` (even lighting, the default) or the standard deviation in
            stops of the smooth exposure field: a range, a float or a ``(B,)`` tensor, ``>= 0``.
        illumination_cells: cells of the field's grid along each side (``>= 2``; fewer cells give
            broader light and shadow).
        metering: where the uneven field leaves ``ev``: ``"average"`` (the default) centres the
            field on it, so some parts are lit more and some less; ``"highlights"`` shifts each
            image's field so that its brightest point gets exactly ``ev`` and the rest falls
            short, as when a camera meters a backlit scene for the lit part (a sky over a dark
            street): shadows are under-exposed by up to a few stops and nothing clips that the
            even exposure would not clip; or a sequence of these, one drawn per image (a single
            value draws no random number).
        tone: the camera's tone curve that encodes the noisy linear light: ``"srgb"`` (the
            default), ``"gamma"`` (a pure 1/2.2 power), ``"s-curve"`` (sRGB followed by a
            contrast S-curve, as camera picture styles do), or a sequence of these, one drawn per
            image.
        jpeg_quality: ``None`` (no compression) or a JPEG quality in [5, 100] (range, float or
            ``(B,)``) applied last, as a phone or camera would; the gradient passes straight
            through the codec.

    Returns:
        ``(degraded, params)`` with ``params["ev"]``, ``["shot_noise"]``, ``["read_noise"]``,
        ``["illumination_spread"]``, ``["tone"]`` (index into :data:`TONE_CURVES`),
        ``["metering"]`` (index into :data:`METERING`) and
        ``["jpeg_quality"]`` (0 without compression) of shape ``(B,)``, ``["color_cast"]`` ``(B, C)`` (ones without a
        cast), and ``["illumination"]``, the per-pixel offset to ``ev`` in stops, ``(B, 1, H, W)``
        (zeros with even lighting).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> dark, p = low_light(torch.full((2, 3, 8, 8), 0.6), generator=g)
        >>> bool(dark.mean() < 0.3), sorted(p)[:4]
        (True, ['color_cast', 'ev', 'illumination', 'illumination_spread'])
        >>> _, p = low_light(torch.full((2, 3, 8, 8), 0.6), illumination_spread=1.0, generator=g)
        >>> bool(p["illumination"].std() > 0.1)
        True
    """
    x, unb = check_image(images, "images")
    generator = check_generator(generator, x.device)
    b, c = x.shape[:2]
    ev = _draw(ev_range, "ev_range", b, x, generator, low=-16.0, high=8.0)
    shot = _draw(
        shot_noise, "shot_noise", b, x, generator, low=0.0, log=isinstance(shot_noise, tuple | list)
    )
    read = _draw(
        read_noise, "read_noise", b, x, generator, low=0.0, log=isinstance(read_noise, tuple | list)
    )
    if color_cast is None:
        cast = torch.ones(b, c, device=x.device, dtype=x.dtype)
    elif isinstance(color_cast, tuple | list):
        cast = _draw(color_cast, "color_cast", b * c, x, generator, low=0.0).reshape(b, c)
    elif isinstance(color_cast, Tensor) and color_cast.ndim == 2:
        if tuple(color_cast.shape) != (b, c):
            raise ValueError(
                f"`color_cast` must have shape ({b}, {c}), got {tuple(color_cast.shape)}."
            )
        check_finite(color_cast, "color_cast")
        if value_checks_enabled() and bool((color_cast < 0).any()):
            raise ValueError("`color_cast` gains must be >= 0.")
        cast = color_cast.to(x)
    else:
        cast = _draw(color_cast, "color_cast", b, x, generator, low=0.0)[:, None].expand(b, c)
    spread, field = _illumination_field(illumination_spread, illumination_cells, x, generator)
    tone_index = _draw_choice(tone, TONE_CURVES, "tone", b, x, generator)
    quality = None
    if jpeg_quality is not None:
        quality = _draw(jpeg_quality, "jpeg_quality", b, x, generator, low=5.0, high=100.0)
    metered = _draw_choice(metering, METERING, "metering", b, x, generator)
    if illumination_spread is not None:
        top = field.amax(dim=(-2, -1), keepdim=True)
        field = field - torch.where(metered.view(b, 1, 1, 1) == 1, top, torch.zeros_like(top))

    # Even lighting keeps the exposure a per-image scalar (no per-pixel exp2 on the default path).
    stops = ev.view(b, 1, 1, 1) if illumination_spread is None else ev.view(b, 1, 1, 1) + field
    lin = srgb_to_linear(x) * torch.exp2(stops) * cast.reshape(b, c, 1, 1)
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    var = shot.view(b, 1, 1, 1) * lin.clamp_min(0) + read.view(b, 1, 1, 1) ** 2
    # Where the variance is 0 (no signal, no read noise) the noise is exactly 0; the clamp only
    # keeps sqrt's gradient finite in the branch torch.where does not use.
    std = torch.where(
        var > 0, var.clamp_min(torch.finfo(x.dtype).tiny).sqrt(), torch.zeros_like(var)
    )
    noisy = (lin + std * noise).clamp(0.0, 1.0)
    with value_checks(False):
        out = _encode(noisy, tone_index)
    if quality is not None:
        out = jpeg_round_trip(out, quality)
    params = {
        "ev": ev,
        "shot_noise": shot,
        "read_noise": read,
        "color_cast": cast,
        "illumination_spread": spread,
        "illumination": field,
        "tone": tone_index.to(x.dtype),
        "metering": metered.to(x.dtype),
        "jpeg_quality": x.new_zeros(b) if quality is None else quality.round(),
    }
    return unbatch(out, unb), params


#: Values of :func:`low_light`'s ``metering``.
METERING = ("average", "highlights")

#: Tone curves :func:`low_light` can encode with (``params["tone"]`` indexes this tuple).
TONE_CURVES = ("srgb", "gamma", "s-curve")


def _draw_choice(
    value: str | Sequence[str], options: tuple[str, ...], name: str, b: int, x: Tensor, generator
) -> Tensor:
    """Per-image indices into ``options``; draws from ``generator`` only when there is a choice."""
    names = [value] if isinstance(value, str) else list(value)
    if not names or any(n not in options for n in names):
        raise ValueError(f"`{name}` must be one of {options} or a sequence of them, got {value!r}.")
    idx = torch.tensor([options.index(n) for n in names], device=x.device)
    if len(idx) == 1:
        return idx.expand(b).clone()
    pick = torch.randint(len(idx), (b,), generator=generator, device=x.device)
    return idx[pick]


def _encode(lin: Tensor, tone_index: Tensor) -> Tensor:
    """Encode linear light with each image's tone curve (indices into :data:`TONE_CURVES`)."""
    srgb = linear_to_srgb(lin)
    if bool((tone_index == 0).all()):
        return srgb
    b = lin.shape[0]
    gamma_enc = lin.clamp_min(1e-8) ** (1.0 / 2.2)
    # A camera-like contrast S-curve on top of sRGB: blend with smoothstep (slope 0.7 at the ends).
    s_curve = 0.7 * srgb + 0.3 * srgb * srgb * (3.0 - 2.0 * srgb)
    t = tone_index.view(b, 1, 1, 1)
    return torch.where(t == 0, srgb, torch.where(t == 1, gamma_enc, s_curve))


def jpeg_round_trip(images: Tensor, quality: float | Tensor) -> Tensor:
    """Compress and decompress each image as a baseline JPEG (Pillow, 4:2:0 chroma).

    The forward value is the decoded JPEG; the gradient passes straight through (identity), so
    synthesis stays usable inside differentiable pipelines.

    Args:
        images: sRGB ``(B, 3, H, W)`` in [0, 1].
        quality: JPEG quality in [5, 100]: a float or ``(B,)``.

    Example:
        >>> x = torch.rand(1, 3, 16, 16)
        >>> y = jpeg_round_trip(x, 50.0)
        >>> y.shape, bool((y - x).abs().mean() > 0)
        (torch.Size([1, 3, 16, 16]), True)
    """
    import io

    import numpy as np
    from PIL import Image

    x, unb = check_image(images, "images", channels=(3,))
    q = as_batch_param(quality, x.shape[0], "quality", like=x, low=5.0, high=100.0).reshape(-1)
    decoded = []
    arrays = (x.detach().clamp(0, 1) * 255.0).round().to(torch.uint8).permute(0, 2, 3, 1).cpu()
    for arr, qi in zip(arrays.numpy(), q.tolist()):
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, format="JPEG", quality=round(qi))
        buf.seek(0)
        decoded.append(torch.from_numpy(np.asarray(Image.open(buf).convert("RGB")).copy()))
    y = torch.stack(decoded).permute(0, 3, 1, 2).to(device=x.device, dtype=x.dtype) / 255.0
    return unbatch(x + (y - x).detach(), unb)


def _illumination_field(
    spread: Range | None, cells: int, x: Tensor, generator: torch.Generator | None
) -> tuple[Tensor, Tensor]:
    """``(spread (B,), field (B, 1, H, W))`` of :func:`low_light`'s uneven lighting, in stops.

    Draws nothing from ``generator`` when ``spread`` is ``None``, so even-light results do not
    depend on whether the option exists.
    """
    b, _, h, w = x.shape
    check_int(cells, "illumination_cells", 2)
    if spread is None:
        return x.new_zeros(b), x.new_zeros(b, 1, h, w)
    s = _draw(spread, "illumination_spread", b, x, generator, low=0.0)
    grid = torch.randn(b, 1, cells, cells, generator=generator, device=x.device, dtype=x.dtype)
    field = F.interpolate(grid, size=(h, w), mode="bicubic", align_corners=True)
    return s, s.view(b, 1, 1, 1) * field


# --------------------------------------------------------------------------------------------- haze


def _as_map(value: float | Tensor, name: str, x: Tensor, channels: Sequence[int]) -> Tensor:
    """A float, ``(B,)``, ``(B, k)`` or ``(B, k, H, W)`` tensor as something broadcastable to ``x``."""
    b, _, h, w = x.shape
    if isinstance(value, Tensor) and value.ndim >= 2:
        check_finite(value, name)
        if value.ndim == 2 and value.shape[0] == b and value.shape[1] in channels:
            return value.to(x).reshape(b, -1, 1, 1)
        if (
            value.ndim == 4
            and value.shape[0] == b
            and value.shape[1] in channels
            and value.shape[2:] == (h, w)
        ):
            return value.to(x)
        raise ValueError(
            f"`{name}` must be a float, a ({b},) tensor, a ({b}, k) tensor or a ({b}, k, {h}, {w}) map "
            f"with k in {tuple(channels)}, got shape {tuple(value.shape)}."
        )
    return as_batch_param(value, b, name, like=x)


def scatter(images: Tensor, transmission: float | Tensor, airlight: float | Tensor) -> Tensor:
    r"""Atmospheric scattering model :math:`I = J t + A (1 - t)` (Koschmieder's law).

    Args:
        images: haze-free scene radiance :math:`J`, ``(B, C, H, W)`` or ``(C, H, W)`` in [0, 1].
        transmission: :math:`t` in [0, 1]: float, ``(B,)``, or a map ``(B, 1, H, W)`` /
            ``(B, C, H, W)``.
        airlight: :math:`A` in [0, 1]: float, ``(B,)`` (grey) or ``(B, C)``.

    Returns:
        The hazy image, same shape as ``images`` (a convex combination: stays in [0, 1]).

    Example:
        >>> scatter(torch.zeros(1, 3, 2, 2), 0.25, 0.8)[0, :, 0, 0]
        tensor([0.6000, 0.6000, 0.6000])
    """
    j, unb = check_image(images, "images")
    t, a = _scatter_params(j, transmission, airlight)
    return unbatch(j * t + a * (1.0 - t), unb)


def _scatter_params(
    x: Tensor, transmission: float | Tensor, airlight: float | Tensor
) -> tuple[Tensor, Tensor]:
    c = x.shape[1]
    t = _as_map(transmission, "transmission", x, (1, c))
    a = _as_map(airlight, "airlight", x, (1, c))
    if value_checks_enabled():
        for v, name in ((t, "transmission"), (a, "airlight")):
            lo, hi = float(v.detach().amin()), float(v.detach().amax())
            if lo < 0 or hi > 1:
                raise ValueError(
                    f"`{name}` must lie in [0, 1], got values in [{lo:.4g}, {hi:.4g}]."
                )
    return t, a


def inverse_scatter(
    images: Tensor, transmission: float | Tensor, airlight: float | Tensor, t_min: float = 0.05
) -> Tensor:
    r"""Invert :func:`scatter`: :math:`J = (I - A) / \max(t, t_{min}) + A` (He et al., CVPR 2009).

    The floor ``t_min`` keeps dense haze from amplifying noise without bound. The result is not
    clipped (a wrong ``t`` or ``A`` gives values outside [0, 1]; clip for display).

    Args:
        images: hazy image :math:`I`, ``(B, C, H, W)`` or ``(C, H, W)`` in [0, 1].
        transmission: :math:`t`, as in :func:`scatter`.
        airlight: :math:`A`, as in :func:`scatter`.
        t_min: lower bound on :math:`t`, in (0, 1].

    Example:
        >>> j = torch.rand(1, 3, 4, 4)
        >>> torch.allclose(inverse_scatter(scatter(j, 0.5, 0.9), 0.5, 0.9), j, atol=1e-6)
        True
    """
    i, unb = check_image(images, "images")
    t_min = check_float(t_min, "t_min", 0.0, 1.0, low_open=True)
    t, a = _scatter_params(i, transmission, airlight)
    return unbatch((i - a) / t.clamp_min(t_min) + a, unb)


def _ramp_depth(b: int, h: int, w: int, like: Tensor, generator: torch.Generator | None) -> Tensor:
    """A smooth depth proxy in [0, 1]: a planar ramp in a random direction (sky/far side at 1).

    The ``ramp`` layout of the haze bag (:func:`~pyisp_contrast.isp.bags.haze_families`) at
    ``near = 0``.
    """
    theta = 2 * math.pi * torch.rand(b, generator=generator, device=like.device, dtype=like.dtype)
    return ramp_depth(theta, h, w, like)


def haze(
    images: Tensor,
    transmission: float | Tensor | None = None,
    airlight: Range = HAZE_DEFAULTS.airlight,
    beta_range: Range = HAZE_DEFAULTS.beta,
    depth: Tensor | None = None,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, dict[str, Tensor]]:
    r"""Synthetic haze with the atmospheric scattering model.

    :math:`I = J t + A (1 - t)`, :math:`t = e^{-\beta d}`. Without ``depth`` a smooth proxy is used:
    a planar ramp in a random direction rescaled to [0, 1] (a far side and a near side, as in
    outdoor scenes). Airlight is grey-ish: a level drawn from ``airlight`` plus a small per-channel
    tint of at most ``HAZE_DEFAULTS.tint`` (0.03) when the level is drawn from a range. The
    default ranges are the haze model's (:data:`~pyisp_contrast.isp.bags.HAZE_DEFAULTS`), shared
    with the haze bag (:class:`~pyisp_contrast.isp.bags.BagOfHaze`).

    Args:
        images: haze-free sRGB ``(B, C, H, W)`` or ``(C, H, W)`` in [0, 1].
        transmission: if given (float, ``(B,)`` or a ``(B, 1 or C, H, W)`` map) it is used directly
            and ``beta_range``/``depth`` are ignored.
        airlight: level of :math:`A`: range, float, ``(B,)``, or a ``(B, C)`` colour used as is.
        beta_range: scattering coefficient :math:`\beta \ge 0`: range, float or ``(B,)``.
        depth: ``(B, 1, H, W)`` relative depth in [0, 1], or ``None`` for the proxy.
        generator: source of all randomness.

    Returns:
        ``(hazy, params)``: ``params["transmission"]`` ``(B, 1 or C, H, W)``, ``["airlight"]``
        ``(B, C)``, ``["beta"]`` ``(B,)`` (NaN when ``transmission`` was given) and ``["depth"]``
        ``(B, 1, H, W)`` (NaN likewise).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> hazy, p = haze(torch.zeros(2, 3, 8, 8), generator=g)
        >>> bool(hazy.min() >= 0) and bool(hazy.mean() > 0.1), p["airlight"].shape
        (True, torch.Size([2, 3]))
    """
    x, unb = check_image(images, "images")
    generator = check_generator(generator, x.device)
    b, c, h, w = x.shape
    nan = torch.full((b,), float("nan"), device=x.device, dtype=x.dtype)
    if isinstance(airlight, Tensor) and airlight.ndim == 2:
        a = _as_map(airlight, "airlight", x, (c,)).reshape(b, c)
    else:
        level = _draw(airlight, "airlight", b, x, generator, low=0.0, high=1.0)[:, None]
        if isinstance(airlight, tuple | list):
            # Real airlight is not perfectly grey: a small tint per channel when it is drawn.
            u = torch.rand(b, c, generator=generator, device=x.device, dtype=x.dtype)
            a = tinted_airlight(level, u, HAZE_DEFAULTS.tint)
        else:
            a = level.expand(b, c)
    if transmission is not None:
        t = _as_map(transmission, "transmission", x, (1, c)).expand(b, -1, h, w)
        beta, d = nan, nan.view(b, 1, 1, 1).expand(b, 1, h, w)
    else:
        beta = _draw(beta_range, "beta_range", b, x, generator, low=0.0)
        if depth is None:
            d = _ramp_depth(b, h, w, x, generator)
        else:
            if (
                not isinstance(depth, Tensor)
                or depth.ndim != 4
                or tuple(depth.shape) != (b, 1, h, w)
            ):
                raise ValueError(
                    f"`depth` must be a ({b}, 1, {h}, {w}) tensor, got "
                    f"{tuple(depth.shape) if isinstance(depth, Tensor) else type(depth).__name__}."
                )
            d, _ = check_image(depth, "depth", channels=(1,), allow_unbatched=False)
            d = d.to(x)
        t = torch.exp(-beta.view(b, 1, 1, 1) * d)
    hazy = scatter(x, t, a)
    return unbatch(hazy, unb), {"transmission": t, "airlight": a, "beta": beta, "depth": d}


# --------------------------------------------------------------------------------------------- rain


def rain_kernel(length: Tensor, angle: Tensor, size: int) -> Tensor:
    """Normalised line kernels ``(N, 1, size, size)`` for motion blur along ``angle`` (degrees from vertical).

    Positive angles lean the streak so that it runs down and to the right. Each kernel is a segment of ``length`` pixels through the centre, drawn with a one-pixel
    triangular falloff from the segment (anti-aliased), summing to 1.

    Example:
        >>> k = rain_kernel(torch.tensor([5.0]), torch.tensor([0.0]), 7)
        >>> k.shape, round(float(k.sum()), 5), bool(k[0, 0, :, 3].sum() > 0.9)
        (torch.Size([1, 1, 7, 7]), 1.0, True)
    """
    n = length.shape[0]
    r = (size - 1) / 2
    coords = torch.arange(size, device=length.device, dtype=length.dtype) - r
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")
    th = torch.deg2rad(angle).view(n, 1, 1)
    dx, dy = torch.sin(th), torch.cos(th)  # unit direction; angle 0 = falling straight down
    half = (length.view(n, 1, 1) - 1).clamp_min(0) / 2
    along = (xx * dx + yy * dy).clamp(-half, half)
    dist = torch.sqrt((xx - along * dx) ** 2 + (yy - along * dy) ** 2 + 1e-12)
    k = (1.0 - dist).clamp_min(0.0)
    return (k / k.flatten(1).sum(1).view(n, 1, 1)).unsqueeze(1)


def rain(
    images: Tensor,
    density: Range = (0.002, 0.01),
    length: Range = (10.0, 30.0),
    angle: Range = (-20.0, 20.0),
    intensity: Range = (0.5, 0.9),
    generator: torch.Generator | None = None,
) -> tuple[Tensor, dict[str, Tensor]]:
    r"""Synthetic rain streaks: sparse seeds blurred along a direction, screen-blended.

    Seeds are pixels drawn with probability ``density`` and random brightness; a line kernel of
    ``length`` pixels at ``angle`` degrees from vertical (:func:`rain_kernel`) smears them into
    streaks; the streak layer :math:`R \in [0, 1]` (scaled by ``intensity``) is composited with the
    screen blend :math:`O = 1 - (1 - I)(1 - R)`, which brightens like light scattered by drops and
    never leaves [0, 1]. The layer is returned so a deraining model can learn it
    (:math:`I = 1 - (1 - O) / (1 - R)` recovers the clean image where :math:`R < 1`).

    Args:
        images: clean sRGB ``(B, C, H, W)`` or ``(C, H, W)`` in [0, 1].
        density: fraction of pixels seeding a streak, in [0, 1]: range, float or ``(B,)``.
        length: streak length in pixels, in [1, 101]: range, float or ``(B,)``.
        angle: streak direction in degrees from vertical, in [-90, 90].
        intensity: streak opacity in [0, 1].
        generator: source of all randomness.

    Returns:
        ``(rainy, params)`` with ``params["layer"]`` ``(B, 1, H, W)`` and ``["density"]``,
        ``["length"]``, ``["angle"]``, ``["intensity"]`` ``(B,)``.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> y, p = rain(torch.zeros(1, 3, 32, 32), density=0.01, length=9.0, generator=g)
        >>> p["layer"].shape, bool(y.max() > 0.2)
        (torch.Size([1, 1, 32, 32]), True)
    """
    x, unb = check_image(images, "images")
    generator = check_generator(generator, x.device)
    b, _, h, w = x.shape
    dens = _draw(density, "density", b, x, generator, low=0.0, high=1.0)
    ln = _draw(length, "length", b, x, generator, low=1.0, high=101.0)
    ang = _draw(angle, "angle", b, x, generator, low=-90.0, high=90.0)
    inten = _draw(intensity, "intensity", b, x, generator, low=0.0, high=1.0)

    u = torch.rand(b, 1, h, w, generator=generator, device=x.device, dtype=x.dtype)
    level = torch.rand(b, 1, h, w, generator=generator, device=x.device, dtype=x.dtype)
    seeds = (u < dens.view(b, 1, 1, 1)).to(x.dtype) * (0.5 + 0.5 * level)
    size = math.ceil(float(ln.detach().max())) | 1  # odd, fits the longest streak
    kernels = rain_kernel(ln.detach(), ang.detach(), size)
    streaks = F.conv2d(seeds.view(1, b, h, w), kernels, padding=size // 2, groups=b).view(
        b, 1, h, w
    )
    # The kernel sums to 1 and spreads a seed over ~length pixels; scale back so a streak is as
    # bright as its seed, then clip where streaks cross.
    layer = (streaks * ln.view(b, 1, 1, 1)).clamp(0.0, 1.0) * inten.view(b, 1, 1, 1)
    out = 1.0 - (1.0 - x) * (1.0 - layer)
    params = {"layer": layer, "density": dens, "length": ln, "angle": ang, "intensity": inten}
    return unbatch(out, unb), params


# ------------------------------------------------------------------------------------- module twins


class LowLight(nn.Module):
    """Module form of :func:`low_light`, holding the ranges; ``forward(images, generator=None)``.

    Example:
        >>> dark, p = LowLight(ev_range=(-3.0, -3.0))(torch.rand(2, 3, 8, 8))
        >>> p["ev"].tolist()
        [-3.0, -3.0]
    """

    def __init__(
        self,
        ev_range: Range = (-5.0, -2.0),
        shot_noise: Range = (1e-4, 4e-3),
        read_noise: Range = (5e-4, 5e-3),
        color_cast: Range | None = None,
        *,
        illumination_spread: Range | None = None,
        illumination_cells: int = 3,
        metering: str | Sequence[str] = "average",
        tone: str | Sequence[str] = "srgb",
        jpeg_quality: Range | None = None,
    ) -> None:
        super().__init__()
        self.ev_range, self.shot_noise, self.read_noise = ev_range, shot_noise, read_noise
        self.color_cast = color_cast
        self.illumination_spread, self.illumination_cells = illumination_spread, illumination_cells
        self.metering = metering
        self.tone, self.jpeg_quality = tone, jpeg_quality

    def forward(
        self, images: Tensor, generator: torch.Generator | None = None
    ) -> tuple[Tensor, dict[str, Tensor]]:
        return low_light(
            images,
            self.ev_range,
            self.shot_noise,
            self.read_noise,
            self.color_cast,
            generator,
            illumination_spread=self.illumination_spread,
            illumination_cells=self.illumination_cells,
            metering=self.metering,
            tone=self.tone,
            jpeg_quality=self.jpeg_quality,
        )


class Haze(nn.Module):
    """Module form of :func:`haze`, holding the ranges; ``forward(images, depth=None, generator=None)``."""

    def __init__(
        self, airlight: Range = HAZE_DEFAULTS.airlight, beta_range: Range = HAZE_DEFAULTS.beta
    ) -> None:
        super().__init__()
        self.airlight, self.beta_range = airlight, beta_range

    def forward(
        self,
        images: Tensor,
        depth: Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, dict[str, Tensor]]:
        return haze(images, None, self.airlight, self.beta_range, depth, generator)


class Rain(nn.Module):
    """Module form of :func:`rain`, holding the ranges; ``forward(images, generator=None)``."""

    def __init__(
        self,
        density: Range = (0.002, 0.01),
        length: Range = (10.0, 30.0),
        angle: Range = (-20.0, 20.0),
        intensity: Range = (0.5, 0.9),
    ) -> None:
        super().__init__()
        self.density, self.length, self.angle, self.intensity = density, length, angle, intensity

    def forward(
        self, images: Tensor, generator: torch.Generator | None = None
    ) -> tuple[Tensor, dict[str, Tensor]]:
        return rain(images, self.density, self.length, self.angle, self.intensity, generator)
