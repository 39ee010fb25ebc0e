"""Tests for pyisp_contrast.classical.dark_channel (He et al. 2009 / 2010)."""

from __future__ import annotations

import hypothesis.strategies as st
import numpy as np
import pytest
import torch
from hypothesis import given, settings

from pyisp_contrast.classical import (
    ColorGuidedFilter,
    DarkChannel,
    DarkChannelDehaze,
    GuidedFilter,
    box_filter,
    color_guided_filter,
    dark_channel,
    dark_channel_dehaze,
    dark_channel_estimates,
    estimate_airlight,
    estimate_transmission,
    guided_filter,
)
from pyisp_contrast.isp.denoise import SLICES_MAX_RADIUS


def _rand(*shape, seed=0, dtype=torch.float64, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=g, dtype=torch.float64).to(device=device, dtype=dtype)


# ---------------------------------------------------------------- slow references
def _slow_window_mean(x: np.ndarray, r: int) -> np.ndarray:
    h, w = x.shape
    out = np.empty_like(x)
    for i in range(h):
        for j in range(w):
            out[i, j] = x[max(i - r, 0) : i + r + 1, max(j - r, 0) : j + r + 1].mean()
    return out


def _slow_guided(g: np.ndarray, p: np.ndarray, r: int, eps: float) -> np.ndarray:
    # Direct form of He et al. 2010 eqs. 5-8 with explicit windows.
    h, w = g.shape
    a = np.empty_like(g)
    b = np.empty_like(g)
    for i in range(h):
        for j in range(w):
            gi = g[max(i - r, 0) : i + r + 1, max(j - r, 0) : j + r + 1]
            pi = p[max(i - r, 0) : i + r + 1, max(j - r, 0) : j + r + 1]
            a[i, j] = ((gi * pi).mean() - gi.mean() * pi.mean()) / (gi.var() + eps)
            b[i, j] = pi.mean() - a[i, j] * gi.mean()
    return _slow_window_mean(a, r) * g + _slow_window_mean(b, r)


def _slow_color_guided(g: np.ndarray, p: np.ndarray, r: int, eps: float) -> np.ndarray:
    _, h, w = g.shape
    a = np.empty((3, h, w))
    b = np.empty((h, w))
    for i in range(h):
        for j in range(w):
            win = g[:, max(i - r, 0) : i + r + 1, max(j - r, 0) : j + r + 1].reshape(3, -1)
            pw = p[max(i - r, 0) : i + r + 1, max(j - r, 0) : j + r + 1].reshape(-1)
            mu = win.mean(1)
            sigma = (win - mu[:, None]) @ (win - mu[:, None]).T / win.shape[1]
            cov = (win * pw).mean(1) - mu * pw.mean()
            a[:, i, j] = np.linalg.solve(sigma + eps * np.eye(3), cov)
            b[i, j] = pw.mean() - a[:, i, j] @ mu
    mean_a = np.stack([_slow_window_mean(a[c], r) for c in range(3)])
    return (mean_a * g).sum(0) + _slow_window_mean(b, r)


# ---------------------------------------------------------------- smoke and shapes
@pytest.mark.parametrize("batch", [1, 3])
def test_shapes(batch, device, dtype):
    x = _rand(batch, 3, 12, 10, dtype=dtype, device=device)
    assert dark_channel(x, 3).shape == (batch, 1, 12, 10)
    assert box_filter(x, 2).shape == x.shape
    assert guided_filter(x[:, :1], x, 2).shape == x.shape
    assert color_guided_filter(x, x[:, :2], 2).shape == (batch, 2, 12, 10)
    t, a = dark_channel_estimates(x, 3, radius=3)
    assert t.shape == (batch, 1, 12, 10) and a.shape == (batch, 3)
    assert t.dtype == dtype and t.device.type == device.type
    out = dark_channel_dehaze(x, 3, radius=3)
    assert out.shape == x.shape and out.dtype == dtype


