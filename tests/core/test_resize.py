"""Tests for pyisp_contrast.core.resize (index tables equal F.interpolate)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from pyisp_contrast.core.resize import fit_long_side, linear_resize_indices, resize_rows


@pytest.mark.parametrize(
    ("h", "w", "big_h", "big_w"), [(3, 4, 10, 9), (5, 5, 5, 5), (7, 2, 31, 40), (1, 1, 4, 3)]
)
def test_rows_in_blocks_equal_one_interpolate(h: int, w: int, big_h: int, big_w: int) -> None:
    maps = torch.rand(2, 3, h, w, dtype=torch.float64)
    ref = F.interpolate(maps, size=(big_h, big_w), mode="bilinear", align_corners=False)
    blocks = [
        resize_rows(maps, slice(t, min(t + 4, big_h)), (big_h, big_w)) for t in range(0, big_h, 4)
    ]
    torch.testing.assert_close(torch.cat(blocks, 2), ref)


def test_indices_stay_in_range() -> None:
    i0, i1, w = linear_resize_indices(100, 7, "cpu", torch.float32)
    assert int(i0.min()) >= 0 and int(i1.max()) <= 6
    assert float(w.min()) >= 0 and float(w.max()) <= 1


@settings(max_examples=200, deadline=None)
@given(
    h=st.integers(1, 5000),
    w=st.integers(1, 5000),
    side=st.integers(1, 2000),
    min_side=st.integers(1, 16),
)
def test_fit_long_side(h: int, w: int, side: int, min_side: int) -> None:
    """The longer side becomes ``side`` exactly, the shorter one the rounded same fraction (at
    least ``min_side``); an image that fits is left as it is."""
    fh, fw = fit_long_side(h, w, side, min_side)
    if max(h, w) <= side:
        assert (fh, fw) == (h, w)
        return
    long_in, short_in = max(h, w), min(h, w)
    long_out, short_out = (fh, fw) if h >= w else (fw, fh)
    assert long_out == max(min_side, side)
    assert short_out == max(min_side, round(short_in * side / long_in))


def test_fit_long_side_is_what_the_enhancers_run_at() -> None:
    from pyisp_contrast.models import FastCurveEstimator, GuidedGainEnhancer

    assert GuidedGainEnhancer(channels=4)._working_size(225, 300) == fit_long_side(225, 300, 128)
    assert FastCurveEstimator(channels=4).working_size(900, 1200) == fit_long_side(900, 1200, 256)
