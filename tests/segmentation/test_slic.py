"""Tests for pyisp_contrast.segmentation.slic (numba CPU path and torch path)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pyisp_contrast.segmentation import _slic_numba as nb
from pyisp_contrast.segmentation import _slic_torch as tp
from pyisp_contrast.segmentation.slic import (
    FEATURE_QUANTUM,
    SLIC,
    SUBSAMPLE_STRIDE,
    Superpixels,
    _features_torch,
    _min_range,
    _run_numba_core,
    _slic,
    grid_geometry,
    phase_layout,
    slic,
    slic_grid,
)


def _textured(b=2, h=48, w=64, seed=0):
    """Piecewise-smooth colour image with texture and noise (no file access)."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(b, 3, 4, 5, generator=g)
    img = torch.nn.functional.interpolate(low, size=(h, w), mode="nearest")
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    img = img + 0.05 * torch.sin(xx / 2.0) * torch.cos(yy / 3.0)
    img = img + 0.03 * torch.randn(b, 3, h, w, generator=g)
    return img.clamp(0, 1)


def _torch_path(images, n=400, **kw):
    args = {
        "compactness": 10.0,
        "max_iter": 10,
        "spacing": None,
        "enforce_connectivity": True,
        "min_size_factor": 0.25,
        "max_size_factor": 3.0,
        "convert2lab": None,
        "generator": None,
        "backend": "torch",
        "subsample_stride": SUBSAMPLE_STRIDE,
    }
    args.update(kw)
    return _slic(images, n, *args.values())


def _assert_valid(sp: Superpixels, connected: bool = True):
    labels, num = sp.labels, sp.num_segments
    assert labels.dtype == torch.int64 and num.dtype == torch.int64
    for i in range(labels.shape[0]):
        uniq = torch.unique(labels[i])
        assert uniq.tolist() == list(range(int(num[i]))), "labels must be 0..K-1 without gaps"
        if connected:
            lab = labels[i].numpy()
            for k in range(int(num[i])):
                _, n_comp = ndi.label(lab == k)  # 4-connectivity by default
                assert n_comp == 1, f"segment {k} of image {i} has {n_comp} components"


# --------------------------------------------------------------------------- basics
def test_slic_smoke_shapes():
    x = _textured()
    sp = slic(x, n_segments=30)
    assert isinstance(sp, Superpixels)
    assert sp.labels.shape == (2, 48, 64) and sp.num_segments.shape == (2,)
    _assert_valid(sp)


def test_slic_unbatched_and_grey():
    x = _textured(b=1)[0]
    sp = slic(x, n_segments=20)
    assert sp.labels.shape == (48, 64) and sp.num_segments.ndim == 0
    grey = x.mean(0, keepdim=True)
    sg = slic(grey, n_segments=20, compactness=0.1)
    assert sg.labels.shape == (48, 64)
    _assert_valid(Superpixels(sg.labels[None], sg.num_segments[None]))


def test_slic_grid_rule():
    assert slic_grid(512, 512, 400) == (20, 20)
    assert slic_grid(384, 384, 400) == (20, 20)
    assert slic_grid(768, 1024, 400) == (17, 23)
    assert slic_grid(10, 1000, 400) == (2, 200)
    assert slic_grid(3, 3, 9) == (3, 3)
    assert slic_grid(1, 5, 5) == (1, 5)


@pytest.mark.parametrize(("h", "w", "n"), [(32, 32, 16), (40, 60, 24), (64, 48, 50), (17, 23, 7)])
def test_slic_count_exact_on_flat_image(h, w, n):
    gy, gx = slic_grid(h, w, n)
    for value in (0.0, 0.3):
        sp = slic(torch.full((1, 3, h, w), value), n_segments=n)
        assert int(sp.num_segments[0]) == gy * gx
        _assert_valid(sp)


