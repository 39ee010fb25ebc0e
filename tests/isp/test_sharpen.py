"""Tests for pyisp_contrast.isp.sharpen (an unsharp mask on the luma that keeps chromaticity)."""

from __future__ import annotations

import math

import kornia
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pyisp_contrast.isp import SharpenLuma, sharpen, sharpen_luma
from pyisp_contrast.isp.sharpen import (
    CONTRAST_CELL,
    cell_blur,
    cell_taps,
    gaussian_taps,
    luma,
    luma_unsharp,
    luma_unsharp_,
    separable_blur,
)


def _gauss(sigma: float) -> list[float]:
    r = max(1, round(3 * sigma))
    w = [math.exp(-(i * i) / (2 * sigma * sigma)) for i in range(-r, r + 1)]
    return [v / sum(w) for v in w]


def _slow_blur(y: list[list[float]], sigma: float) -> list[list[float]]:
    """A 2-D Gaussian of ``y`` (lists), border replicated, as a double sum per pixel."""
    w = _gauss(sigma)
    r, h, wd = len(w) // 2, len(y), len(y[0])
    return [
        [
            sum(
                w[a] * w[b] * y[min(max(i + a - r, 0), h - 1)][min(max(j + b - r, 0), wd - 1)]
                for a in range(2 * r + 1)
                for b in range(2 * r + 1)
            )
            for j in range(wd)
        ]
        for i in range(h)
    ]


def _slow_cell_blur(y: list[list[float]], sigma: float, cell: int) -> list[list[float]]:
    """``cell_blur`` written out: cell means (image padded by replication), a Gaussian of
    ``sigma / cell`` cells, bilinear back to the pixels (half-pixel centres, clamped)."""
    h, wd = len(y), len(y[0])
    gh, gw = -(-h // cell), -(-wd // cell)
    means = [
        [
            sum(
                y[min(ci * cell + a, h - 1)][min(cj * cell + b, wd - 1)]
                for a in range(cell)
                for b in range(cell)
            )
            / cell**2
            for cj in range(gw)
        ]
        for ci in range(gh)
    ]
    low = _slow_blur(means, sigma / cell)

    def source(k: int, n: int) -> tuple[int, int, float]:
        s = max((k + 0.5) / cell - 0.5, 0.0)
        k0 = min(int(s), n - 1)
        return k0, min(k0 + 1, n - 1), s - k0

    out = []
    for i in range(h):
        i0, i1, wi = source(i, gh)
        row = []
        for j in range(wd):
            j0, j1, wj = source(j, gw)
            top = low[i0][j0] * (1 - wj) + low[i0][j1] * wj
            bottom = low[i1][j0] * (1 - wj) + low[i1][j1] * wj
            row.append(top * (1 - wi) + bottom * wi)
        out.append(row)
    return out


def _slow_sharpen(
    image: torch.Tensor, amount: float, sigma: float, contrast: float = 0.0, wide: float = 8.0
) -> torch.Tensor:
    """The module's formula written out pixel by pixel for one ``(3, H, W)`` image."""
    rgb = image.tolist()
    h, wd = image.shape[-2:]
    y = [[0.299 * rgb[0][i][j] + 0.587 * rgb[1][i][j] + 0.114 * rgb[2][i][j] for j in range(wd)]
         for i in range(h)]  # fmt: skip
    fine = _slow_blur(y, sigma)
    low = _slow_cell_blur(y, wide, CONTRAST_CELL)
    out = torch.empty_like(image)
    for i in range(h):
        for j in range(wd):
            blur = fine[i][j]
            band = contrast * (blur - low[i][j])
            sharp = min(max(y[i][j] + amount * (y[i][j] - blur) + band, 0.0), 1.0)
            ratio = 1.0 + (sharp - y[i][j]) / max(y[i][j], 1e-4)
            for c in range(3):
                out[c, i, j] = min(max(rgb[c][i][j] * ratio, 0.0), 1.0)
    return out


@pytest.mark.parametrize("sigma", [0.5, 1.0, 1.7])
def test_matches_a_slow_loop_of_the_formula(sigma: float) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 9, 11, generator=g, dtype=torch.float64)
    expected = torch.stack([_slow_sharpen(im, a, sigma) for im, a in zip(x, (0.3, 1.5))])
    out = sharpen_luma(x, torch.tensor([0.3, 1.5], dtype=torch.float64), sigma=sigma)
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize(("shape", "wide"), [((9, 11), 6.0), ((13, 6), 12.0), ((2, 3), 4.0)])
def test_the_local_contrast_band_matches_a_slow_loop_of_the_formula(shape, wide) -> None:
    g = torch.Generator().manual_seed(10)
    x = torch.rand(2, 3, *shape, generator=g, dtype=torch.float64)
    pairs = [(0.3, 0.8), (0.0, 2.0)]
    expected = torch.stack(
        [_slow_sharpen(im, a, 1.0, c, wide) for im, (a, c) in zip(x, pairs)]
    )  # fmt: skip
    amount, contrast = (torch.tensor(v, dtype=torch.float64) for v in zip(*pairs))
    out = sharpen_luma(x, amount, contrast=contrast, contrast_sigma=wide)
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (8, 8), (17, 30)])
def test_cell_blur_keeps_constants_and_matches_a_slow_loop(shape) -> None:
    g = torch.Generator().manual_seed(11)
    grey = torch.rand(1, 1, *shape, generator=g, dtype=torch.float64)
    expected = torch.tensor(_slow_cell_blur(grey[0, 0].tolist(), 10.0, CONTRAST_CELL))
    torch.testing.assert_close(cell_blur(grey, cell_taps(10.0))[0, 0], expected.double())
    flat = torch.full((2, 1, *shape), 0.3, dtype=torch.float64)
    torch.testing.assert_close(cell_blur(flat, cell_taps(10.0)), flat)


