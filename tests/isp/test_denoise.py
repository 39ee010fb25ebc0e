"""Tests for pyisp_contrast.isp.denoise (the block-statistics guided filter)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from pyisp_contrast.isp import denoise as D


def _slow_guided_filter(p: torch.Tensor, i: torch.Tensor, eps: float, block: int, radius: int):
    """The guided filter written out cell by cell with Python loops (He et al., Alg. 1)."""
    b, c, h, w = p.shape
    hc, wc = -(-h // block), -(-w // block)
    pp = F.pad(p, (0, wc * block - w, 0, hc * block - h), mode="replicate")
    ii = F.pad(i, (0, wc * block - w, 0, hc * block - h), mode="replicate")

    def cell_mean(t, y, x):
        return t[..., y * block : (y + 1) * block, x * block : (x + 1) * block].mean((-2, -1))

    def window(fn, y, x):
        vals = [fn(yy, xx) for yy in range(y - radius, y + radius + 1)
                for xx in range(x - radius, x + radius + 1) if 0 <= yy < hc and 0 <= xx < wc]  # fmt: skip
        return sum(vals) / len(vals)

    a = torch.zeros(b, c, hc, wc, dtype=p.dtype)
    bb = torch.zeros_like(a)
    for y in range(hc):
        for x in range(wc):
            m_i = window(lambda yy, xx: cell_mean(ii, yy, xx), y, x)
            m_ii = window(lambda yy, xx: cell_mean(ii * ii, yy, xx), y, x)
            m_p = window(lambda yy, xx: cell_mean(pp, yy, xx), y, x)
            m_ip = window(lambda yy, xx: cell_mean(pp * ii, yy, xx), y, x)
            a[..., y, x] = (m_ip - m_i * m_p) / (m_ii - m_i * m_i + eps)
            bb[..., y, x] = m_p - a[..., y, x] * m_i
    a2 = torch.zeros_like(a)
    b2 = torch.zeros_like(a)
    for y in range(hc):
        for x in range(wc):
            a2[..., y, x] = window(lambda yy, xx: a[..., yy, xx], y, x)
            b2[..., y, x] = window(lambda yy, xx: bb[..., yy, xx], y, x)
    up = lambda t: F.interpolate(t, scale_factor=block, mode="bilinear")[..., :h, :w]  # noqa: E731
    return up(a2) * i + up(b2)


@pytest.mark.parametrize(
    ("block", "radius", "size"), [(2, 1, (9, 10)), (3, 0, (6, 7)), (1, 2, (5, 5))]
)
def test_matches_slow_loop_of_the_formula(block: int, radius: int, size: tuple[int, int]) -> None:
    g = torch.Generator().manual_seed(0)
    p = torch.rand(2, 3, *size, generator=g, dtype=torch.float64)
    i = p.mean(1, keepdim=True)
    out = D.block_guided_filter(p, 1e-2, block=block, radius=radius)
    torch.testing.assert_close(out, _slow_guided_filter(p, i, 1e-2, block, radius))


def test_flat_image_is_a_fixed_point_and_grey_stays_grey() -> None:
    x = torch.full((1, 3, 12, 12), 0.3)
    torch.testing.assert_close(D.block_guided_filter(x, 1e-3), x)
    g = torch.Generator().manual_seed(1)
    grey = (0.2 + 0.05 * torch.randn(1, 1, 16, 16, generator=g)).clamp(0, 1).expand(1, 3, 16, 16)
    out = D.block_guided_filter(grey, 1e-3, block=2)
    assert torch.equal(out[:, 0], out[:, 1]) and torch.equal(out[:, 1], out[:, 2])


def test_removes_noise_in_flat_regions_and_keeps_a_strong_edge() -> None:
    clean = torch.full((1, 3, 32, 32), 0.1)
    clean[..., 16:] = 0.7
    g = torch.Generator().manual_seed(2)
    noisy = clean + 0.02 * torch.randn(clean.shape, generator=g)
    out = D.block_guided_filter(noisy, 4e-4, block=2, radius=2)
    flat = (slice(None), slice(None), slice(None), slice(0, 12))
    assert (out - clean)[flat].std() < 0.5 * (noisy - clean)[flat].std()
    # the edge survives: the two sides stay far apart next to it
    assert float(out[..., 17].mean() - out[..., 14].mean()) > 0.5


def test_a_larger_eps_smooths_more() -> None:
    g = torch.Generator().manual_seed(3)
    x = torch.rand(1, 3, 16, 16, generator=g)
    weak = D.block_guided_filter(x, 1e-4, block=2)
    strong = D.block_guided_filter(x, 1.0, block=2)
    assert (strong - strong.mean()).std() < (weak - weak.mean()).std()


def test_eps_map_per_cell_equals_scalar_when_constant() -> None:
    x = torch.rand(2, 3, 10, 12, generator=torch.Generator().manual_seed(4))
    scalar = D.block_guided_filter(x, 3e-3, block=4)
    mapped = D.block_guided_filter(x, torch.full((2, 1, 3, 3), 3e-3), block=4)
    per_image = D.block_guided_filter(x, torch.full((2,), 3e-3), block=4)
    torch.testing.assert_close(mapped, scalar)
    torch.testing.assert_close(per_image, scalar)


def test_gradcheck_images_guide_and_eps() -> None:
    g = torch.Generator().manual_seed(5)
    x = torch.rand(1, 3, 6, 6, generator=g, dtype=torch.float64, requires_grad=True)
    guide = torch.rand(1, 1, 6, 6, generator=g, dtype=torch.float64, requires_grad=True)
    eps = torch.full((1, 1, 3, 3), 0.05, dtype=torch.float64, requires_grad=True)

    def f(img, gd, e):
        return D.block_guided_filter(img, e, gd, block=2, radius=1)

    assert torch.autograd.gradcheck(f, (x, guide, eps))


def test_module_equals_function_and_unbatched_input() -> None:
    x = torch.rand(3, 8, 8)
    torch.testing.assert_close(
        D.BlockGuidedFilter(block=2)(x, 1e-2), D.block_guided_filter(x, 1e-2, block=2)
    )
    assert D.block_guided_filter(x, 1e-2, block=2).shape == (3, 8, 8)


def test_bad_arguments_say_what_to_do() -> None:
    x = torch.rand(1, 3, 8, 8)
    with pytest.raises(ValueError, match="eps"):
        D.block_guided_filter(x, 0.0)
    with pytest.raises(ValueError, match="one value per cell"):
        D.block_guided_filter(x, torch.ones(1, 1, 3, 3), block=4)
    with pytest.raises(ValueError, match="block"):
        D.block_guided_filter(x, 1e-2, block=0)
    with pytest.raises(ValueError, match="radius"):
        D.block_guided_filter(x, 1e-2, radius=-1)
    with pytest.raises(ValueError, match="guide"):
        D.block_guided_filter(x, 1e-2, torch.rand(1, 1, 4, 4))
    with pytest.raises(ValueError, match="NaN"):
        D.block_guided_filter(torch.full((1, 3, 4, 4), float("nan")), 1e-2)


@pytest.mark.parametrize(
    ("shape", "block"),
    [
        ((1, 3, 1, 1), 4),
        ((2, 3, 37, 50), 4),
        ((1, 3, 41, 29), 3),
        ((1, 1, 9, 20), 2),
        ((1, 3, 8, 8), 8),
    ],
)
def test_the_cpu_kernel_equals_torch_for_block_statistics(shape, block, monkeypatch) -> None:
    """The numba path (CPU float32, no gradient) agrees with the pooled torch products to float32
    rounding, partial cells (replicated border) included; gradients and other dtypes take torch."""
    g = torch.Generator().manual_seed(20)
    x = torch.rand(shape, generator=g)
    guide = x.mean(1, keepdim=True)
    monkeypatch.setattr(D, "KERNEL_MIN_PIXELS", 10**12)
    expected = D.block_statistics(x, guide, block)
    monkeypatch.setattr(D, "KERNEL_MIN_PIXELS", 0)
    assert D._use_kernel(x, guide)
    torch.testing.assert_close(D.block_statistics(x, guide, block), expected, atol=3e-7, rtol=0)
    assert not D._use_kernel(x.double(), guide.double())
    assert not D._use_kernel(x.requires_grad_(), guide)
    stats = D.block_statistics(x, guide, block)  # the torch path, differentiable
    assert stats.grad_fn is not None
    torch.testing.assert_close(stats.detach(), expected)
    with torch.no_grad():  # a tensor that requires grad, under no_grad: the kernel, no error
        assert D._use_kernel(x, guide)
        torch.testing.assert_close(D.block_statistics(x, guide, block), expected, atol=3e-7, rtol=0)


def test_small_images_take_torch_for_block_statistics() -> None:
    x = torch.rand(1, 3, 384, 384)
    assert not D._use_kernel(x, x.mean(1, keepdim=True))
    assert D.KERNEL_MIN_PIXELS > 384 * 384


@settings(max_examples=60, deadline=None)
@given(
    h=st.integers(1, 24),
    w=st.integers(1, 24),
    radius=st.integers(0, D.SLICES_MAX_RADIUS + 4),
    seed=st.integers(0, 999),
)
def test_box_mean_is_the_cut_window_average(h: int, w: int, radius: int, seed: int) -> None:
    """The box mean (shifted slices up to SLICES_MAX_RADIUS, running sums above) equals torch's
    stride-1 pooling that leaves the padding out of each window's count, for any size and radius
    (also windows wider than the map)."""
    x = torch.rand(2, 3, h, w, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    k = 2 * radius + 1
    if radius == 0:
        expected = x
    else:
        expected = F.avg_pool2d(x, k, stride=1, padding=radius, count_include_pad=False)
    torch.testing.assert_close(D.box_mean(x, radius), expected)
