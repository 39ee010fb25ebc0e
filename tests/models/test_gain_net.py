"""Tests for pyisp_contrast.models.gain_net (GuidedGainEnhancer)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from pyisp_contrast.isp import luma_s_curve, noise_to_signal, sharpen_luma
from pyisp_contrast.isp.curves import linear_to_srgb, rational_gain, srgb_to_linear
from pyisp_contrast.models import load_pretrained, save_pretrained
from pyisp_contrast.models.gain_net import (
    GuidedGainEnhancer,
    lift_fraction,
    nsr_denoise_strength,
    nsr_detail_amount,
)


@pytest.fixture(scope="module")
def net() -> GuidedGainEnhancer:
    torch.manual_seed(0)
    model = GuidedGainEnhancer(channels=8, working_side=32)
    # Move away from the near-identity initialisation so the tests see real gains.
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return model.eval()


@pytest.mark.parametrize("size", [(37, 53), (64, 64), (130, 70)])
def test_enhance_in_row_blocks_equals_forward(net: GuidedGainEnhancer, size) -> None:
    x = torch.rand(2, 3, *size, generator=torch.Generator().manual_seed(1)) * 0.3
    with torch.no_grad():
        ref = net(x).enhanced
    torch.testing.assert_close(net.enhance(x, rows=8), ref, atol=2e-6, rtol=1e-5)
    # batch 1 may take another convolution algorithm: float rounding, amplified by the gain
    torch.testing.assert_close(net.enhance(x[0]), ref[0], atol=5e-5, rtol=1e-4)


def test_output_in_range_and_maps_shape(net: GuidedGainEnhancer) -> None:
    with torch.no_grad():
        out = net(torch.rand(2, 3, 48, 40))
    assert out.enhanced.shape == (2, 3, 48, 40)
    assert out.curves.shape == (2, 2, 12, 10)
    assert float(out.enhanced.min()) >= 0 and float(out.enhanced.max()) <= 1


@pytest.mark.parametrize("level", [5, 10, 40, 120, 200])
def test_exactly_grey_input_stays_exactly_grey(net: GuidedGainEnhancer, level: int) -> None:
    y = net.enhance(torch.full((1, 3, 40, 40), level / 255))
    assert torch.equal(y[:, 0], y[:, 1]) and torch.equal(y[:, 1], y[:, 2])


def test_value_follows_the_rational_gain_curve_on_flat_input(net: GuidedGainEnhancer) -> None:
    x = torch.full((1, 3, 32, 32), 0.1)
    with torch.no_grad():
        out = net(x)
    gain = F.interpolate(torch.exp(out.curves[:, :1]), size=(32, 32), mode="bilinear")
    # a flat input has no variance: the guided filter returns it unchanged
    expected = linear_to_srgb(rational_gain(srgb_to_linear(torch.full((1, 1, 32, 32), 0.1)), gain))
    torch.testing.assert_close(out.enhanced[:, :1], expected, atol=1e-5, rtol=1e-5)


def test_lightness_order_kept_where_the_gain_is_one_map(net: GuidedGainEnhancer) -> None:
    # A horizontal ramp: each column has one value; with one gain per row the order is kept.
    x = torch.linspace(0.01, 0.9, 64).expand(1, 3, 8, 64).contiguous()
    y = net.enhance(x)[0, 0, 4]
    assert bool((y.diff() >= -1e-3).all())


def test_gradients_reach_every_parameter(net: GuidedGainEnhancer) -> None:
    model = GuidedGainEnhancer(channels=4, working_side=16)
    out = model(torch.rand(2, 3, 24, 24) * 0.2)
    (out.enhanced.mean() + out.curves.mean()).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_save_and_load_round_trip(tmp_path, net: GuidedGainEnhancer) -> None:
    path = tmp_path / "g.pt"
    save_pretrained(net, path, trained_on="noise")
    loaded = load_pretrained(path)
    assert isinstance(loaded, GuidedGainEnhancer) and loaded.config == net.config
    x = torch.rand(1, 3, 20, 24)
    torch.testing.assert_close(loaded.enhance(x), net.enhance(x))


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="channels"):
        GuidedGainEnhancer(channels=0)
    with pytest.raises(ValueError, match="working_side"):
        GuidedGainEnhancer(working_side=4)
    with pytest.raises(ValueError, match="rows"):
        GuidedGainEnhancer(channels=2).enhance(torch.rand(1, 3, 8, 8), rows=0)
    with pytest.raises(ValueError, match="channels"):
        GuidedGainEnhancer(channels=2)(torch.rand(1, 1, 8, 8))


def test_denoise_scale_scales_eps_and_is_saved(tmp_path, net: GuidedGainEnhancer) -> None:
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(3)) * 0.2
    weak = GuidedGainEnhancer(**{**net.config, "denoise_scale": 1e-3})
    weak.load_state_dict(net.state_dict())
    with torch.no_grad():
        stats, _, log_eps = net.low_res_maps(x)
        a_net, _ = net._coefficients(stats, log_eps)
        a_weak, _ = weak._coefficients(stats, log_eps)
    # a smaller eps keeps more of the guide: larger affine slopes, less smoothing
    assert float(a_weak.abs().mean()) > float(a_net.abs().mean())
    assert not torch.allclose(weak.enhance(x), net.enhance(x))
    save_pretrained(weak, tmp_path / "w.pt")
    assert load_pretrained(tmp_path / "w.pt").denoise_scale == pytest.approx(1e-3)
    with pytest.raises(ValueError, match="denoise_scale"):
        GuidedGainEnhancer(denoise_scale=0.0)


def _with(net: GuidedGainEnhancer, **settings) -> GuidedGainEnhancer:
    model = GuidedGainEnhancer(**{**net.config, **settings})
    model.load_state_dict(net.state_dict())
    return model.eval()


def test_denoise_nsr_is_the_per_photo_denoise_scale(net: GuidedGainEnhancer) -> None:
    """With ``denoise_nsr``, a photo is enhanced as with ``denoise_scale`` = its strength."""
    g = torch.Generator().manual_seed(7)
    clean = 0.05 + 0.3 * torch.linspace(0, 1, 48).view(1, 1, 1, 48).expand(1, 3, 48, 48)
    noisy = (clean + 0.02 * torch.randn(clean.shape, generator=g)).clamp(0, 1)
    adaptive = _with(net, denoise_nsr=0.05)
    for x in (clean.contiguous(), noisy):
        strength = float(adaptive.denoise_strength(x.mean(1, keepdim=True)))
        expected = min(1.0, max(1e-4, float(noise_to_signal(x)) / 0.05))
        assert strength == pytest.approx(expected, rel=1e-5)
        fixed = _with(net, denoise_scale=strength)
        torch.testing.assert_close(adaptive.enhance(x), fixed.enhance(x), atol=2e-6, rtol=1e-5)
    # the noise-free ramp gets the floor, the noisy photo the full strength
    assert float(adaptive.denoise_strength(clean.mean(1, keepdim=True))) == pytest.approx(1e-4)
    assert float(adaptive.denoise_strength(noisy.mean(1, keepdim=True))) == 1.0


def test_denoise_nsr_acts_per_photo_in_a_batch(net: GuidedGainEnhancer) -> None:
    g = torch.Generator().manual_seed(8)
    x = torch.rand(3, 3, 40, 40, generator=g) * torch.tensor([0.05, 0.3, 0.9]).view(3, 1, 1, 1)
    adaptive = _with(net, denoise_nsr=1.0)
    batch = adaptive.enhance(x)
    for i in range(3):
        torch.testing.assert_close(batch[i], adaptive.enhance(x[i]), atol=5e-5, rtol=1e-4)


def test_denoise_nsr_none_is_one_strength_and_the_setting_is_saved_and_checked(
    tmp_path, net: GuidedGainEnhancer
) -> None:
    x = torch.rand(1, 3, 30, 30, generator=torch.Generator().manual_seed(9)) * 0.2
    assert net.denoise_nsr is None
    torch.testing.assert_close(net.denoise_strength(x.mean(1, keepdim=True)), torch.ones(1))
    adaptive = _with(net, denoise_nsr=0.5)
    save_pretrained(adaptive, tmp_path / "w.pt")
    loaded = load_pretrained(tmp_path / "w.pt")
    assert loaded.denoise_nsr == 0.5
    torch.testing.assert_close(loaded.enhance(x), adaptive.enhance(x))
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="denoise_nsr"):
            GuidedGainEnhancer(denoise_nsr=bad)
    with pytest.raises(TypeError, match="denoise_nsr"):
        adaptive.denoise_nsr = "0.5"
    adaptive.denoise_nsr = None  # off again
    torch.testing.assert_close(adaptive.enhance(x), net.enhance(x))


def _grey_with_ratio(ratios: list[float]) -> torch.Tensor:
    """Grey images whose noise-to-signal ratios are about ``ratios`` (white noise on 0.3, clipped
    to [0, 1])."""
    g = torch.Generator().manual_seed(11)
    noise = torch.randn(len(ratios), 1, 64, 64, generator=g, dtype=torch.float64)
    return (0.3 + 0.3 * torch.tensor(ratios, dtype=torch.float64).view(-1, 1, 1, 1) * noise).clamp(
        0, 1
    )


def test_denoise_knee_known_answer_and_continuity() -> None:
    grey = _grey_with_ratio([0.02, 0.1, 0.2, 0.4, 0.9])
    r = noise_to_signal(grey)
    linear = nsr_denoise_strength(grey, 1.5)
    torch.testing.assert_close(linear, (r / 1.5).clamp(1e-4, 1.0))
    kneed = nsr_denoise_strength(grey, 1.5, 0.15)
    expected = torch.where(r <= 0.15, r / 1.5, (0.15 / 1.5) * (r / 0.15) ** 3).clamp(1e-4, 1.0)
    torch.testing.assert_close(kneed, expected)
    assert bool((kneed[r > 0.15] > linear[r > 0.15]).all())  # noisier photos: stronger
    torch.testing.assert_close(kneed[r <= 0.15], linear[r <= 0.15])
    # continuous at the knee: just below and just above give the same strength
    both = torch.tensor([0.15 * (1 - 1e-9), 0.15 * (1 + 1e-9)], dtype=torch.float64)
    below, above = (0.15 / 1.5) * (both / 0.15) ** torch.tensor([1.0, 3.0], dtype=torch.float64)
    assert float(above - below) == pytest.approx(0.0, abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(
    nsr=st.floats(0.05, 3.0),
    knee=st.one_of(st.just(0.0), st.floats(0.01, 1.0)),
    ratios=st.lists(st.floats(0.0, 2.0), min_size=2, max_size=6),
)
def test_denoise_strength_rises_with_the_noise(nsr: float, knee: float, ratios) -> None:
    grey = _grey_with_ratio(sorted(ratios))
    r = noise_to_signal(grey)
    order = torch.argsort(r)
    s = nsr_denoise_strength(grey, nsr, knee)[order]
    assert bool((s.diff() >= -1e-12).all())
    assert float(s.min()) >= 1e-4 and float(s.max()) <= 1.0


def test_denoise_knee_is_saved_checked_and_scriptable(tmp_path, net: GuidedGainEnhancer) -> None:
    model = _with(net, denoise_nsr=1.5, denoise_knee=0.1)
    x = torch.rand(2, 3, 40, 40, generator=torch.Generator().manual_seed(12)) * 0.4
    grey = x.mean(1, keepdim=True)
    torch.testing.assert_close(model.denoise_strength(grey), nsr_denoise_strength(grey, 1.5, 0.1))
    save_pretrained(model, tmp_path / "k.pt")
    loaded = load_pretrained(tmp_path / "k.pt")
    assert loaded.denoise_knee == 0.1
    torch.testing.assert_close(loaded.enhance(x), model.enhance(x))
    for bad in (0.0, -0.1, float("nan")):
        with pytest.raises(ValueError, match="denoise_knee"):
            model.denoise_knee = bad
    with pytest.warns(DeprecationWarning, match="jit"):
        scripted = torch.jit.script(nsr_denoise_strength)
    torch.testing.assert_close(scripted(grey, 1.5, 0.1), nsr_denoise_strength(grey, 1.5, 0.1))


@pytest.mark.parametrize("size", [(1, 1), (2, 7), (3, 3)])
def test_denoise_nsr_on_photos_too_small_to_estimate(net: GuidedGainEnhancer, size) -> None:
    x = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(10)) * 0.3
    y = _with(net, denoise_nsr=0.5).enhance(x)
    assert torch.isfinite(y).all()
    if min(size) < 3:  # nothing to estimate on: the full strength, as without the setting
        torch.testing.assert_close(y, net.enhance(x))


def test_detail_is_the_per_photo_sharpening_after_the_gain(net: GuidedGainEnhancer) -> None:
    """``detail`` sharpens the enhanced photo by ``detail (1 - r / detail_nsr)``: a clean photo
    gets about ``detail``, a photo at the ratio or above is left as without the setting."""
    g = torch.Generator().manual_seed(13)
    clean = 0.05 + 0.3 * torch.linspace(0, 1, 48).view(1, 1, 1, 48).expand(1, 3, 48, 48)
    clean = (clean + 0.002 * torch.randn(clean.shape, generator=g)).clamp(0, 1)
    noisy = (clean + 0.05 * torch.randn(clean.shape, generator=g)).clamp(0, 1)
    sharp = _with(net, detail=0.5, detail_nsr=0.1)
    for x in (clean, noisy):
        r = float(noise_to_signal(x))
        amount = 0.5 * min(max(1.0 - r / 0.1, 0.0), 1.0)
        grey = x.mean(1, keepdim=True)
        assert float(sharp.detail_amount(grey)) == pytest.approx(amount, rel=1e-5, abs=1e-7)
        expected = sharpen_luma(net.enhance(x), amount)
        torch.testing.assert_close(sharp.enhance(x), expected, atol=2e-6, rtol=1e-5)
        with torch.no_grad():
            torch.testing.assert_close(sharp(x).enhanced, expected, atol=2e-6, rtol=1e-5)
    assert float(sharp.detail_amount(clean.mean(1, keepdim=True))) > 0.4
    assert float(sharp.detail_amount(noisy.mean(1, keepdim=True))) == 0.0
    torch.testing.assert_close(sharp.enhance(noisy), net.enhance(noisy))


def test_detail_amount_known_answer_per_photo_and_scriptable() -> None:
    grey = _grey_with_ratio([0.0, 0.02, 0.05, 0.1, 0.4])
    r = noise_to_signal(grey)
    amount = nsr_detail_amount(grey, 0.8, 0.1)
    torch.testing.assert_close(amount, 0.8 * (1 - r / 0.1).clamp(0, 1))
    assert bool((amount.diff() <= 1e-12).all())  # noisier: less sharpening
    torch.testing.assert_close(nsr_detail_amount(grey, 0.8), torch.full_like(r, 0.8))
    for size in [(1, 1), (2, 9)]:  # nothing to measure the noise on: no sharpening
        tiny = torch.full((1, 1, *size), 0.3)
        assert float(nsr_detail_amount(tiny, 0.8, 0.1)) == float(nsr_detail_amount(tiny, 0.8)) == 0
    with pytest.warns(DeprecationWarning, match="jit"):
        scripted = torch.jit.script(nsr_detail_amount)
    torch.testing.assert_close(scripted(grey, 0.8, 0.1), amount)


def test_detail_is_saved_checked_and_keeps_greys_grey(tmp_path, net: GuidedGainEnhancer) -> None:
    assert net.detail == 0.0 and net.detail_nsr is None
    model = _with(net, detail=0.7, detail_nsr=0.2)
    x = torch.rand(2, 3, 40, 40, generator=torch.Generator().manual_seed(14)) * 0.4
    save_pretrained(model, tmp_path / "d.pt")
    loaded = load_pretrained(tmp_path / "d.pt")
    assert (loaded.detail, loaded.detail_nsr) == (0.7, 0.2)
    torch.testing.assert_close(loaded.enhance(x), model.enhance(x))
    for bad in (-0.1, 4.5, float("nan")):
        with pytest.raises(ValueError, match="detail"):
            model.detail = bad
    for bad in (0.0, -1.0, float("inf")):
        with pytest.raises(ValueError, match="detail_nsr"):
            GuidedGainEnhancer(detail=1.0, detail_nsr=bad)
    with pytest.raises(TypeError, match="detail"):
        model.detail = "1"
    grey = (torch.rand(1, 1, 40, 40, generator=torch.Generator().manual_seed(15)) * 0.2).expand(
        1, 3, 40, 40
    )
    y = _with(net, detail=2.0).enhance(grey)
    assert bool((y[:, 0] == y[:, 1]).all() and (y[:, 1] == y[:, 2]).all())


@pytest.mark.parametrize("kernel", [False, True])
def test_contrast_is_the_per_photo_local_contrast_after_the_gain(
    net: GuidedGainEnhancer, kernel: bool, monkeypatch
) -> None:
    """``contrast`` adds the wide band of :func:`sharpen_luma` by ``contrast (1 - r /
    contrast_nsr)`` beside ``detail``; the CPU kernel (``kernel``) and torch agree."""
    from pyisp_contrast.isp import sharpen

    if kernel:
        monkeypatch.setattr(sharpen, "KERNEL_MIN_PIXELS", 0)
    g = torch.Generator().manual_seed(16)
    clean = 0.05 + 0.3 * torch.linspace(0, 1, 48).view(1, 1, 1, 48).expand(1, 3, 48, 48)
    clean = (clean + 0.002 * torch.randn(clean.shape, generator=g)).clamp(0, 1)
    noisy = (clean + 0.05 * torch.randn(clean.shape, generator=g)).clamp(0, 1)
    model = _with(net, detail=0.3, contrast=0.8, contrast_sigma=6.0, contrast_nsr=0.1)
    for x in (clean, noisy):
        r = float(noise_to_signal(x))
        k = 0.8 * min(max(1.0 - r / 0.1, 0.0), 1.0)
        assert float(model.contrast_amount(x.mean(1, keepdim=True))) == pytest.approx(
            k, rel=1e-5, abs=1e-7
        )
        expected = sharpen_luma(net.enhance(x), 0.3, contrast=k, contrast_sigma=6.0)
        torch.testing.assert_close(model.enhance(x), expected, atol=2e-6, rtol=1e-5)
        with torch.no_grad():
            torch.testing.assert_close(model(x).enhanced, expected, atol=2e-6, rtol=1e-5)
    assert float(model.contrast_amount(clean.mean(1, keepdim=True))) > 0.7
    assert float(model.contrast_amount(noisy.mean(1, keepdim=True))) == 0.0
    # contrast alone (no detail): the fine band is left as it is
    alone = _with(net, contrast=0.8, contrast_sigma=6.0)
    expected = sharpen_luma(net.enhance(clean), 0.0, contrast=0.8, contrast_sigma=6.0)
    torch.testing.assert_close(alone.enhance(clean), expected, atol=2e-6, rtol=1e-5)


def test_contrast_is_saved_checked_and_keeps_greys_grey(tmp_path, net: GuidedGainEnhancer) -> None:
    assert (net.contrast, net.contrast_sigma, net.contrast_nsr) == (0.0, 8.0, None)
    model = _with(net, contrast=0.4, contrast_sigma=12.0, contrast_nsr=0.2)
    x = torch.rand(2, 3, 40, 40, generator=torch.Generator().manual_seed(17)) * 0.4
    save_pretrained(model, tmp_path / "c.pt")
    loaded = load_pretrained(tmp_path / "c.pt")
    assert (loaded.contrast, loaded.contrast_sigma, loaded.contrast_nsr) == (0.4, 12.0, 0.2)
    torch.testing.assert_close(loaded.enhance(x), model.enhance(x))
    for bad in (-0.1, 4.5, float("nan")):
        with pytest.raises(ValueError, match="contrast"):
            model.contrast = bad
    for bad in (0.0, 65.0, float("nan")):
        with pytest.raises(ValueError, match="contrast_sigma"):
            model.contrast_sigma = bad
    assert model.contrast_sigma == 12.0  # a refused value leaves the setting as it was
    with pytest.raises(ValueError, match="contrast_nsr"):
        GuidedGainEnhancer(contrast=1.0, contrast_nsr=0.0)
    grey = (torch.rand(1, 1, 40, 40, generator=torch.Generator().manual_seed(18)) * 0.2).expand(
        1, 3, 40, 40
    )
    y = _with(net, contrast=2.0, contrast_sigma=6.0).enhance(grey)
    assert bool((y[:, 0] == y[:, 1]).all() and (y[:, 1] == y[:, 2]).all())


def test_contrast_lift_scales_the_local_contrast_by_the_photos_lift(net) -> None:
    """With ``contrast_lift`` a photo gets ``contrast`` times the mean of ``log2`` of its gain
    map over ``contrast_lift`` (at most 1), each photo its own."""
    g = torch.Generator().manual_seed(19)
    dark = (0.03 + 0.05 * torch.rand(1, 3, 48, 48, generator=g)).clamp(0, 1)
    bright = (0.55 + 0.3 * torch.rand(1, 3, 48, 48, generator=g)).clamp(0, 1)
    x = torch.cat([dark, bright])
    gated = _with(net, contrast=0.8, contrast_sigma=6.0, contrast_lift=10.0)
    with torch.no_grad():
        log_gain = gated.low_res_maps(x)[1]
    stops = log_gain.mean((1, 2, 3)) / math.log(2.0)
    fraction = (stops / 10.0).clamp(0, 1)
    torch.testing.assert_close(lift_fraction(log_gain, 10.0), fraction)
    # (this random network lifts both photos by 7-8.5 stops: two fractions between 0 and 1)
    assert 0.0 < float(fraction.min()) < float(fraction.max()) < 1.0
    expected = sharpen_luma(
        net.enhance(x), torch.zeros(2), contrast=0.8 * fraction, contrast_sigma=6.0
    )
    torch.testing.assert_close(gated.enhance(x), expected, atol=2e-6, rtol=1e-5)
    with torch.no_grad():
        torch.testing.assert_close(gated(x).enhanced, expected, atol=2e-6, rtol=1e-5)
    grey = x.mean(1, keepdim=True)
    torch.testing.assert_close(gated.contrast_amount(grey, log_gain), 0.8 * fraction)
    torch.testing.assert_close(gated.contrast_amount(grey), torch.full((2,), 0.8))
    # a gain of 1 everywhere: no lift, no local contrast; far past the lift: all of it
    flat = torch.zeros(2, 1, 4, 4)
    assert lift_fraction(flat, 2.0).tolist() == [0.0, 0.0]
    assert lift_fraction(flat + 3.0, 2.0).tolist() == [1.0, 1.0]
    with pytest.warns(DeprecationWarning, match="jit"):
        scripted = torch.jit.script(lift_fraction)
    torch.testing.assert_close(scripted(log_gain, 10.0), fraction)


def test_contrast_lift_is_saved_and_checked(tmp_path, net: GuidedGainEnhancer) -> None:
    assert net.contrast_lift is None
    model = _with(net, contrast=0.4, contrast_lift=1.5)
    save_pretrained(model, tmp_path / "l.pt")
    assert load_pretrained(tmp_path / "l.pt").contrast_lift == 1.5
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match=r"contrast_lift.*stops"):
            model.contrast_lift = bad
    model.contrast_lift = None
    assert model.contrast_lift is None


def test_tone_is_the_lift_gated_s_curve_after_everything(net, tmp_path) -> None:
    """``tone`` blends the S-curve of :func:`luma_s_curve` into the finished output by ``tone``
    times the lift fraction (with ``contrast_lift``); saved and checked like the other settings."""
    g = torch.Generator().manual_seed(21)
    x = (0.03 + 0.2 * torch.rand(2, 3, 40, 48, generator=g)).clamp(0, 1)
    base = _with(net, detail=0.3, contrast=0.4, contrast_lift=10.0)
    toned = _with(base, tone=0.6, tone_gain=4.0)
    with torch.no_grad():
        log_gain = toned.low_res_maps(x)[1]
    amount = 0.6 * lift_fraction(log_gain, 10.0)
    torch.testing.assert_close(toned.tone_amount(log_gain), amount)
    expected = luma_s_curve(base.enhance(x), amount, gain=4.0)
    torch.testing.assert_close(toned.enhance(x), expected, atol=2e-6, rtol=1e-5)
    with torch.no_grad():
        torch.testing.assert_close(toned(x).enhanced, expected, atol=2e-6, rtol=1e-5)
    ungated = _with(net, tone=0.6, tone_gain=4.0)
    torch.testing.assert_close(ungated.tone_amount(log_gain), torch.full((2,), 0.6))
    save_pretrained(toned, tmp_path / "t.pt")
    loaded = load_pretrained(tmp_path / "t.pt")
    assert (loaded.tone, loaded.tone_gain) == (0.6, 4.0)
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="tone"):
            toned.tone = bad
    with pytest.raises(ValueError, match="tone_gain"):
        toned.tone_gain = 0.0
    grey = torch.full((1, 3, 16, 16), 0.05)
    y = ungated.enhance(grey)
    assert torch.equal(y[:, 0], y[:, 1]) and torch.equal(y[:, 1], y[:, 2])


def _ordered(net: GuidedGainEnhancer) -> GuidedGainEnhancer:
    model = GuidedGainEnhancer(**{**net.config, "order_preserving": True})
    model.load_state_dict(net.state_dict())
    return model.eval()


def _region_light(x: torch.Tensor, net: GuidedGainEnhancer) -> torch.Tensor:
    """Linear ``max(R, G, B)`` of the block means at the map size (what the projection orders)."""
    with torch.no_grad():
        stats, log_gain, _ = net.low_res_maps(x)
    means = F.interpolate(
        stats[:, 2:5], size=log_gain.shape[-2:], mode="bilinear", antialias=True
    ).amax(1, keepdim=True)
    return srgb_to_linear(means.clamp(0, 1)), log_gain


def test_order_preserving_keeps_the_regions_light_order(net: GuidedGainEnhancer) -> None:
    g = torch.Generator().manual_seed(5)
    # uneven light: a dark corner and a lit one, with texture
    ramp = torch.linspace(0.01, 0.4, 96)
    light = ramp[None, None, :, None] * ramp[None, None, None, :] * 3
    x = (light + 0.05 * torch.rand(1, 3, 96, 96, generator=g)).clamp(0, 1)
    ordered = _ordered(net)
    for model, keeps in ((net, False), (ordered, True)):
        light, log_gain = _region_light(x, model)
        lifted = rational_gain(light, torch.exp(log_gain)).flatten()
        order = torch.argsort(light.flatten())
        rises = bool((lifted[order].diff() >= -1e-6).all())
        assert rises == keeps


def test_order_preserving_is_saved_checked_and_differentiable(tmp_path, net) -> None:
    ordered = _ordered(net)
    save_pretrained(ordered, tmp_path / "o.pt")
    assert load_pretrained(tmp_path / "o.pt").order_preserving is True
    assert net.order_preserving is False  # off unless asked for: earlier weights are unchanged
    with pytest.raises(TypeError, match="order_preserving"):
        GuidedGainEnhancer(order_preserving=1)
    x = torch.rand(1, 3, 40, 40, generator=torch.Generator().manual_seed(2)) * 0.2
    ordered.train()
    ordered(x).enhanced.mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in ordered.parameters())
    # grey in, grey out holds with the projection too
    y = ordered.enhance(torch.full((1, 3, 16, 16), 0.05))
    assert bool((y[0, 0] == y[0, 1]).all() and (y[0, 1] == y[0, 2]).all())


def test_exposure_adds_stops_to_the_gain_map(tmp_path, net: GuidedGainEnhancer) -> None:
    """Known answer: ``exposure=e`` adds ``e ln 2`` to the log gain (clamped to its range), so the
    output follows the rational curve with the gain times ``2^e``; brighter for ``e > 0``."""
    from pyisp_contrast.models.gain_net import LOG_GAIN_MAX, LOG_GAIN_MIN

    x = torch.rand(1, 3, 40, 48, generator=torch.Generator().manual_seed(4)) * 0.2
    with torch.no_grad():
        _, base, _ = net.low_res_maps(x)
    for e in (-1.0, 0.5, 2.0):
        lifted = GuidedGainEnhancer(**{**net.config, "exposure": e})
        lifted.load_state_dict(net.state_dict())
        lifted.eval()
        with torch.no_grad():
            _, log_gain, _ = lifted.low_res_maps(x)
        expected = (base + e * torch.log(torch.tensor(2.0))).clamp(LOG_GAIN_MIN, LOG_GAIN_MAX)
        torch.testing.assert_close(log_gain, expected)
        y, y0 = lifted.enhance(x), net.enhance(x)
        assert (float(y.mean()) > float(y0.mean())) == (e > 0)
    # a flat grey stays exactly grey at any exposure; white stays white
    grey = lifted.enhance(torch.full((1, 3, 24, 24), 0.05))
    assert torch.equal(grey[:, 0], grey[:, 1]) and torch.equal(grey[:, 1], grey[:, 2])
    assert float(lifted.enhance(torch.ones(1, 3, 24, 24)).min()) == pytest.approx(1.0, abs=1e-6)
    # saved and loaded with the weights; checked when set, as an argument or an attribute
    save_pretrained(lifted, tmp_path / "e.pt")
    assert load_pretrained(tmp_path / "e.pt").exposure == 2.0
    for bad in (3.5, float("nan"), "1", True):
        with pytest.raises((ValueError, TypeError), match="exposure"):
            GuidedGainEnhancer(channels=2, exposure=bad)
        with pytest.raises((ValueError, TypeError), match="exposure"):
            lifted.exposure = bad
    assert lifted.exposure == 2.0


@pytest.mark.cuda
def test_pie_physics_on_cuda_matches_cpu(device) -> None:
    """The bundled weights (per-photo denoiser, order projection, sharpening) on the GPU give the
    CPU's result (the CPU takes the numba kernels, the GPU torch)."""
    model = load_pretrained("pie-physics")
    g = torch.Generator().manual_seed(16)
    x = (0.15 * torch.rand(1, 3, 900, 1200, generator=g)).clamp(0, 1)
    ref = model.enhance(x)
    out = model.to(device).enhance(x.to(device)).cpu()
    # cuDNN may run the map network's convolutions in TF32: maps agree to about 1e-3
    torch.testing.assert_close(out, ref, atol=2e-3, rtol=1e-3)