def test_the_local_contrast_band_leaves_pixel_noise_alone() -> None:
    """The wide band starts where the fine one ends: a pixel checkerboard (the finest detail,
    where sensor noise is) barely moves under any ``contrast`` away from the border (where the
    replicated edge breaks the pattern), while a slow wave's local contrast grows with it."""
    checker = 0.4 + 0.05 * ((torch.arange(32)[:, None] + torch.arange(32)) % 2).double()
    checker = checker.expand(1, 3, 32, 32)
    inner = (..., slice(4, -4), slice(4, -4))
    moved = (sharpen_luma(checker, 0.0, contrast=2.0) - checker)[inner].abs().max()
    assert float(moved) < 1e-4
    assert float((sharpen_luma(checker, 2.0) - checker)[inner].abs().max()) > 0.04
    waves = 0.4 + 0.1 * torch.sin(torch.arange(64).double() / 3).expand(1, 3, 16, 64)
    swing = [float(sharpen_luma(waves, 0.0, contrast=c).std()) for c in (0.0, 0.5, 1.0)]
    assert swing[0] < swing[1] < swing[2]


@pytest.mark.parametrize("shape", [(1, 1), (2, 5), (17, 9), (40, 33)])
@pytest.mark.parametrize("sigma", [0.3, 1.0, 2.5])
def test_blur_is_korninas_gaussian_with_replicated_border(shape, sigma) -> None:
    g = torch.Generator().manual_seed(1)
    grey = torch.rand(2, 1, *shape, generator=g, dtype=torch.float64)
    taps = gaussian_taps(sigma)
    k = len(taps)
    expected = kornia.filters.gaussian_blur2d(grey, (k, k), (sigma, sigma), border_type="replicate")
    torch.testing.assert_close(separable_blur(grey, taps), expected)


def test_gaussian_taps_are_symmetric_odd_and_sum_to_one() -> None:
    for sigma in (0.01, 0.5, 1.0, 3.3, 16.0):
        taps = gaussian_taps(sigma)
        assert len(taps) % 2 == 1 and len(taps) >= 3
        assert taps == taps[::-1]
        assert sum(taps) == pytest.approx(1.0, abs=1e-12)