def test_slic_quadrants_known_answer():
    x = torch.zeros(1, 3, 32, 32)
    x[:, 0, :16, :16] = 1.0
    x[:, 1, :16, 16:] = 1.0
    x[:, 2, 16:, :16] = 1.0
    sp = slic(x, n_segments=4)
    assert int(sp.num_segments[0]) == 4
    lab = sp.labels[0]
    for ys in (slice(0, 16), slice(16, 32)):
        for xs in (slice(0, 16), slice(16, 32)):
            assert torch.unique(lab[ys, xs]).numel() == 1
    assert lab[0, 0] == 0 and lab[0, 31] == 1 and lab[31, 0] == 2 and lab[31, 31] == 3


def test_slic_count_tolerance_on_photo():
    # The documented tolerance: within 10% of the seed grid on photos.
    data = pytest.importorskip("skimage.data")
    img = torch.from_numpy(data.astronaut()[::2, ::2].copy()).permute(2, 0, 1).float() / 255
    sp = slic(img, n_segments=400)
    gy, gx = slic_grid(256, 256, 400)
    assert abs(int(sp.num_segments) - gy * gx) <= 0.1 * gy * gx
    _assert_valid(Superpixels(sp.labels[None], sp.num_segments[None]))


def test_slic_exposure_invariance():
    # Each image is rescaled by its own min/max, so a darkened copy gets the same superpixels.
    x = _textured(b=1)
    a = slic(x, n_segments=30).labels
    b = slic(x * 0.25, n_segments=30).labels
    assert torch.equal(a, b)


def test_slic_per_image_compactness():
    x = _textured(b=2)
    both = slic(x, n_segments=30, compactness=torch.tensor([2.0, 40.0]))
    one = slic(x[1:], n_segments=30, compactness=40.0)
    zero = slic(x[:1], n_segments=30, compactness=2.0)
    assert torch.equal(both.labels[1], one.labels[0]) and torch.equal(
        both.labels[0], zero.labels[0]
    )


def test_slic_compactness_makes_regular_segments():
    x = _textured(b=1, seed=3)
    loose = slic(x, n_segments=30, compactness=0.5).labels
    tight = slic(x, n_segments=30, compactness=1e4).labels
    gy, gx = slic_grid(48, 64, 30)
    grid = torch.from_numpy(grid_geometry(48, 64, gy, gx, 1.0, 1.0)["cellmap"]).view(48, 64)

    def agreement(lab):  # fraction of pixels whose segment is their grid cell's majority segment
        hits = 0
        for k in range(gy * gx):
            vals = lab[0][grid == k]
            hits += int((vals == vals.mode().values).sum())
        return hits / lab[0].numel()

    assert agreement(tight) > agreement(loose)
    assert agreement(tight) > 0.9


def test_slic_generator_reproducible():
    x = _textured(b=1)
    a = slic(x, n_segments=30, generator=torch.Generator().manual_seed(1)).labels
    b = slic(x, n_segments=30, generator=torch.Generator().manual_seed(1)).labels
    c = slic(x, n_segments=30, generator=torch.Generator().manual_seed(2)).labels
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_slic_without_connectivity_is_sequential():
    sp = slic(_textured(), n_segments=30, enforce_connectivity=False)
    _assert_valid(sp, connected=False)


def test_slic_float64_input_and_spacing():
    x = _textured(b=1).double()
    sp = slic(x, n_segments=30, spacing=(1.0, 2.0))
    _assert_valid(sp)


def test_slic_module_equals_function():
    x = _textured()
    assert torch.equal(SLIC(n_segments=30, compactness=5.0)(x).labels, slic(x, 30, 5.0).labels)


# --------------------------------------------------------------------------- CPU vs torch path
def _layout_order(h, w, gy, gx, stride):
    """Raster index of the pixel at each position of the numba path's feature layout, written
    out pixel by pixel from phase_layout's description."""
    start = phase_layout(h, w, gy, gx, stride)
    geo = grid_geometry(h, w, gy, gx, 1.0, 1.0)
    yb, xb = geo["y_bounds"], geo["x_bounds"]
    pos = np.empty(h * w, dtype=np.int64)
    for y in range(h):
        for x in range(w):
            c = geo["cellmap"][y * w + x]
            cy, cx = divmod(int(c), gx)
            cw = xb[cx + 1] - xb[cx]
            pos[y * w + x] = start[y % stride, c] + (y - yb[cy]) // stride * cw + x - xb[cx]
    assert np.array_equal(np.sort(pos), np.arange(h * w)), "the layout must be a permutation"
    return np.argsort(pos)


