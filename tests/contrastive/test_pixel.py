import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pyisp_contrast.contrastive import GrayLevel, PixelStatistics, gray_level, pixel_statistics


def test_gray_level_known_values(device, dtype, tol):
    x = torch.tensor([0.2, 0.4, 0.6], device=device, dtype=dtype).view(1, 3, 1, 1)
    expected = 0.299 * 0.2 + 0.587 * 0.4 + 0.114 * 0.6
    torch.testing.assert_close(gray_level(x).item(), expected, **tol)
    grey = torch.rand(2, 1, 3, 3, device=device, dtype=dtype)
    torch.testing.assert_close(gray_level(grey), grey)


def test_gray_module_equals_function():
    x = torch.rand(2, 3, 5, 5)
    torch.testing.assert_close(GrayLevel()(x)[0], gray_level(x))


def test_pixel_statistics_known_values():
    # Left half black, right half white, no colour: mean 0.5, std 0.5 on one 4x4 cell.
    x = torch.zeros(1, 3, 4, 4)
    x[..., 2:] = 1.0
    (f,) = pixel_statistics(x, scales=(4,))
    assert f.shape == (1, 4, 1, 1)
    torch.testing.assert_close(f.flatten(), torch.tensor([0.5, 0.5, 0.0, 0.0]), atol=1e-5, rtol=0)
    # Pure red: R - G = 1, (R + G) / 2 - B = 0.5.
    red = torch.zeros(1, 3, 2, 2)
    red[:, 0] = 1
    (f,) = pixel_statistics(red, scales=(2,))
    torch.testing.assert_close(f[0, 2:].flatten(), torch.tensor([1.0, 0.5]))


def test_pixel_statistics_shapes_and_module():
    x = torch.rand(3, 3, 16, 12)
    out = PixelStatistics(scales=(1, 4))(x)
    assert [tuple(f.shape) for f in out] == [(3, 4, 16, 12), (3, 4, 4, 3)]
    for a, b in zip(out, pixel_statistics(x, (1, 4))):
        torch.testing.assert_close(a, b)
    grey = pixel_statistics(torch.rand(2, 1, 8, 8), (2,))[0]
    assert torch.equal(grey[:, 2:], torch.zeros_like(grey[:, 2:]))


def test_pixel_statistics_gradcheck_including_flat_image():
    for x in (
        torch.rand(1, 3, 2, 2, dtype=torch.float64),
        torch.zeros(1, 3, 2, 2, dtype=torch.float64),
    ):
        x.requires_grad_(True)
        assert torch.autograd.gradcheck(
            lambda t: torch.cat([f.flatten() for f in pixel_statistics(t, (1, 2))]),
            (x,),
            fast_mode=True,
        )


def test_pixel_statistics_bad_input():
    with pytest.raises(ValueError, match="scales"):
        PixelStatistics(scales=(0, 2))
    with pytest.raises(ValueError, match="scales"):
        PixelStatistics(scales=())
    with pytest.raises(ValueError, match="larger than the image"):
        pixel_statistics(torch.rand(1, 3, 4, 4), (8,))
    with pytest.raises(ValueError, match="channels"):
        pixel_statistics(torch.rand(1, 2, 4, 4), (1,))


@settings(max_examples=20, deadline=None)
@given(gain=st.floats(0.1, 0.9))
def test_mean_luminance_tracks_exposure(gain):
    x = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    lo = pixel_statistics(x * gain, (8,))[0][0, 0].item()
    hi = pixel_statistics(x, (8,))[0][0, 0].item()
    assert lo == pytest.approx(gain * hi, rel=1e-5)