def test_known_answer_at_a_step_edge() -> None:
    """A grey step 0.4 | 0.6 gains an overshoot on both sides; far from it nothing moves."""
    x = torch.full((1, 3, 8, 20), 0.4)
    x[..., 10:] = 0.6
    out = sharpen_luma(x, 1.0)
    assert out[0, 0, 4, 9] < 0.4 - 0.02 and out[0, 0, 4, 10] > 0.6 + 0.02
    torch.testing.assert_close(out[..., :5], x[..., :5])
    torch.testing.assert_close(out[..., 15:], x[..., 15:])
    # the overshoot on each side is the same size (the blur is symmetric)
    assert float(0.4 - out[0, 0, 4, 9]) == pytest.approx(float(out[0, 0, 4, 10] - 0.6), rel=1e-4)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    amount=st.floats(0.0, 4.0),
    sigma=st.floats(0.2, 3.0),
    contrast=st.floats(0.0, 4.0),
)
def test_greys_stay_grey_and_the_range_is_kept(
    seed: int, amount: float, sigma: float, contrast: float
) -> None:
    g = torch.Generator().manual_seed(seed)
    grey = torch.rand(1, 1, 12, 13, generator=g).expand(1, 3, 12, 13)
    out = sharpen_luma(grey, amount, sigma=sigma, contrast=contrast)
    assert bool((out[:, 0] == out[:, 1]).all() and (out[:, 1] == out[:, 2]).all())
    colour = torch.rand(1, 3, 12, 13, generator=g)
    out = sharpen_luma(colour, amount, sigma=sigma, contrast=contrast)
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), amount=st.floats(0.0, 4.0))
def test_chromaticity_is_kept_where_nothing_clips(seed: int, amount: float) -> None:
    g = torch.Generator().manual_seed(seed)
    x = 0.2 + 0.3 * torch.rand(1, 3, 10, 10, generator=g, dtype=torch.float64)
    out = sharpen_luma(x, min(amount, 0.5))  # small enough that nothing leaves [0, 1]
    torch.testing.assert_close(out[:, 0] / out[:, 1], x[:, 0] / x[:, 1])
    torch.testing.assert_close(out[:, 2] / out[:, 1], x[:, 2] / x[:, 1])


def test_amount_zero_is_exactly_the_identity_and_flat_images_stay() -> None:
    g = torch.Generator().manual_seed(2)
    x = torch.rand(2, 3, 16, 16, generator=g)
    x[0, :, :4] = 1e-6  # even below the luma floor
    assert bool((sharpen_luma(x, 0.0) == x).all())
    assert bool((sharpen_luma(x, 0.0, contrast=torch.zeros(2)) == x).all())
    flat = torch.full((1, 3, 9, 9), 0.37)
    torch.testing.assert_close(sharpen_luma(flat, 3.0), flat)
    torch.testing.assert_close(sharpen_luma(flat, 3.0, contrast=3.0), flat)


def test_per_image_amounts_equal_one_image_at_a_time() -> None:
    g = torch.Generator().manual_seed(3)
    x = torch.rand(3, 3, 14, 10, generator=g)
    amounts = torch.tensor([0.0, 0.5, 2.0])
    batch = sharpen_luma(x, amounts)
    for i in range(3):
        torch.testing.assert_close(batch[i], sharpen_luma(x[i], float(amounts[i])))


def test_more_amount_more_local_contrast() -> None:
    g = torch.Generator().manual_seed(4)
    x = 0.3 + 0.2 * torch.rand(1, 3, 32, 32, generator=g)
    detail = [float(sharpen_luma(x, a).diff(dim=-1).abs().mean()) for a in (0.0, 0.25, 1.0)]
    assert detail[0] < detail[1] < detail[2]


