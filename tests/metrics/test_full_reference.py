from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from pyisp_contrast.metrics import PSNR, SSIM, psnr, ssim


def _rand(*shape, seed=0, dtype=torch.float32):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def test_psnr_known_values():
    x = torch.full((2, 3, 5, 5), 0.5)
    y = x.clone()
    y[1] += 0.01
    torch.testing.assert_close(psnr(x + 0.1, x), torch.tensor([20.0, 20.0]))
    torch.testing.assert_close(psnr(y, x)[1], torch.tensor(40.0))
    assert torch.isinf(psnr(y, x)[0])


def test_psnr_matches_formula_per_image():
    x, y = _rand(3, 3, 8, 9, seed=1), _rand(3, 3, 8, 9, seed=2)
    mse = ((x - y) ** 2).flatten(1).mean(1)
    torch.testing.assert_close(psnr(x, y), 10 * torch.log10(1 / mse))
    torch.testing.assert_close(psnr(x[0], y[0]), psnr(x, y)[:1])  # (C, H, W) accepted


def test_ssim_matches_skimage():
    x = _rand(2, 3, 32, 40, seed=3)
    y = (x + 0.1 * _rand(2, 3, 32, 40, seed=4)).clamp(0, 1)
    ours = ssim(x, y)
    for i in range(2):
        ref = structural_similarity(
            x[i].permute(1, 2, 0).numpy().astype(np.float64), y[i].permute(1, 2, 0).numpy().astype(np.float64),
            channel_axis=2, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0,
        )  # fmt: skip
        assert abs(float(ours[i]) - ref) < 1e-4
    torch.testing.assert_close(ssim(x, x), torch.ones(2))


def test_modules_equal_functions():
    x, y = _rand(2, 3, 16, 16, seed=5), _rand(2, 3, 16, 16, seed=6)
    torch.testing.assert_close(PSNR()(x, y), psnr(x, y))
    torch.testing.assert_close(SSIM(window_size=7)(x, y), ssim(x, y, window_size=7))


def test_gradcheck():
    x = _rand(1, 1, 6, 6, seed=7, dtype=torch.float64).requires_grad_()
    y = _rand(1, 1, 6, 6, seed=8, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda a: psnr(a, y), (x,), fast_mode=True)
    assert torch.autograd.gradcheck(lambda a: ssim(a, y, window_size=5), (x,), fast_mode=True)


def test_errors():
    x = _rand(1, 3, 16, 16)
    with pytest.raises(ValueError, match="same shape"):
        psnr(x, x[..., :8])
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(x[..., :8, :8], x[..., :8, :8])
    with pytest.raises(ValueError, match="odd"):
        ssim(x, x, window_size=4)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        psnr(x * 3, x)
    with pytest.raises(TypeError, match="floating-point"):
        psnr((x * 255).to(torch.uint8), x)
