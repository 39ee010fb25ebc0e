"""SLIC's two paths (numba on CPU, torch on any device) against each other and a slow reference.

The device-parametrised tests run their ``cuda`` case only where CUDA is available; on a machine
without it that case is skipped, and ``tests/segmentation/test_slic.py::test_slic_cuda_matches_cpu``
runs with ``--device cuda``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pyisp_contrast.segmentation import _slic_numba as nb
from pyisp_contrast.segmentation import _slic_torch as tp
from pyisp_contrast.segmentation.slic import (
    FEATURE_QUANTUM,
    _features_torch,
    _min_range,
    _slic,
    grid_geometry,
    slic,
    slic_grid,
)

DEVICES = [
    "cpu",
    pytest.param(
        "cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
    ),
]


def _photo_like(b=2, h=40, w=56, seed=0):
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(b, 3, 5, 6, generator=g)
    img = torch.nn.functional.interpolate(low, size=(h, w), mode="bilinear", align_corners=False)
    return (img + 0.04 * torch.randn(b, 3, h, w, generator=g)).clamp(0, 1)


def _features(x, n):
    b, _, h, w = x.shape
    gy, gx = slic_grid(h, w, n)
    geo = grid_geometry(h, w, gy, gx, 1.0, 1.0)
    lo, rng = _min_range(x)
    return _features_torch(x, lo, rng, torch.full((b,), 0.1), True, geo), geo


def _torch_slic(x, n, stride, compactness=10.0):
    return _slic(x, n, compactness, 10, None, True, 0.25, 3.0, None, None, "torch", stride)


def _reference_kmeans(feat, geo, max_iter, stride, h):
    """The algorithm written out pixel set by pixel set in numpy: every pixel starts in its own
    cell; iteration i re-assigns the rows y % stride == i % stride to the nearest of their 9
    candidate centres (distance summed L, a, b, y, x in float32; the first candidate wins a tie),
    then every centre becomes the mean of all its pixels (exact sums, float32 result)."""
    f = feat.numpy().astype(np.float32)  # (B, N, 5)
    b, n, _ = f.shape
    cellmap, nbr = geo["cellmap"], geo["nbr"]
    k = nbr.shape[0]
    rows = np.arange(n) // (n // h)
    labels = np.repeat(cellmap[None], b, 0)

    def means(labels, old):
        out = old.copy()
        for i in range(b):
            for c in range(k):
                sel = labels[i] == c
                if sel.any():
                    out[i, c] = (f[i, sel].astype(np.float64).sum(0) / sel.sum()).astype(np.float32)
        return out

    def nearest(pix, centres):
        cand = nbr[cellmap[pix]]  # (P, 9)
        out = np.empty((b, pix.size), dtype=np.int64)
        for i in range(b):
            t = f[i, pix][:, None, :] - centres[i][cand]  # (P, 9, 5) float32
            t = t * t
            d = (((t[..., 0] + t[..., 1]) + t[..., 2]) + t[..., 3]) + t[..., 4]
            out[i] = cand[np.arange(pix.size), d.argmin(1)]  # argmin: first of equal minima
        return out

    centres = means(labels, np.zeros((b, k, 5), np.float32))
    for i in range(max_iter - 1):
        pix = np.nonzero(rows % stride == i % stride)[0]
        labels[:, pix] = nearest(pix, centres)
        centres = means(labels, centres)
    return nearest(np.arange(n), centres)


@pytest.mark.parametrize("stride", [1, 3])
def test_torch_core_equals_slow_reference(stride):
    x = _photo_like(b=2, h=24, w=30, seed=1)
    feat, geo = _features(x, 12)
    want = _reference_kmeans(feat, geo, 6, stride, 24)
    got = tp.slic_core(
        feat,
        torch.from_numpy(geo["cellmap"]),
        torch.from_numpy(geo["nbr"]),
        None,
        6,
        stride,
        24,
    )
    assert np.array_equal(got.numpy(), want)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("stride", [1, 4])
def test_torch_core_on_device_equals_cpu_core(device, stride):
    # Shared features in, identical labels out: the centre sums are exact integers, so neither
    # the device nor the order of the atomic adds changes a bit.
    x = _photo_like(b=2, h=48, w=64, seed=2)
    feat, geo = _features(x, 30)
    cellmap, nbr = torch.from_numpy(geo["cellmap"]), torch.from_numpy(geo["nbr"])
    cpu = tp.slic_core(feat, cellmap, nbr, None, 10, stride, 48)
    dev = tp.slic_core(feat.to(device), cellmap.to(device), nbr.to(device), None, 10, stride, 48)
    assert dev.device.type == torch.device(device).type
    assert torch.equal(dev.cpu(), cpu)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("stride", [1, 4])
def test_torch_path_agrees_with_numba_path_end_to_end(device, stride):
    # End to end the numba path computes Lab with its own kernel (slic module notes), so labels
    # agree on nearly all pixels rather than all.
    x = _photo_like(b=2, h=64, w=64, seed=3)
    ref = slic(x, 40, subsample_stride=stride)
    got = _torch_slic(x.to(device), 40, stride)
    assert got.labels.device.type == torch.device(device).type
    agree = (got.labels.cpu() == ref.labels).float().mean().item()
    assert agree >= 0.995
    grey = x.mean(1, keepdim=True)  # no Lab: identical
    ref_g = slic(grey, 40, 0.1, subsample_stride=stride)
    got_g = _torch_slic(grey.to(device), 40, stride, compactness=0.1)
    assert torch.equal(got_g.labels.cpu(), ref_g.labels)
    assert torch.equal(got_g.num_segments.cpu(), ref_g.num_segments)


def test_segment_sums_are_exact_and_order_free():
    g = torch.Generator().manual_seed(0)
    feat = torch.round(torch.rand(1, 5000, 5, generator=g) * 100 * FEATURE_QUANTUM)
    feat = feat / FEATURE_QUANTUM  # quantised, as the paths' features are
    labels = torch.randint(0, 7, (1, 5000), generator=g)
    sums = tp._segment_sums(tp._fixed_point(feat), labels, 7)
    perm = torch.randperm(5000, generator=g)
    again = tp._segment_sums(tp._fixed_point(feat[:, perm]), labels[:, perm], 7)
    assert torch.equal(sums, again)
    for c in range(7):
        sel = labels[0] == c
        exact = feat[0, sel].double().sum(0)  # exact: multiples of 2**-16 well inside 2**53
        assert sums[0, c, 0].item() == int(sel.sum())
        assert torch.equal(sums[0, c, 1:].double() / FEATURE_QUANTUM, exact)


def test_torch_connectivity_does_not_depend_on_rounds_between_checks(monkeypatch):
    g = torch.Generator().manual_seed(1)
    lab = torch.randint(0, 4, (2, 5, 6), generator=g)
    lab = torch.nn.functional.interpolate(lab[:, None].float(), size=(30, 36), mode="nearest")
    lab = lab[:, 0].long()
    lab = torch.where(torch.rand(lab.shape, generator=g) < 0.1, (lab + 1) % 4, lab)
    want = nb.enforce_connectivity(lab.numpy(), 6.0)
    for rounds in (1, 3, 8):
        monkeypatch.setattr(tp, "ROUNDS_PER_CHECK", rounds)
        out, cnt = tp.enforce_connectivity(lab, 6.0)
        assert torch.equal(out, torch.from_numpy(want[0]))
        assert torch.equal(cnt, torch.from_numpy(want[1]))


@pytest.mark.parametrize("min_size", [0.0, 5.0, 40.0, 1e6])
def test_parallel_single_image_connectivity_equals_serial(min_size):
    g = torch.Generator().manual_seed(2)
    lab = torch.randint(0, 6, (1, 9, 11), generator=g)
    lab = torch.nn.functional.interpolate(lab[:, None].float(), size=(45, 77), mode="nearest")
    lab = lab[0, 0].long()
    lab = torch.where(torch.rand(lab.shape, generator=g) < 0.05, (lab + 2) % 6, lab).numpy()
    serial = np.empty(lab.shape, dtype=np.int64)
    parallel = np.empty(lab.shape, dtype=np.int64)
    n_serial = nb.connect_one(lab, min_size, serial)
    n_parallel = nb.connect_one_parallel(lab, min_size, parallel)
    assert n_serial == n_parallel and np.array_equal(serial, parallel)
    assert serial.max() == n_serial - 1


def test_subsample_stride_one_is_classical_kmeans_and_strides_differ():
    # stride 1 re-assigns every pixel at every iteration; larger strides give other (equally
    # valid) superpixels, each a complete partition
    x = _photo_like(b=1, h=64, w=64, seed=4)
    feat, geo = _features(x, 40)
    full = tp.slic_core(
        feat, torch.from_numpy(geo["cellmap"]), torch.from_numpy(geo["nbr"]), None, 10, 1, 64
    )
    assert np.array_equal(full.numpy(), _reference_kmeans(feat, geo, 10, 1, 64))
    a = slic(x, 40, subsample_stride=1).labels
    b = slic(x, 40, subsample_stride=4).labels
    assert not torch.equal(a, b)


@pytest.mark.parametrize(
    ("value", "exc"), [(0, ValueError), (-2, ValueError), (1.5, TypeError), ("4", TypeError)]
)
def test_subsample_stride_bad_values(value, exc):
    with pytest.raises(exc, match="subsample_stride"):
        slic(torch.rand(1, 3, 16, 16), 4, subsample_stride=value)


def test_subsample_stride_above_height_acts_as_height():
    x = _photo_like(b=1, h=12, w=40, seed=5)
    big = slic(x, 10, subsample_stride=10**6)
    assert torch.equal(big.labels, slic(x, 10, subsample_stride=12).labels)
    assert torch.equal(_torch_slic(x, 10, 10**6).labels, _torch_slic(x, 10, 12).labels)
