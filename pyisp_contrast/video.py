"""Enhancing videos frame by frame, without the brightness flicker of independent frames.

An enhancer run on each frame alone re-estimates its exposure every frame: sensor noise and
objects moving through the picture change the estimate a little, and the output's brightness
jitters (flicker). The bundled enhancers estimate their maps at low resolution, so
:class:`TemporalSmoother` averages those maps over time (an exponential moving average with a
time constant in seconds) and applies the averaged maps to each full-resolution frame; a scene
cut (a large change of the frame's coarse layout) restarts the average, so a new scene is not
exposed for the old one.

- :class:`~pyisp_contrast.models.GuidedGainEnhancer` (``pie-physics``): the log-gain and log-eps
  maps are averaged; the guided filter's statistics are the frame's own.
- :class:`~pyisp_contrast.models.FastCurveEstimator` (``pie-default``): the curve maps are averaged.
- other models (dehazing, deraining, full-resolution curve estimators) run frame by frame.

:func:`enhance_video` reads and writes the files with PyAV, an optional extra
(``pip install -e '.[video]'``); this module imports it only when a video is read or written.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pyisp_contrast.core.checks import check_float, check_image, module_dtype, unbatch
from pyisp_contrast.core.resize import fit_long_side

__all__ = [
    "VIDEO_INSTALL_HINT",
    "VIDEO_SUFFIXES",
    "TemporalSmoother",
    "enhance_video",
    "frame_brightness_jitter",
    "require_av",
]

#: File name endings treated as videos (lower case).
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi")

#: What to do when PyAV is missing.
VIDEO_INSTALL_HINT = "videos need PyAV: install with pip install -e '.[video]'"

#: Scene cuts are found on the frame's brightness at this coarse grid (rows, columns), in a
#: histogram of this many bins of log2 brightness from -8 to 0.
_CUT_GRID = (32, 32)
_CUT_BINS = 16


def require_av():
    """Import and return PyAV, or raise ``ImportError`` saying how to install it."""
    try:
        import av
    except ImportError:
        raise ImportError(VIDEO_INSTALL_HINT) from None
    return av


def _kind(model: nn.Module) -> str:
    from pyisp_contrast.models import FastCurveEstimator, GuidedGainEnhancer

    if isinstance(model, GuidedGainEnhancer):
        return "gain"
    if isinstance(model, FastCurveEstimator):
        return "curves"
    return "frame"


class TemporalSmoother:
    """Enhance a sequence of frames with the enhancer's low-resolution maps averaged over time.

    Args:
        model: an enhancer (from :func:`pyisp_contrast.models.load_pretrained`). Its maps are
            smoothed for :class:`~pyisp_contrast.models.GuidedGainEnhancer` and
            :class:`~pyisp_contrast.models.FastCurveEstimator`; other models run frame by frame
            (:attr:`smooths` is then ``False``).
        time_constant: seconds over which the maps are averaged (the exponential average's time
            constant); ``0`` turns smoothing off (each frame's own maps, as ``model.enhance``).
        fps: frames per second of the sequence, to turn ``time_constant`` into a weight per frame.
        cut_threshold: a scene cut is a change of the frame's brightness histogram (coarse, in
            stops) that moves more than this share of the pixels; it restarts the average.
            ``1``: never.

    Call it on the frames in order; :meth:`reset` starts a new sequence.

    Example:
        >>> from pyisp_contrast.models import GuidedGainEnhancer
        >>> _ = torch.manual_seed(0)
        >>> net = GuidedGainEnhancer(channels=4).eval()
        >>> smooth = TemporalSmoother(net, time_constant=0.5, fps=25)
        >>> frames = [torch.rand(1, 3, 32, 48) * 0.2 for _ in range(3)]
        >>> [tuple(smooth(f).shape) for f in frames]
        [(1, 3, 32, 48), (1, 3, 32, 48), (1, 3, 32, 48)]
        >>> torch.allclose(TemporalSmoother(net, time_constant=0)(frames[0]), net.enhance(frames[0]), atol=1e-6)
        True
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        time_constant: float = 0.5,
        fps: float = 30.0,
        cut_threshold: float = 0.5,
    ) -> None:
        check_float(time_constant, "time_constant", 0.0, finite=False)
        check_float(cut_threshold, "cut_threshold", 0.0, finite=False)
        check_float(fps, "fps", 0.0, low_open=True)
        self.model = model
        self.kind = _kind(model)
        self.time_constant = float(time_constant)
        self.fps = float(fps)
        self.cut_threshold = float(cut_threshold)
        #: Weight of the new frame's maps in the average (1: no smoothing).
        self.weight = (
            1.0 if self.time_constant == 0 else -math.expm1(-1.0 / (self.fps * self.time_constant))
        )
        self.cuts = 0
        self.reset()

    @property
    def smooths(self) -> bool:
        """Whether this model's maps are averaged over time."""
        return self.kind != "frame" and self.weight < 1.0

    def reset(self) -> None:
        """Forget the average: the next frame starts a new sequence."""
        self._maps: tuple[Tensor, ...] | None = None
        self._layout: Tensor | None = None

    def _is_cut(self, x: Tensor) -> bool:
        # A histogram of log brightness: an object moving through the picture hardly changes it,
        # a new scene does. The distance is the share of pixels that changed bin (0 to 1).
        luma = F.adaptive_avg_pool2d(x.mean(1, keepdim=True), _CUT_GRID).clamp_min(1 / 256)
        hist = torch.histc(torch.log2(luma).float(), bins=_CUT_BINS, min=-8.0, max=0.0)
        hist = hist / hist.sum()
        previous, self._layout = self._layout, hist
        if previous is None:
            return False
        return 0.5 * float((hist - previous).abs().sum()) > self.cut_threshold

    def _average(self, maps: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        if self._maps is None or any(a.shape != b.shape for a, b in zip(self._maps, maps)):
            self._maps = maps
        else:
            self._maps = tuple(
                torch.lerp(old, new, self.weight) for old, new in zip(self._maps, maps)
            )
        return self._maps

    @torch.no_grad()
    def __call__(self, frame: Tensor) -> Tensor:
        """Enhance the next frame ``(B, 3, H, W)`` or ``(3, H, W)`` in [0, 1] (B: parallel streams)."""
        x, unbatched = check_image(frame, "frame", channels=(3,))
        if self.kind == "frame" or self.weight >= 1.0:
            out = self.model.enhance(x)
            return unbatch(out, unbatched)
        dtype = x.dtype
        x = x.to(module_dtype(self.model) or torch.float32)
        if self._is_cut(x) and self._maps is not None:
            self.cuts += 1
            self._maps = None
        was_training = self.model.training
        self.model.eval()
        try:
            if self.kind == "gain":
                stats, log_gain, log_eps = self.model.low_res_maps(x)
                log_gain, log_eps = self._average((log_gain, log_eps))
                out = self.model.apply_maps(x, stats, log_gain, log_eps)
            else:
                (curves,) = self._average((self.model.low_res_curves(x),))
                out = self.model.apply_curves(x, curves)
        finally:
            self.model.train(was_training)
        return unbatch(out.to(dtype), unbatched)


def frame_brightness_jitter(frames: Tensor) -> float:
    """Flicker of a clip ``(T, C, H, W)``: mean absolute change of mean brightness between frames.

    Example:
        >>> frame_brightness_jitter(torch.stack([torch.full((3, 2, 2), v) for v in (0.2, 0.3, 0.2)]))
        0.1
    """
    if frames.ndim != 4 or frames.shape[0] < 2:
        raise ValueError(f"`frames` must be (T, C, H, W) with T >= 2, got {tuple(frames.shape)}.")
    means = frames.float().mean((1, 2, 3))
    return round(float(means.diff().abs().mean()), 6)


# ------------------------------------------------------------------------------------ files

#: Encoder tried first per container, then the fallbacks, each if this PyAV build has it.
_ENCODERS = {
    ".webm": ("libvpx-vp9", "libvpx"),
    ".avi": ("mpeg4",),
}
_DEFAULT_ENCODERS = ("libx264", "h264", "mpeg4")
#: Encoder options: visually near-lossless quality, not the encoders' small-file defaults.
_ENCODER_OPTIONS = {
    "libx264": {"crf": "18", "preset": "medium"},
    "libvpx-vp9": {"crf": "24", "b": "0"},
    "libvpx": {"crf": "10", "b": "2M"},
    "mpeg4": {"qscale": "2"},
}
#: Container metadata that describes the file's writer, not the video; not copied.
_WRITER_TAGS = {"major_brand", "minor_version", "compatible_brands", "encoder", "software"}


def _encoder(av, suffix: str) -> str:
    names = _ENCODERS.get(suffix, _DEFAULT_ENCODERS)
    for name in names:
        try:
            av.codec.Codec(name, "w")
            return name
        except Exception:
            continue
    raise ValueError(
        f"this PyAV build has no encoder for {suffix} video (tried {', '.join(names)})"
    )


def _even(n: int) -> int:
    return max(2, n - n % 2)


def _frame_size(h: int, w: int, max_side: int | None) -> tuple[int, int]:
    if max_side is not None:
        h, w = fit_long_side(h, w, max_side)
    return _even(h), _even(w)


def _probe(av, path: Path) -> tuple[int, int, int]:
    """Height, width (as shown, after the display rotation) and the rotation of the first frame."""
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise ValueError(f"{path}: no video stream")
        for frame in container.decode(video=0):
            rotation = round(getattr(frame, "rotation", 0) / 90.0) % 4
            h, w = frame.height, frame.width
            return (w, h, rotation) if rotation % 2 else (h, w, rotation)
    raise ValueError(f"{path}: the video stream holds no frame")


def enhance_video(
    model: nn.Module,
    src: str | os.PathLike,
    dest: str | os.PathLike,
    *,
    device: torch.device | str = "cpu",
    max_side: int | None = None,
    time_constant: float = 0.5,
    metadata: Mapping[str, str] | None = None,
    progress: Callable[[int, int | None], Any] | None = None,
) -> dict[str, Any]:
    """Enhance a video file frame by frame into ``dest``, audio copied (needs PyAV).

    The container follows ``dest``'s suffix (H.264 in MP4/MOV/MKV, VP9 in WebM, MPEG-4 in AVI,
    as the PyAV build allows), frame times are kept, audio streams are copied untouched, the
    source's container metadata (title, creation time, location, ...) is copied and ``metadata``
    added. A display rotation (phone videos) is applied to the pixels, so the output plays upright
    without it. Sizes are made even (a 4:2:0 encoder's limit) by dropping a last row or column.

    Args:
        model: the enhancer; see :class:`TemporalSmoother` for which models are smoothed.
        src: the video to read.
        dest: the file to write (replaced if it exists).
        device: where the model runs.
        max_side: downsize frames to at most this many pixels a side.
        time_constant: seconds of temporal smoothing (0: none).
        metadata: extra container tags to write.
        progress: called as ``progress(frames_done, frames_total_or_None)`` after each frame.

    Returns:
        ``{"frames", "fps", "size", "smoothed", "cuts", "audio_streams", "encoder"}``.

    Raises:
        ImportError: PyAV is not installed (the message says how to install it).
        ValueError: no video stream, or no encoder for the container.
    """
    av = require_av()
    src, dest = Path(src), Path(dest)
    suffix = dest.suffix.lower()
    # The destination may be a temporary name: the container format is the final suffix's.
    fmt = {".mkv": "matroska", ".webm": "webm", ".avi": "avi", ".mov": "mov"}.get(suffix, "mp4")
    shown_h, shown_w, rotation = _probe(av, src)
    out_h, out_w = _frame_size(shown_h, shown_w, max_side)
    encoder = _encoder(av, suffix)
    with av.open(str(src)) as inp:
        vin = inp.streams.video[0]
        vin.thread_type = "AUTO"
        audio = list(inp.streams.audio)
        rate = vin.average_rate or vin.guessed_rate or Fraction(30)
        total = vin.frames or (
            round(float(inp.duration / 1_000_000 * rate)) if inp.duration else None
        )
        smoother = TemporalSmoother(model, time_constant=time_constant, fps=float(rate))
        options = {"movflags": "use_metadata_tags"} if fmt in ("mp4", "mov") else {}
        with av.open(str(dest), "w", format=fmt, options=options) as out:
            for key, value in inp.metadata.items():
                if key.lower() not in _WRITER_TAGS:
                    out.metadata[key] = value
            for key, value in (metadata or {}).items():
                out.metadata[key] = value
            vout = out.add_stream(encoder, rate=rate, options=_ENCODER_OPTIONS.get(encoder, {}))
            vout.width, vout.height, vout.pix_fmt = out_w, out_h, "yuv420p"
            vout.time_base = vin.time_base
            cc_in, cc_out = vin.codec_context, vout.codec_context
            for attr in ("colorspace", "color_range", "color_primaries", "color_trc"):
                value = getattr(cc_in, attr, None)
                if value:
                    setattr(cc_out, attr, value)
            if vin.metadata.get("language"):
                vout.metadata["language"] = vin.metadata["language"]
            aouts = {a.index: out.add_stream_from_template(a) for a in audio}
            done = 0

            resize = max_side is not None and max(shown_h, shown_w) > max_side

            def emit(frame) -> None:
                nonlocal done
                space, value_range = frame.colorspace or None, frame.color_range or None
                rgb = frame.to_ndarray(
                    format="rgb24", src_colorspace=space, src_color_range=value_range
                )
                x = torch.from_numpy(rgb).to(device).permute(2, 0, 1)[None].float() / 255
                if rotation:
                    x = torch.rot90(x, rotation, dims=(-2, -1))
                if x.shape[-2:] != (shown_h, shown_w):  # a stream that changes size mid-way
                    x = F.interpolate(x, size=(shown_h, shown_w), mode="bilinear", antialias=True)
                if resize:
                    x = F.interpolate(
                        x, size=(out_h, out_w), mode="bicubic", antialias=True, align_corners=False
                    ).clamp_(0, 1)
                else:
                    x = x[..., :out_h, :out_w]  # even sizes for 4:2:0
                y = smoother(x)
                u8 = (y[0].clamp(0, 1) * 255).round_().to(torch.uint8).permute(1, 2, 0)
                new = av.VideoFrame.from_ndarray(u8.cpu().contiguous().numpy(), format="rgb24")
                new = new.reformat(
                    format="yuv420p", dst_colorspace=space, dst_color_range=value_range
                )
                if frame.pts is None:
                    new.pts, new.time_base = done, 1 / Fraction(rate)
                else:
                    new.pts, new.time_base = frame.pts, frame.time_base
                for packet in vout.encode(new):
                    out.mux(packet)
                done += 1
                if progress is not None:
                    progress(done, total)

            for packet in inp.demux(vin, *audio):
                if packet.stream.index in aouts:
                    if packet.dts is None:
                        continue
                    packet.stream = aouts[packet.stream.index]
                    out.mux(packet)
                    continue
                for frame in packet.decode():
                    emit(frame)
            for packet in vout.encode():
                out.mux(packet)
    return {
        "frames": done,
        "fps": float(rate),
        "size": (out_h, out_w),
        "smoothed": smoother.smooths,
        "cuts": smoother.cuts,
        "audio_streams": len(audio),
        "encoder": encoder,
    }
