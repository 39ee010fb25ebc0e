"""Tests for pyisp_contrast.isp.degrade."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pyisp_contrast.isp import curves as C
from pyisp_contrast.isp.degrade import (
    Haze,
    LowLight,
    Rain,
    haze,
    inverse_scatter,
    low_light,
    rain,
    rain_kernel,
    scatter,
)


def _img(b=2, c=3, h=16, w=16, seed=0, dtype=torch.float32):
    return torch.rand(b, c, h, w, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


FUNCS = [low_light, haze, rain]


# ---------------------------------------------------------------------------------- shared behaviour


@pytest.mark.parametrize("fn", FUNCS, ids=lambda f: f.__name__)
def test_deterministic_under_generator_and_in_range(fn, dtype) -> None:
    x = _img(dtype=dtype)
    y1, p1 = fn(x, generator=_gen(1))
    y2, p2 = fn(x, generator=_gen(1))
    y3, _ = fn(x, generator=_gen(2))
    assert y1.shape == x.shape and y1.dtype == dtype
    torch.testing.assert_close(y1, y2)
    for k in p1:
        torch.testing.assert_close(p1[k], p2[k], equal_nan=True)
    assert not torch.equal(y1, y3)
    assert float(y1.min()) >= 0 and float(y1.max()) <= 1


@pytest.mark.parametrize("fn", FUNCS, ids=lambda f: f.__name__)
def test_unbatched_input(fn) -> None:
    x = _img(1)
    y, _ = fn(x[0], generator=_gen())
    yb, _ = fn(x, generator=_gen())
    torch.testing.assert_close(y, yb[0])


@pytest.mark.parametrize("fn", FUNCS, ids=lambda f: f.__name__)
def test_differentiable_wrt_images(fn) -> None:
    x = _img(dtype=torch.float64).mul(0.8).add(0.1).requires_grad_()
    y, _ = fn(x, generator=_gen())
    (g,) = torch.autograd.grad(y.sum(), x)
    assert bool(torch.isfinite(g).all()) and float(g.abs().sum()) > 0


@pytest.mark.parametrize(
    "module,fn,kwargs",
    [
        (LowLight(ev_range=(-3.0, -2.0)), low_light, {"ev_range": (-3.0, -2.0)}),
        (Haze(beta_range=(1.0, 2.0)), haze, {"beta_range": (1.0, 2.0)}),
        (Rain(length=(5.0, 9.0)), rain, {"length": (5.0, 9.0)}),
    ],
)
def test_module_equals_function(module, fn, kwargs) -> None:
    x = _img()
    ym, _ = module(x, generator=_gen(3))
    yf, _ = fn(x, generator=_gen(3), **kwargs)
    torch.testing.assert_close(ym, yf)


@pytest.mark.parametrize("fn", FUNCS, ids=lambda f: f.__name__)
def test_bad_images(fn) -> None:
    with pytest.raises(TypeError, match="floating-point"):
        fn(torch.zeros(1, 3, 4, 4, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        fn(torch.full((1, 3, 4, 4), 2.0))
    with pytest.raises(ValueError, match="NaN"):
        fn(torch.full((1, 3, 4, 4), float("nan")))
    with pytest.raises(ValueError, match="empty"):
        fn(torch.zeros(0, 3, 4, 4))
    with pytest.raises(TypeError, match="generator"):
        fn(torch.zeros(1, 3, 4, 4), generator=1)


# ------------------------------------------------------------------------------------------ low light


def test_low_light_parameter_ranges() -> None:
    x = _img(64, h=4, w=4)
    _, p = low_light(
        x,
        ev_range=(-4.0, -2.0),
        shot_noise=(1e-4, 1e-2),
        read_noise=(1e-3, 1e-2),
        color_cast=(0.8, 1.2),
        generator=_gen(),
    )
    assert p["ev"].shape == (64,) and p["color_cast"].shape == (64, 3)
    for k, (lo, hi) in {
        "ev": (-4, -2),
        "shot_noise": (1e-4, 1e-2),
        "read_noise": (1e-3, 1e-2),
        "color_cast": (0.8, 1.2),
    }.items():
        assert float(p[k].min()) >= lo - 1e-6 and float(p[k].max()) <= hi + 1e-6, k
    # noise levels are drawn log-uniformly: about half below the geometric mean
    below = float((p["shot_noise"] < math.sqrt(1e-4 * 1e-2)).float().mean())
    assert 0.3 < below < 0.7


def test_low_light_without_noise_is_exposure_in_linear_light() -> None:
    x = _img(dtype=torch.float64)
    ev = torch.tensor([-3.0, -2.0], dtype=torch.float64)
    y, _ = low_light(x, ev_range=ev, shot_noise=0.0, read_noise=0.0, generator=_gen())
    torch.testing.assert_close(y, C.exposure(x, ev), atol=1e-6, rtol=1e-6)


def test_low_light_noise_variance_follows_poisson_gaussian_model() -> None:
    """Var of the noise in linear light = shot * signal + read^2."""
    x = torch.full((1, 3, 128, 128), 0.7, dtype=torch.float64)
    shot, read = 4e-3, 5e-3
    y, _ = low_light(x, ev_range=-1.0, shot_noise=shot, read_noise=read, generator=_gen())
    lin = C.srgb_to_linear(y)
    signal = float(C.srgb_to_linear(x)[0, 0, 0, 0]) / 2
    expected = shot * signal + read**2
    assert float(lin.var()) == pytest.approx(expected, rel=0.05)
    assert float(lin.mean()) == pytest.approx(signal, rel=0.01)


def test_low_light_given_cast_per_channel() -> None:
    x = _img(dtype=torch.float64) * 0.5
    cast = torch.tensor([[1.0, 0.5, 0.25], [1.0, 1.0, 1.0]], dtype=torch.float64)
    y, p = low_light(x, ev_range=0.0, shot_noise=0.0, read_noise=0.0, color_cast=cast)
    torch.testing.assert_close(
        C.srgb_to_linear(y), C.srgb_to_linear(x) * cast.view(2, 3, 1, 1), atol=1e-6, rtol=1e-6
    )
    torch.testing.assert_close(p["color_cast"], cast)


def test_low_light_bad_parameters() -> None:
    x = _img()
    with pytest.raises(ValueError, match="ev_range"):
        low_light(x, ev_range=(-1.0, -3.0))
    with pytest.raises(ValueError, match="ev_range"):
        low_light(x, ev_range=(-1.0, -2.0, -3.0))
    with pytest.raises(ValueError, match="shot_noise"):
        low_light(x, shot_noise=-1.0)
    with pytest.raises(ValueError, match="shot_noise"):
        low_light(x, shot_noise=(0.0, 1e-2))
    with pytest.raises(ValueError, match="color_cast"):
        low_light(x, color_cast=torch.ones(3, 3))
    with pytest.raises(ValueError, match="color_cast"):
        low_light(x, color_cast=-torch.ones(2, 3))
    with pytest.raises(ValueError, match="ev_range"):
        low_light(x, ev_range=torch.zeros(5))


def test_low_light_even_lighting_draws_nothing_extra() -> None:
    """Without ``illumination_spread`` the results are those of the seeds before the option."""
    x = _img()
    y, p = low_light(x, generator=_gen(4))
    g = _gen(4)
    ev = -5.0 + 3.0 * torch.rand(2, generator=g)
    assert torch.equal(p["ev"], ev)
    assert torch.equal(p["illumination"], torch.zeros(2, 1, 16, 16))
    assert torch.equal(p["illumination_spread"], torch.zeros(2))
    y0, _ = low_light(x, illumination_spread=0.0, generator=_gen(4))
    assert y0.shape == y.shape


def test_low_light_uneven_lighting_is_a_smooth_exposure_field() -> None:
    """Known answer: no noise, so linear light = clean linear * 2^(ev + field) pixel by pixel."""
    x = _img(2, h=48, w=40, dtype=torch.float64) * 0.9
    y, p = low_light(
        x,
        ev_range=-2.0,
        shot_noise=0.0,
        read_noise=0.0,
        illumination_spread=(0.5, 1.5),
        illumination_cells=4,
        generator=_gen(5),
    )
    field = p["illumination"]
    assert field.shape == (2, 1, 48, 40)
    s = p["illumination_spread"]
    assert float(s.min()) >= 0.5 and float(s.max()) <= 1.5
    expected = (C.srgb_to_linear(x) * torch.exp2(-2.0 + field)).clamp(0, 1)
    torch.testing.assert_close(C.srgb_to_linear(y), expected, atol=1e-6, rtol=1e-6)
    # smooth: neighbouring pixels differ far less than the field varies over the image
    step = (field[..., 1:, :] - field[..., :-1, :]).abs().max()
    assert float(step) < 0.1 * float(field.amax() - field.amin())
    # the corners of the grid are standard normal draws scaled by the spread
    g = _gen(5)
    torch.rand(2, generator=g, dtype=torch.float64)  # the spread; fixed numbers draw nothing
    grid = torch.randn(2, 1, 4, 4, generator=g, dtype=torch.float64)
    torch.testing.assert_close(field[:, 0, 0, 0], s * grid[:, 0, 0, 0])
    torch.testing.assert_close(field[:, 0, -1, -1], s * grid[:, 0, -1, -1])


def test_low_light_metering_for_highlights_only_darkens() -> None:
    """``metering="highlights"``: the same field shifted so each image's brightest point is at ``ev``."""
    x = _img(3, h=40, w=36, dtype=torch.float64) * 0.9
    kw = dict(ev_range=-1.0, shot_noise=0.0, read_noise=0.0, illumination_spread=(0.5, 2.0))
    _, avg = low_light(x, generator=_gen(8), **kw)
    y, hi = low_light(x, generator=_gen(8), metering="highlights", **kw)
    field = hi["illumination"]
    torch.testing.assert_close(
        field, avg["illumination"] - avg["illumination"].amax((-2, -1), True)
    )
    assert torch.equal(field.amax((-2, -1)), torch.zeros(3, 1, dtype=torch.float64))
    assert float(field.amin()) < -0.5  # the shadows really are darker
    expected = (C.srgb_to_linear(x) * torch.exp2(-1.0 + field)).clamp(0, 1)
    torch.testing.assert_close(C.srgb_to_linear(y), expected, atol=1e-6, rtol=1e-6)
    # even lighting is not changed by the option, and the module passes it on
    even, _ = low_light(x, generator=_gen(9), metering="highlights", ev_range=-1.0)
    torch.testing.assert_close(even, low_light(x, generator=_gen(9), ev_range=-1.0)[0])
    ym, _ = LowLight(metering="highlights", **kw)(x, generator=_gen(8))
    torch.testing.assert_close(ym, y)
    assert torch.equal(hi["metering"], torch.ones(3, dtype=torch.float64))
    assert torch.equal(avg["metering"], torch.zeros(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="metering"):
        low_light(x, metering="spot")
    with pytest.raises(ValueError, match="metering"):
        low_light(x, metering=[])


def test_low_light_metering_drawn_per_image() -> None:
    """A sequence of meterings draws one per image; each image's field is then the average one
    (index 0) or shifted to a maximum of 0 (index 1)."""
    x = _img(64, h=12, w=12, dtype=torch.float64)
    kw = dict(illumination_spread=1.0, shot_noise=0.0, read_noise=0.0)
    _, avg = low_light(x, generator=_gen(10), **kw)
    _, mix = low_light(x, generator=_gen(10), metering=["average", "highlights"], **kw)
    m = mix["metering"]
    assert 10 < int(m.sum()) < 54  # both drawn
    shifted = avg["illumination"] - avg["illumination"].amax((-2, -1), True)
    expected = torch.where(m.view(-1, 1, 1, 1) == 1, shifted, avg["illumination"])
    torch.testing.assert_close(mix["illumination"], expected)


def test_low_light_uneven_lighting_spread_scales_the_field() -> None:
    x = _img(64, h=32, w=32)
    _, p1 = low_light(x, illumination_spread=0.5, generator=_gen(6))
    _, p2 = low_light(x, illumination_spread=1.0, generator=_gen(6))
    torch.testing.assert_close(p2["illumination"], 2 * p1["illumination"])
    # about a standard normal per grid node: the field's corner values have std near the spread
    assert float(p2["illumination"][:, 0, 0, 0].std()) == pytest.approx(1.0, abs=0.3)


def test_low_light_uneven_lighting_module_and_errors() -> None:
    x = _img()
    ym, _ = LowLight(illumination_spread=1.0, illumination_cells=5)(x, generator=_gen(7))
    yf, _ = low_light(x, illumination_spread=1.0, illumination_cells=5, generator=_gen(7))
    torch.testing.assert_close(ym, yf)
    with pytest.raises(ValueError, match="illumination_cells"):
        low_light(x, illumination_spread=1.0, illumination_cells=1)
    with pytest.raises(ValueError, match="illumination_cells"):
        low_light(x, illumination_cells=2.5)
    with pytest.raises(ValueError, match="illumination_spread"):
        low_light(x, illumination_spread=-1.0)
    with pytest.raises(ValueError, match="illumination_spread"):
        low_light(x, illumination_spread=(1.0, 0.5))


# ------------------------------------------------------------------------------------------------ haze


def test_haze_t_one_is_identity() -> None:
    x = _img()
    y, p = haze(x, transmission=1.0, generator=_gen())
    torch.testing.assert_close(y, x)
    assert bool(p["beta"].isnan().all())
    y, _ = haze(x, beta_range=0.0, generator=_gen())  # beta = 0: t = 1 everywhere
    torch.testing.assert_close(y, x)


def test_haze_matches_scattering_model() -> None:
    x = _img(dtype=torch.float64)
    y, p = haze(x, generator=_gen(4))
    t, a = p["transmission"], p["airlight"]
    torch.testing.assert_close(y, x * t + a.view(2, 3, 1, 1) * (1 - t))
    torch.testing.assert_close(t, torch.exp(-p["beta"].view(2, 1, 1, 1) * p["depth"]))
    assert float(p["depth"].min()) == pytest.approx(0.0, abs=1e-12)
    assert float(p["depth"].max()) == pytest.approx(1.0)
    # grey-ish airlight within the drawn level +- the tint
    assert float((a - a.mean(1, keepdim=True)).abs().max()) <= 0.06 + 1e-9
    assert float(a.min()) >= 0.7 - 0.03 - 1e-9


def test_haze_given_depth_and_airlight() -> None:
    x = _img(dtype=torch.float64)
    depth = torch.linspace(0, 1, 16, dtype=torch.float64).view(1, 1, 1, 16).expand(2, 1, 16, 16)
    a = torch.tensor([[0.9, 0.9, 0.95], [0.8, 0.8, 0.8]], dtype=torch.float64)
    y, p = haze(x, airlight=a, beta_range=1.5, depth=depth)
    torch.testing.assert_close(p["transmission"], torch.exp(-1.5 * depth))
    torch.testing.assert_close(y, scatter(x, p["transmission"], a))
    with pytest.raises(ValueError, match="depth"):
        haze(x, depth=torch.rand(2, 1, 8, 8))
    with pytest.raises(ValueError, match="airlight"):
        haze(x, airlight=torch.rand(3, 3))
    with pytest.raises(ValueError, match="beta_range"):
        haze(x, beta_range=-1.0)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), t_lo=st.floats(0.05, 1.0))
