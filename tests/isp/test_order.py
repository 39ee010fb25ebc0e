"""Lightness-order fits: isotonic_fit and order_preserving_gain."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import isotonic_regression

from pyisp_contrast.isp import isotonic_fit, order_preserving_gain, rational_gain


def _slow_fit(x: np.ndarray, y: np.ndarray, bins: int, low: float, high: float) -> np.ndarray:
    """The same binned fit written as loops, with scipy's isotonic regression on the held bins."""
    w = np.zeros(bins)
    s = np.zeros(bins)
    pos = []
    for xi, yi in zip(x, y, strict=True):
        u = min(max((xi - low) / (high - low) * (bins - 1), 0.0), bins - 1)
        lo = min(math.floor(u), bins - 2)
        fr = u - lo
        w[lo] += 1 - fr
        w[lo + 1] += fr
        s[lo] += (1 - fr) * yi
        s[lo + 1] += fr * yi
        pos.append((lo, fr))
    held = np.flatnonzero(w > 1e-6 * w.sum() / bins)
    fit_held = isotonic_regression(s[held] / w[held], weights=w[held]).x
    # Bins without weight reach the result only through weights under the threshold (a sample
    # reads the two bins it was split into), so any value will do: the nearest held bin's below.
    f = np.empty(bins)
    for k in range(bins):
        below = held[held <= k]
        f[k] = fit_held[len(below) - 1] if len(below) else fit_held[0]
    return np.array([(1 - fr) * f[lo] + fr * f[lo + 1] for lo, fr in pos])


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("bins", [2, 7, 64])
def test_isotonic_fit_matches_a_loop_with_scipy(seed: int, bins: int) -> None:
    g = torch.Generator().manual_seed(seed)
    n = 40 + 30 * seed
    x = torch.rand(1, n, generator=g, dtype=torch.float64) * 1.4 - 0.2  # some outside [0, 1]
    y = torch.randn(1, n, generator=g, dtype=torch.float64) + 2 * x
    got = isotonic_fit(x, y, bins=bins)
    want = _slow_fit(x[0].numpy(), y[0].numpy(), bins, 0.0, 1.0)
    np.testing.assert_allclose(got[0].numpy(), want, atol=1e-10)


def test_isotonic_fit_known_answer_and_batch_independence() -> None:
    x = torch.tensor([[0.1, 0.4, 0.5, 0.9], [0.9, 0.5, 0.4, 0.1]], dtype=torch.float64)
    y = torch.tensor([[1.0, 3.0, 2.0, 4.0], [1.0, 2.0, 3.0, 4.0]], dtype=torch.float64)
    got = isotonic_fit(x, y, bins=11)
    # row 0: the violating pair 3, 2 pools to 2.5; row 1 falls everywhere: one pool, the mean
    want = torch.tensor([[1.0, 2.5, 2.5, 4.0], [2.5, 2.5, 2.5, 2.5]], dtype=torch.float64)
    torch.testing.assert_close(got, want)


def test_isotonic_fit_keeps_a_rising_sequence_on_the_bin_centres() -> None:
    x = torch.linspace(0, 1, 17, dtype=torch.float64)[None]
    y = torch.cumsum(torch.rand(1, 17, dtype=torch.float64), 1)
    torch.testing.assert_close(isotonic_fit(x, y, bins=17), y)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-0.5, 1.5), st.floats(-100, 100)), min_size=1, max_size=60),
    st.integers(2, 40),
)
def test_isotonic_fit_is_monotone_and_within_range(pairs, bins: int) -> None:
    x = torch.tensor([[p[0] for p in pairs]], dtype=torch.float64)
    y = torch.tensor([[p[1] for p in pairs]], dtype=torch.float64)
    fit = isotonic_fit(x, y, bins=bins)
    order = torch.argsort(x[0])
    assert bool((fit[0, order].diff() >= -1e-9).all())
    assert float(fit.min()) >= float(y.min()) - 1e-9
    assert float(fit.max()) <= float(y.max()) + 1e-9


def test_isotonic_fit_of_a_constant_is_the_constant() -> None:
    x = torch.rand(3, 50)
    torch.testing.assert_close(isotonic_fit(x, torch.full_like(x, 0.7)), torch.full_like(x, 0.7))


def test_isotonic_fit_gradcheck() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 30, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.randn(2, 30, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: isotonic_fit(a, b, bins=9), (x, y))


def _maps(seed: int, h: int = 12, w: int = 16, dtype=torch.float64) -> tuple:
    g = torch.Generator().manual_seed(seed)
    light = (torch.rand(2, 1, h, w, generator=g, dtype=dtype) ** 3).clamp(1e-3, 0.99)
    gain = torch.exp(torch.rand(2, 1, h, w, generator=g, dtype=dtype) * 4)
    return light, gain


@pytest.mark.parametrize("seed", range(4))
def test_order_preserving_gain_keeps_light_order(seed: int) -> None:
    light, gain = _maps(seed)
    before = rational_gain(light, gain).flatten(1)
    after = rational_gain(light, order_preserving_gain(light, gain)).flatten(1)
    for b in range(2):
        order = torch.argsort(light[b].flatten())
        assert bool((before[b, order].diff() < 0).any())  # the random map breaks the order ...
        assert bool((after[b, order].diff() >= -1e-9).all())  # ... the projection keeps it


def test_order_preserving_gain_leaves_an_ordered_map_nearly_alone() -> None:
    light, _ = _maps(1)
    gain = torch.full_like(light, 6.0)  # one gain: output light rises with input light already
    # Compared as light (near v = 1 the gain that reaches a light is very sensitive to it): the
    # binning moves log light by less than one bin's width of log v, and less with more bins.
    errors = []
    for bins in (32, 128, 512):
        out = order_preserving_gain(light, gain, bins=bins)
        err = (torch.log(rational_gain(light, out) / rational_gain(light, gain))).abs().max()
        assert float(err) < -math.log(1e-4) / (bins - 1)
        errors.append(float(err))
    assert errors[0] > errors[1] > errors[2]


def test_order_preserving_gain_gradcheck() -> None:
    light, gain = _maps(2, 4, 5)
    gain.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda g: order_preserving_gain(light, g, bins=8), (gain,))


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: isotonic_fit(torch.rand(4), torch.rand(4)), ValueError, r"\(B, N\)"),
        (lambda: isotonic_fit(torch.rand(1, 4), torch.rand(1, 5)), ValueError, r"\(B, N\)"),
        (lambda: isotonic_fit(torch.rand(1, 0), torch.rand(1, 0)), ValueError, "N >= 1"),
        (lambda: isotonic_fit(torch.rand(1, 4), torch.rand(1, 4).double()), TypeError, "dtype"),
        (lambda: isotonic_fit([0.1], [0.2]), TypeError, "tensors"),
        (lambda: isotonic_fit(torch.rand(1, 4), torch.rand(1, 4), bins=1), ValueError, "bins"),
        (
            lambda: isotonic_fit(torch.rand(1, 4), torch.rand(1, 4), low=1.0, high=1.0),
            ValueError,
            "greater",
        ),
        (
            lambda: order_preserving_gain(torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4)),
            ValueError,
            r"\(B, 1, h, w\)",
        ),
        (
            lambda: order_preserving_gain(torch.rand(1, 1, 4, 4), torch.rand(1, 1, 4, 4), floor=0),
            ValueError,
            "floor",
        ),
    ],
)
def test_bad_input_is_a_clear_error(call, error, match) -> None:
    with pytest.raises(error, match=match):
        call()
