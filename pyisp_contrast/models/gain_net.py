"""A low-light enhancer in two physical halves: an edge-aware denoiser and a smooth exposure gain.

:class:`GuidedGainEnhancer` is the network behind the bundled ``pie-physics`` weights. A small
convolutional network looks at a low-resolution copy of the photo (and at the local variance of
the full-resolution pixels, which is where noise shows) and predicts two smooth maps:

1. ``eps``, the noise variance to remove per region, which drives a guided filter
   (:func:`~pyisp_contrast.isp.denoise.block_guided_filter`) with the photo's grey level as guide:
   every colour channel becomes a local affine function of one grey image, so colour speckle goes;
   flat regions are averaged, edges pass;
2. ``gain``, an exposure gain per region applied in linear light to the denoised value
   ``V = max(R, G, B)`` through the rational curve :func:`~pyisp_contrast.isp.curves.rational_gain`
   ``g V / (1 + (g - 1) V)`` (monotone, 0 and 1 fixed, slope ``g`` in the shadows, highlights roll
   off instead of clipping); the colour is then scaled by ``V' / V``.

With ``detail``, the result is then sharpened (:func:`~pyisp_contrast.isp.sharpen.sharpen_luma`,
an unsharp mask on the luma, one ratio for all channels) by an amount that falls with the photo's
measured noise, so clean photos regain fine detail and noisy ones are not sharpened into grain;
with ``contrast``, the same pass adds a wider band of the luma (local contrast, which the smooth
gain map and its order projection flatten; with ``contrast_lift``, in proportion to how far the
photo is lifted), leaving the finest band, where noise is, alone; with ``tone``, a camera-like
S-curve on the luma (:func:`~pyisp_contrast.isp.tone.luma_s_curve`) gives back the midtone
contrast that a camera's rendering has and a gain in linear light does not.

Why this shape: a per-pixel network that lifts and denoises freely breaks the lightness order of
unevenly lit photos, while a pure curve keeps the order but neither lifts far nor denoises (the
two probes of the design notes). Here the gain is smooth and monotone per pixel, so lightness order
is kept within regions; the denoiser never changes brightness; and scaling all channels by one
ratio keeps chromaticity, so a neutral grey stays neutral by construction. Between regions, the
optional ``order_preserving`` projection (:mod:`pyisp_contrast.isp.order`) makes each region's
output light a non-decreasing function of its input light, so a dark region is never lifted past
a lit one.

The network costs the same for any photo size (it runs at ``working_side`` pixels); the
full-resolution work of :meth:`enhance` is one fused numba pass over the rows on the CPU in
float32, and a few element-wise passes over blocks of rows elsewhere.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pyisp_contrast.core.checks import (
    check_float,
    check_image,
    check_int,
    keep_input_dtype,
    unbatch,
    value_checks,
)
from pyisp_contrast.core.resize import fit_long_side, linear_resize_indices, resize_rows
from pyisp_contrast.core.threads import follow_torch_threads
from pyisp_contrast.isp.curves import linear_to_srgb, rational_gain, srgb_to_linear
from pyisp_contrast.isp.denoise import block_statistics, guided_coefficients, upsample_cells
from pyisp_contrast.isp.noise import grey_noise_to_signal
from pyisp_contrast.isp.order import order_preserving_gain
from pyisp_contrast.isp.sharpen import (
    cell_blur,
    cell_taps,
    gaussian_taps,
    luma,
    luma_unsharp,
    luma_unsharp_,
)
from pyisp_contrast.isp.tone import s_curve_about_mean, s_curve_about_mean_
from pyisp_contrast.models.curve_net import CurveOutput

__all__ = ["GuidedGainEnhancer", "lift_fraction", "nsr_denoise_strength", "nsr_detail_amount"]

#: log-gain range: gains from about 1/3 (darken blown regions a little) to about 400 (EV +8.6).
LOG_GAIN_MIN, LOG_GAIN_MAX = -1.0, 6.0
#: log-eps range, in squared sRGB units: a noise std from about 0.0003 to 0.14.
LOG_EPS_MIN, LOG_EPS_MAX = -16.0, -4.0
#: ``exposure``: the largest correction in stops either way.
EXPOSURE_LIMIT = 3.0
#: Smallest value the colour ratio divides by.
V_FLOOR = 1e-4
#: ``denoise_nsr``: the weakest denoiser strength (a fraction of ``eps``), and the smallest mean
#: grey level the noise-to-signal ratio divides by.
DENOISE_FLOOR, NSR_MEAN_FLOOR = 1e-4, 1e-3
#: ``denoise_knee``: above the knee the strength grows with this power of the ratio.
KNEE_POWER = 3.0
#: ``detail``: the largest amount, and the sharpening Gaussian's standard deviation in pixels.
DETAIL_LIMIT, DETAIL_SIGMA = 4.0, 1.0
#: ``order_preserving``: bins of log light in the isotonic fit, and the smallest light it sees.
ORDER_BINS, ORDER_FLOOR = 64, 1e-4


def _bounded(raw: Tensor, lo: float, hi: float) -> Tensor:
    """Map ``raw`` smoothly onto ``(lo, hi)`` (a scaled tanh; 0 maps to the middle)."""
    return lo + (hi - lo) * 0.5 * (torch.tanh(raw) + 1.0)


def nsr_denoise_strength(
    grey: Tensor,
    nsr: float,
    knee: float = 0.0,
    power: float = KNEE_POWER,
    floor: float = DENOISE_FLOOR,
    mean_floor: float = NSR_MEAN_FLOOR,
) -> Tensor:
    """``(B,)``: each photo's denoiser strength from its noise-to-signal ratio ``r``.

    ``r / nsr`` up to ``r = knee``, ``(knee / nsr) (r / knee)^power`` above it (no knee when
    ``knee`` is 0), clipped to ``[floor, 1]``. ``r`` is
    :func:`~pyisp_contrast.isp.noise.noise_to_signal` of the grey level ``grey`` ``(B, 1, H, W)``
    (no checks). A photo with a side under 3 pixels has nothing to estimate the noise on and gets
    the full strength, 1. The per-photo strength of :class:`GuidedGainEnhancer` (``denoise_nsr``,
    ``denoise_knee``) and of its exported files; compiles with ``torch.jit.script`` and has no
    branch on the image size, so the exported files keep that rule too.
    """
    r = grey_noise_to_signal(grey, mean_floor)
    strength = r / nsr
    if knee > 0.0:
        strength = torch.where(r <= knee, strength, (knee / nsr) * (r / knee) ** power)
    return torch.where(_estimable(grey), strength.clamp(floor, 1.0), torch.ones_like(strength))


def nsr_detail_amount(
    grey: Tensor, detail: float, nsr: float = 0.0, mean_floor: float = NSR_MEAN_FLOOR
) -> Tensor:
    """``(B,)``: each photo's sharpening amount, ``detail (1 - r / nsr)`` clipped to
    ``[0, detail]``, from its noise-to-signal ratio ``r`` (as :func:`nsr_denoise_strength`).

    A clean photo gets ``detail``, a photo at or above ``nsr`` none (its noise would be
    sharpened); ``nsr`` 0 gives every photo ``detail``. A photo with a side under 3 pixels gets
    none. The per-photo amount of :class:`GuidedGainEnhancer` (``detail``, ``detail_nsr``) and of
    its exported files; compiles with ``torch.jit.script``, no branch on the image size.
    """
    amount = torch.full_like(grey[:, 0, 0, 0], detail)
    if nsr > 0.0:
        amount = detail * (1.0 - grey_noise_to_signal(grey, mean_floor) / nsr).clamp(0.0, 1.0)
    return torch.where(_estimable(grey), amount, torch.zeros_like(amount))


def lift_fraction(log_gain: Tensor, stops: float) -> Tensor:
    """``(B,)``: how far each photo is lifted, as a fraction of ``stops``: the mean of
    ``log2(gain)`` over its gain map ``log_gain`` ``(B, 1, h, w)`` (natural log, as the maps hold
    it) divided by ``stops``, clipped to ``[0, 1]``. A photo left as it is (gain 1) gives 0.

    The gate of :class:`GuidedGainEnhancer`'s ``contrast_lift``: the local contrast gives back
    what a lift's smooth gain map flattened, so a photo that is not lifted gets none. Compiles
    with ``torch.jit.script``.

    Example:
        >>> lift_fraction(torch.full((2, 1, 4, 4), math.log(2.0)), 2.0)  # one stop of two
        tensor([0.5000, 0.5000])
    """
    return (log_gain.mean((1, 2, 3)) / (math.log(2.0) * stops)).clamp(0.0, 1.0)


def _estimable(grey: Tensor) -> Tensor:
    """``(B,)``: True where both sides have 3 pixels (Immerkær's windows), from a slice of at most
    one pixel (no size arithmetic, so ONNX and TorchScript files follow it for every size)."""
    return torch.ones_like(grey[..., 2:3, 2:3]).sum((1, 2, 3)) > 0


def _optional_ratio(name: str, doc: str, hint: str = "a noise-to-signal ratio") -> property:
    """A checked setting of :class:`GuidedGainEnhancer`: ``None`` or a number ``> 0`` (by
    default a noise-to-signal ratio; its class arguments say what each does)."""
    key = "_" + name

    def get(self) -> float | None:
        return getattr(self, key)

    def set_(self, value: float | None) -> None:
        ratio = check_float(value, name, 0.0, low_open=True, optional=True, hint=hint)
        setattr(self, key, ratio)

    return property(get, set_, doc=f"{doc} (see the class arguments).")


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1)


def _widen(maps: Tensor, width: int) -> Tensor:
    """``maps`` ``(B, C, h, w)`` resized bilinearly to ``width`` columns, rows as they are
    (half-pixel centres, as :func:`~pyisp_contrast.core.resize.linear_resize_indices`)."""
    return F.interpolate(maps, size=(maps.shape[-2], width), mode="bilinear", align_corners=False)


def _use_gain_kernel(x: Tensor, coef: Tensor) -> bool:
    """Whether :func:`_fused_apply` can do :meth:`GuidedGainEnhancer.apply_maps`' per-pixel work."""
    return (
        x.device.type == "cpu"
        and x.dtype == coef.dtype == torch.float32
        and x.ndim == 4
        and x.shape[1] == 3
        and coef.shape[1] == 6
    )


def _fused_apply(
    x: Tensor, coef_wide: Tensor, cells_h: int, coef_h: int, gain_wide: Tensor, gain_h: int
) -> Tensor:
    """:meth:`GuidedGainEnhancer.apply_maps` after the width resizes, in one numba pass.

    ``coef_wide`` ``(B, 6, coef_h, W)`` holds ``a`` then ``b`` resized along the width; its rows
    resize to ``cells_h`` (the cells' full height, which may pass the photo's) like
    :func:`~pyisp_contrast.core.resize.resize_rows`; ``gain_wide`` ``(B, 1, gain_h, W)`` resizes
    to the photo's height. No row blocks: nothing larger than a row is kept.
    """
    from pyisp_contrast.models._gain_kernel import gain_apply_upsampled

    big_h = x.shape[-2]
    c0, c1, cw = linear_resize_indices(cells_h, coef_h, x.device, x.dtype)
    g0, g1, gw = linear_resize_indices(big_h, gain_h, x.device, x.dtype)
    xc = x.detach().contiguous()
    out = torch.empty_like(xc)
    follow_torch_threads()
    gain_apply_upsampled(
        xc.numpy(),
        coef_wide.contiguous().numpy(),
        c0[:big_h].numpy(),
        c1[:big_h].numpy(),
        cw[:big_h].numpy(),
        gain_wide.contiguous().numpy(),
        g0.numpy(),
        g1.numpy(),
        gw.numpy(),
        np.float32(V_FLOOR),
        out.numpy(),
    )
    return out


class _MapNet(nn.Module):
    """A three-level U-Net with a global-context branch; ``(B, 4, h, w) -> (B, 2, h, w)``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        c = channels
        self.enc1 = nn.Sequential(_conv(4, c), nn.ReLU(), _conv(c, c), nn.ReLU())
        self.enc2 = nn.Sequential(_conv(c, 2 * c, 2), nn.ReLU(), _conv(2 * c, 2 * c), nn.ReLU())
        self.enc3 = nn.Sequential(_conv(2 * c, 2 * c, 2), nn.ReLU(), _conv(2 * c, 2 * c), nn.ReLU())
        # Exposure is a property of the whole photo: the mean and spread of the deepest features
        # and of the input's brightness tell every region how dark the scene is.
        self.context = nn.Sequential(nn.Linear(4 * c + 2, 2 * c), nn.ReLU())
        self.dec2 = nn.Sequential(_conv(4 * c, 2 * c), nn.ReLU())
        self.dec1 = nn.Sequential(_conv(3 * c, c), nn.ReLU())
        self.head = _conv(c, 2)

    def forward(self, x: Tensor) -> Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        bright = x[:, :3].mean(1)
        stats = torch.cat(
            [e3.mean((2, 3)), e3.flatten(2).std(2, unbiased=False), bright.mean((1, 2))[:, None],
             bright.flatten(1).std(1, unbiased=False)[:, None]], 1
        )  # fmt: skip
        e3 = e3 + self.context(stats)[:, :, None, None]
        d2 = self.dec2(torch.cat([F.interpolate(e3, size=e2.shape[-2:], mode="bilinear"), e2], 1))
        d1 = self.dec1(torch.cat([F.interpolate(d2, size=e1.shape[-2:], mode="bilinear"), e1], 1))
        return self.head(d1)


class GuidedGainEnhancer(nn.Module):
    """Low-light enhancer: noise-adaptive guided filter, then a smooth exposure gain (module notes).

    Args:
        channels: width of the map network (its parameters grow with the square).
        working_side: the map network runs with the longer side of the cell grid at most this many
            pixels, so its cost does not grow with the photo.
        block: pixels per cell of the guided filter's grid (its statistics are block means).
        radius: guided-filter window radius in cells (window about ``(2 radius + 1) block`` px).
        denoise_scale: multiplies the predicted noise variance ``eps`` (``> 0``): a calibration of
            the denoiser's strength from synthetic to real noise, set at inference (the bundled
            weights use the value chosen on the development pairs; see their model card).
        order_preserving: project the gain map so the light of every region rises with its input
            light (:func:`~pyisp_contrast.isp.order.order_preserving_gain` on the block means at
            the network's resolution): no region is lifted past a brighter one, which is what the
            lightness-order error counts. Differentiable, so it may be on in training too.
        exposure: a user's correction in stops, in [-3, 3], added to the predicted gain map
            everywhere (before the order projection): ``+1`` doubles the gain, so the shadows
            come out one stop brighter while white stays white (the rational curve's end points
            are fixed); ``0`` (the default) is the network's own choice. Set at inference, like
            ``denoise_scale``; also an attribute (``model.exposure = 0.5``), checked when set.
        denoise_nsr: ``None`` (one denoiser strength for every photo), or a noise-to-signal ratio
            ``> 0`` at and above which the denoiser works at full strength: a photo whose ratio
            ``r`` (:func:`~pyisp_contrast.isp.noise.noise_to_signal` of the input) is lower gets
            its ``eps`` multiplied by ``r / denoise_nsr`` (at least ``1e-4``), so a clean photo
            keeps its texture and a noisy dark one is denoised. Set at inference, like
            ``denoise_scale`` (which still multiplies ``eps``); also an attribute, checked when set.
        denoise_knee: with ``denoise_nsr``, ``None`` (the strength grows in proportion to ``r``
            up to 1), or a ratio ``> 0`` above which it grows with the cube of ``r`` instead
            (:func:`nsr_denoise_strength`): photos noisier than the ones the proportional rule
            was calibrated on reach full strength sooner. Set at inference; an attribute, checked
            when set.
        detail: sharpening after the gain, in [0, 4]: the amount of an unsharp mask on the luma
            (:func:`~pyisp_contrast.isp.sharpen.sharpen_luma`, Gaussian of 1 px; every channel
            scaled by one ratio, so greys stay grey), restoring the fine detail that a dark photo's
            quantisation and compression leave soft once lifted; 0 (the default) is off. Set at
            inference; an attribute, checked when set.
        detail_nsr: with ``detail``, ``None`` (the same amount for every photo), or a
            noise-to-signal ratio ``> 0`` at and above which a photo is not sharpened: the amount
            falls linearly from ``detail`` for a clean photo to 0 there (:func:`nsr_detail_amount`),
            so noise is not sharpened. Set at inference; an attribute, checked when set.
        contrast: local contrast after the gain, in [0, 4]: the amount of the band between the
            sharpening's 1 px and ``contrast_sigma`` (``sharpen_luma(..., contrast=)``: the luma's
            detail above the fine scale, added in the same pass and by the same one-ratio rule,
            so greys stay grey); 0 (the default) is off. Set at inference; an attribute, checked
            when set.
        contrast_sigma: the band's width in pixels, in ``(0, 64]``
            (:func:`~pyisp_contrast.isp.sharpen.cell_blur`); an attribute, checked when set.
        contrast_nsr: with ``contrast``, ``None`` (the same amount for every photo) or a
            noise-to-signal ratio ``> 0`` at which the amount falls to 0, as ``detail_nsr``.
        contrast_lift: with ``contrast``, ``None`` (every photo the full amount) or a lift in
            stops ``> 0``: a photo lifted by less (the mean of ``log2`` of its gain map) gets that
            fraction of the amount (:func:`lift_fraction`), so a photo left as it is, whose
            contrast the gain did not flatten, is not given more; the same gate scales ``tone``.
            Also an attribute.
        tone: a camera-like S-curve on the luma after everything else, in [0, 1]: how much of
            :func:`~pyisp_contrast.isp.tone.luma_s_curve` (centred on the photo's mean luma,
            every channel scaled by one ratio) to blend in; times the lift fraction with
            ``contrast_lift``; 0 (the default) is off. Set at inference; an attribute.
        tone_gain: the S-curve's steepness, ``> 0``; an attribute, checked when set.

    ``forward`` returns :class:`~pyisp_contrast.models.curve_net.CurveOutput` whose ``curves`` are
    the two maps at the network's resolution, ``(B, 2, h, w)``: channel 0 the log gain, channel 1
    the log eps (for smoothness losses and inspection).

    Example:
        >>> net = GuidedGainEnhancer(channels=8)
        >>> out = net(torch.rand(2, 3, 40, 60) * 0.1)
        >>> out.enhanced.shape, out.curves.shape
        (torch.Size([2, 3, 40, 60]), torch.Size([2, 2, 10, 15]))
        >>> grey = torch.full((1, 3, 16, 16), 0.05)
        >>> y = net.enhance(grey)
        >>> bool((y[0, 0] == y[0, 1]).all() and (y[0, 1] == y[0, 2]).all())
        True
    """

    def __init__(
        self,
        channels: int = 16,
        working_side: int = 128,
        block: int = 4,
        radius: int = 2,
        denoise_scale: float = 1.0,
        order_preserving: bool = False,
        exposure: float = 0.0,
        denoise_nsr: float | None = None,
        denoise_knee: float | None = None,
        detail: float = 0.0,
        detail_nsr: float | None = None,
        contrast: float = 0.0,
        contrast_sigma: float = 8.0,
        contrast_nsr: float | None = None,
        contrast_lift: float | None = None,
        tone: float = 0.0,
        tone_gain: float = 3.0,
    ) -> None:
        super().__init__()
        self.exposure = exposure
        self.detail = detail
        self.detail_nsr = detail_nsr
        self.contrast = contrast
        self.contrast_sigma = contrast_sigma
        self.contrast_nsr = contrast_nsr
        self.contrast_lift = contrast_lift
        self.tone = tone
        self.tone_gain = tone_gain
        self._taps = gaussian_taps(DETAIL_SIGMA)
        if not isinstance(order_preserving, bool):
            raise TypeError(f"`order_preserving` must be a bool, got {order_preserving!r}.")
        self.order_preserving = order_preserving
        self.denoise_scale = check_float(denoise_scale, "denoise_scale", 0.0, low_open=True)
        self.denoise_nsr = denoise_nsr
        self.denoise_knee = denoise_knee
        self.channels = check_int(channels, "channels", 1)
        self.working_side = check_int(working_side, "working_side", 8)
        self.block = check_int(block, "block", 1)
        self.radius = check_int(radius, "radius", 0)
        self.maps = _MapNet(channels)
        # Start near the identity: gain 1 (log 0) and a small eps.
        with torch.no_grad():
            self.maps.head.bias.copy_(
                torch.tensor(
                    [
                        math.atanh(2 * (0.0 - LOG_GAIN_MIN) / (LOG_GAIN_MAX - LOG_GAIN_MIN) - 1),
                        math.atanh(2 * (-11.0 - LOG_EPS_MIN) / (LOG_EPS_MAX - LOG_EPS_MIN) - 1),
                    ]
                )
            )
            self.maps.head.weight.mul_(0.1)

    @property
    def config(self) -> dict:
        """Constructor arguments, for :func:`pyisp_contrast.models.save_pretrained`."""
        return {
            "channels": self.channels,
            "working_side": self.working_side,
            "block": self.block,
            "radius": self.radius,
            "denoise_scale": self.denoise_scale,
            "order_preserving": self.order_preserving,
            "exposure": self.exposure,
            "denoise_nsr": self.denoise_nsr,
            "denoise_knee": self.denoise_knee,
            "detail": self.detail,
            "detail_nsr": self.detail_nsr,
            "contrast": self.contrast,
            "contrast_sigma": self.contrast_sigma,
            "contrast_nsr": self.contrast_nsr,
            "contrast_lift": self.contrast_lift,
            "tone": self.tone,
            "tone_gain": self.tone_gain,
        }

    @property
    def exposure(self) -> float:
        """The user's exposure correction in stops (see the class arguments)."""
        return self._exposure

    @exposure.setter
    def exposure(self, value: float) -> None:
        self._exposure = float(
            check_float(value, "exposure", -EXPOSURE_LIMIT, EXPOSURE_LIMIT, hint="in stops")
        )

    denoise_nsr = _optional_ratio(
        "denoise_nsr", "The noise-to-signal ratio of full denoiser strength, or ``None``"
    )
    denoise_knee = _optional_ratio(
        "denoise_knee", "The ratio above which the per-photo strength grows faster, or ``None``"
    )
    detail_nsr = _optional_ratio(
        "detail_nsr", "The noise-to-signal ratio at which sharpening stops, or ``None``"
    )

    contrast_nsr = _optional_ratio(
        "contrast_nsr", "The noise-to-signal ratio at which the local contrast stops, or ``None``"
    )
    contrast_lift = _optional_ratio(
        "contrast_lift",
        "The lift in stops that gets the full local contrast, or ``None``",
        hint="a lift in stops",
    )

    @property
    def tone(self) -> float:
        """How much of the S-curve to blend in, 0 for none (see the class arguments)."""
        return self._tone

    @tone.setter
    def tone(self, value: float) -> None:
        self._tone = check_float(value, "tone", 0.0, 1.0, hint="how much of the S-curve")

    @property
    def tone_gain(self) -> float:
        """The S-curve's steepness (see the class arguments)."""
        return self._tone_gain

    @tone_gain.setter
    def tone_gain(self, value: float) -> None:
        self._tone_gain = check_float(value, "tone_gain", 0.0, low_open=True, hint="a steepness")

    @property
    def contrast(self) -> float:
        """The local-contrast amount at full strength, 0 for none (see the class arguments)."""
        return self._contrast

    @contrast.setter
    def contrast(self, value: float) -> None:
        self._contrast = check_float(
            value, "contrast", 0.0, DETAIL_LIMIT, hint="a local-contrast amount"
        )

    @property
    def contrast_sigma(self) -> float:
        """The width of the local-contrast band in pixels (see the class arguments)."""
        return self._contrast_sigma

    @contrast_sigma.setter
    def contrast_sigma(self, value: float) -> None:
        self._contrast_taps = cell_taps(value)  # checks it
        self._contrast_sigma = float(value)

    @property
    def detail(self) -> float:
        """The sharpening amount for a clean photo, 0 for none (see the class arguments)."""
        return self._detail

    @detail.setter
    def detail(self, value: float) -> None:
        self._detail = check_float(value, "detail", 0.0, DETAIL_LIMIT, hint="a sharpening amount")

    def _working_size(self, h: int, w: int) -> tuple[int, int]:
        return fit_long_side(h, w, self.working_side)

    def low_res_maps(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``(stats, log_gain, log_eps)``: the guided filter's cell statistics and the two maps.

        ``stats`` is :func:`~pyisp_contrast.isp.denoise.block_statistics` of ``x`` ``(B, 8, h, w)``;
        ``log_gain`` and ``log_eps`` are ``(B, 1, h', w')`` at the network's working size (``log_eps``
        includes the per-photo strength of ``denoise_nsr``, not ``denoise_scale``). With
        :meth:`apply_maps` this splits :meth:`enhance` in two, e.g. to smooth the maps over the
        frames of a video. No checks: ``x`` is ``(B, 3, H, W)`` in the model's dtype.
        """
        guide = x.mean(1, keepdim=True)
        stats = block_statistics(x, guide, self.block)
        var = (stats[:, 1:2] - stats[:, :1] ** 2).clamp_min(0.0)
        # The local variance of the full-resolution pixels is where the noise level shows.
        noise = (torch.log(var + 1e-6) + 8.0) / 4.0
        feats = torch.cat([stats[:, 2:5], noise], 1)
        size = self._working_size(*feats.shape[-2:])
        if size != tuple(feats.shape[-2:]):
            feats = F.interpolate(
                feats, size=size, mode="bilinear", align_corners=False, antialias=True
            )
        raw = self.maps(feats)
        log_gain = _bounded(raw[:, :1], LOG_GAIN_MIN, LOG_GAIN_MAX)
        log_eps = _bounded(raw[:, 1:], LOG_EPS_MIN, LOG_EPS_MAX)
        if self.exposure != 0.0:
            log_gain = (log_gain + self.exposure * math.log(2.0)).clamp(LOG_GAIN_MIN, LOG_GAIN_MAX)
        if self.order_preserving:
            log_gain = self.order_gain(feats[:, :3], log_gain)
        if self.denoise_nsr is not None:
            log_eps = log_eps + self.denoise_strength(guide).log().view(-1, 1, 1, 1)
        return stats, log_gain, log_eps

    def denoise_strength(self, grey: Tensor) -> Tensor:
        """``(B,)``: the fraction of ``eps`` kept for each photo (1 without ``denoise_nsr``).

        ``grey`` is the photos' grey level ``(B, 1, H, W)`` (the mean of the channels); photos of
        fewer than 3 x 3 pixels (nothing to estimate the noise on) keep the full strength.
        """
        if self.denoise_nsr is None:
            return grey.new_ones(grey.shape[0])
        return nsr_denoise_strength(grey, self.denoise_nsr, self.denoise_knee or 0.0)

    def detail_amount(self, grey: Tensor) -> Tensor:
        """``(B,)``: each photo's sharpening amount (:func:`nsr_detail_amount` of ``detail`` and
        ``detail_nsr``); ``grey`` as in :meth:`denoise_strength`."""
        return nsr_detail_amount(grey, self.detail, self.detail_nsr or 0.0)

    def contrast_amount(self, grey: Tensor, log_gain: Tensor | None = None) -> Tensor:
        """``(B,)``: each photo's local-contrast amount (:func:`nsr_detail_amount` of ``contrast``
        and ``contrast_nsr``), times its :func:`lift_fraction` with ``contrast_lift`` and the
        photo's ``log_gain`` map (from :meth:`low_res_maps`); ``grey`` as in
        :meth:`denoise_strength`."""
        amount = nsr_detail_amount(grey, self.contrast, self.contrast_nsr or 0.0)
        if self.contrast_lift is not None and log_gain is not None:
            amount = amount * lift_fraction(log_gain, self.contrast_lift).to(amount.dtype)
        return amount

    def _input_sharpening(self, x: Tensor, log_gain: Tensor) -> tuple[Tensor, Tensor | None] | None:
        """``(detail amount, contrast amount or None)`` of the input ``x`` ``(B, 3, H, W)`` with
        its ``log_gain`` map, or ``None`` with neither. Taken before the output exists, so the
        noise estimate's full-size temporaries never sit beside it (a 12-megapixel photo: 0.2 GB
        less at the peak)."""
        if self.detail == 0.0 and self.contrast == 0.0:
            return None
        grey = x.mean(1, keepdim=True)
        contrast = self.contrast_amount(grey, log_gain) if self.contrast != 0.0 else None
        return self.detail_amount(grey), contrast

    def tone_amount(self, log_gain: Tensor) -> Tensor:
        """``(B,)``: each photo's S-curve amount, ``tone`` times its :func:`lift_fraction` with
        ``contrast_lift`` (``log_gain`` from :meth:`low_res_maps`)."""
        amount = torch.full_like(log_gain[:, 0, 0, 0], self.tone)
        if self.contrast_lift is not None:
            amount = amount * lift_fraction(log_gain, self.contrast_lift)
        return amount

    def _apply_tone(self, out: Tensor, log_gain: Tensor, *, in_place: bool = False) -> Tensor:
        """``out`` with the S-curve of ``tone`` (as it is without); ``in_place``: ``out`` may be
        overwritten (inference, :func:`~pyisp_contrast.isp.tone.s_curve_about_mean_`)."""
        if self.tone == 0.0:
            return out
        tone = s_curve_about_mean_ if in_place else s_curve_about_mean
        return tone(out, self.tone_gain, self.tone_amount(log_gain).to(out.dtype))

    def _sharpen(
        self, out: Tensor, amounts: tuple[Tensor, Tensor | None] | None, *, in_place: bool = False
    ) -> Tensor:
        """``out`` sharpened by ``amounts`` (from :meth:`_input_sharpening`; ``None``: as it
        is); ``in_place``: ``out`` may be overwritten (inference, :func:`luma_unsharp_`)."""
        if amounts is None:
            return out
        amount, contrast = amounts[0].to(out.dtype), amounts[1]
        if in_place:
            wide = None if contrast is None else self._contrast_taps
            return luma_unsharp_(out, amount, self._taps, contrast, wide)
        if contrast is None:
            return luma_unsharp(out, amount, self._taps)
        low = cell_blur(luma(out), self._contrast_taps)
        return luma_unsharp(out, amount, self._taps, contrast.to(out.dtype), low)

    @staticmethod
    def order_gain(means: Tensor, log_gain: Tensor) -> Tensor:
        """``log_gain`` projected so each region's light rises with its input light.

        ``means`` are the regions' sRGB colour means ``(B, 3, h, w)`` at the map's size; their
        ``max(R, G, B)`` in linear light is the input light of
        :func:`~pyisp_contrast.isp.order.order_preserving_gain`. The result is clamped to the
        log-gain range. The projection runs in float64 (float32 on MPS, which has none): the gain
        that reaches a light close to 1 is ill-conditioned, and float32 sums over many regions
        moved the result by up to 7e-4 for input changes of 1e-7.
        """
        wide = torch.float32 if log_gain.device.type == "mps" else torch.float64
        with value_checks(False):
            light = srgb_to_linear(means.amax(1, keepdim=True).clamp(0.0, 1.0).to(wide))
        gain = order_preserving_gain(
            light, torch.exp(log_gain.to(wide)), bins=ORDER_BINS, floor=ORDER_FLOOR
        )
        return torch.log(gain).clamp(LOG_GAIN_MIN, LOG_GAIN_MAX).to(log_gain.dtype)

    def _coefficients(self, stats: Tensor, log_eps: Tensor) -> tuple[Tensor, Tensor]:
        eps = torch.exp(log_eps) * self.denoise_scale
        if eps.shape[-2:] != stats.shape[-2:]:
            eps = F.interpolate(eps, size=stats.shape[-2:], mode="bilinear", align_corners=False)
        return guided_coefficients(stats, eps, self.radius)

    @staticmethod
    def _apply_gain(q: Tensor, gain: Tensor) -> Tensor:
        """Scale the colour ``q`` so its value ``max(R, G, B)`` follows the rational gain curve."""
        v = q.amax(1, keepdim=True).clamp(0.0, 1.0)
        with value_checks(False):
            v_out = linear_to_srgb(rational_gain(srgb_to_linear(v), gain))
        return (q.clamp_min(0.0) * (v_out / v.clamp_min(V_FLOOR))).clamp(0.0, 1.0)

    @keep_input_dtype
    def forward(self, images: Tensor) -> CurveOutput:
        """Enhance ``images`` ``(B, 3, H, W)`` in [0, 1]; differentiable."""
        x, _ = check_image(images, "images", channels=(3,), allow_unbatched=False)
        h, w = x.shape[-2:]
        stats, log_gain, log_eps = self.low_res_maps(x)
        a, b = self._coefficients(stats, log_eps)
        guide = x.mean(1, keepdim=True)
        q = upsample_cells(a, self.block, (h, w)) * guide + upsample_cells(b, self.block, (h, w))
        gain = F.interpolate(torch.exp(log_gain), size=(h, w), mode="bilinear", align_corners=False)
        out = self._sharpen(self._apply_gain(q, gain), self._input_sharpening(x, log_gain))
        return CurveOutput(self._apply_tone(out, log_gain), torch.cat([log_gain, log_eps], 1))

    @torch.no_grad()
    @keep_input_dtype
    def enhance(self, images: Tensor, *, rows: int = 64) -> Tensor:
        """Enhance for inference: no gradient, no full-resolution temporaries.

        The same arithmetic as :meth:`forward` (:meth:`apply_maps`); besides the input and the
        output only the low-resolution maps and one row (or one block of ``rows`` rows) exist at
        a time (with ``detail``, also two grey-level images for the sharpening), so a
        12-megapixel photo needs well under 1.5 GB.

        Args:
            images: ``(B, 3, H, W)`` or ``(3, H, W)`` in [0, 1].
            rows: rows per block of the torch path (rounded up to a multiple of ``block``).

        Returns:
            Enhanced images, same shape, in [0, 1].
        """
        check_int(rows, "rows", 1)
        x, unbatched = check_image(images, "images", channels=(3,))
        was_training = self.training
        self.eval()
        try:
            maps = self.low_res_maps(x)
        finally:
            self.train(was_training)
        return unbatch(self.apply_maps(x, *maps, rows=rows), unbatched)

    @torch.no_grad()
    def apply_maps(
        self, x: Tensor, stats: Tensor, log_gain: Tensor, log_eps: Tensor, *, rows: int = 64
    ) -> Tensor:
        """Denoise and lift ``x`` ``(B, 3, H, W)`` with maps from :meth:`low_res_maps` (then
        sharpen, with ``detail``).

        Row by row in one numba pass on the CPU in float32, else by blocks of ``rows`` rows in
        torch (the same arithmetic, within 3e-7).

        No checks and no gradient; ``stats`` must come from ``x`` (the maps may be averaged or
        edited, e.g. smoothed over time).
        """
        amounts = self._input_sharpening(x, log_gain)
        a, b = self._coefficients(stats, log_eps)
        big_h, big_w = x.shape[-2:]
        cells = (a.shape[-2] * self.block, a.shape[-1] * self.block)
        # Width first on the small maps (bilinear along the width only: F.interpolate is 3x faster
        # than gathering columns by index here); rows are then resized one block at a time.
        ab = torch.cat([a, b], 1)
        ab_wide = _widen(ab, cells[1])[..., :big_w]
        gain = torch.exp(log_gain)
        gain_wide = _widen(gain, big_w)
        if _use_gain_kernel(x, ab_wide):
            out = _fused_apply(x, ab_wide, cells[0], a.shape[-2], gain_wide, gain.shape[-2])
            out = self._sharpen(out, amounts, in_place=True)
            return self._apply_tone(out, log_gain, in_place=True)
        out = torch.empty_like(x)
        step = -(-rows // self.block) * self.block
        nc = x.shape[1]
        for top in range(0, big_h, step):
            sl = slice(top, min(top + step, big_h))
            coef = resize_rows(ab, sl, (cells[0], big_w), width_first=ab_wide)
            g = x[:, :, sl].mean(1, keepdim=True)
            q = torch.addcmul(coef[:, nc:], coef[:, :nc], g)
            gain_rows = resize_rows(gain, sl, (big_h, big_w), width_first=gain_wide)
            out[:, :, sl] = self._apply_gain(q, gain_rows)
        return self._apply_tone(self._sharpen(out, amounts, in_place=True), log_gain, in_place=True)