def test_inverse_scatter_inverts_scatter(seed: int, t_lo: float) -> None:
    g = _gen(seed)
    j = torch.rand(2, 3, 6, 6, generator=g, dtype=torch.float64)
    t = t_lo + (1 - t_lo) * torch.rand(2, 1, 6, 6, generator=g, dtype=torch.float64)
    a = 0.5 + 0.5 * torch.rand(2, 3, generator=g, dtype=torch.float64)
    torch.testing.assert_close(inverse_scatter(scatter(j, t, a), t, a, t_min=0.05), j)


def test_scatter_known_values_and_parameter_forms() -> None:
    j = torch.full((2, 3, 2, 2), 0.2, dtype=torch.float64)
    # float t and A, (B,) t and A, (B, C) A, (B, 1, H, W) t
    assert float(scatter(j, 0.5, 1.0)[0, 0, 0, 0]) == pytest.approx(0.6)
    out = scatter(j, torch.tensor([1.0, 0.0]), torch.tensor([0.5, 0.9]))
    assert out[0].unique().tolist() == pytest.approx([0.2]) and out[
        1
    ].unique().tolist() == pytest.approx([0.9])
    out = scatter(
        j, torch.full((2, 1, 2, 2), 0.5), torch.tensor([[1.0, 0.0, 0.5], [0.0, 0.0, 0.0]])
    )
    assert out[0, :, 0, 0].tolist() == pytest.approx([0.6, 0.1, 0.35])