def test_unbatched():
    x = _rand(3, 9, 9)
    assert dark_channel(x, 3).shape == (1, 9, 9)
    assert estimate_airlight(x, 3).shape == (3,)
    t, a = dark_channel_estimates(x, 3, radius=2)
    assert t.shape == (1, 9, 9) and a.shape == (3,)
    torch.testing.assert_close(
        dark_channel_dehaze(x, 3, radius=2), dark_channel_dehaze(x[None], 3, radius=2)[0]
    )
    torch.testing.assert_close(
        guided_filter(x[:1], x, 2), guided_filter(x[None, :1], x[None], 2)[0]
    )


# ---------------------------------------------------------------- known values
def test_dark_channel_matches_loop():
    x = _rand(2, 3, 9, 11)
    out = dark_channel(x, 5)
    xn = x.numpy()
    for b in range(2):
        m = xn[b].min(0)
        for i in range(9):
            for j in range(11):
                ref = m[max(i - 2, 0) : i + 3, max(j - 2, 0) : j + 3].min()
                assert out[b, 0, i, j].item() == pytest.approx(ref)


@pytest.mark.parametrize("radius", [0, 1, 3, 20])
def test_box_filter_matches_loop(radius):
    x = _rand(1, 1, 9, 13, seed=1)
    ref = _slow_window_mean(x[0, 0].numpy(), radius)
    np.testing.assert_allclose(box_filter(x, radius)[0, 0].numpy(), ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("radius, eps", [(1, 1e-3), (2, 1e-2), (4, 1e-4)])
def test_guided_filter_matches_loop(radius, eps):
    g = _rand(1, 1, 10, 9, seed=2)
    p = _rand(1, 1, 10, 9, seed=3)
    ref = _slow_guided(g[0, 0].numpy(), p[0, 0].numpy(), radius, eps)
    np.testing.assert_allclose(
        guided_filter(g, p, radius, eps)[0, 0].numpy(), ref, rtol=1e-9, atol=1e-10
    )


def test_guided_filter_per_channel_guide():
    g = _rand(1, 2, 8, 8, seed=4)
    p = _rand(1, 2, 8, 8, seed=5)
    out = guided_filter(g, p, 2, 1e-3)
    for c in range(2):
        torch.testing.assert_close(
            out[:, c : c + 1], guided_filter(g[:, c : c + 1], p[:, c : c + 1], 2, 1e-3)
        )


@pytest.mark.parametrize("radius, eps", [(1, 1e-3), (2, 1e-2)])
def test_color_guided_filter_matches_loop(radius, eps):
    g = _rand(1, 3, 7, 8, seed=6)
    p = _rand(1, 2, 7, 8, seed=7)
    out = color_guided_filter(g, p, radius, eps)
    for k in range(2):
        ref = _slow_color_guided(g[0].numpy(), p[0, k].numpy(), radius, eps)
        np.testing.assert_allclose(out[0, k].numpy(), ref, rtol=1e-8, atol=1e-9)


def test_guided_filter_edge_preserving():
    # With a small eps the guide itself is (almost) a fixed point; a box filter is not.
    g = torch.zeros(1, 1, 16, 16, dtype=torch.float64)
    g[..., 8:] = 1.0
    out = guided_filter(g, g, 3, 1e-6)
    torch.testing.assert_close(out, g, atol=1e-4, rtol=0)
    assert (box_filter(g, 3) - g).abs().max() > 0.3


def test_estimate_airlight_finds_opaque_region():
    # Clear scene with a zero channel everywhere (the prior holds) and a haze-opaque patch (t = 0).
    clear = _rand(1, 3, 32, 32, seed=8) * 0.8
    clear[:, 2] = 0.0
    airlight = torch.tensor([0.85, 0.9, 0.95], dtype=torch.float64)
    t = torch.full((1, 1, 32, 32), 0.7, dtype=torch.float64)
    t[..., :6, :6] = 0.0
    hazy = clear * t + airlight[:, None, None] * (1 - t)
    torch.testing.assert_close(estimate_airlight(hazy, 3, top_fraction=0.01)[0], airlight)


def test_estimate_transmission_recovers_true_t():
    # With the true airlight, omega = 1, patch 1 and a zero channel per pixel, eq. 12 is exact.
    clear = _rand(2, 3, 10, 10, seed=9)
    clear[:, 1] = 0.0
    t_true = 0.2 + 0.8 * _rand(2, 1, 10, 10, seed=10)
    airlight = torch.tensor([[0.9, 0.8, 1.0], [0.7, 0.75, 0.8]], dtype=torch.float64)
    hazy = clear * t_true + airlight[:, :, None, None] * (1 - t_true)
    torch.testing.assert_close(estimate_transmission(hazy, airlight, 1, omega=1.0), t_true)


def test_dehaze_improves_synthetic_haze():
    clear = _rand(1, 3, 48, 48, seed=11) * 0.7
    clear[:, 0, ::2] = 0.0  # dark pixels in every patch: the prior holds
    clear[:, 2, 1::2] = 0.0
    t = torch.linspace(0.4, 0.9, 48, dtype=torch.float64).expand(1, 1, 48, 48).clone()
    t[..., :4, :4] = 0.0
    hazy = clear * t + 0.9 * (1 - t)
    out = dark_channel_dehaze(hazy, 3, radius=6, eps=1e-3, top_fraction=0.005)
    err_out = (out - clear)[..., 8:, 8:].abs().mean()
    err_in = (hazy - clear)[..., 8:, 8:].abs().mean()
    assert err_out < 0.5 * err_in


def test_dehaze_output_in_range():
    out = dark_channel_dehaze(_rand(2, 3, 16, 16, seed=12), 3, radius=4)
    assert out.min() >= 0 and out.max() <= 1


# ---------------------------------------------------------------- properties
@settings(max_examples=15, deadline=None)
@given(
    value=st.floats(0.0, 1.0), radius=st.integers(0, 6), h=st.integers(1, 9), w=st.integers(1, 9)
)
def test_box_filter_keeps_constants(value, radius, h, w):
    x = torch.full((1, 2, h, w), value, dtype=torch.float64)
    torch.testing.assert_close(box_filter(x, radius), x)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), radius=st.integers(1, 4), offset=st.floats(-1.0, 1.0))
