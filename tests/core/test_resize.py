"""Tests for pyisp_contrast.core.resize (index tables equal F.interpolate)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from pyisp_contrast.core.resize import linear_resize_indices, resize_rows


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