def test_gradcheck_float64() -> None:
    g = torch.Generator().manual_seed(5)
    x = (0.1 + 0.8 * torch.rand(2, 3, 7, 6, generator=g, dtype=torch.float64)).requires_grad_()
    amount = torch.tensor([0.3, 0.9], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda i, a: sharpen_luma(i, a), (x, amount))
    contrast = torch.tensor([0.5, 1.2], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda i, a, c: sharpen_luma(i, a, contrast=c, contrast_sigma=6.0), (x, amount, contrast)
    )


def test_the_scriptable_core_compiles_and_matches() -> None:
    with pytest.warns(DeprecationWarning, match="jit"):  # torch 2.13 deprecates torch.jit
        scripted = torch.jit.script(luma_unsharp)
    g = torch.Generator().manual_seed(6)
    x = torch.rand(2, 3, 11, 8, generator=g)
    amount = torch.tensor([0.25, 1.0])
    taps = gaussian_taps(1.0)
    torch.testing.assert_close(scripted(x, amount, taps), luma_unsharp(x, amount, taps))
    torch.testing.assert_close(luma_unsharp(x, amount, taps), sharpen_luma(x, amount))
    contrast, low = torch.tensor([0.5, 0.0]), cell_blur(luma(x), cell_taps(6.0))
    expected = sharpen_luma(x, amount, contrast=contrast, contrast_sigma=6.0)
    torch.testing.assert_close(scripted(x, amount, taps, contrast, low), expected)
    with pytest.warns(DeprecationWarning, match="jit"):
        torch.testing.assert_close(torch.jit.script(cell_blur)(luma(x), cell_taps(6.0)), low)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"amount": -0.1}, "amount"),
        ({"amount": float("nan")}, "amount"),
        ({"amount": torch.tensor([0.1, 0.2, 0.3])}, r"one value per image"),
        ({"amount": torch.tensor([0.1, -1.0])}, r">= 0"),
        ({"amount": torch.tensor([0.1, float("inf")])}, "finite"),
        ({"amount": 0.5, "sigma": 0.0}, "sigma"),
        ({"amount": 0.5, "sigma": 40.0}, "sigma"),
        ({"amount": 0.5, "contrast": -1.0}, "contrast"),
        ({"amount": 0.5, "contrast": torch.tensor([0.1])}, r"`contrast` .* one value per image"),
        ({"amount": 0.5, "contrast": 1.0, "contrast_sigma": 0.0}, "contrast_sigma"),
        ({"amount": 0.5, "contrast": 1.0, "contrast_sigma": 65.0}, "contrast_sigma"),
    ],
)
def test_bad_arguments_say_what_to_give(kwargs, match) -> None:
    x = torch.rand(2, 3, 8, 8)
    with pytest.raises((ValueError, TypeError), match=match):
        sharpen_luma(x, **kwargs)


def test_bad_images_are_refused() -> None:
    with pytest.raises(ValueError, match="images"):
        sharpen_luma(torch.rand(1, 1, 8, 8), 0.5)  # not RGB
    with pytest.raises(ValueError, match="images"):
        sharpen_luma(torch.full((1, 3, 8, 8), 2.0), 0.5)  # out of [0, 1]
    with pytest.raises(ValueError, match="images"):
        sharpen_luma(torch.full((1, 3, 8, 8), float("nan")), 0.5)