@pytest.mark.parametrize("stride", [1, 2, 4])
def test_numba_core_equals_torch_core_on_same_features(stride):
    # Same quantised features in: identical labels out (exact sums, same tie-breaking, same rows).
    x = _textured(b=2, h=40, w=56, seed=5)
    for n in (12, 40):
        gy, gx = slic_grid(40, 56, n)
        geo = grid_geometry(40, 56, gy, gx, 1.0, 1.0)
        lo, rng = _min_range(x)
        inv_m = torch.full((2,), 0.1)
        feat = _features_torch(x, lo, rng, inv_m, True, geo)  # (B, N, 5) raster
        cellmap, nbr = torch.from_numpy(geo["cellmap"]), torch.from_numpy(geo["nbr"])
        t_lab = tp.slic_core(feat, cellmap, nbr, None, 10, stride, 40)
        perm = _layout_order(40, 56, gy, gx, stride)
        colour_cm = np.ascontiguousarray(feat[:, perm, :3].transpose(1, 2).numpy())
        # the state numba's feature pass leaves: every pixel in its own cell (slot 4)
        k = len(geo["nbr"])
        centres = tp.cell_means(feat, cellmap, k).numpy()
        sums = tp._segment_sums(tp._fixed_point(feat), cellmap.view(1, -1).expand(2, -1), k)
        partial = np.zeros((2, k, 9, 6))
        partial[:, :, 4, 0] = sums[..., 0].numpy()
        partial[:, :, 4, 1:] = sums[..., 1:].double().numpy() / FEATURE_QUANTUM
        slots = np.full(colour_cm.shape[::2], 4, dtype=np.int32)
        n_lab = _run_numba_core(colour_cm, centres, partial, slots, geo, None, 10, stride)
        assert torch.equal(t_lab, torch.from_numpy(n_lab).long())


def test_numba_connectivity_equals_torch_connectivity():
    g = torch.Generator().manual_seed(0)
    # blocky random labels with many small fragments
    lab = torch.randint(0, 5, (3, 6, 8), generator=g)
    lab = torch.nn.functional.interpolate(lab[:, None].float(), size=(24, 32), mode="nearest")
    lab = lab[:, 0].long()
    noise = torch.randint(0, 5, lab.shape, generator=g)
    lab = torch.where(torch.rand(lab.shape, generator=g) < 0.1, noise, lab)
    for min_size in (0.0, 3.0, 20.0, 10_000.0):
        t_out, t_cnt = tp.enforce_connectivity(lab, min_size)
        n_out, n_cnt = nb.enforce_connectivity(lab.numpy(), min_size)
        assert torch.equal(t_out, torch.from_numpy(n_out)) and torch.equal(
            t_cnt, torch.from_numpy(n_cnt)
        )
        _assert_valid(Superpixels(t_out, t_cnt))


