"""The float32 Bag-of-Curves kernel: its vectorised log / pow and its input statistics."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
import torch

from pyisp_contrast.isp import _boc_kernel as K
from pyisp_contrast.isp import bank
from pyisp_contrast.isp.bank import pie_families, sample_negatives
from pyisp_contrast.isp.curves import POW_EPS


@numba.njit(cache=False)
def _ln_all(x, out):  # pragma: no cover - compiled
    for i in range(x.size):
        out[i] = K._ln_f32(x[i])


@numba.njit(cache=False)
def _spow_all(x, p, out):  # pragma: no cover - compiled
    toe = np.float32(POW_EPS) ** (p - np.float32(1.0))
    for i in range(x.size):
        out[i] = K._spow_f32(x[i], p, toe, np.float32(POW_EPS))


def _grid() -> np.ndarray:
    # every binade from 1e-6 to 1, dense, plus the exact end points and a few exact powers of 2
    x = np.geomspace(1e-6, 1.0, 200_001).astype(np.float32)
    return np.concatenate([x, np.float32([POW_EPS, 0.5, 0.25, 1.0, np.nextafter(1, 0)])])


def test_log_matches_float64() -> None:
    x = np.concatenate([_grid(), np.linspace(1, 256, 100_001, dtype=np.float32)])
    out = np.empty_like(x)
    _ln_all(x, out)
    ref = np.log(x.astype(np.float64))
    # within about one float32 ulp of the result: |log| <= 14 here, ulp(14) = 9.5e-7
    err = np.abs(out - ref)
    assert err.max() <= 1.5e-6
    assert (err / np.maximum(np.abs(ref), 1.0)).max() <= 2e-7
    assert out[np.searchsorted(x[:200_001], 1.0)] == 0.0  # log(1) is exact


@pytest.mark.parametrize("p", [1e-3, 0.1, 0.2, 1.0, 5.0, 6.0, 8.0])
def test_pow_matches_float64_and_torch(p: float) -> None:
    x = _grid()
    out = np.empty_like(x)
    _spow_all(x, np.float32(p), out)
    ref = x.astype(np.float64) ** np.float32(p)
    assert np.abs(out - ref).max() <= 1.5e-7
    # relative error: t = p log2(x) is rounded to float32 (ulp(60) = 3.8e-6 gives 2^t 1.3e-6 off)
    big = ref > 1e-3
    assert (np.abs(out - ref)[big] / ref[big]).max() <= 3e-6
    torch_pow = torch.from_numpy(x) ** np.float32(p)
    assert float((torch_pow - torch.from_numpy(out)).abs().max()) <= 2e-7


def test_pow_toe_and_zero() -> None:
    x = np.float32([0.0, 1e-7, 5e-7])
    out = np.empty_like(x)
    _spow_all(x, np.float32(6.0), out)
    toe = np.float32(POW_EPS) ** np.float32(5.0)
    np.testing.assert_allclose(out, x * toe, rtol=1e-6, atol=0)
    assert out[0] == 0.0


def test_order_key_is_monotone_and_its_own_inverse() -> None:
    @numba.njit(cache=False)
    def keys(x, out):  # pragma: no cover - compiled
        for i in range(x.size):
            out[i] = K._order_key(x[i])

    x = np.sort(np.float32([-2.0, -1e-7, -0.0, 0.0, 1e-38, 0.5, 1.0, 3e38, -3e38, np.inf, -np.inf]))
    k = np.empty(x.size, dtype=np.int32)
    keys(x, k)
    assert (np.diff(k.astype(np.int64)) >= 0).all()
    back = np.empty(x.size, dtype=np.int32)
    keys(k.view(np.float32), back)
    assert (back.view(np.float32) == x).all()


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("channels", [1, 3])
def test_kernel_reports_non_finite_input(monkeypatch, value: float, channels: int) -> None:
    monkeypatch.setattr(bank, "KERNEL_MIN_ELEMENTS", 0)
    x = torch.rand(2, channels, 40, 40, generator=torch.Generator().manual_seed(0)) * 0.8 + 0.1
    x[1, -1, 39, 38] = value
    with pytest.raises(ValueError, match="NaN or inf"):
        sample_negatives(x, pie_families(), generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("lo, hi", [(-0.5, 0.9), (0.1, 1.5)])
def test_kernel_reports_range_with_the_true_extremes(monkeypatch, lo: float, hi: float) -> None:
    monkeypatch.setattr(bank, "KERNEL_MIN_ELEMENTS", 0)
    x = torch.full((2, 3, 33, 35), 0.5)
    x[0, 2, 5, 7] = lo
    x[1, 0, 32, 34] = hi
    match = rf"min {lo:.4g} and max {hi:.4g}"
    with pytest.raises(ValueError, match=match):
        sample_negatives(x, pie_families(), generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("special", [None, -0.0, 0.0, 1.0])
def test_kernel_statistics_of_valid_input_are_exact(special) -> None:
    """Valid input takes the kernel's integer min / max of the bits; -0.0 (bits below 0 as int32)
    takes the exact pass and still counts as 0."""
    g = torch.Generator().manual_seed(1)
    x = torch.rand(3, 3, 37, 41, generator=g) * 0.7 + 0.2
    if special is not None:
        x[2, 1, 36, 40] = special
    src = torch.arange(3)
    fams = pie_families()
    _, _, stats = bank._fused_run(x, src, fams, torch.tensor([0, 1, 2]), torch.full((3,), 0.6))
    assert stats.tolist() == [float(x.min()), float(x.max()), 0.0]
    neg, _ = sample_negatives(x, fams, generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(neg).all()
