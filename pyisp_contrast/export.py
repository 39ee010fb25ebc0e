"""Export the enhancers for deployment: ONNX and TorchScript files that take any image size.

:func:`export_onnx` and :func:`export_torchscript` write one file that maps a float32 image batch
``(B, 3, H, W)`` in [0, 1] to the enhanced batch of the same shape, for every bundled model
(:func:`pyisp_contrast.models.available_weights`) and for any checkpoint that
:func:`~pyisp_contrast.models.load_pretrained` reads. The ONNX file runs without this library or
torch (``onnxruntime`` and ``numpy`` suffice; see the export guide).

Why a separate inference module (:func:`inference_module`) instead of the model itself: the models
check their inputs (one host sync and Python branches), keep the caller's dtype, and compute their
working resolution with Python numbers (``round(h * working_side / max(h, w))``); a tracer fails
on them or freezes them at the example's size, and an exported file would then silently resize
every photo as if it had the example's size. The inference module does the same arithmetic with
tensor operations on the input's shape (in float64, so the rounding is Python's), and replaces
the resizes whose size is computed (antialiased downscaling, bilinear upscaling to the photo) by
index tables built from that shape. It reuses the model's own layers, so the weights are the
model's; exported files are checked against the model's ``enhance`` on several sizes
(``verify=True``), which also catches a model whose arithmetic has changed since this module was
written.

TorchScript files are compiled with ``torch.jit.script`` (no example size is involved); ONNX files
are written by torch's TorchScript-based exporter (``torch.onnx.export(..., dynamo=False)``,
opset 17 by default) with the batch, height and width dynamic. torch 2.13 marks ``torch.jit`` and
that exporter as deprecated; the warnings they raise while this module calls them are silenced
here, not elsewhere (``torch.jit.load`` still warns).

Writing ONNX needs the ``export`` extra (``pip install -e '.[export]'`` in a clone, or
``pip install 'pyisp-contrast[export]'``): ``onnx`` to check and label the file, ``onnxruntime``
to verify it.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pyisp_contrast.core.checks import check_int
from pyisp_contrast.core.files import written_atomically
from pyisp_contrast.isp.order import _order_preserving_gain
from pyisp_contrast.isp.sharpen import CONTRAST_CELL, luma, luma_unsharp, separable_blur
from pyisp_contrast.isp.tone import s_curve_about_mean
from pyisp_contrast.models.curve_net import DCEBody
from pyisp_contrast.models.gain_net import (
    lift_fraction,
    nsr_denoise_strength,
    nsr_detail_amount,
)

__all__ = [
    "VERIFY_SIZES",
    "ExportResult",
    "MissingExtraError",
    "VerificationError",
    "export_onnx",
    "export_torchscript",
    "inference_module",
]

#: ``(height, width)`` of the images an exported file is compared with the model on by default:
#: sizes unlike the example the exporter sees, odd sides (padding to the guided filter's blocks),
#: and one large enough that every bundled model downscales to its working resolution.
VERIFY_SIZES: tuple[tuple[int, int], ...] = ((200, 300), (333, 257), (540, 720))

#: Largest difference from the model accepted by ``verify`` (values in [0, 1]).
DEFAULT_ATOL = 1e-4

#: Input and output names in the ONNX graph; the dynamic axes are named ``batch``, ``height``
#: and ``width``.
ONNX_INPUT, ONNX_OUTPUT = "image", "enhanced"

_EXTRA_HINT = (
    "install the export extra: pip install -e '.[export]' (in a clone of the repository) or "
    "pip install 'pyisp-contrast[export]'"
)


class MissingExtraError(ImportError):
    """A package of the ``export`` extra (``onnx``, ``onnxruntime``) is not installed."""


class VerificationError(RuntimeError):
    """An exported file does not reproduce the model (wrong shape, or a difference above the
    tolerance); the file is left in place for inspection."""


class ExportResult(NamedTuple):
    """What :func:`export_onnx` and :func:`export_torchscript` wrote and how it compared.

    Attributes:
        path: the file written.
        format: ``"onnx"`` or ``"torchscript"``.
        architecture: class name of the exported network (e.g. ``"GuidedGainEnhancer"``).
        max_abs_diff: ``{(height, width): largest |file - model|}`` for each verified size (empty
            when ``verify=False``).
    """

    path: Path
    format: str
    architecture: str
    max_abs_diff: dict[tuple[int, int], float]


# ------------------------------------------------------------------------------------------------
# Size arithmetic and resizing with tensor operations (scriptable, and dynamic when traced)
# ------------------------------------------------------------------------------------------------
def _spatial_size(x: Tensor) -> Tensor:
    """``(H, W)`` of ``x`` as an int64 tensor (a ``Shape`` op in ONNX, not a constant)."""
    return torch._shape_as_tensor(x)[2:]


def _working_size(hw: Tensor, side: float, scale: float) -> Tensor:
    """The models' ``max(1, round(n * s))`` per side, ``s = min(1, side / max(h, w))`` (or ``scale``
    when ``side <= 0``), in float64 with round-half-to-even as Python's ``round``."""
    n = hw.to(torch.float64)
    if side > 0:
        longest = n.max()
        s = torch.clamp(torch.full_like(longest, side) / longest, max=1.0)
    else:
        s = torch.full_like(n[0], scale)
    return torch.clamp(torch.round(n * s), min=1.0).to(torch.int64)