@pytest.mark.parametrize("path", ["numba", "torch"])
def test_connectivity_merges_small_components_into_the_one_above(path):
    # Known answer for scikit-image's rule: a small component joins, whole, the component that
    # holds the pixel above its first pixel (left of it in the top row), even when another
    # component surrounds most of it.
    lab = torch.zeros(1, 6, 6, dtype=torch.int64)
    lab[0, 3:] = 1  # top half 0, bottom half 1 (18 pixels each)
    lab[0, 4, 2] = 2  # inside the bottom half: pixel above is bottom -> bottom
    lab[0, 0, 3] = 3  # top row: pixel to the left is top -> top
    lab[0, 3, 4:6] = 4  # first row of the bottom half: pixel above is top -> top
    if path == "numba":
        out, cnt = nb.enforce_connectivity(lab.numpy(), 3.0)
        out, cnt = torch.from_numpy(out), torch.from_numpy(cnt)
    else:
        out, cnt = tp.enforce_connectivity(lab, 3.0)
    want = torch.zeros(1, 6, 6, dtype=torch.int64)
    want[0, 3:] = 1
    want[0, 3, 4:6] = 0
    assert torch.equal(out, want) and cnt.tolist() == [2]
    # nothing is large enough: everything ends up in the component of the top-left pixel
    if path == "numba":
        out, cnt = map(torch.from_numpy, nb.enforce_connectivity(lab.numpy(), 100.0))
    else:
        out, cnt = tp.enforce_connectivity(lab, 100.0)
    assert cnt.tolist() == [1] and out.unique().tolist() == [0]


def test_numba_power_laws_are_as_accurate_as_torch_pow():
    # The numba Lab kernel's t**2.4 (sRGB decoding) and cube root are polynomial seeds plus one
    # Newton/Halley step; over their whole input range they are as close to float64 as float32
    # torch.pow is.
    v = np.linspace(0.0405, 1.0, 200_001, dtype=np.float32)
    ours = np.array([nb._srgb_to_linear(np.float32(a)) for a in v[::97]], dtype=np.float64)
    ref = ((v[::97].astype(np.float64) + 0.055) / 1.055) ** 2.4
    assert np.abs(ours / ref - 1).max() < 4e-7
    lin = np.array([nb._srgb_to_linear(np.float32(a)) for a in (0.0, 0.02, 0.04045)])
    assert np.allclose(lin, np.array([0.0, 0.02, 0.04045]) / 12.92, rtol=1e-7, atol=0)
    t = np.linspace(0.00886, 1.0, 200_001, dtype=np.float32)[::97]
    ours = np.array([nb._lab_f(np.float32(a)) for a in t], dtype=np.float64)
    ref = np.cbrt(t.astype(np.float64))
    torch_err = np.abs(torch.from_numpy(t).pow(1 / 3).double().numpy() / ref - 1).max()
    assert np.abs(ours / ref - 1).max() <= max(torch_err, 1.5e-7)
    assert nb._lab_f(np.float32(0.008)) == np.float32(7.787) * np.float32(0.008) + np.float32(
        4 / 29
    )


@pytest.mark.parametrize("enforce", [True, False])
def test_slic_results_do_not_alias_the_reused_scratch_arrays(enforce):
    # The numba path keeps its scratch arrays between calls (per thread); a returned label map
    # must not change when the next call of the same size reuses them.
    x, y = _textured(b=1, seed=3), _textured(b=1, seed=4)
    first = slic(x, 30, enforce_connectivity=enforce)
    kept = first.labels.clone()
    second = slic(y, 30, enforce_connectivity=enforce)
    assert torch.equal(first.labels, kept)
    assert not torch.equal(second.labels, kept)
    assert torch.equal(slic(x, 30, enforce_connectivity=enforce).labels, kept)


def test_slic_cpu_and_torch_paths_agree_end_to_end():
    # The numba path's own Lab kernel may differ from kornia's in the last bit (module notes), so
    # end to end the paths agree on nearly all pixels rather than all.
    x = _textured(b=2, h=64, w=64, seed=7)
    a = slic(x, n_segments=40)
    b = _torch_path(x, 40)
    agree = (a.labels == b.labels).float().mean().item()
    assert agree > 0.995
    g = _torch_path(x.mean(1, keepdim=True), 40, compactness=0.1)
    assert torch.equal(slic(x.mean(1, keepdim=True), 40, 0.1).labels, g.labels)


def test_torch_path_with_generator_matches_numba():
    x = _textured(b=1, h=32, w=32, seed=2).mean(1, keepdim=True)
    kw = {"compactness": 0.1, "generator": torch.Generator().manual_seed(4)}
    a = slic(x, 16, **kw).labels
    kw["generator"] = torch.Generator().manual_seed(4)
    b = _torch_path(x, 16, **kw).labels
    assert torch.equal(a, b)


