"""Tests for pyisp_contrast.isp.curves."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import kornia
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage.exposure import adjust_sigmoid

from pyisp_contrast.isp import curves as C

FAST = settings(max_examples=25, deadline=None)


@dataclass
class Spec:
    """One curve: how to call it, a valid parameter range for property tests, its module twin."""

    name: str
    fn: Any
    module: Any
    # parameter name -> (low, high) sampled uniformly for property tests
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    identity: dict[str, float] | None = None
    keeps_zero: bool = True
    keeps_one: bool = False
    inverse: Any = None
    # parameter ranges where gradcheck runs away from clipping and kinks
    grad_ranges: dict[str, tuple[float, float]] | None = None


SPECS = [
    Spec(
        "gamma",
        C.gamma,
        C.Gamma,
        {"gamma": (0.05, 8.0), "gain": (0.2, 3.0)},
        {"gamma": 1.0, "gain": 1.0},
        True,
        False,
        C.inverse_gamma,
        {"gamma": (0.3, 3.0), "gain": (0.5, 0.9)},
    ),
    Spec("srgb_to_linear", C.srgb_to_linear, C.SrgbToLinear, keeps_one=True),
    Spec("linear_to_srgb", C.linear_to_srgb, C.LinearToSrgb, keeps_one=True),
    Spec(
        "exposure",
        C.exposure,
        C.Exposure,
        {"ev": (-6.0, 3.0)},
        {"ev": 0.0},
        inverse=C.inverse_exposure,
        grad_ranges={"ev": (-3.0, -0.5)},
    ),
    Spec(
        "reinhard",
        C.reinhard,
        C.Reinhard,
        {"white": (0.3, 5.0)},
        {"white": 1.0},
        inverse=C.inverse_reinhard,
        grad_ranges={"white": (1.2, 4.0)},
    ),
    Spec(
        "hable",
        C.hable,
        C.Hable,
        {"exposure_bias": (0.1, 20.0)},
        None,
        inverse=C.inverse_hable,
        grad_ranges={"exposure_bias": (0.5, 5.0)},
    ),
    Spec(
        "aces",
        C.aces,
        C.Aces,
        {"exposure_scale": (0.1, 8.0)},
        None,
        inverse=C.inverse_aces,
        grad_ranges={"exposure_scale": (0.3, 1.5)},
    ),
    Spec(
        "log_curve",
        C.log_curve,
        C.LogCurve,
        {"a": (1.0, 80.0)},
        None,
        inverse=C.inverse_log_curve,
        grad_ranges={"a": (5.0, 40.0)},
    ),
    Spec(
        "le_curve",
        C.le_curve,
        C.LeCurve,
        {"alpha_maps": (-1.0, 1.0)},
        {"alpha_maps": 0.0},
        keeps_one=True,
        grad_ranges={"alpha_maps": (-0.9, 0.9)},
    ),
    Spec(
        "sigmoid_contrast",
        C.sigmoid_contrast,
        C.SigmoidContrast,
        {"gain": (0.0, 30.0), "cutoff": (0.0, 1.0)},
        {"gain": 0.0},
        keeps_one=True,
        inverse=C.inverse_sigmoid_contrast,
        grad_ranges={"gain": (1.0, 10.0), "cutoff": (0.3, 0.7)},
    ),
    Spec(
        "rational_gain",
        C.rational_gain,
        C.RationalGain,
        {"gain": (0.05, 200.0)},
        {"gain": 1.0},
        keeps_one=True,
        grad_ranges={"gain": (0.2, 20.0)},
    ),
]
IDS = [s.name for s in SPECS]

MODULE_ARGS = {
    "gamma": lambda p: {"gamma": p["gamma"], "gain": p["gain"]},
    "le_curve": lambda p: {"alpha": p["alpha_maps"], "iterations": 1},
}


def _draw(spec: Spec, rng: np.random.Generator, ranges=None) -> dict[str, float]:
    ranges = spec.ranges if ranges is None else ranges
    return {k: float(rng.uniform(lo, hi)) for k, (lo, hi) in ranges.items()}


RAMP = torch.linspace(0, 1, 513, dtype=torch.float64).reshape(1, 1, 1, -1)


# -------------------------------------------------------------------------------------- smoke/shapes


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_shapes_batched_unbatched_grey(spec: Spec, device, dtype) -> None:
    params = _draw(spec, np.random.default_rng(0))
    x = torch.rand(2, 3, 5, 4, device=device, dtype=dtype)
    y = spec.fn(x, **params)
    assert y.shape == x.shape and y.dtype == dtype and y.device.type == device.type
    torch.testing.assert_close(spec.fn(x[0], **params), y[0])
    assert spec.fn(x[:, :1], **params).shape == (2, 1, 5, 4)


@pytest.mark.parametrize(
    "spec", [s for s in SPECS if s.ranges], ids=[s.name for s in SPECS if s.ranges]
)
def test_per_image_parameters_match_separate_calls(spec: Spec) -> None:
    rng = np.random.default_rng(1)
    draws = [_draw(spec, rng) for _ in range(3)]
    x = torch.rand(3, 3, 4, 4, dtype=torch.float64)
    batched = {k: torch.tensor([d[k] for d in draws]) for k in spec.ranges}
    y = spec.fn(x, **batched)
    for i, d in enumerate(draws):
        torch.testing.assert_close(y[i : i + 1], spec.fn(x[i : i + 1], **d))


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_module_equals_function(spec: Spec) -> None:
    params = _draw(spec, np.random.default_rng(2))
    x = torch.rand(2, 3, 4, 4)
    margs = MODULE_ARGS.get(spec.name, lambda p: p)(params)
    m = spec.module(**margs)
    assert isinstance(m, torch.nn.Module)
    torch.testing.assert_close(m(x), spec.fn(x, **params))
    repr(m)


# ------------------------------------------------------------------------------- property tests


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
@FAST
@given(seed=st.integers(0, 2**32 - 1))
def test_range_and_monotone(spec: Spec, seed: int) -> None:
    params = _draw(spec, np.random.default_rng(seed))
    y = spec.fn(RAMP, **params)
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0
    assert float(y.diff(dim=-1).min()) >= -1e-12, params


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
@FAST
@given(seed=st.integers(0, 2**32 - 1))
def test_endpoints(spec: Spec, seed: int) -> None:
    params = _draw(spec, np.random.default_rng(seed))
    y = spec.fn(torch.tensor([[[[0.0, 1.0]]]], dtype=torch.float64), **params).flatten()
    if spec.keeps_zero:
        assert float(y[0]) == 0.0
    if spec.keeps_one:
        assert float(y[1]) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize(
    "spec", [s for s in SPECS if s.identity], ids=[s.name for s in SPECS if s.identity]
)
def test_identity_parameters(spec: Spec) -> None:
    x = torch.rand(2, 3, 8, 8, dtype=torch.float64)
    torch.testing.assert_close(spec.fn(x, **spec.identity), x)


INV = [s for s in SPECS if s.inverse is not None]


@pytest.mark.parametrize("spec", INV, ids=[s.name for s in INV])
@FAST
@given(
    seed=st.integers(0, 2**32 - 1),
    xs=st.lists(st.floats(0.1, 0.95), min_size=1, max_size=16),
)
def test_inverse_inverts(spec: Spec, seed: int, xs: list[float]) -> None:
    params = _draw(spec, np.random.default_rng(seed), spec.grad_ranges)
    x = torch.tensor(xs, dtype=torch.float64).reshape(1, 1, 1, -1)
    y = spec.fn(x, **params)
    unclipped = (y > 0) & (y < 1)
    back = spec.inverse(y, **params)
    torch.testing.assert_close(back[unclipped], x[unclipped], atol=1e-7, rtol=1e-6)


def test_srgb_round_trip_both_ways() -> None:
    x = RAMP
    torch.testing.assert_close(C.linear_to_srgb(C.srgb_to_linear(x)), x)
    torch.testing.assert_close(C.srgb_to_linear(C.linear_to_srgb(x)), x)


def test_le_curve_keeps_range_for_any_maps() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 6, 6, generator=g, dtype=torch.float64)
    maps = torch.rand(2, 24, 6, 6, generator=g, dtype=torch.float64) * 2 - 1
    y = C.le_curve(x, maps)
    assert float(y.min()) >= 0 and float(y.max()) <= 1


# -------------------------------------------------------------------------------------- known values


def test_gamma_known_values_and_gain_clips() -> None:
    x = torch.tensor([[[[0.0, 0.25, 0.5, 1.0]]]])
    torch.testing.assert_close(C.gamma(x, 2.0), x**2)
    torch.testing.assert_close(C.gamma(x, 0.5, gain=1.5), (1.5 * x**0.5).clamp(0, 1))
    # matches kornia where kornia is finite
    torch.testing.assert_close(C.gamma(x, 0.4, 0.8), kornia.enhance.adjust_gamma(x, 0.4, 0.8))


def test_srgb_known_values() -> None:
    x = torch.tensor([[[[0.0, 0.04045, 0.5, 1.0]]]], dtype=torch.float64)
    expected = torch.tensor(
        [0.0, 0.04045 / 12.92, ((0.5 + 0.055) / 1.055) ** 2.4, 1.0], dtype=torch.float64
    )
    torch.testing.assert_close(C.srgb_to_linear(x).flatten(), expected)
    # 18 % grey in linear light is sRGB ~0.4614 (a standard reference value)
    assert float(C.linear_to_srgb(torch.full((1, 1, 1, 1), 0.18))) == pytest.approx(
        0.46135, abs=1e-4
    )


def test_exposure_is_linear_light_scaling() -> None:
    x = torch.rand(1, 3, 4, 4, dtype=torch.float64) * 0.5
    lin = C.srgb_to_linear(x)
    torch.testing.assert_close(C.srgb_to_linear(C.exposure(x, -2.0)), lin / 4)
    # one stop up doubles linear light; saturated pixels clip
    assert float(C.exposure(torch.ones(1, 1, 1, 1), 1.0)) == 1.0


def test_reinhard_known_values() -> None:
    x = torch.tensor([[[[0.0, 0.5, 1.0]]]], dtype=torch.float64)
    torch.testing.assert_close(
        C.reinhard(x).flatten(), torch.tensor([0.0, 1 / 3, 0.5], dtype=torch.float64)
    )
    w = 2.0
    ref = x * (1 + x / w**2) / (1 + x)
    torch.testing.assert_close(C.reinhard(x, white=w), ref)
    assert float(C.reinhard(torch.full((1, 1, 1, 1), 0.5), white=0.5)) == pytest.approx(1.0)


def test_hable_matches_formula() -> None:
    def f(v: float) -> float:
        a, b, c, d, e, ff = 0.15, 0.5, 0.1, 0.2, 0.02, 0.3
        return (v * (a * v + c * b) + d * e) / (v * (a * v + b) + d * ff) - e / ff

    for v in (0.1, 0.5, 0.9):
        got = float(C.hable(torch.full((1, 1, 1, 1), v, dtype=torch.float64), 2.0))
        assert got == pytest.approx(f(2 * v) / f(11.2), rel=1e-12)


def test_aces_matches_formula() -> None:
    for v in (0.1, 0.5, 0.9):
        got = float(C.aces(torch.full((1, 1, 1, 1), v, dtype=torch.float64), 1.5))
        u = 1.5 * v
        assert got == pytest.approx(
            min(u * (2.51 * u + 0.03) / (u * (2.43 * u + 0.59) + 0.14), 1.0)
        )


def test_log_curve_matches_pie_8bit_formula() -> None:
    v8 = np.arange(256, dtype=np.float64)
    for a in (10.0, 40.0, 60.0):
        ref = np.clip(a * np.log(1 + v8), 0, 255) / 255
        got = C.log_curve(torch.from_numpy(v8 / 255).reshape(1, 1, 1, -1), a).flatten().numpy()
        np.testing.assert_allclose(got, ref, atol=1e-12)


def test_le_curve_matches_loop_of_formula() -> None:
    g = torch.Generator().manual_seed(3)
    x = torch.rand(2, 3, 4, 5, generator=g, dtype=torch.float64)
    maps = torch.rand(2, 24, 4, 5, generator=g, dtype=torch.float64) * 2 - 1
    ref = x.clone()
    for b in range(2):
        for i in range(8):
            for c in range(3):
                r = maps[b, 3 * i + c]
                ref[b, c] = ref[b, c] + r * (ref[b, c] ** 2 - ref[b, c])
    torch.testing.assert_close(C.le_curve(x, maps), ref)
    torch.testing.assert_close(C.le_curve(x, maps, iterations=8), ref)
    # unbatched maps with unbatched image
    torch.testing.assert_close(C.le_curve(x[0], maps[0]), ref[0])


def test_le_curve_scalar_iterations() -> None:
    x = torch.rand(2, 3, 4, 4, dtype=torch.float64)
    r = torch.tensor([-0.5, 0.3], dtype=torch.float64)
    ref = x.clone()
    for _ in range(4):
        ref = ref + r.view(-1, 1, 1, 1) * (ref**2 - ref)
    torch.testing.assert_close(C.le_curve(x, r, iterations=4), ref)


def test_sigmoid_matches_skimage_after_normalisation() -> None:
    v = np.linspace(0, 1, 101)
    gain, cutoff = 8.0, 0.4
    raw = adjust_sigmoid(v, cutoff=cutoff, gain=gain)
    lo, hi = adjust_sigmoid(np.array([0.0, 1.0]), cutoff=cutoff, gain=gain)
    ref = (raw - lo) / (hi - lo)
    got = (
        C.sigmoid_contrast(torch.from_numpy(v).reshape(1, 1, 1, -1), gain, cutoff).flatten().numpy()
    )
    np.testing.assert_allclose(got, ref, atol=1e-12)


def test_sigmoid_small_gain_tends_to_identity() -> None:
    x = RAMP
    torch.testing.assert_close(C.sigmoid_contrast(x, 1e-3), x, atol=1e-6, rtol=0)


@pytest.mark.parametrize(
    "curve,params",
    [(C.gamma, {"gamma": 6.0}), (C.gamma, {"gamma": 0.1}), (C.log_curve, {"a": 40.0})],
)
def test_value_curve_matches_kornia_hsv_round_trip(curve, params) -> None:
    g = torch.Generator().manual_seed(4)
    x = torch.rand(2, 3, 8, 8, generator=g, dtype=torch.float64)
    x[0, :, 0, 0] = 0.0  # black
    x[0, :, 0, 1] = 0.3  # grey
    hsv = kornia.color.rgb_to_hsv(x)
    v = curve(hsv[:, 2:3], **params)
    ref = kornia.color.hsv_to_rgb(torch.cat([hsv[:, :2], v], 1))
    torch.testing.assert_close(C.value_curve(x, curve, **params), ref, atol=1e-6, rtol=1e-6)


def test_value_curve_keeps_hue_and_saturation() -> None:
    x = torch.rand(1, 3, 8, 8, dtype=torch.float64) * 0.9 + 0.05
    y = C.value_curve(x, C.gamma, gamma=0.5)
    hx, hy = kornia.color.rgb_to_hsv(x), kornia.color.rgb_to_hsv(y)
    torch.testing.assert_close(hy[:, :2], hx[:, :2], atol=1e-6, rtol=1e-6)


# ------------------------------------------------------------------------------------------ gradients


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_gradcheck_image_and_parameters(spec: Spec) -> None:
    rng = np.random.default_rng(5)
    ranges = spec.grad_ranges or spec.ranges
    x = torch.tensor(
        rng.uniform(0.06, 0.94, size=(2, 1, 2, 3)), dtype=torch.float64, requires_grad=True
    )
    params = {
        k: torch.tensor(rng.uniform(lo, hi, size=2), dtype=torch.float64, requires_grad=True)
        for k, (lo, hi) in ranges.items()
    }
    names = list(params)

    def f(img, *ps):
        return spec.fn(img, **dict(zip(names, ps)))

    assert torch.autograd.gradcheck(f, (x, *params.values()))


def test_gradcheck_le_curve_maps() -> None:
    x = torch.rand(1, 3, 2, 2, dtype=torch.float64, requires_grad=True)
    maps = (torch.rand(1, 6, 2, 2, dtype=torch.float64) * 1.6 - 0.8).requires_grad_()
    assert torch.autograd.gradcheck(C.le_curve, (x, maps))


def test_gradcheck_value_curve() -> None:
    x = torch.tensor(
        [[[[0.8, 0.2]], [[0.4, 0.6]], [[0.1, 0.3]]]], dtype=torch.float64, requires_grad=True
    )
    k = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda im, g: C.value_curve(im, C.gamma, gamma=g), (x, k))


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
@pytest.mark.parametrize("which", ["low", "high"])
def test_gradients_finite_at_exactly_0_and_1(spec: Spec, which: str) -> None:
    """Including the classic trap: gamma < 1 at x = 0 (kornia gives inf there)."""
    ranges = spec.ranges
    params = {
        k: torch.tensor([lo if which == "low" else hi], dtype=torch.float64, requires_grad=True)
        for k, (lo, hi) in ranges.items()
    }
    x = torch.tensor([[[[0.0, 1.0, 0.5]]]], dtype=torch.float64, requires_grad=True)
    y = spec.fn(x, **params)
    grads = torch.autograd.grad(y.sum(), [x, *params.values()], allow_unused=True)
    for gr in grads:
        assert gr is None or bool(torch.isfinite(gr).all()), grads


@pytest.mark.parametrize(
    "fn,params",
    [
        (C.log_curve, {"a": 10.0}),
        (C.le_curve, {"alpha_maps": 0.5}),
        (C.srgb_to_linear, {}),
        (C.reinhard, {}),
    ],
)
def test_gradcheck_at_endpoints_where_smooth(fn, params) -> None:
    x = torch.tensor([[[[0.0, 1.0]]]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda im: fn(im, **params), (x,), eps=1e-7, atol=1e-4)


def test_gamma_gradient_finite_where_kornia_is_not() -> None:
    x = torch.zeros(1, 1, 1, 1, requires_grad=True)
    kornia.enhance.adjust_gamma(x, 0.5).sum().backward()
    assert not bool(torch.isfinite(x.grad).all())  # the trap exists
    x.grad = None
    C.gamma(x, 0.5).sum().backward()
    assert bool(torch.isfinite(x.grad).all())


def test_safe_pow_is_continuous_at_eps() -> None:
    eps = C.POW_EPS
    x = torch.tensor([eps * (1 - 1e-9), eps, eps * (1 + 1e-9)], dtype=torch.float64)
    y = C.safe_pow(x, 0.3)
    assert float((y.diff()).abs().max()) < 1e-10


# ---------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_bad_images(spec: Spec) -> None:
    params = _draw(spec, np.random.default_rng(6))
    with pytest.raises(TypeError, match="images"):
        spec.fn([[0.5]], **params)
    with pytest.raises(TypeError, match="floating-point"):
        spec.fn(torch.zeros(1, 3, 2, 2, dtype=torch.uint8), **params)
    with pytest.raises(ValueError, match="shape"):
        spec.fn(torch.zeros(2, 2), **params)
    with pytest.raises(ValueError, match="channels"):
        spec.fn(torch.zeros(1, 2, 2, 2), **params)
    with pytest.raises(ValueError, match="NaN"):
        spec.fn(torch.full((1, 3, 2, 2), float("nan")), **params)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        spec.fn(torch.full((1, 3, 2, 2), 1.5), **params)
    with pytest.raises(ValueError, match="empty"):
        spec.fn(torch.zeros(0, 3, 2, 2), **params)


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda x: C.gamma(x, 0.0), ValueError, "gamma"),
        (lambda x: C.gamma(x, -1.0), ValueError, "gamma"),
        (lambda x: C.gamma(x, 1.0, gain=-0.1), ValueError, "gain"),
        (lambda x: C.gamma(x, torch.ones(3)), ValueError, "gamma"),
        (lambda x: C.gamma(x, "2"), TypeError, "gamma"),
        (lambda x: C.gamma(x, float("nan")), ValueError, "gamma"),
        (lambda x: C.inverse_gamma(x, 2.0, gain=0.0), ValueError, "gain"),
        (lambda x: C.reinhard(x, white=0.0), ValueError, "white"),
        (lambda x: C.hable(x, 0.0), ValueError, "exposure_bias"),
        (lambda x: C.aces(x, -1.0), ValueError, "exposure_scale"),
        (lambda x: C.log_curve(x, 0.0), ValueError, "`a`"),
        (lambda x: C.le_curve(x, 1.5), ValueError, "alpha_maps"),
        (lambda x: C.le_curve(x, torch.zeros(2, 5, 4, 4)), ValueError, "multiple"),
        (lambda x: C.le_curve(x, torch.zeros(2, 6, 3, 4)), ValueError, "alpha_maps"),
        (lambda x: C.le_curve(x, torch.full((2, 6, 4, 4), 2.0)), ValueError, r"\[-1, 1\]"),
        (lambda x: C.le_curve(x, torch.zeros(2, 6, 4, 4), iterations=3), ValueError, "iterations"),
        (lambda x: C.le_curve(x, 0.5, iterations=0), ValueError, "iterations"),
        (lambda x: C.le_curve(x, 0.5, iterations=2.0), TypeError, "iterations"),
        (
            lambda x: C.le_curve(x, torch.zeros(2, 6, 4, 4, dtype=torch.long)),
            TypeError,
            "alpha_maps",
        ),
        (lambda x: C.sigmoid_contrast(x, -1.0), ValueError, "gain"),
        (lambda x: C.sigmoid_contrast(x, 5.0, cutoff=1.5), ValueError, "cutoff"),
        (lambda x: C.value_curve(x[:, :1], C.gamma, gamma=2.0), ValueError, "3 channels"),
        (lambda x: C.value_curve(x, lambda v: v.mean()), ValueError, "curve"),
        (lambda x: C.ValueCurve("gamma"), TypeError, "callable"),
    ],
)
def test_bad_parameters(call, exc, match) -> None:
    with pytest.raises(exc, match=match):
        call(torch.rand(2, 3, 4, 4))


def test_value_checks_off_skips_parameter_range_check() -> None:
    from pyisp_contrast.core.checks import value_checks

    with value_checks(False):
        y = C.le_curve(torch.rand(1, 3, 2, 2), 0.5)
    assert y.shape == (1, 3, 2, 2)


def test_works_under_no_grad_and_float16_does_not_nan() -> None:
    x = torch.rand(1, 3, 4, 4).half()
    for fn, p in [(C.gamma, {"gamma": 0.1}), (C.log_curve, {"a": 10.0}), (C.srgb_to_linear, {})]:
        y = fn(x, **p)
        assert y.dtype == torch.float16 and bool(torch.isfinite(y).all())
    assert math.isfinite(float(C.gamma(torch.zeros(1, 1, 1, 1), 8.0)))


INV_MODULES = {
    "gamma": C.InverseGamma,
    "exposure": C.InverseExposure,
    "reinhard": C.InverseReinhard,
    "hable": C.InverseHable,
    "aces": C.InverseAces,
    "log_curve": C.InverseLogCurve,
    "sigmoid_contrast": C.InverseSigmoidContrast,
}


@pytest.mark.parametrize("spec", INV, ids=[s.name for s in INV])
def test_gradcheck_inverses_and_their_modules(spec: Spec) -> None:
    rng = np.random.default_rng(8)
    params = {k: float(rng.uniform(lo, hi)) for k, (lo, hi) in spec.grad_ranges.items()}
    x = torch.tensor(rng.uniform(0.15, 0.85, size=(1, 1, 2, 3)), dtype=torch.float64)
    y = spec.fn(x, **params).detach().requires_grad_()
    ps = {k: torch.tensor([v], dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    names = list(ps)

    def f(img, *p):
        return spec.inverse(img, **dict(zip(names, p, strict=True)))

    assert torch.autograd.gradcheck(f, (y, *ps.values()))
    torch.testing.assert_close(
        INV_MODULES[spec.name](**params)(y.detach()), spec.inverse(y.detach(), **params)
    )


# ------------------------------------------------------------------------------------ rational gain


@FAST
@given(gain=st.floats(0.01, 500.0), xs=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=16))
def test_rational_gain_inverse_is_reciprocal_gain(gain: float, xs: list[float]) -> None:
    x = torch.tensor(xs, dtype=torch.float64).reshape(1, 1, 1, -1)
    back = C.rational_gain(C.rational_gain(x, gain), 1.0 / gain)
    torch.testing.assert_close(back, x, atol=1e-9, rtol=1e-7)


def test_rational_gain_slope_at_zero_is_the_gain_and_per_pixel_maps_work() -> None:
    x = torch.tensor([[[[1e-7, 0.5]]]], dtype=torch.float64)
    y = C.rational_gain(x, 8.0)
    assert y[0, 0, 0, 0].item() == pytest.approx(8e-7, rel=1e-5)
    assert y[0, 0, 0, 1].item() == pytest.approx(4.0 / 4.5)
    maps = torch.tensor([[[[2.0, 0.5]]]], dtype=torch.float64)
    z = C.rational_gain(torch.full((1, 3, 1, 2), 0.5, dtype=torch.float64), maps)
    torch.testing.assert_close(z[0, :, 0, 0], torch.full((3,), 2 / 3, dtype=torch.float64))
    torch.testing.assert_close(z[0, :, 0, 1], torch.full((3,), 1 / 3, dtype=torch.float64))


def test_rational_gain_rejects_non_positive_gain() -> None:
    with pytest.raises(ValueError, match="gain"):
        C.rational_gain(torch.rand(1, 3, 2, 2), 0.0)
    with pytest.raises(ValueError, match="gain"):
        C.rational_gain(torch.rand(1, 3, 2, 2), -torch.ones(1, 1, 2, 2))