def test_inverse_scatter_floors_transmission() -> None:
    i = torch.full((1, 3, 2, 2), 0.9, dtype=torch.float64)
    out = inverse_scatter(i, 1e-4, 0.8, t_min=0.2)
    torch.testing.assert_close(out, (i - 0.8) / 0.2 + 0.8)


def test_gradcheck_scatter_and_inverse() -> None:
    g = _gen(5)
    j = (0.1 + 0.8 * torch.rand(1, 3, 3, 3, generator=g, dtype=torch.float64)).requires_grad_()
    t = (0.3 + 0.6 * torch.rand(1, 1, 3, 3, generator=g, dtype=torch.float64)).requires_grad_()
    a = (0.7 + 0.2 * torch.rand(1, 3, generator=g, dtype=torch.float64)).requires_grad_()
    assert torch.autograd.gradcheck(scatter, (j, t, a))
    i = scatter(j, t, a).detach().requires_grad_()
    assert torch.autograd.gradcheck(
        lambda i_, t_, a_: inverse_scatter(i_, t_, a_, t_min=0.05), (i, t, a)
    )


def test_scatter_bad_parameters() -> None:
    j = _img()
    with pytest.raises(ValueError, match="transmission"):
        scatter(j, 1.5, 0.8)
    with pytest.raises(ValueError, match="airlight"):
        scatter(j, 0.5, -0.1)
    with pytest.raises(ValueError, match="transmission"):
        scatter(j, torch.rand(2, 1, 8, 8), 0.8)
    with pytest.raises(ValueError, match="t_min"):
        inverse_scatter(j, 0.5, 0.8, t_min=0.0)