@pytest.mark.cuda
def test_slic_cuda_matches_cpu(device):
    x = _textured(b=2, h=96, w=96, seed=1)
    a = slic(x, n_segments=50)
    b = slic(x.to(device), n_segments=50)
    assert b.labels.device.type == device.type
    assert (a.labels == b.labels.cpu()).float().mean().item() > 0.995


# --------------------------------------------------------------------------- properties
@settings(max_examples=15, deadline=None)
@given(
    h=st.integers(1, 20),
    w=st.integers(1, 20),
    n=st.integers(1, 30),
    c=st.sampled_from([1, 3]),
    seed=st.integers(0, 1000),
)
def test_slic_property_valid_labels(h, w, n, c, seed):
    n = min(n, h * w)
    x = torch.rand(1, c, h, w, generator=torch.Generator().manual_seed(seed))
    sp = slic(x, n_segments=n, compactness=1.0 if c == 3 else 0.1)
    _assert_valid(sp)
    t = _torch_path(x, n, compactness=1.0 if c == 3 else 0.1)
    _assert_valid(t)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"n_segments": 0}, ValueError, "n_segments"),
        ({"n_segments": 10_000}, ValueError, "n_segments"),
        ({"n_segments": 4.5}, TypeError, "n_segments"),
        ({"compactness": 0.0}, ValueError, "compactness"),
        ({"compactness": -1.0}, ValueError, "compactness"),
        ({"compactness": float("inf")}, ValueError, "compactness"),
        ({"max_iter": 0}, ValueError, "max_iter"),
        ({"min_size_factor": -0.1}, ValueError, "min_size_factor"),
        ({"max_size_factor": 0.1}, ValueError, "max_size_factor"),
        ({"spacing": (1.0,)}, ValueError, "spacing"),
        ({"spacing": (1.0, 0.0)}, ValueError, "spacing"),
        ({"generator": "seed"}, TypeError, "generator"),
        ({"enforce_connectivity": 1}, TypeError, "enforce_connectivity"),
    ],
)
def test_slic_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        slic(torch.rand(1, 3, 32, 32), **kwargs)


@pytest.mark.parametrize(
    ("images", "exc", "match"),
    [
        (torch.full((1, 3, 8, 8), float("nan")), ValueError, "NaN"),
        (torch.full((1, 3, 8, 8), float("inf")), ValueError, "NaN or inf"),
        (torch.rand(0, 3, 8, 8), ValueError, "empty batch"),
        (torch.rand(8, 8), ValueError, "shape"),
        (torch.rand(1, 2, 8, 8), ValueError, "channels"),
        (torch.rand(1, 3, 8, 8) * 3, ValueError, r"\[0, 1\]"),
        ((torch.rand(1, 3, 8, 8) * 255).to(torch.uint8), TypeError, "floating-point"),
    ],
)
def test_slic_bad_images(images, exc, match):
    with pytest.raises(exc, match=match):
        slic(images, n_segments=4)


def test_slic_convert2lab_needs_rgb():
    with pytest.raises(ValueError, match="convert2lab"):
        slic(torch.rand(1, 1, 8, 8), n_segments=4, convert2lab=True)


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_slic_permuted_input_equals_contiguous(backend):
    # A channels-last view (e.g. a numpy HWC photo permuted) gives the labels its contiguous copy does.
    hwc = torch.rand(2, 48, 40, 3, generator=torch.Generator().manual_seed(3))
    view = hwc.permute(0, 3, 1, 2)
    assert not view.is_contiguous()
    run = (
        (lambda x: slic(x, n_segments=20)) if backend == "numba" else (lambda x: _torch_path(x, 20))
    )
    a, b = run(view), run(view.contiguous())
    assert torch.equal(a.labels, b.labels) and torch.equal(a.num_segments, b.num_segments)
