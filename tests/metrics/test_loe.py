from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from pyisp_contrast.metrics import LOE, lightness_map, loe


def _rand(*shape, seed=0):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


def _slow_loe(a, b):
    """The formula, pair by pair: LOE = (1/N) sum_i sum_j [a_i >= a_j] xor [b_i >= b_j]."""
    n = len(a)
    count = 0
    for i in range(n):
        for j in range(n):
            count += (a[i] >= a[j]) != (b[i] >= b[j])
    return count / n


def test_matches_slow_loop():
    x, y = _rand(2, 3, 20, 24, seed=1), _rand(2, 3, 20, 24, seed=2)
    ours = loe(x, y, grid=6)
    la, lb = lightness_map(x, grid=6), lightness_map(y, grid=6)
    for i in range(2):
        assert float(ours[i]) == pytest.approx(_slow_loe(la[i].tolist(), lb[i].tolist()))


def test_lightness_map_matches_pil_bilinear_resize():
    """The project's reference recipe resizes max(R, G, B) with PIL's BILINEAR on mode F."""
    x = _rand(1, 3, 77, 103, seed=3)
    light = x[0].amax(0).numpy().astype(np.float32)
    ref = np.asarray(Image.fromarray(light, mode="F").resize((50, 50), Image.BILINEAR)).ravel()
    np.testing.assert_allclose(lightness_map(x)[0].numpy(), ref, atol=1e-5)


def test_known_values():
    x = _rand(1, 3, 30, 30, seed=4)
    assert float(loe(x, x)) == 0.0
    # a monotone curve keeps the light order (at the grid's resolution: resizing averages first)
    assert float(loe(x, x**0.4, grid=30)) == 0.0
    # reversing the order flips every ordered pair of distinct values: N (N - 1) / N = N - 1 (N = 100)
    grey = _rand(1, 1, 10, 10, seed=5)
    assert float(loe(grey, 1 - grey, grid=10)) == pytest.approx(99.0)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), gain=st.floats(0.1, 1.0))
def test_global_gain_keeps_order(seed, gain):
    """A global gain keeps every order, except between lightness values that float rounding can
    swap once scaled (at most a few ulps apart); a power of two scales exactly and keeps all."""
    x = _rand(1, 3, 16, 16, seed=seed)
    exponent = round(np.log2(gain))
    assert float(loe(x, x * 2.0**exponent, grid=8)) == 0.0
    light = lightness_map(x, grid=8)[0]
    close = (light[:, None] - light[None, :]).abs() <= 4 * torch.finfo(light.dtype).eps
    near_ties = int(close.sum() - light.numel())  # ordered pairs of distinct points
    assert float(loe(x, x * gain, grid=8)) * light.numel() <= near_ties


def test_sizes_may_differ_and_grey_is_accepted():
    x = _rand(2, 1, 40, 40, seed=5)
    assert loe(x, _rand(2, 1, 20, 20, seed=6)).shape == (2,)
    assert loe(x[0], x[0]).shape == (1,)


def test_module_equals_function():
    x, y = _rand(2, 3, 16, 16, seed=7), _rand(2, 3, 16, 16, seed=8)
    torch.testing.assert_close(LOE(grid=8)(x, y), loe(x, y, grid=8))


def test_errors():
    x = _rand(2, 3, 8, 8)
    with pytest.raises(ValueError, match="batch size"):
        loe(x, x[:1])
    with pytest.raises(ValueError, match="grid"):
        loe(x, x, grid=1)
    with pytest.raises(ValueError, match="channels"):
        loe(_rand(1, 2, 8, 8), _rand(1, 2, 8, 8))