# ------------------------------------------------------------------------------------------------ rain


def test_rain_kernel_is_a_normalised_line_along_the_angle() -> None:
    k = rain_kernel(torch.tensor([9.0, 9.0, 9.0]), torch.tensor([0.0, 90.0, 45.0]), 11)
    torch.testing.assert_close(k.flatten(1).sum(1), torch.ones(3))
    assert float(k[0, 0, :, 5].sum()) > 0.9  # vertical
    assert float(k[1, 0, 5, :].sum()) > 0.9  # horizontal
    diag = torch.stack([k[2, 0, i, i] for i in range(11)]).sum()
    anti = torch.stack([k[2, 0, i, 10 - i] for i in range(11)]).sum()
    assert float(diag) > 0.5 > float(anti)  # +45 degrees runs down and to the right
    torch.testing.assert_close(k[0], k[0].flip(-1))  # symmetric


def test_rain_layer_composite_and_recovery() -> None:
    x = _img(dtype=torch.float64)
    y, p = rain(x, density=0.02, length=7.0, angle=10.0, intensity=0.8, generator=_gen())
    layer = p["layer"]
    assert layer.shape == (2, 1, 16, 16) and float(layer.max()) <= 0.8 + 1e-12
    torch.testing.assert_close(y, 1 - (1 - x) * (1 - layer))
    assert bool((y >= x - 1e-12).all())  # rain only brightens
    rec = 1 - (1 - y) / (1 - layer)
    torch.testing.assert_close(rec, x)


