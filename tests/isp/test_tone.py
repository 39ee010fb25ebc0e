"""Tests for pyisp_contrast.isp.tone (a camera-like S-curve on the luma, chromaticity kept)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pyisp_contrast.isp import luma_s_curve
from pyisp_contrast.isp.tone import s_curve_about_mean


def _slow(image: torch.Tensor, amount: float, gain: float) -> torch.Tensor:
    """The module's formula, pixel by pixel, for one ``(3, H, W)`` image."""
    rgb = image.tolist()
    h, w = image.shape[-2:]
    y = [[min(max(0.299 * rgb[0][i][j] + 0.587 * rgb[1][i][j] + 0.114 * rgb[2][i][j], 1e-4), 1.0)
          for j in range(w)] for i in range(h)]  # fmt: skip
    c = sum(map(sum, y)) / (h * w)

    def sig(t: float) -> float:
        return 1 / (1 + math.exp(-t))

    s0, span = sig(-gain * c), sig(gain * (1 - c)) - sig(-gain * c)
    out = torch.empty_like(image)
    for i in range(h):
        for j in range(w):
            s = min(max((sig(gain * (y[i][j] - c)) - s0) / span, 0.0), 1.0)
            toned = y[i][j] + amount * (s - y[i][j])
            for ch in range(3):
                out[ch, i, j] = min(max(rgb[ch][i][j] * toned / y[i][j], 0.0), 1.0)
    return out


@pytest.mark.parametrize("gain", [1.0, 3.0, 8.0])
def test_matches_a_slow_loop_of_the_formula(gain: float) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 7, 9, generator=g, dtype=torch.float64)
    x[0, :, 0, 0] = 0.0  # below the luma floor
    expected = torch.stack([_slow(im, a, gain) for im, a in zip(x, (0.25, 1.0))])
    out = luma_s_curve(x, torch.tensor([0.25, 1.0], dtype=torch.float64), gain=gain)
    torch.testing.assert_close(out, expected)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16), amount=st.floats(0.0, 1.0), gain=st.floats(0.1, 12.0))
def test_monotone_greys_stay_grey_and_range_kept(seed: int, amount: float, gain: float) -> None:
    g = torch.Generator().manual_seed(seed)
    grey = torch.rand(1, 1, 10, 12, generator=g, dtype=torch.float64).expand(1, 3, 10, 12)
    out = luma_s_curve(grey, amount, gain=gain)
    assert bool((out[:, 0] == out[:, 1]).all() and (out[:, 1] == out[:, 2]).all())
    # the lightness order of the grey levels is kept (a monotone curve of one variable)
    order = torch.argsort(grey[0, 0].flatten())
    assert bool((out[0, 0].flatten()[order].diff() >= -1e-12).all())
    colour = torch.rand(2, 3, 10, 12, generator=g)
    out = luma_s_curve(colour, amount, gain=gain)
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


def test_amount_zero_is_the_identity_and_the_ends_stay() -> None:
    g = torch.Generator().manual_seed(1)
    x = 0.05 + 0.9 * torch.rand(2, 3, 8, 8, generator=g, dtype=torch.float64)
    torch.testing.assert_close(luma_s_curve(x, 0.0), x)
    ends = (
        torch.tensor([0.0, 1.0], dtype=torch.float64).repeat(8).view(1, 1, 4, 4).expand(1, 3, 4, 4)
    )
    torch.testing.assert_close(luma_s_curve(ends, 1.0, gain=6.0), ends)


def test_midtone_contrast_grows_about_the_mean() -> None:
    ramp = torch.linspace(0.2, 0.6, 41).expand(1, 3, 3, 41).contiguous()
    swing = [float(luma_s_curve(ramp, a, gain=5.0)[0, 0, 0].std()) for a in (0.0, 0.5, 1.0)]
    assert swing[0] < swing[1] < swing[2]
    out = luma_s_curve(ramp, 1.0, gain=5.0)[0, 0, 0]
    steps = out.diff()
    assert int(steps.argmax()) in range(18, 22)  # steepest at the photo's mean (0.4, step 20)


def test_gradcheck_and_scripting() -> None:
    g = torch.Generator().manual_seed(2)
    x = (0.1 + 0.8 * torch.rand(2, 3, 5, 6, generator=g, dtype=torch.float64)).requires_grad_()
    amount = torch.tensor([0.3, 0.8], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda i, a: luma_s_curve(i, a, gain=3.0), (x, amount))
    with pytest.warns(DeprecationWarning, match="jit"):
        scripted = torch.jit.script(s_curve_about_mean)
    y = x.detach().float()
    a = amount.detach().float()
    torch.testing.assert_close(scripted(y, 3.0, a), s_curve_about_mean(y, 3.0, a))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"amount": -0.1}, "amount"),
        ({"amount": 1.5}, "amount"),
        ({"amount": torch.tensor([0.1, 0.2, 0.3])}, "one value per image"),
        ({"amount": torch.tensor([0.1, float("nan")])}, "finite"),
        ({"amount": 0.5, "gain": 0.0}, "gain"),
    ],
)
def test_bad_arguments_say_what_to_give(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        luma_s_curve(torch.rand(2, 3, 4, 4), **kwargs)


@pytest.mark.parametrize("shape", [(1, 3, 1, 1), (2, 3, 9, 11), (1, 3, 61, 47)])
def test_the_cpu_kernel_equals_torch_in_place(shape, monkeypatch) -> None:
    """``s_curve_about_mean_`` (numba, CPU float32, no gradient) writes into its input and agrees
    with the torch formula to float32 rounding; other dtypes, gradients and small photos keep
    torch (and leave the input as it was)."""
    from pyisp_contrast.isp import tone

    g = torch.Generator().manual_seed(4)
    x = torch.rand(shape, generator=g)
    x[0, :, 0, 0] = 0.0
    amount = torch.rand(shape[0], generator=g)
    expected = tone.s_curve_about_mean(x, 3.0, amount)
    assert tone.KERNEL_MIN_PIXELS > 384 * 384
    assert tone.s_curve_about_mean_(x.clone(), 3.0, amount) is not None
    monkeypatch.setattr(tone, "KERNEL_MIN_PIXELS", 0)
    own = x.clone()
    assert tone.s_curve_about_mean_(own, 3.0, amount) is own
    torch.testing.assert_close(own, expected, atol=1e-6, rtol=0)
    double = x.double()
    out = tone.s_curve_about_mean_(double, 3.0, amount.double())
    assert out is not double and torch.equal(double, x.double())
    grad = x.clone().requires_grad_()
    assert tone.s_curve_about_mean_(grad, 3.0, amount).grad_fn is not None
