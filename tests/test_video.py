"""Temporal smoothing of the enhancers' maps (no PyAV needed: frames are tensors here)."""

from __future__ import annotations

import sys

import pytest
import torch
from torch import nn

from pyisp_contrast.models import FastCurveEstimator, GuidedGainEnhancer, load_pretrained
from pyisp_contrast.video import (
    VIDEO_SUFFIXES,
    TemporalSmoother,
    frame_brightness_jitter,
    require_av,
)


def moving_lamp_clip(frames: int = 24, h: int = 48, w: int = 64, seed: int = 0) -> torch.Tensor:
    """A dark, noisy, unevenly lit scene with a small bright object crossing it: ``(T, 3, H, W)``.

    Its mean brightness hardly changes from frame to frame (the object keeps its size), but an
    enhancer that re-estimates its exposure on every frame reacts to where the object is.
    """
    g = torch.Generator().manual_seed(seed)
    x = torch.linspace(0, 1, w).expand(h, w)
    base = (0.03 + 0.05 * x) * torch.tensor([1.0, 0.9, 0.8])[:, None, None]
    clip = []
    for t in range(frames):
        f = base.clone()
        c = (t * 5) % (w - 8)
        f[:, 16:26, c : c + 8] = 0.8
        clip.append((f + 0.03 * torch.randn(3, h, w, generator=g)).clamp(0, 1))
    return torch.stack(clip)


@pytest.fixture(scope="module")
def nets():
    torch.manual_seed(0)
    return [GuidedGainEnhancer(channels=4).eval(), FastCurveEstimator(channels=4).eval()]


def test_without_smoothing_it_is_the_models_enhance(nets):
    clip = moving_lamp_clip(frames=3)
    for net in nets:
        smoother = TemporalSmoother(net, time_constant=0, fps=24)
        assert smoother.weight == 1.0 and not smoother.smooths
        for frame in clip:
            torch.testing.assert_close(smoother(frame), net.enhance(frame), atol=1e-6, rtol=0)


def test_the_first_frame_and_unbatched_frames_match_enhance(nets):
    clip = moving_lamp_clip(frames=2)
    for net in nets:
        smoother = TemporalSmoother(net, time_constant=1.0, fps=24)
        assert smoother.smooths and 0 < smoother.weight < 0.05
        # the first frame has no past: its own maps, the same arithmetic as enhance
        torch.testing.assert_close(smoother(clip[0][None]), net.enhance(clip[0][None]), atol=1e-6,
                                   rtol=0)  # fmt: skip
        second = smoother(clip[1])
        assert second.shape == clip[1].shape and second.dtype == clip[1].dtype
        assert not torch.allclose(second, net.enhance(clip[1]), atol=1e-6)  # the past counts
        smoother.reset()
        torch.testing.assert_close(smoother(clip[1]), net.enhance(clip[1]), atol=1e-6, rtol=0)


def test_keeps_the_input_dtype(nets):
    frame = moving_lamp_clip(frames=1)[0].double()
    out = TemporalSmoother(nets[0], time_constant=0.5, fps=24)(frame)
    assert out.dtype == torch.float64
    torch.testing.assert_close(out, nets[0].enhance(frame), atol=1e-6, rtol=0)


def test_smoothing_removes_the_flicker_of_per_frame_enhancement():
    # Flicker measured as the frame-to-frame jitter of mean brightness, with the bundled default.
    model = load_pretrained("pie-physics")
    clip = moving_lamp_clip()
    jitter = {}
    for tau in (0.0, 0.5):
        smoother = TemporalSmoother(model, time_constant=tau, fps=24)
        out = torch.stack([smoother(f) for f in clip])
        jitter[tau] = frame_brightness_jitter(out)
        assert smoother.cuts == 0  # an object moving through is not a scene cut
        assert float(out.mean()) > 2 * float(clip.mean())  # still enhanced
    assert jitter[0.5] < 0.5 * jitter[0.0], jitter


def test_a_scene_cut_restarts_the_average():
    model = load_pretrained("pie-physics")
    g = torch.Generator().manual_seed(0)
    dark = [0.03 + 0.02 * torch.rand(3, 48, 64, generator=g) for _ in range(8)]
    brighter = [0.25 * torch.rand(3, 48, 64, generator=g) for _ in range(3)]
    smoother = TemporalSmoother(model, time_constant=0.5, fps=24)
    out = [smoother(f) for f in dark + brighter]
    assert smoother.cuts == 1
    torch.testing.assert_close(out[8], model.enhance(brighter[0]), atol=1e-6, rtol=0)
    never = TemporalSmoother(model, time_constant=0.5, fps=24, cut_threshold=1)
    out = [never(f) for f in dark + brighter]
    assert never.cuts == 0 and (out[8] - model.enhance(brighter[0])).abs().max() > 0.05


def test_other_models_run_frame_by_frame():
    class Halve(nn.Module):
        def enhance(self, x):
            return x / 2

    smoother = TemporalSmoother(Halve(), time_constant=0.5, fps=24)
    assert not smoother.smooths
    frame = torch.rand(3, 8, 8)
    torch.testing.assert_close(smoother(frame), frame / 2)


def test_bad_arguments(nets):
    with pytest.raises(ValueError, match="time_constant"):
        TemporalSmoother(nets[0], time_constant=-1)
    with pytest.raises(ValueError, match="fps"):
        TemporalSmoother(nets[0], fps=0)
    with pytest.raises(ValueError, match="cut_threshold"):
        TemporalSmoother(nets[0], cut_threshold=float("nan"))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        TemporalSmoother(nets[0])(torch.full((3, 8, 8), 2.0))
    with pytest.raises(ValueError, match="T >= 2"):
        frame_brightness_jitter(torch.rand(1, 3, 4, 4))


def test_missing_pyav_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "av", None)
    with pytest.raises(ImportError, match=r"pip install -e '\.\[video\]'"):
        require_av()
    assert ".mp4" in VIDEO_SUFFIXES and ".mov" in VIDEO_SUFFIXES