def test_rain_density_controls_coverage() -> None:
    x = torch.zeros(1, 3, 64, 64)
    _, sparse = rain(x, density=0.001, length=9.0, generator=_gen())
    _, dense = rain(x, density=0.05, length=9.0, generator=_gen())
    assert float((sparse["layer"] > 0).float().mean()) < float((dense["layer"] > 0).float().mean())
    _, none = rain(x, density=0.0, generator=_gen())
    assert float(none["layer"].abs().max()) == 0.0


def test_rain_parameter_ranges_and_errors() -> None:
    x = _img(32, h=8, w=8)
    _, p = rain(
        x,
        density=(0.01, 0.02),
        length=(3.0, 5.0),
        angle=(-10.0, 10.0),
        intensity=(0.2, 0.4),
        generator=_gen(),
    )
    for k, (lo, hi) in {
        "density": (0.01, 0.02),
        "length": (3, 5),
        "angle": (-10, 10),
        "intensity": (0.2, 0.4),
    }.items():
        assert p[k].shape == (32,) and float(p[k].min()) >= lo and float(p[k].max()) <= hi, k
    with pytest.raises(ValueError, match="density"):
        rain(x, density=1.5)
    with pytest.raises(ValueError, match="length"):
        rain(x, length=0.5)
    with pytest.raises(ValueError, match="angle"):
        rain(x, angle=120.0)


