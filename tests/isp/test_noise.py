"""Tests for pyisp_contrast.isp.noise (Immerkær's noise estimator)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pyisp_contrast.isp import noise_sigma, noise_to_signal
from pyisp_contrast.isp.noise import grey_noise_sigma, grey_noise_to_signal

KERNEL = [[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]]


def _slow_sigma(image: torch.Tensor) -> float:
    """Immerkær (1996), eq. (4) written out: sqrt(pi / 2) / (6 (W - 2) (H - 2)) sum |I * N|."""
    grey = image.mean(0).tolist()
    h, w = len(grey), len(grey[0])
    total = 0.0
    for y in range(1, h - 1):
        for x in range(1, w - 1):
            total += abs(
                sum(KERNEL[j][i] * grey[y + j - 1][x + i - 1] for j in range(3) for i in range(3))
            )
    return math.sqrt(math.pi / 2) * total / (6 * (w - 2) * (h - 2))


def test_matches_a_slow_loop_of_the_formula() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 3, 11, 14, generator=g, dtype=torch.float64)
    expected = torch.tensor([_slow_sigma(im) for im in x], dtype=torch.float64)
    torch.testing.assert_close(noise_sigma(x), expected)


@pytest.mark.parametrize("sigma", [0.005, 0.02, 0.08])
@pytest.mark.parametrize("background", ["flat", "ramp"])
def test_known_answer_on_white_gaussian_noise(sigma: float, background: str) -> None:
    g = torch.Generator().manual_seed(1)
    base = torch.full((1, 1, 300, 300), 0.5)
    if background == "ramp":  # linear shading: the kernel does not see it
        base = torch.linspace(0.2, 0.8, 300).view(1, 1, 1, 300).expand(1, 1, 300, 300)
    noisy = base + sigma * torch.randn(base.shape, generator=g)
    assert noise_sigma(noisy.expand(1, 3, 300, 300)).item() == pytest.approx(sigma, rel=0.03)


def test_noiseless_linear_and_separable_images_score_zero() -> None:
    y = torch.linspace(0, 1, 20).view(20, 1)
    x = torch.linspace(0, 1, 30).view(1, 30)
    for img in (0.3 + 0.2 * x + 0.1 * y, torch.sin(6 * x) + y**2):  # linear in x or in y
        assert noise_sigma(img.expand(3, 20, 30)).abs().item() < 1e-6


@settings(max_examples=25, deadline=None)
@given(
    scale=st.floats(0.01, 10.0),
    offset=st.floats(-1.0, 1.0),
    seed=st.integers(0, 2**16),
)
def test_scales_with_the_image_and_ignores_an_offset(
    scale: float, offset: float, seed: int
) -> None:
    x = torch.rand(2, 3, 9, 12, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    torch.testing.assert_close(noise_sigma(scale * x + offset), scale * noise_sigma(x))


@settings(max_examples=25, deadline=None)
@given(gain=st.floats(0.05, 1.0), seed=st.integers(0, 2**16))
def test_noise_to_signal_is_unchanged_by_an_exposure_gain(gain: float, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    x = 0.1 + 0.9 * torch.rand(1, 3, 16, 16, generator=g, dtype=torch.float64)
    torch.testing.assert_close(noise_to_signal(gain * x), noise_to_signal(x))


def test_noise_to_signal_divides_by_the_mean_grey_level_with_a_floor() -> None:
    g = torch.Generator().manual_seed(2)
    x = torch.rand(2, 3, 10, 10, generator=g) * 0.5
    mean = x.mean((1, 2, 3))
    torch.testing.assert_close(noise_to_signal(x), noise_sigma(x) / mean)
    black = torch.zeros(1, 3, 8, 8)
    black[..., ::2, ::2] = 1e-4  # a mean far below the floor
    torch.testing.assert_close(noise_to_signal(black, floor=1e-2), noise_sigma(black) / 1e-2)


def test_batch_equals_one_by_one_and_unbatched_gives_a_scalar() -> None:
    x = torch.rand(4, 3, 12, 9, generator=torch.Generator().manual_seed(3))
    batch = noise_sigma(x)
    assert batch.shape == (4,)
    for i in range(4):
        one = noise_sigma(x[i])
        assert one.ndim == 0
        torch.testing.assert_close(one, batch[i])
    assert noise_to_signal(x[0]).ndim == 0


def test_any_number_of_channels_uses_their_mean() -> None:
    x = torch.rand(1, 5, 10, 10, generator=torch.Generator().manual_seed(4))
    torch.testing.assert_close(noise_sigma(x), noise_sigma(x.mean(1, keepdim=True)))


def test_gradcheck() -> None:
    g = torch.Generator().manual_seed(5)
    x = (0.2 + 0.6 * torch.rand(2, 3, 6, 7, generator=g, dtype=torch.float64)).requires_grad_()
    assert torch.autograd.gradcheck(noise_sigma, (x,))
    assert torch.autograd.gradcheck(noise_to_signal, (x,))


@pytest.mark.filterwarnings(r"ignore:`torch\.jit\.script` is deprecated:DeprecationWarning")
def test_grey_version_compiles_with_torchscript() -> None:
    # the exported enhancers (pyisp_contrast.export) compile it
    grey = torch.rand(2, 1, 8, 9, generator=torch.Generator().manual_seed(6))
    scripted = torch.jit.script(grey_noise_sigma)
    torch.testing.assert_close(scripted(grey), grey_noise_sigma(grey))
    ratio = torch.jit.script(grey_noise_to_signal)
    torch.testing.assert_close(ratio(grey, 1e-3), grey_noise_to_signal(grey))
    # the unchecked ratio is noise_to_signal's on an image whose channels are this grey level
    torch.testing.assert_close(
        grey_noise_to_signal(grey), noise_to_signal(grey.expand(-1, 3, -1, -1))
    )


def test_bad_input_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="at least 3 x 3"):
        noise_sigma(torch.rand(1, 3, 2, 10))
    with pytest.raises(ValueError, match="NaN"):
        noise_sigma(torch.full((1, 3, 5, 5), float("nan")))
    with pytest.raises(TypeError, match="floating"):
        noise_sigma(torch.zeros(1, 3, 5, 5, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        noise_to_signal(torch.full((1, 3, 5, 5), 2.0))
    with pytest.raises(ValueError, match="floor"):
        noise_to_signal(torch.rand(1, 3, 5, 5), floor=0.0)