@pytest.mark.parametrize("sigma", [0.3, 1.0, 2.0])
@pytest.mark.parametrize("shape", [(1, 3, 1, 1), (1, 3, 2, 9), (2, 3, 7, 5), (1, 3, 61, 47)])
def test_the_cpu_kernel_equals_the_torch_version_in_place(sigma, shape, monkeypatch) -> None:
    """``luma_unsharp_`` (numba on the CPU in float32) writes into its input and agrees with
    ``luma_unsharp`` to float32 rounding; other dtypes and gradients take the torch version."""
    monkeypatch.setattr(sharpen, "KERNEL_MIN_PIXELS", 0)  # the kernel at every size
    g = torch.Generator().manual_seed(7)
    x = torch.rand(shape, generator=g)
    amount = 2 * torch.rand(shape[0], generator=g)
    taps = gaussian_taps(sigma)
    expected = luma_unsharp(x, amount, taps)
    own = x.clone()
    out = luma_unsharp_(own, amount, taps)
    assert out is own
    torch.testing.assert_close(out, expected, atol=1e-6, rtol=0)
    # with the local-contrast band (cells of 4 px: the sizes include partial cells)
    contrast, wide = 2 * torch.rand(shape[0], generator=g), cell_taps(4 + 4 * sigma)
    expected = luma_unsharp(x, amount, taps, contrast, cell_blur(luma(x), wide))
    own = x.clone()
    assert luma_unsharp_(own, amount, taps, contrast, wide) is own
    torch.testing.assert_close(own, expected, atol=1e-6, rtol=0)
    double = x.double()
    out = luma_unsharp_(double, amount.double(), taps)
    assert out is not double and bool((double == x.double()).all())  # left as it was
    torch.testing.assert_close(out, luma_unsharp(x.double(), amount.double(), taps))
    grad = x.clone().requires_grad_()
    assert luma_unsharp_(grad, amount, taps).grad_fn is not None


def test_small_images_take_the_torch_version() -> None:
    """Under ``KERNEL_MIN_PIXELS`` the kernel (and its compilation on first use) is skipped."""
    x = torch.rand(1, 3, 384, 384, generator=torch.Generator().manual_seed(8))
    out = luma_unsharp_(x, torch.tensor([0.5]), gaussian_taps(1.0))
    assert out is not x
    assert sharpen.KERNEL_MIN_PIXELS > 384 * 384


def test_runs_on_the_test_device_as_on_the_cpu(device) -> None:
    """``--device cuda`` (scripts/gpu_checks.sh) checks the GPU against the CPU."""
    g = torch.Generator().manual_seed(9)
    x = torch.rand(2, 3, 40, 50, generator=g)
    amount = torch.tensor([0.3, 1.0])
    out = sharpen_luma(x.to(device), amount.to(device)).cpu()
    torch.testing.assert_close(out, sharpen_luma(x, amount), atol=1e-6, rtol=0)
    contrast = torch.tensor([0.2, 1.5])
    out = sharpen_luma(x.to(device), amount.to(device), contrast=contrast.to(device)).cpu()
    torch.testing.assert_close(out, sharpen_luma(x, amount, contrast=contrast), atol=1e-6, rtol=0)


def test_the_cpu_kernel_runs_on_torchs_thread_count(monkeypatch) -> None:
    """One setting governs the library's CPU work: the kernel follows ``torch.set_num_threads``."""
    import numba

    monkeypatch.setattr(sharpen, "KERNEL_MIN_PIXELS", 0)
    threads, numba_threads = torch.get_num_threads(), numba.get_num_threads()
    try:
        torch.set_num_threads(1)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        luma_unsharp_(torch.rand(1, 3, 8, 8), torch.tensor([0.5]), gaussian_taps(1.0))
        assert numba.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)
        numba.set_num_threads(numba_threads)


def test_the_module_equals_the_function_and_checks_its_settings() -> None:
    g = torch.Generator().manual_seed(12)
    x = torch.rand(2, 3, 20, 24, generator=g)
    module = SharpenLuma(0.5, sigma=1.5, contrast=0.3, contrast_sigma=10.0)
    expected = sharpen_luma(x, 0.5, sigma=1.5, contrast=0.3, contrast_sigma=10.0)
    torch.testing.assert_close(module(x), expected, atol=0, rtol=0)
    assert "contrast=0.3" in repr(module)
    for kwargs, match in [
        ({"amount": -1.0}, "amount"),
        ({"contrast": float("nan")}, "contrast"),
        ({"sigma": 0.0}, "sigma"),
        ({"contrast_sigma": 100.0}, "contrast_sigma"),
    ]:
        with pytest.raises(ValueError, match=match):
            SharpenLuma(**kwargs)
