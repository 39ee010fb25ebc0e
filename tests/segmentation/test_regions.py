"""Tests for pyisp_contrast.segmentation.regions."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pyisp_contrast.core.checks import value_checks
from pyisp_contrast.segmentation.regions import (
    RegionStats,
    boundaries,
    paint,
    region_stats,
    relabel_sequential,
)


def _loop_stats(values: torch.Tensor, labels: torch.Tensor, k: int):
    """Slow reference: one region of one image at a time, straight from the definitions."""
    b, c = values.shape[:2]
    count = torch.zeros(b, k, dtype=values.dtype)
    mean = torch.zeros(b, k, c, dtype=values.dtype)
    var = torch.zeros(b, k, c, dtype=values.dtype)
    for i in range(b):
        for r in range(k):
            mask = labels[i] == r
            n = int(mask.sum())
            count[i, r] = n
            if n:
                px = values[i][:, mask]  # (C, n)
                mean[i, r] = px.mean(1)
                var[i, r] = px.var(1, unbiased=False)
    return count, mean, var


def _random_labels(b, h, w, k, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, k, (b, h, w), generator=g)


# --------------------------------------------------------------------------- region_stats
def test_region_stats_matches_loop(device, dtype, tol):
    g = torch.Generator().manual_seed(1)
    x = torch.rand(3, 2, 9, 7, generator=g, dtype=torch.float64)
    lab = _random_labels(3, 9, 7, 6)
    lab[1][lab[1] == 4] = 5  # region 4 absent from image 1
    ref = _loop_stats(x, lab, 6)
    out = region_stats(x.to(device, dtype), lab.to(device))
    assert isinstance(out, RegionStats)
    for got, want in zip(out, ref):
        torch.testing.assert_close(got.cpu(), want.to(dtype), **tol)
    assert out.count[1, 4] == 0 and out.mean[1, 4].abs().sum() == 0


def test_region_stats_num_regions_pads(device):
    x = torch.rand(2, 1, 4, 4, device=device)
    lab = torch.zeros(2, 4, 4, dtype=torch.long, device=device)
    lab[1, 2:] = 1
    out = region_stats(x, lab, num_regions=5)
    assert out.count.shape == (2, 5) and out.mean.shape == (2, 5, 1) and out.var.shape == (2, 5, 1)
    assert out.count.tolist() == [[16, 0, 0, 0, 0], [8, 8, 0, 0, 0]]


def test_region_stats_known_values():
    x = torch.tensor([[[[0.0, 2.0, 10.0], [4.0, 6.0, 10.0]]]])
    lab = torch.tensor([[[0, 0, 1], [0, 0, 1]]])
    out = region_stats(x, lab)
    assert out.count.tolist() == [[4.0, 2.0]]
    assert out.mean[0, :, 0].tolist() == [3.0, 10.0]
    assert out.var[0, :, 0].tolist() == [5.0, 0.0]


def test_region_stats_variance_stable_on_large_offset():
    # E[x^2] - E[x]^2 would lose everything here in float32; the two-pass form does not.
    x = 1000.0 + torch.tensor([[[[0.0, 0.5, 1.0, 1.5]]]])
    out = region_stats(x, torch.zeros(1, 1, 4, dtype=torch.long))
    torch.testing.assert_close(out.var[0, 0, 0], torch.tensor(0.3125), atol=1e-4, rtol=0)


def test_region_stats_gradcheck():
    g = torch.Generator().manual_seed(2)
    x = torch.rand(2, 2, 4, 3, generator=g, dtype=torch.float64, requires_grad=True)
    lab = _random_labels(2, 4, 3, 3, seed=3)

    def f(v):
        s = region_stats(v, lab, num_regions=4)
        return s.mean, s.var

    assert torch.autograd.gradcheck(f, (x,))


def test_region_stats_int_labels_accepted():
    x = torch.rand(1, 1, 2, 2)
    out = region_stats(x, torch.tensor([[[0, 1], [1, 0]]], dtype=torch.int32))
    assert out.count.tolist() == [[2.0, 2.0]]


@pytest.mark.parametrize(
    ("values", "labels", "kwargs", "exc", "match"),
    [
        (torch.rand(1, 1, 2, 2), torch.zeros(1, 2, 3, dtype=torch.long), {}, ValueError, "labels"),
        (torch.rand(1, 1, 2, 2), torch.zeros(1, 2, 2), {}, TypeError, "labels"),
        (torch.rand(1, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long), {}, ValueError, "values"),
        (
            torch.ones(1, 1, 2, 2).long(),
            torch.zeros(1, 2, 2, dtype=torch.long),
            {},
            TypeError,
            "values",
        ),
        (torch.rand(0, 1, 2, 2), torch.zeros(0, 2, 2, dtype=torch.long), {}, ValueError, "empty"),
        (
            torch.full((1, 1, 2, 2), float("nan")),
            torch.zeros(1, 2, 2, dtype=torch.long),
            {},
            ValueError,
            "NaN",
        ),
        (
            torch.rand(1, 1, 2, 2),
            -torch.ones(1, 2, 2, dtype=torch.long),
            {},
            ValueError,
            "non-negative",
        ),
        (
            torch.rand(1, 1, 2, 2),
            torch.full((1, 2, 2), 3, dtype=torch.long),
            {"num_regions": 2},
            ValueError,
            "num_regions",
        ),
        (
            torch.rand(1, 1, 2, 2),
            torch.zeros(1, 2, 2, dtype=torch.long),
            {"num_regions": 0},
            ValueError,
            "num_regions",
        ),
        (
            torch.rand(1, 1, 2, 2),
            torch.zeros(1, 2, 2, dtype=torch.long),
            {"num_regions": 2.0},
            TypeError,
            "num_regions",
        ),
    ],
)
def test_region_stats_bad_input(values, labels, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        region_stats(values, labels, **kwargs)


def test_region_stats_values_checks_off_allows_big_values():
    with value_checks(False):
        out = region_stats(torch.full((1, 1, 1, 2), 5.0), torch.zeros(1, 1, 2, dtype=torch.long))
    assert out.mean.item() == 5.0


@settings(max_examples=25, deadline=None)
@given(
    b=st.integers(1, 3),
    h=st.integers(1, 6),
    w=st.integers(1, 6),
    k=st.integers(1, 5),
    seed=st.integers(0, 10_000),
)
def test_region_stats_property(b, h, w, k, seed):
    lab = _random_labels(b, h, w, k, seed)
    x = torch.rand(b, 2, h, w, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    s = region_stats(x, lab)
    # counts sum to the pixel count, and painting the means back preserves each image's total
    assert s.count.sum(1).tolist() == [h * w] * b
    torch.testing.assert_close(paint(s.mean, lab).sum((2, 3)), x.sum((2, 3)))
    assert bool((s.var >= 0).all())


# --------------------------------------------------------------------------- paint
def test_paint_shapes_and_values(device):
    lab = torch.tensor([[[0, 1], [2, 1]], [[1, 1], [0, 0]]], device=device)
    per = torch.arange(12.0, device=device).view(2, 3, 2)
    out = paint(per, lab)
    assert out.shape == (2, 2, 2, 2)
    assert out[0, :, 1, 0].tolist() == [4.0, 5.0]
    assert out[1, :, 0, 0].tolist() == [8.0, 9.0]
    assert paint(per[..., 0], lab).shape == (2, 1, 2, 2)


def test_paint_gradcheck():
    lab = _random_labels(2, 3, 3, 4, seed=5)
    per = torch.rand(2, 4, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda p: paint(p, lab), (per,))


def test_paint_bad_input():
    lab = torch.zeros(1, 2, 2, dtype=torch.long)
    with pytest.raises(ValueError, match="per_region"):
        paint(torch.zeros(1, 2, 2, 2), lab)
    with pytest.raises(ValueError, match="batch size"):
        paint(torch.zeros(2, 2), lab)
    with pytest.raises(ValueError, match="K = 2"):
        paint(torch.zeros(1, 2), torch.full((1, 2, 2), 2))
    with pytest.raises(TypeError, match="per_region"):
        paint([[1.0]], lab)
    with pytest.raises(TypeError, match="labels"):
        paint(torch.zeros(1, 2), lab.float())


# --------------------------------------------------------------------------- relabel_sequential
def _loop_relabel(labels):
    out = torch.empty_like(labels)
    counts = []
    for i in range(labels.shape[0]):
        uniq = torch.unique(labels[i])
        for j, u in enumerate(uniq.tolist()):
            out[i][labels[i] == u] = j
        counts.append(len(uniq))
    return out, torch.tensor(counts)


@pytest.mark.parametrize("big", [False, True])
def test_relabel_sequential_matches_loop(big, device):
    lab = _random_labels(3, 5, 6, 9, seed=7) * 3
    if big:
        lab = lab * 10**9  # forces the sparse (sort-based) path
    out, k = relabel_sequential(lab.to(device))
    ref, kref = _loop_relabel(lab)
    assert torch.equal(out.cpu(), ref) and torch.equal(k.cpu(), kref)
    assert out.dtype == torch.int64 and k.dtype == torch.int64


@settings(max_examples=25, deadline=None)
@given(b=st.integers(1, 3), n=st.integers(1, 30), k=st.integers(1, 50), seed=st.integers(0, 999))
def test_relabel_sequential_property(b, n, k, seed):
    lab = _random_labels(b, 1, n, k, seed)
    out, counts = relabel_sequential(lab)
    for i in range(b):
        assert sorted(torch.unique(out[i]).tolist()) == list(range(int(counts[i])))
        # same partition: equal old labels <=> equal new labels
        same_old = lab[i, 0, :, None] == lab[i, 0, None, :]
        same_new = out[i, 0, :, None] == out[i, 0, None, :]
        assert torch.equal(same_old, same_new)


def test_relabel_sequential_bad_input():
    with pytest.raises(ValueError, match=r"\(B, H, W\)"):
        relabel_sequential(torch.zeros(2, 2, dtype=torch.long))
    with pytest.raises(TypeError, match="integer"):
        relabel_sequential(torch.zeros(1, 2, 2))


# --------------------------------------------------------------------------- boundaries
def test_boundaries_quadrants():
    lab = torch.zeros(1, 4, 4, dtype=torch.long)
    lab[0, :, 2:] = 1
    lab[0, 2:, :] += 2
    thick = boundaries(lab, "thick")
    inner = boundaries(lab)
    # thick: both sides of every border; inner: one side only, so exactly half of the border pairs
    assert thick[0].int().tolist() == [[0, 1, 1, 0], [1, 1, 1, 1], [1, 1, 1, 1], [0, 1, 1, 0]]
    assert inner[0].int().tolist() == [[0, 0, 1, 0], [0, 0, 1, 0], [1, 1, 1, 1], [0, 0, 1, 0]]
    assert bool((inner <= thick).all())


def test_boundaries_constant_and_thin_images():
    assert not boundaries(torch.zeros(2, 3, 3, dtype=torch.long)).any()
    assert boundaries(torch.tensor([[[0], [1]]]))[0, :, 0].tolist() == [False, True]


def test_boundaries_bad_mode():
    with pytest.raises(ValueError, match="mode"):
        boundaries(torch.zeros(1, 2, 2, dtype=torch.long), mode="outer")
