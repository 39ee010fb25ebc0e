"""Tests for pyisp_contrast.segmentation.metrics: known answers and slow loops of each formula."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pyisp_contrast.segmentation.metrics import (
    achievable_segmentation_accuracy,
    boundary_recall,
    compactness,
    explained_variation,
    undersegmentation_error,
)


def _halves(h=8, w=8):
    gt = torch.zeros(1, h, w, dtype=torch.long)
    gt[:, :, w // 2 :] = 1
    return gt


def _grid_labels(h, w, cy, cx):
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    return ((yy * cy // h) * cx + xx * cx // w).unsqueeze(0)


# ------------------------------------------------------------------ slow references
def _ue_loop(s, g):
    n = s.numel()
    total = 0
    for gl in torch.unique(g).tolist():
        for sl in torch.unique(s).tolist():
            inside = int(((s == sl) & (g == gl)).sum())
            if inside:
                total += min(inside, int(((s == sl) & (g != gl)).sum()))
    return total / n


def _asa_loop(s, g):
    return (
        sum(
            max(int(((s == sl) & (g == gl)).sum()) for gl in torch.unique(g).tolist())
            for sl in torch.unique(s).tolist()
        )
        / s.numel()
    )


def _co_loop(s):
    h, w = s.shape
    total = 0.0
    for sl in torch.unique(s).tolist():
        mask = s == sl
        area = int(mask.sum())
        perim = 0
        for y in range(h):
            for x in range(w):
                if not mask[y, x]:
                    continue
                for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                    yy, xx = y + dy, x + dx
                    if not (0 <= yy < h and 0 <= xx < w) or not mask[yy, xx]:
                        perim += 1
        total += area / (h * w) * 4 * math.pi * area / perim**2
    return total


def _ev_loop(x, s):
    mu = x.mean((1, 2))
    between = 0.0
    for sl in torch.unique(s).tolist():
        mask = s == sl
        between += float(mask.sum()) * float(((x[:, mask].mean(1) - mu) ** 2).sum())
    total = float(((x - mu.view(-1, 1, 1)) ** 2).sum())
    return between / total


# ------------------------------------------------------------------ known answers
def test_boundary_recall_known():
    gt = _halves()
    assert boundary_recall(gt, gt).item() == 1.0
    assert boundary_recall(torch.zeros_like(gt), gt).item() == 0.0
    shifted = torch.zeros_like(gt)
    shifted[:, :, 6:] = 1  # boundary 2 columns away
    assert boundary_recall(shifted, gt, tolerance=2).item() == 1.0
    assert boundary_recall(shifted, gt, tolerance=1).item() == 0.0
    # no ground-truth boundary: nothing to recall
    assert boundary_recall(gt, torch.zeros_like(gt)).item() == 1.0


def test_undersegmentation_error_and_asa_known():
    gt = _halves()
    assert undersegmentation_error(gt, gt).item() == 0.0
    assert achievable_segmentation_accuracy(gt, gt).item() == 1.0
    # a finer grid aligned with the truth is still perfect
    fine = _grid_labels(8, 8, 4, 4)
    assert undersegmentation_error(fine, gt).item() == 0.0
    assert achievable_segmentation_accuracy(fine, gt).item() == 1.0
    # one superpixel covering everything: charged min(32, 32) for each of the two segments
    one = torch.zeros_like(gt)
    assert undersegmentation_error(one, gt).item() == 1.0
    assert achievable_segmentation_accuracy(one, gt).item() == 0.5


def test_compactness_known():
    assert compactness(torch.zeros(1, 10, 10, dtype=torch.long)).item() == pytest.approx(
        math.pi / 4
    )
    grid = _grid_labels(12, 12, 3, 3)  # 4x4 squares
    assert compactness(grid).item() == pytest.approx(math.pi / 4)
    stripes = torch.arange(12).view(1, 1, 12).expand(1, 12, 12).contiguous()  # 1-px lines
    assert compactness(stripes).item() == pytest.approx(4 * math.pi * 12 / 26**2)


def test_explained_variation_known():
    x = torch.zeros(1, 1, 4, 4)
    x[..., 2:] = 1.0
    assert explained_variation(x, _halves(4, 4)).item() == pytest.approx(1.0)
    assert explained_variation(x, torch.zeros(1, 4, 4, dtype=torch.long)).item() == 0.0
    assert explained_variation(torch.ones(1, 3, 4, 4), _halves(4, 4)).item() == 1.0


# ------------------------------------------------------------------ vectorised == loops
@settings(max_examples=20, deadline=None)
@given(
    b=st.integers(1, 3),
    h=st.integers(2, 7),
    w=st.integers(2, 7),
    ks=st.integers(1, 6),
    kg=st.integers(1, 4),
    seed=st.integers(0, 999),
)
def test_metrics_match_loops(b, h, w, ks, kg, seed):
    g = torch.Generator().manual_seed(seed)
    s = torch.randint(0, ks, (b, h, w), generator=g) * 3  # gaps in the numbering are fine
    gt = torch.randint(0, kg, (b, h, w), generator=g)
    x = torch.rand(b, 2, h, w, generator=g, dtype=torch.float64)
    ue = undersegmentation_error(s, gt)
    asa = achievable_segmentation_accuracy(s, gt)
    co = compactness(s)
    ev = explained_variation(x, s)
    for i in range(b):
        assert ue[i].item() == pytest.approx(_ue_loop(s[i], gt[i]))
        assert asa[i].item() == pytest.approx(_asa_loop(s[i], gt[i]))
        assert co[i].item() == pytest.approx(_co_loop(s[i]))
        assert ev[i].item() == pytest.approx(_ev_loop(x[i], s[i]))
    assert bool(((asa > 0) & (asa <= 1)).all()) and bool((ue >= 0).all())


def test_metrics_bad_input():
    gt = _halves()
    with pytest.raises(ValueError, match="gt"):
        undersegmentation_error(gt, gt[:, :4])
    with pytest.raises(TypeError, match="labels"):
        achievable_segmentation_accuracy(gt.float(), gt)
    with pytest.raises(ValueError, match="tolerance"):
        boundary_recall(gt, gt, tolerance=-1)
    with pytest.raises(ValueError, match="labels"):
        compactness(gt[0])
    with pytest.raises(ValueError, match="labels"):
        explained_variation(torch.rand(1, 1, 8, 8), gt[:, :4])
