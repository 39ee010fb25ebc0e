"""``pyisp-contrast enhance clip.mp4``: videos frame by frame, smoothed, audio copied (PyAV)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

av = pytest.importorskip("av", reason="videos need PyAV: install with pip install -e '.[video]'")

from pyisp_contrast.cli import main, provenance  # noqa: E402
from pyisp_contrast.video import enhance_video, frame_brightness_jitter  # noqa: E402
from tests.test_video import moving_lamp_clip  # noqa: E402


def write_clip(path, frames: torch.Tensor, *, fps: int = 24, audio: bool = True, rotation=None,
               bt709: bool = False) -> None:  # fmt: skip
    """Encode ``frames`` ``(T, 3, H, W)`` in [0, 1] (with a 440 Hz tone when ``audio``).

    ``bt709``: convert and tag with the HD colour matrix (else the default, untagged).
    """
    suffix = str(path).rsplit(".", 1)[-1]
    codec = {"webm": "libvpx-vp9", "avi": "mpeg4"}.get(suffix, "libx264")
    with av.open(str(path), "w") as out:
        video = out.add_stream(codec, rate=fps, options={"crf": "10"} if codec == "libx264" else {})
        video.width, video.height, video.pix_fmt = frames.shape[-1], frames.shape[-2], "yuv420p"
        if bt709:
            video.codec_context.colorspace = 1  # AVCOL_SPC_BT709
        if rotation is not None:
            video.set_display_rotation(rotation)
        if audio:
            sound = out.add_stream("libopus" if suffix == "webm" else "aac", rate=48000)
            sound.layout = "mono"
        for f in frames:
            rgb = (f.permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            if bt709:
                frame = frame.reformat(format="yuv420p", dst_colorspace="ITU709")
            out.mux(video.encode(frame))
        out.mux(video.encode())
        if audio:
            t = np.arange(48000 * len(frames) // fps) / 48000
            tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
            chunk = av.AudioFrame.from_ndarray(tone, format="flt", layout="mono")
            chunk.sample_rate = 48000
            out.mux(sound.encode(chunk))
            out.mux(sound.encode())


def read_clip(path) -> torch.Tensor:
    with av.open(str(path)) as c:
        return torch.stack(
            [torch.from_numpy(f.to_ndarray(format="rgb24")).permute(2, 0, 1).float() / 255
             for f in c.decode(video=0)]
        )  # fmt: skip


def audio_packets(path) -> list[tuple[int, bytes]]:
    with av.open(str(path)) as c:
        return [(p.pts, bytes(p)) for p in c.demux(audio=0) if p.dts is not None]


class Identity(nn.Module):
    def enhance(self, x):
        return x


def test_enhance_a_video_with_audio(tmp_path, capsys):
    clip = moving_lamp_clip(frames=12)
    write_clip(tmp_path / "clip.mp4", clip)
    out = tmp_path / "out"
    assert main(["enhance", str(tmp_path / "clip.mp4"), "-o", str(out), "--device", "cpu"]) == 0
    assert "enhanced 0 image(s) and 1 video(s)" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["clip.mp4"]
    result = read_clip(out / "clip.mp4")
    assert result.shape == clip.shape
    assert float(result.mean()) > 2 * float(clip.mean())  # enhanced
    with av.open(str(out / "clip.mp4")) as c:
        assert [s.type for s in c.streams] == ["video", "audio"]
        assert c.streams.video[0].average_rate == 24
    assert audio_packets(out / "clip.mp4") == audio_packets(tmp_path / "clip.mp4")  # copied
    record = provenance.read(out / "clip.mp4")
    assert record["input"]["path"] == str((tmp_path / "clip.mp4").resolve())
    assert record["options"] == {"max_side": None, "temporal_smoothing": 0.5}
    assert record["model"]["weights"] == "pie-physics"
    # run again: already there; other smoothing: made again
    assert main(["enhance", str(tmp_path / "clip.mp4"), "-o", str(out), "--device", "cpu"]) == 0
    assert "1 already there" in capsys.readouterr().err
    assert main(["enhance", str(tmp_path / "clip.mp4"), "-o", str(out), "--device", "cpu",
                 "--temporal-smoothing", "0"]) == 0  # fmt: skip
    assert "1 redone (made with other options" in capsys.readouterr().err


def test_smoothed_video_flickers_less(tmp_path):
    write_clip(tmp_path / "lamp.mp4", moving_lamp_clip(), audio=False)
    jitter = {}
    for tau in ("0", "0.5"):
        out = tmp_path / f"out{tau}"
        assert main(["enhance", str(tmp_path / "lamp.mp4"), "-o", str(out), "--device", "cpu",
                     "--temporal-smoothing", tau, "-q"]) == 0  # fmt: skip
        jitter[tau] = frame_brightness_jitter(read_clip(out / "lamp.mp4"))
    assert jitter["0.5"] < 0.6 * jitter["0"], jitter


def test_colours_and_frame_times_survive_the_round_trip(tmp_path):
    # Smooth, saturated colours: 4:2:0 and 8 bits lose little, a wrong colour matrix shows.
    y, x = torch.meshgrid(torch.linspace(0, 1, 48), torch.linspace(0, 1, 64), indexing="ij")
    frames = torch.stack([0.1 + 0.8 * x, 0.9 - 0.8 * y, 0.5 + 0.4 * (x - y)]).expand(5, 3, 48, 64)
    for space in (False, True):
        src = tmp_path / f"c{space}.mp4"
        write_clip(src, frames, fps=10, audio=False, bt709=space)
        info = enhance_video(Identity(), src, tmp_path / f"o{space}.mp4")
        assert info["frames"] == 5 and info["encoder"] == "libx264"
        before, after = read_clip(src), read_clip(tmp_path / f"o{space}.mp4")
        # one more 8-bit 4:2:0 round trip costs about 1.5 levels; a wrong matrix about 6
        assert float((before - after).abs().mean()) < 3 / 255, space
        with av.open(str(src)) as a, av.open(str(tmp_path / f"o{space}.mp4")) as b:
            assert [f.pts for f in a.decode(video=0)] == [f.pts for f in b.decode(video=0)]
            assert a.streams.video[0].codec_context.colorspace == (
                b.streams.video[0].codec_context.colorspace
            )


@pytest.mark.parametrize("suffix", [".mkv", ".webm", ".avi", ".mov"])
def test_other_containers_keep_audio_and_record(tmp_path, suffix):
    src = tmp_path / f"clip{suffix}"
    write_clip(src, moving_lamp_clip(frames=4), audio=suffix != ".avi")
    record = {"tool": provenance.TOOL, "input": {"path": "x"}}
    meta = ({"comment": json.dumps({provenance.VIDEO_KEY: record})} if suffix == ".avi"
            else {provenance.VIDEO_KEY: json.dumps(record)})  # fmt: skip
    dest = tmp_path / f"out{suffix}"
    info = enhance_video(Identity(), src, dest, metadata=meta)
    assert info["frames"] == 4
    assert provenance.read(dest) == record
    if suffix != ".avi":
        assert audio_packets(dest) == audio_packets(src)


def test_phone_rotation_odd_sizes_and_max_side(tmp_path):
    frames = torch.zeros(3, 3, 30, 50)
    frames[:, :, :, :8] = 0.8  # a bright stripe on the stored left edge
    write_clip(
        tmp_path / "phone.mp4", frames, audio=False, rotation=-90
    )  # shown a quarter clockwise
    info = enhance_video(Identity(), tmp_path / "phone.mp4", tmp_path / "up.mp4")
    up = read_clip(tmp_path / "up.mp4")
    assert info["size"] == (50, 30) and up.shape[-2:] == (50, 30)
    assert float(up[:, :, :6].mean()) > 0.6 and float(up[:, :, -10:].mean()) < 0.1  # stripe on top
    with av.open(str(tmp_path / "up.mp4")) as c:
        assert next(c.decode(video=0)).rotation == 0  # upright pixels, no rotation to apply
    info = enhance_video(Identity(), tmp_path / "phone.mp4", tmp_path / "small.mp4", max_side=25)
    assert info["size"] == (24, 14)  # 25 x 15, made even for 4:2:0


def test_missing_video_stream_is_a_clear_error(tmp_path, capsys):
    with av.open(str(tmp_path / "sound.mp4"), "w") as out:
        sound = out.add_stream("aac", rate=48000)
        sound.layout = "mono"
        chunk = av.AudioFrame.from_ndarray(np.zeros((1, 4800), np.float32), format="flt",
                                           layout="mono")  # fmt: skip
        chunk.sample_rate = 48000
        out.mux(sound.encode(chunk))
        out.mux(sound.encode())
    out_dir = tmp_path / "out"
    assert (
        main(["enhance", str(tmp_path / "sound.mp4"), "-o", str(out_dir), "--device", "cpu"]) == 1
    )
    assert "sound.mp4: no video stream" in capsys.readouterr().err
    assert not out_dir.exists()  # no partial file left, nor the folder this run made for it