def _aa_taps(in_len: Tensor, out_len: Tensor, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """Source indices and weights ``(out, k)`` of ``F.interpolate(..., mode="bilinear",
    antialias=True)`` along one axis: a triangle filter stretched by the downscale factor, each
    output's weights normalised to sum to 1 (for upscaling, plain bilinear)."""
    n_in = in_len.to(torch.float64)
    scale = n_in / out_len.to(torch.float64)
    support = torch.clamp(scale, min=1.0)
    centre = scale * (torch.arange(out_len, dtype=torch.float64, device=in_len.device) + 0.5)
    first = torch.clamp(torch.floor(centre - support + 0.5), min=0.0)
    taps = torch.ceil(2.0 * support).to(torch.int64) + 1  # enough for any window
    idx = first[:, None] + torch.arange(taps, dtype=torch.float64, device=in_len.device)[None, :]
    w = torch.clamp(1.0 - torch.abs((idx + 0.5 - centre[:, None]) / support), min=0.0)
    w = torch.where(idx < n_in, w, torch.zeros_like(w))
    w = w / w.sum(1, keepdim=True)
    idx = torch.minimum(idx, n_in - 1.0).to(torch.int64)
    return idx, w.to(dtype)


def _aa_resize(x: Tensor, in_hw: Tensor, out_hw: Tensor) -> Tensor:
    """Antialiased bilinear resize of ``x`` ``(B, C, h, w)`` from ``in_hw`` to ``out_hw``."""
    iw, ww = _aa_taps(in_hw[1], out_hw[1], x.dtype)
    y = x.index_select(3, iw.flatten())
    y = y.reshape(x.size(0), x.size(1), x.size(2), iw.size(0), iw.size(1))
    y = (y * ww).sum(4)
    ih, wh = _aa_taps(in_hw[0], out_hw[0], x.dtype)
    z = y.index_select(2, ih.flatten())
    z = z.reshape(y.size(0), y.size(1), ih.size(0), ih.size(1), y.size(3))
    return (z * wh[:, :, None]).sum(3)


def _linear_taps(
    in_len: Tensor, out_len: Tensor, keep: Tensor, dtype: torch.dtype
) -> tuple[Tensor, Tensor, Tensor]:
    """``F.interpolate(..., mode="bilinear", align_corners=False)`` from ``in_len`` to ``out_len``
    along one axis, for the first ``keep`` outputs: indices ``i0, i1`` and weights ``w``."""
    scale = in_len.to(torch.float64) / out_len.to(torch.float64)
    src = (torch.arange(keep, dtype=torch.float64, device=in_len.device) + 0.5) * scale - 0.5
    src = torch.clamp(src, min=0.0)
    last = in_len - 1
    i0 = torch.minimum(torch.floor(src).to(torch.int64), last)
    i1 = torch.minimum(i0 + 1, last)
    return i0, i1, (src - i0.to(torch.float64)).to(dtype)


def _bilinear_resize(x: Tensor, in_hw: Tensor, out_hw: Tensor, keep_hw: Tensor) -> Tensor:
    """Bilinear resize (half-pixel centres) of ``x`` from ``in_hw`` to ``out_hw``, cropped to the
    first ``keep_hw`` rows and columns."""
    c0, c1, cw = _linear_taps(in_hw[1], out_hw[1], keep_hw[1], x.dtype)
    a = x.index_select(3, c0)
    y = a + (x.index_select(3, c1) - a) * cw
    r0, r1, rw = _linear_taps(in_hw[0], out_hw[0], keep_hw[0], x.dtype)
    b = y.index_select(2, r0)
    return b + (y.index_select(2, r1) - b) * rw[:, None]


# ------------------------------------------------------------------------------------------------
# Inference modules: image (B, 3, H, W) in [0, 1] -> enhanced image, same shape
# ------------------------------------------------------------------------------------------------
def _srgb_to_linear(x: Tensor, thresh: float) -> Tensor:
    high = ((x.clamp_min(thresh) + 0.055) / 1.055) ** 2.4
    return torch.where(x <= thresh, x / 12.92, high)


def _linear_to_srgb(x: Tensor, thresh: float) -> Tensor:
    high = 1.0 + 1.055 * (x.clamp_min(thresh) ** (1.0 / 2.4) - 1.0)
    return torch.where(x <= thresh, 12.92 * x, high)


def _box(x: Tensor, radius: int) -> Tensor:
    """:func:`~pyisp_contrast.isp.denoise.box_mean` as one pooling: its slices and running sums
    take their bounds from the map's size as Python ints, which a traced graph would freeze."""
    if radius == 0:
        return x
    return F.avg_pool2d(x, 2 * radius + 1, stride=1, padding=radius, count_include_pad=False)


class _GuidedGainInference(nn.Module):
    """:class:`~pyisp_contrast.models.GuidedGainEnhancer` ``enhance``, in tensor operations."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        from pyisp_contrast.isp import curves
        from pyisp_contrast.models import gain_net

        self.maps = net.maps
        self.block: int = int(net.block)
        self.radius: int = int(net.radius)
        self.working_side: float = float(net.working_side)
        self.gain_range: tuple[float, float] = (gain_net.LOG_GAIN_MIN, gain_net.LOG_GAIN_MAX)
        self.eps_range: tuple[float, float] = (gain_net.LOG_EPS_MIN, gain_net.LOG_EPS_MAX)
        self.v_floor: float = float(gain_net.V_FLOOR)
        self.denoise_scale: float = float(getattr(net, "denoise_scale", 1.0))
        # 0 for None: one strength for every photo, and no knee
        self.denoise_nsr: float = float(getattr(net, "denoise_nsr", None) or 0.0)
        self.denoise_knee: float = float(getattr(net, "denoise_knee", None) or 0.0)
        self.order_preserving: bool = bool(getattr(net, "order_preserving", False))
        # 0 for none; 0 for detail_nsr: the same amount for every photo
        self.detail: float = float(getattr(net, "detail", 0.0))
        self.detail_nsr: float = float(getattr(net, "detail_nsr", None) or 0.0)
        self.detail_taps = list(getattr(net, "_taps", [1.0]))  # TorchScript infers List[float]
        self.contrast: float = float(getattr(net, "contrast", 0.0))
        self.contrast_nsr: float = float(getattr(net, "contrast_nsr", None) or 0.0)
        self.contrast_lift: float = float(getattr(net, "contrast_lift", None) or 0.0)
        self.contrast_taps = list(getattr(net, "_contrast_taps", [1.0]))
        self.contrast_cell: int = CONTRAST_CELL
        self.tone: float = float(getattr(net, "tone", 0.0))
        self.tone_gain: float = float(getattr(net, "tone_gain", 3.0))
        self.exposure_log_gain: float = float(getattr(net, "exposure", 0.0)) * math.log(2.0)
        self.order_bins: int = int(gain_net.ORDER_BINS)
        self.order_floor: float = float(gain_net.ORDER_FLOOR)
        self.srgb_thresh: float = float(curves.SRGB_THRESH)
        self.lin_thresh: float = float(curves.LIN_THRESH)

    @staticmethod
    def _pad_to_cells(x: Tensor, hw: Tensor, block: int) -> Tensor:
        """``x`` padded by replication to a multiple of ``block``, by index (the pad amounts are
        computed from the shape)."""
        padded = torch.div(hw + (block - 1), block, rounding_mode="floor") * block
        rows = torch.minimum(torch.arange(padded[0], device=x.device), hw[0] - 1)
        cols = torch.minimum(torch.arange(padded[1], device=x.device), hw[1] - 1)
        return x.index_select(2, rows).index_select(3, cols)

    def _block_statistics(self, x: Tensor, guide: Tensor, hw: Tensor) -> Tensor:
        if self.block == 1:
            return torch.cat([guide, guide * guide, x, x * guide], 1)
        g = self._pad_to_cells(guide, hw, self.block)
        p = self._pad_to_cells(x, hw, self.block)
        parts = [g, g * g, p, p * g]
        return torch.cat([F.avg_pool2d(t, self.block) for t in parts], 1)

    def _cell_blur(self, grey: Tensor, hw: Tensor) -> Tensor:
        """:func:`~pyisp_contrast.isp.sharpen.cell_blur` with the sizes as tensors."""
        cell = self.contrast_cell
        means = F.avg_pool2d(self._pad_to_cells(grey, hw, cell), cell)
        cells = _spatial_size(means)
        return _bilinear_resize(separable_blur(means, self.contrast_taps), cells, cells * cell, hw)

    def _bounded(self, raw: Tensor, bounds: tuple[float, float]) -> Tensor:
        lo, hi = bounds
        return lo + (hi - lo) * 0.5 * (torch.tanh(raw) + 1.0)

    def forward(self, image: Tensor) -> Tensor:
        x = image
        hw = _spatial_size(x)
        guide = x.mean(1, keepdim=True)
        stats = self._block_statistics(x, guide, hw)
        var = (stats[:, 1:2] - stats[:, :1] ** 2).clamp_min(0.0)
        noise = (torch.log(var + 1e-6) + 8.0) / 4.0
        feats = torch.cat([stats[:, 2:5], noise], 1)
        cells = _spatial_size(feats)
        feats = _aa_resize(feats, cells, _working_size(cells, self.working_side, 0.0))
        raw = self.maps(feats)
        log_gain = self._bounded(raw[:, :1], self.gain_range)
        log_eps = self._bounded(raw[:, 1:], self.eps_range)
        if self.exposure_log_gain != 0.0:  # the user's exposure correction, in the log gain
            log_gain = (log_gain + self.exposure_log_gain).clamp(*self.gain_range)
        if self.order_preserving:  # GuidedGainEnhancer.order_gain, in float64 as there
            means = feats[:, :3].amax(1, keepdim=True).clamp(0.0, 1.0).double()
            light = _srgb_to_linear(means, self.srgb_thresh)
            gain = _order_preserving_gain(
                light, torch.exp(log_gain.double()), self.order_bins, self.order_floor
            )
            log_gain = torch.log(gain).clamp(self.gain_range[0], self.gain_range[1]).float()
        low = _spatial_size(raw)
        eps = _bilinear_resize(torch.exp(log_eps), low, cells, cells) * self.denoise_scale
        if self.denoise_nsr > 0.0:  # GuidedGainEnhancer.denoise_strength, per photo
            strength = nsr_denoise_strength(guide, self.denoise_nsr, self.denoise_knee)
            eps = eps * strength.view(-1, 1, 1, 1)
        # The guided filter's coefficients (pyisp_contrast.isp.denoise.guided_coefficients).
        c = 3  # colour channels (a constant, so the graph's shapes stay known)
        m = _box(stats, self.radius)
        m_i, m_ii, m_p, m_ip = m[:, :1], m[:, 1:2], m[:, 2 : 2 + c], m[:, 2 + c :]
        a = (m_ip - m_i * m_p) / ((m_ii - m_i * m_i).clamp_min(0.0) + eps)
        b = m_p - a * m_i
        ab = torch.cat([_box(a, self.radius), _box(b, self.radius)], 1)
        ab = _bilinear_resize(ab, cells, cells * self.block, hw)
        q = ab[:, :c] * guide + ab[:, c:]
        gain = _bilinear_resize(torch.exp(log_gain), low, hw, hw)
        # The rational exposure gain on max(R, G, B) in linear light; colour scaled by one ratio.
        v = q.amax(1, keepdim=True).clamp(0.0, 1.0)
        lin = _srgb_to_linear(v, self.srgb_thresh)
        v_out = _linear_to_srgb(gain * lin / (1.0 + (gain - 1.0) * lin), self.lin_thresh)
        out = (q.clamp_min(0.0) * (v_out / v.clamp_min(self.v_floor))).clamp(0.0, 1.0)
        if self.detail > 0.0 or self.contrast > 0.0:  # GuidedGainEnhancer's sharpening, per photo
            amount = nsr_detail_amount(guide, self.detail, self.detail_nsr)
            if self.contrast > 0.0:
                k = nsr_detail_amount(guide, self.contrast, self.contrast_nsr)
                if self.contrast_lift > 0.0:  # less local contrast for less lift
                    k = k * lift_fraction(log_gain, self.contrast_lift)
                low = self._cell_blur(luma(out), hw)
                out = luma_unsharp(out, amount, self.detail_taps, k, low)
            else:
                out = luma_unsharp(out, amount, self.detail_taps)
        if self.tone > 0.0:  # GuidedGainEnhancer's S-curve, gated by the lift like the contrast
            t = torch.full_like(log_gain[:, 0, 0, 0], self.tone)
            if self.contrast_lift > 0.0:
                t = t * lift_fraction(log_gain, self.contrast_lift)
            out = s_curve_about_mean(out, self.tone_gain, t)
        return out


def _curve_steps(x: Tensor, curves: Tensor, iterations: int, n_maps: int) -> Tensor:
    for i in range(iterations):
        j = (i % n_maps) * 3
        x = x + curves[:, j : j + 3] * (x * x - x)
    return x.clamp(0.0, 1.0)


class _CurveInference(DCEBody):
    """:class:`~pyisp_contrast.models.FastCurveEstimator` (``fast=True``) or
    :class:`~pyisp_contrast.models.CurveEstimator` ``enhance``, in tensor operations (the
    network's own DCE-Net layers and body, :class:`~pyisp_contrast.models.curve_net.DCEBody`)."""

    def __init__(self, net: nn.Module, fast: bool) -> None:
        super().__init__([getattr(net, f"e_conv{i}") for i in range(1, 8)])
        self.fast: bool = fast
        self.iterations: int = int(net.iterations)
        self.n_maps: int = int(net.n_maps) if fast else int(net.iterations)
        side = getattr(net, "working_side", None)
        factor = getattr(net, "scale_factor", None)
        self.working_side: float = float(side) if side is not None else 0.0
        self.scale: float = 1.0 / float(factor) if factor is not None else 1.0

    def forward(self, image: Tensor) -> Tensor:
        hw = _spatial_size(image)
        x = image
        if self.fast:
            x = _aa_resize(image, hw, _working_size(hw, self.working_side, self.scale))
        curves = self.dce_maps(x)
        if self.fast:
            curves = _bilinear_resize(curves, _spatial_size(curves), hw, hw)
        return _curve_steps(image, curves, self.iterations, self.n_maps)


class _DehazeInference(nn.Module):
    """:class:`~pyisp_contrast.models.Dehazer` ``enhance``: its :class:`HazeEstimator` and the
    inverted scattering model, in plain operations."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        from pyisp_contrast.models import dehaze

        est = net.estimator
        self.stem, self.down1, self.down2 = est.stem, est.down1, est.down2
        self.up1, self.up0, self.to_t, self.to_a = est.up1, est.up0, est.to_t, est.to_a
        self.est_t_min: float = float(est.t_min)
        self.t_min: float = float(net.t_min)
        self.patch: int = int(dehaze.DARK_PATCH)

    def forward(self, image: Tensor) -> Tensor:
        x = image
        p = self.patch
        dark = -F.max_pool2d(-x.amin(1, keepdim=True), p, stride=1, padding=p // 2)
        f0 = F.relu(self.stem(torch.cat([x, dark], 1) * 2.0 - 1.0))
        f1 = f0
        for layer in self.down1:
            f1 = F.relu(layer(f1))
        f2 = f1
        for layer in self.down2:
            f2 = F.relu(layer(f2))
        pooled = torch.cat([f2.mean(dim=(-2, -1)), f2.amax(dim=(-2, -1))], dim=1)
        airlight = torch.sigmoid(self.to_a(pooled))[:, :, None, None]
        u1 = F.interpolate(f2, size=f1.shape[-2:], mode="bilinear", align_corners=False)
        u1 = F.relu(self.up1(torch.cat([u1, f1], dim=1)))
        u0 = F.interpolate(u1, size=f0.shape[-2:], mode="bilinear", align_corners=False)
        u0 = F.relu(self.up0(torch.cat([u0, f0], dim=1)))
        t = self.est_t_min + (1.0 - self.est_t_min) * torch.sigmoid(self.to_t(u0))
        return ((x - airlight) / t.clamp_min(self.t_min) + airlight).clamp(0.0, 1.0)


class _DerainInference(nn.Module):
    """:class:`~pyisp_contrast.models.Derainer` ``enhance``: ``clamp(I - R)`` with its
    :class:`RainEstimator`'s layers."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        est = net.estimator
        self.head, self.blocks, self.tail = est.head, est.blocks, est.tail

    def forward(self, image: Tensor) -> Tensor:
        f = F.relu(self.head(image * 2.0 - 1.0))
        for block in self.blocks:
            f = f + F.relu(block(f))
        return (image - self.tail(f)).clamp(0.0, 1.0)


def _exportable() -> dict[type[nn.Module], Any]:
    from pyisp_contrast.models import (
        CurveEstimator,
        Dehazer,
        Derainer,
        FastCurveEstimator,
        GuidedGainEnhancer,
    )

    return {
        GuidedGainEnhancer: _GuidedGainInference,
        FastCurveEstimator: lambda net: _CurveInference(net, fast=True),
        CurveEstimator: lambda net: _CurveInference(net, fast=False),
        Dehazer: _DehazeInference,
        Derainer: _DerainInference,
    }


def _resolve(model_or_name: nn.Module | str | os.PathLike) -> nn.Module:
    """The network to export: a module as given (a PIE-like composition's ``.network``), or
    ``load_pretrained(name_or_path)``."""
    if isinstance(model_or_name, str | os.PathLike):
        from pyisp_contrast.models import load_pretrained

        return load_pretrained(model_or_name)
    if not isinstance(model_or_name, nn.Module):
        raise TypeError(
            "`model_or_name` must be a shipped weights name, a checkpoint path or a model, got "
            f"{type(model_or_name).__name__}."
        )
    net = model_or_name
    if type(net) not in _exportable() and isinstance(getattr(net, "network", None), nn.Module):
        net = net.network  # PIE / PhysicsPIE: the network is what enhances
    return net


def inference_module(model_or_name: nn.Module | str | os.PathLike) -> nn.Module:
    """The plain PyTorch module that :func:`export_onnx` and :func:`export_torchscript` write.

    Its ``forward(image)`` maps a float32 ``(B, 3, H, W)`` batch in [0, 1] to the enhanced batch of
    the same shape, with the model's ``enhance`` arithmetic written in tensor operations on the
    input's shape (module notes), so it scripts and traces with the size free. It holds a float32
    CPU copy of the model's layers, in eval mode, and checks nothing about its input.

    Args:
        model_or_name: a shipped weights name (e.g. ``"pie-physics"``), a checkpoint path, or a
            model: :class:`~pyisp_contrast.models.GuidedGainEnhancer`,
            :class:`~pyisp_contrast.models.FastCurveEstimator`,
            :class:`~pyisp_contrast.models.CurveEstimator`,
            :class:`~pyisp_contrast.models.Dehazer`, :class:`~pyisp_contrast.models.Derainer` (or a
            composition such as :class:`~pyisp_contrast.models.PIE` holding one as ``.network``).

    Raises:
        TypeError: a model of another kind.
        FileNotFoundError, ~pyisp_contrast.core.WeightsError: as
            :func:`~pyisp_contrast.models.load_pretrained`.

    Example:
        >>> from pyisp_contrast.models import GuidedGainEnhancer
        >>> net = GuidedGainEnhancer(channels=4).eval()
        >>> module = inference_module(net)
        >>> x = torch.rand(1, 3, 37, 50) * 0.2
        >>> bool((module(x) - net.enhance(x)).abs().max() < 1e-4)
        True
    """
    net = _resolve(model_or_name)
    builders = _exportable()
    build = builders.get(type(net))
    if build is None:
        names = ", ".join(sorted(cls.__name__ for cls in builders))
        raise TypeError(f"cannot export a {type(net).__name__}; exportable models: {names}.")
    module = copy.deepcopy(build(net)).float().cpu().eval()
    module.requires_grad_(False)
    module.architecture = type(net).__name__  # type: ignore[assignment]
    return module


# ------------------------------------------------------------------------------------------------
# Writing and verifying the files
# ------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _torch_export_warnings() -> Iterator[None]:
    """Silence torch's deprecation notices for ``torch.jit`` and the TorchScript-based ONNX
    exporter while this module calls them; a frozen Python value during tracing is an error."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"`torch\.jit\.\w+` is deprecated", category=DeprecationWarning
        )
        warnings.filterwarnings(
            "ignore", message=r"You are using the legacy TorchScript-based ONNX export"
        )
        warnings.filterwarnings(
            "ignore",
            message=r"The feature will be removed",
            category=DeprecationWarning,
            module=r"torch\.onnx",
        )
        # the sharpening's slices end at an offset from the far border, which onnx's constant
        # folding leaves as they are (a notice, not a problem: the file is verified)
        warnings.filterwarnings("ignore", message=r"Constant folding - Only steps=1")
        warnings.filterwarnings("error", category=torch.jit.TracerWarning)
        yield


def _verify_inputs(sizes: Sequence[tuple[int, int]]) -> Iterator[Tensor]:
    """Dark, noisy, textured test photos ``(1, 3, h, w)`` in [0, 1], fixed per size."""
    for h, w in sizes:
        g = torch.Generator().manual_seed(1000 * h + w)
        yy = torch.linspace(0.0, 1.0, h)[:, None]
        xx = torch.linspace(0.0, 1.0, w)[None, :]
        scene = 0.5 + 0.5 * torch.sin(9.0 * xx + 5.0 * yy) * torch.cos(4.0 * yy - 3.0 * xx)
        colour = torch.rand(3, 1, 1, generator=g) * 0.6 + 0.4
        image = 0.25 * scene * colour * (0.3 + 0.7 * xx)
        image = image + 0.02 * torch.randn(3, h, w, generator=g)
        yield image.clamp(0.0, 1.0)[None]


def _check_sizes(sizes: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    for size in sizes:
        if (
            not isinstance(size, tuple | list)
            or len(size) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in size)
        ):
            raise ValueError(
                f"verify sizes must be (height, width) pairs of ints >= 1, got {size!r}."
            )
        out.append((int(size[0]), int(size[1])))
    return out


def _compare(
    run: Any,
    reference: nn.Module,
    sizes: Sequence[tuple[int, int]],
    atol: float,
    what: str,
) -> dict[tuple[int, int], float]:
    """Largest ``|run(x) - model.enhance(x)|`` per size; :class:`VerificationError` above
    ``atol``."""
    diffs: dict[tuple[int, int], float] = {}
    for (h, w), x in zip(sizes, _verify_inputs(sizes)):
        with torch.no_grad():
            ref = reference.enhance(x)
        out = torch.as_tensor(run(x))
        if tuple(out.shape) != tuple(ref.shape):
            raise VerificationError(
                f"the exported {what} file returns shape {tuple(out.shape)} for a {h}x{w} input, "
                f"expected {tuple(ref.shape)}: its size is not dynamic."
            )
        diffs[(h, w)] = float((out.float() - ref.float()).abs().max())
        if not diffs[(h, w)] <= atol:
            raise VerificationError(
                f"the exported {what} file differs from the model by {diffs[(h, w)]:.3g} at "
                f"{h}x{w} (tolerance {atol:g}); please report this with the weights used."
            )
    return diffs


def _prepare(
    model_or_name: nn.Module | str | os.PathLike,
    path: str | os.PathLike,
    exposure: float | None = None,
    denoise: float | None = None,
) -> tuple[nn.Module, nn.Module, Path]:
    from pyisp_contrast.models import scale_denoiser, set_exposure

    net = _resolve(model_or_name)
    if exposure is not None or denoise is not None:
        net = copy.deepcopy(net)  # the caller's model keeps its own settings
    if exposure is not None:
        set_exposure(net, exposure)
    if denoise is not None:
        scale_denoiser(net, denoise)
    module = inference_module(net)
    reference = copy.deepcopy(net).float().cpu().eval()
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"the output {str(path)!r} is a folder; give a file name.")
    path.parent.mkdir(parents=True, exist_ok=True)
    return module, reference, path


def _metadata(
    module: nn.Module, model_or_name: Any, fmt: str, denoise: float | None = None
) -> dict[str, str]:
    from pyisp_contrast import __version__

    source = (
        str(model_or_name) if isinstance(model_or_name, str | os.PathLike) else "(in-memory model)"
    )
    meta = {
        "producer": f"pyisp_contrast {__version__}",
        "format": fmt,
        "architecture": str(module.architecture),
        "weights": source,
        "input": f"{ONNX_INPUT}: float32 (batch, 3, height, width), RGB in [0, 1]",
        "output": f"{ONNX_OUTPUT}: float32, same shape, in [0, 1]",
    }
    log_gain = float(getattr(module, "exposure_log_gain", 0.0))
    if log_gain:
        meta["exposure"] = f"{log_gain / math.log(2.0):+g} stops"
    if denoise is not None and denoise != 1:
        meta["denoise"] = f"{denoise:g} times the model's own strength"
    return meta


def _require(name: str) -> Any:
    try:
        return __import__(name)
    except ImportError as err:
        raise MissingExtraError(f"ONNX export needs the package {name!r}; {_EXTRA_HINT}.") from err


def export_onnx(
    model_or_name: nn.Module | str | os.PathLike,
    path: str | os.PathLike,
    *,
    opset: int = 17,
    verify: bool = True,
    sizes: Sequence[tuple[int, int]] = VERIFY_SIZES,
    atol: float = DEFAULT_ATOL,
    exposure: float | None = None,
    denoise: float | None = None,
) -> ExportResult:
    """Write an enhancer as an ONNX file with dynamic batch, height and width.

    The graph has one input ``image`` (float32 ``(batch, 3, height, width)``, RGB in [0, 1]) and
    one output ``enhanced`` (same shape, in [0, 1]); the model's name and these conventions are in
    the file's metadata. Run it with ``onnxruntime`` alone (see the export guide).

    Args:
        model_or_name: a shipped weights name (``"pie-physics"``, the default low-light model;
            ``"pie-default"``, ``"dehaze-default"``, ``"derain-default"``), a checkpoint path, or a
            model (see :func:`inference_module`).
        path: the ``.onnx`` file to write (its folder is created; an existing file is replaced).
        opset: ONNX opset (>= 17).
        verify: run the file with ``onnxruntime`` on each of ``sizes`` and compare it with the
            model's ``enhance``; raise :class:`VerificationError` if it differs by more than
            ``atol``.
        sizes: ``(height, width)`` of the verification images.
        atol: largest accepted difference.
        exposure: write the model with this exposure correction in stops (models with an
            ``exposure`` setting, such as :class:`~pyisp_contrast.models.GuidedGainEnhancer`; a
            model passed in keeps its own); ``None`` keeps the model's. Recorded in the metadata.
        denoise: write the model with its denoiser strength multiplied by this factor, as
            :func:`~pyisp_contrast.models.scale_denoiser` does (models with a denoiser, such as
            pie-physics; a model passed in keeps its own); ``None`` keeps the model's. Recorded in
            the metadata.

    Returns:
        :class:`ExportResult` with the measured differences.

    Raises:
        MissingExtraError: ``onnx`` or (with ``verify``) ``onnxruntime`` is not installed.
        VerificationError: the file does not reproduce the model (it is left in place).
        OSError: the file cannot be written.
    """
    check_int(opset, "opset", 17)
    sizes = _check_sizes(sizes)
    onnx = _require("onnx")
    ort = _require("onnxruntime") if verify else None
    module, reference, path = _prepare(model_or_name, path, exposure, denoise)
    example = next(_verify_inputs([(67, 93)]))  # unlike every verification size
    dynamic = {0: "batch", 2: "height", 3: "width"}
    with written_atomically(path) as tmp:
        with _torch_export_warnings(), torch.no_grad():
            torch.onnx.export(
                module,
                (example,),
                str(tmp),
                dynamo=False,
                opset_version=opset,
                input_names=[ONNX_INPUT],
                output_names=[ONNX_OUTPUT],
                dynamic_axes={ONNX_INPUT: dynamic, ONNX_OUTPUT: dynamic},
                do_constant_folding=True,
            )
        proto = onnx.load(str(tmp))
        # The output has the input's shape; say so where the exporter could not infer it.
        for out_dim, in_dim in zip(
            proto.graph.output[0].type.tensor_type.shape.dim,
            proto.graph.input[0].type.tensor_type.shape.dim,
        ):
            out_dim.CopyFrom(in_dim)
        proto.doc_string = (
            f"pyisp_contrast {module.architecture}: enhances a float32 RGB batch "
            "(batch, 3, height, width) in [0, 1]."
        )
        for key, value in _metadata(module, model_or_name, "onnx", denoise).items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.checker.check_model(proto)
        onnx.save(proto, str(tmp))
    diffs: dict[tuple[int, int], float] = {}
    if verify:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

        def run(x: Tensor) -> Any:
            return session.run([ONNX_OUTPUT], {ONNX_INPUT: x.numpy()})[0]

        diffs = _compare(run, reference, sizes, atol, "ONNX")
    return ExportResult(path, "onnx", str(module.architecture), diffs)


def export_torchscript(
    model_or_name: nn.Module | str | os.PathLike,
    path: str | os.PathLike,
    *,
    verify: bool = True,
    sizes: Sequence[tuple[int, int]] = VERIFY_SIZES,
    atol: float = DEFAULT_ATOL,
    exposure: float | None = None,
    denoise: float | None = None,
) -> ExportResult:
    """Write an enhancer as a TorchScript file (``torch.jit.script``, any batch and image size).

    Load it with ``torch.jit.load(path)`` (no pyisp_contrast needed) and call it on a float32
    ``(B, 3, H, W)`` tensor in [0, 1]. The metadata of :func:`export_onnx` is stored as the extra
    file ``pyisp_contrast.json`` inside the archive.

    Args:
        model_or_name: as :func:`export_onnx`.
        path: the file to write (``.pt``; its folder is created, an existing file is replaced).
        verify: load the file back and compare it with the model's ``enhance`` on ``sizes``;
            :class:`VerificationError` if it differs by more than ``atol``.
        sizes: ``(height, width)`` of the verification images.
        atol: largest accepted difference.
        exposure: as :func:`export_onnx`.
        denoise: as :func:`export_onnx`.

    Returns:
        :class:`ExportResult` with the measured differences.

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "enhancer.pt")
        >>> result = export_torchscript("pie-physics", path, sizes=[(40, 60), (33, 25)])
        >>> result.architecture, sorted(result.max_abs_diff)
        ('GuidedGainEnhancer', [(33, 25), (40, 60)])
        >>> max(result.max_abs_diff.values()) <= 1e-4
        True
    """
    sizes = _check_sizes(sizes)
    module, reference, path = _prepare(model_or_name, path, exposure, denoise)
    meta = json.dumps(_metadata(module, model_or_name, "torchscript", denoise))
    with written_atomically(path) as tmp, _torch_export_warnings():
        scripted = torch.jit.script(module)
        torch.jit.save(scripted, str(tmp), _extra_files={"pyisp_contrast.json": meta})
    diffs: dict[tuple[int, int], float] = {}
    if verify:
        with _torch_export_warnings():
            loaded = torch.jit.load(str(path), map_location="cpu")

        def run(x: Tensor) -> Tensor:
            with torch.no_grad():
                return loaded(x)

        diffs = _compare(run, reference, sizes, atol, "TorchScript")
    return ExportResult(path, "torchscript", str(module.architecture), diffs)