def test_guided_filter_reproduces_affine_maps_of_guide(seed, radius, offset):
    # A src that is exactly linear in the guide is returned unchanged when eps -> 0.
    g = _rand(1, 1, 9, 9, seed=seed)
    p = 0.5 * g + offset
    torch.testing.assert_close(guided_filter(g, p, radius, 1e-12), p, atol=1e-6, rtol=0)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), patch=st.sampled_from([1, 3, 5]))
def test_dark_channel_bounds(seed, patch):
    x = _rand(1, 3, 8, 8, seed=seed)
    d = dark_channel(x, patch)
    assert torch.all(d <= x.amin(1, keepdim=True))
    assert torch.all(d >= x.amin())


# ---------------------------------------------------------------- gradients (float64)
@pytest.mark.slow
def test_gradcheck_box_and_guided():
    g = _rand(1, 1, 7, 6, seed=13).requires_grad_()
    p = _rand(1, 2, 7, 6, seed=14).requires_grad_()
    assert torch.autograd.gradcheck(lambda x: box_filter(x, 2), (p,))  # shifted slices
    wide = SLICES_MAX_RADIUS + 1  # running sums
    assert torch.autograd.gradcheck(
        lambda x: box_filter(x, wide), (_rand(1, 1, 12, 11, seed=16).requires_grad_(),)
    )
    assert torch.autograd.gradcheck(lambda a, b: guided_filter(a, b, 2, 1e-2), (g, p))
    gc = _rand(1, 3, 6, 6, seed=15).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda a, b: color_guided_filter(a, b, 1, 1e-2), (gc, p[..., :6, :])
    )