# ------------------------------------------------------------------------ tone curves, JPEG, ranges


def test_low_light_tone_curves_encode_the_same_linear_light() -> None:
    x = _img(3, dtype=torch.float64)
    common = dict(ev_range=-2.0, shot_noise=0.0, read_noise=0.0)
    srgb, p = low_light(x, tone="srgb", generator=_gen(), **common)
    gamma_enc, _ = low_light(x, tone="gamma", generator=_gen(), **common)
    s_curve, _ = low_light(x, tone="s-curve", generator=_gen(), **common)
    lin = C.srgb_to_linear(srgb)
    torch.testing.assert_close(gamma_enc, lin.clamp_min(1e-8) ** (1 / 2.2))
    torch.testing.assert_close(s_curve, 0.7 * srgb + 0.3 * srgb**2 * (3 - 2 * srgb))
    assert p["tone"].tolist() == [0.0, 0.0, 0.0]
    # the S-curve is monotone and keeps 0 and 1
    ramp = torch.linspace(0, 1, 101, dtype=torch.float64)
    s = 0.7 * ramp + 0.3 * ramp**2 * (3 - 2 * ramp)
    assert bool((s.diff() > 0).all()) and s[0] == 0 and s[-1] == 1


def test_low_light_draws_one_tone_per_image_only_when_given_a_choice() -> None:
    x = _img(64, h=4, w=4)
    _, p = low_light(x, tone=["srgb", "gamma", "s-curve"], generator=_gen())
    assert set(p["tone"].tolist()) == {0.0, 1.0, 2.0}
    # a single tone draws nothing: the default seeds are unchanged
    a, _ = low_light(x, tone=["gamma"], generator=_gen(1))
    b, _ = low_light(x, tone="gamma", generator=_gen(1))
    assert torch.equal(a, b)


def test_low_light_jpeg_is_a_real_codec_with_straight_through_gradient() -> None:
    x = _img(2, h=32, w=32).requires_grad_(True)
    y, p = low_light(x, ev_range=-1.0, jpeg_quality=(30.0, 40.0), generator=_gen())
    assert float(p["jpeg_quality"].min()) >= 30 and float(p["jpeg_quality"].max()) <= 40
    # decoded 8-bit values: every value is a multiple of 1/255
    assert torch.allclose(y.detach() * 255, (y.detach() * 255).round(), atol=1e-4)
    y.sum().backward()
    assert (
        x.grad is not None and bool(torch.isfinite(x.grad).all()) and float(x.grad.abs().sum()) > 0
    )
    _, p0 = low_light(x.detach(), generator=_gen())
    assert p0["jpeg_quality"].tolist() == [0.0, 0.0]


def test_low_light_out_of_range_synthesis_parameters_are_errors() -> None:
    x = _img()
    with pytest.raises(ValueError, match="tone"):
        low_light(x, tone="film")
    with pytest.raises(ValueError, match="tone"):
        low_light(x, tone=[])
    with pytest.raises(ValueError, match="jpeg_quality"):
        low_light(x, jpeg_quality=(1.0, 50.0))
    with pytest.raises(ValueError, match="ev_range"):
        low_light(x, ev_range=(-40.0, 0.0))


def test_low_light_ev_mixture_of_ranges() -> None:
    x = _img(400, h=2, w=2)
    _, p = low_light(x, ev_range=[[-6.0, -5.0], [-6.0, -5.0], [-0.5, 0.0]], generator=_gen())
    ev = p["ev"]
    assert bool(((ev >= -6) & (ev <= -5) | (ev >= -0.5) & (ev <= 0)).all())
    share_dark = float((ev <= -5).float().mean())
    assert 0.58 < share_dark < 0.75  # two of three ranges
    with pytest.raises(ValueError, match="ev_range"):
        low_light(x, ev_range=[[-1.0, -3.0], [-1.0, 0.0]])