def test_gradcheck_dark_channel_and_transmission():
    # Random inputs have no ties, where the min-pool is locally linear.
    x = _rand(1, 3, 6, 6, seed=16).requires_grad_()
    a = (0.5 + 0.5 * _rand(1, 3, seed=17)).requires_grad_()
    assert torch.autograd.gradcheck(lambda v: dark_channel(v, 3), (x,))
    assert torch.autograd.gradcheck(lambda v, w: estimate_transmission(v, w, 3), (x, a))


def test_gradcheck_dehaze_pipeline():
    x = (0.3 + 0.4 * _rand(1, 3, 8, 8, seed=18)).requires_grad_()
    assert torch.autograd.gradcheck(lambda v: dark_channel_estimates(v, 3, radius=2)[0], (x,))
    assert torch.autograd.gradcheck(lambda v: dark_channel_estimates(v, 3, radius=2)[1], (x,))


def test_gradients_finite_at_zero_and_one():
    x = torch.zeros(1, 3, 8, 8, dtype=torch.float64)
    x[..., 4:] = 1.0
    x.requires_grad_()
    dark_channel_dehaze(x, 3, radius=2).sum().backward()
    assert torch.isfinite(x.grad).all()


# ---------------------------------------------------------------- modules
def test_modules_equal_functions():
    x = _rand(2, 3, 12, 12, seed=19)
    torch.testing.assert_close(DarkChannel(3)(x), dark_channel(x, 3))
    torch.testing.assert_close(
        GuidedFilter(2, 1e-2)(x[:, :1], x), guided_filter(x[:, :1], x, 2, 1e-2)
    )
    torch.testing.assert_close(
        ColorGuidedFilter(2, 1e-2)(x, x[:, :1]), color_guided_filter(x, x[:, :1], 2, 1e-2)
    )
    torch.testing.assert_close(
        DarkChannelDehaze(3, 0.9, 0.2, 4, 1e-2)(x), dark_channel_dehaze(x, 3, 0.9, 0.2, 4, 1e-2)
    )
    assert "patch_size=3" in repr(DarkChannelDehaze(3))


# ---------------------------------------------------------------- bad input
def test_bad_input():
    x = _rand(1, 3, 8, 8)
    with pytest.raises(ValueError, match="positive odd int"):
        dark_channel(x, 4)
    with pytest.raises(TypeError, match="patch_size"):
        dark_channel(x, 3.0)
    with pytest.raises(ValueError, match="radius"):
        box_filter(x, -1)
    with pytest.raises(ValueError, match="eps"):
        guided_filter(x[:, :1], x, 2, 0.0)
    with pytest.raises(ValueError, match="1 channel or as many"):
        guided_filter(x[:, :2], x, 2)
    with pytest.raises(ValueError, match="same batch size"):
        guided_filter(x[:, :1, :4], x, 2)
    with pytest.raises(ValueError, match="both be batched"):
        guided_filter(x[0, :1], x, 2)
    with pytest.raises(ValueError, match="3 channels"):
        color_guided_filter(x[:, :1], x, 2)
    with pytest.raises(ValueError, match="omega"):
        dark_channel_dehaze(x, omega=1.5)
    with pytest.raises(ValueError, match="t_min"):
        dark_channel_dehaze(x, t_min=0.0)
    with pytest.raises(ValueError, match="top_fraction"):
        estimate_airlight(x, top_fraction=0.0)
    with pytest.raises(ValueError, match="airlight"):
        estimate_transmission(x, torch.ones(2, 3))
    with pytest.raises(TypeError, match="airlight"):
        estimate_transmission(x, [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        dark_channel_dehaze(x * 3)
    with pytest.raises(ValueError, match="NaN"):
        dark_channel(torch.full((1, 3, 4, 4), float("nan")))
    with pytest.raises(TypeError, match="floating-point"):
        dark_channel(torch.zeros(1, 3, 4, 4, dtype=torch.uint8))
    with pytest.raises(ValueError, match="positive odd int"):
        DarkChannelDehaze(patch_size=0)
