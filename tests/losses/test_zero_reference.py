"""Tests for pyisp_contrast.losses.zero_reference: each loss against a slow loop of its formula."""

from __future__ import annotations

import itertools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pyisp_contrast.losses.zero_reference import (
    ColorConstancy,
    ExposureControl,
    IlluminationSmoothness,
    SpatialConsistency,
    color_constancy_loss,
    exposure_control_loss,
    illumination_smoothness_loss,
    reduce_loss,
    spatial_consistency_loss,
)

# ---------------------------------------------------------------- slow references (the formulas)


def slow_exposure(x, patch, target):
    out = []
    for b in range(x.shape[0]):
        terms = []
        for i in range(x.shape[2] // patch):
            for j in range(x.shape[3] // patch):
                block = x[b, :, i * patch : (i + 1) * patch, j * patch : (j + 1) * patch]
                terms.append((float(block.mean()) - target) ** 2)
        out.append(sum(terms) / len(terms))
    return torch.tensor(out, dtype=torch.float64)


def slow_color(x):
    out = []
    for b in range(x.shape[0]):
        m = [float(x[b, c].mean()) for c in range(3)]
        out.append(sum((m[p] - m[q]) ** 2 for p, q in itertools.combinations(range(3), 2)))
    return torch.tensor(out, dtype=torch.float64)


def slow_spatial(y, i, pool):
    out = []
    for b in range(y.shape[0]):
        h, w = y.shape[2] // pool, y.shape[3] // pool

        def cell(img, r, c, b=b):
            return float(img[b, :, r * pool : (r + 1) * pool, c * pool : (c + 1) * pool].mean())

        total = 0.0
        for r in range(h):
            for c in range(w):
                for dr, dc in ((0, -1), (0, 1), (-1, 0), (1, 0)):
                    rr, cc = r + dr, c + dc
                    if 0 <= rr < h and 0 <= cc < w:
                        dy = cell(y, r, c) - cell(y, rr, cc)
                        di = cell(i, r, c) - cell(i, rr, cc)
                        total += (dy - di) ** 2
        out.append(total / (h * w))
    return torch.tensor(out, dtype=torch.float64)


def slow_tv(a):
    out = []
    for b in range(a.shape[0]):
        total = 0.0
        _, m, h, w = a.shape
        for c in range(m):
            if h > 1:
                s = sum(
                    float(a[b, c, r + 1, k] - a[b, c, r, k]) ** 2
                    for r in range(h - 1)
                    for k in range(w)
                )
                total += s / ((h - 1) * w)
            if w > 1:
                s = sum(
                    float(a[b, c, r, k + 1] - a[b, c, r, k]) ** 2
                    for r in range(h)
                    for k in range(w - 1)
                )
                total += s / (h * (w - 1))
        out.append(2 * total)
    return torch.tensor(out, dtype=torch.float64)


# ---------------------------------------------------------------- against the slow loops


@pytest.mark.parametrize("shape", [(2, 3, 16, 24), (1, 3, 19, 13), (2, 1, 8, 8)])
def test_exposure_matches_loop(shape):
    torch.manual_seed(0)
    x = torch.rand(*shape, dtype=torch.float64)
    got = exposure_control_loss(x, patch=4, target=0.6, reducer="none")
    torch.testing.assert_close(got, slow_exposure(x, 4, 0.6))


def test_exposure_per_image_target():
    x = torch.rand(2, 3, 8, 8, dtype=torch.float64)
    got = exposure_control_loss(x, patch=4, target=torch.tensor([0.2, 0.7]), reducer="none")
    torch.testing.assert_close(got[0], slow_exposure(x[:1], 4, 0.2)[0])
    torch.testing.assert_close(got[1], slow_exposure(x[1:], 4, 0.7)[0])


@pytest.mark.parametrize("shape", [(2, 3, 5, 7), (1, 3, 1, 1)])
def test_color_matches_loop(shape):
    torch.manual_seed(1)
    x = torch.rand(*shape, dtype=torch.float64)
    torch.testing.assert_close(color_constancy_loss(x, reducer="none"), slow_color(x))


@pytest.mark.parametrize("shape,pool", [((2, 3, 16, 20), 4), ((1, 3, 11, 9), 2), ((1, 1, 4, 4), 4)])
def test_spatial_matches_loop(shape, pool):
    torch.manual_seed(2)
    y = torch.rand(*shape, dtype=torch.float64)
    i = torch.rand(*shape, dtype=torch.float64)
    got = spatial_consistency_loss(y, i, pool=pool, reducer="none")
    torch.testing.assert_close(got, slow_spatial(y, i, pool))


@pytest.mark.parametrize("shape", [(2, 24, 5, 6), (1, 3, 1, 4), (1, 3, 4, 1), (1, 2, 1, 1)])
def test_tv_matches_loop(shape):
    torch.manual_seed(3)
    a = torch.rand(*shape, dtype=torch.float64) * 2 - 1
    torch.testing.assert_close(illumination_smoothness_loss(a, reducer="none"), slow_tv(a))


# ---------------------------------------------------------------- known values and properties


def test_known_values():
    x = torch.full((1, 3, 16, 16), 0.6)
    assert exposure_control_loss(x).item() == pytest.approx(0.0, abs=1e-12)
    assert exposure_control_loss(torch.zeros(1, 3, 16, 16)).item() == pytest.approx(0.36)
    assert color_constancy_loss(torch.rand(1, 1, 4, 4).expand(1, 3, 4, 4)).item() == 0.0
    # a uniform brightness shift keeps every neighbour difference
    x = torch.rand(1, 3, 8, 8) * 0.5
    assert spatial_consistency_loss(x + 0.3, x).item() == pytest.approx(0.0, abs=1e-10)
    # a horizontal ramp 0, 1, 2, ... per column: squared step 1 in x, 0 in y, over one channel
    ramp = torch.arange(5.0).view(1, 1, 1, 5).expand(1, 1, 3, 5)
    assert illumination_smoothness_loss(ramp).item() == pytest.approx(2.0)


@settings(max_examples=15, deadline=None)
@given(g=st.floats(0.05, 0.95), shift=st.floats(-0.04, 0.04))
def test_exposure_is_minimised_at_target(g, shift):
    at = exposure_control_loss(torch.full((1, 3, 8, 8), g), patch=4, target=g)
    off = exposure_control_loss(torch.full((1, 3, 8, 8), g + shift), patch=4, target=g)
    assert at.item() <= off.item() + 1e-12
    assert off.item() == pytest.approx(shift**2, rel=1e-3, abs=1e-9)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_color_is_invariant_to_channel_permutation(seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(2, 3, 4, 4, generator=g, dtype=torch.float64)
    perm = torch.randperm(3, generator=g)
    torch.testing.assert_close(
        color_constancy_loss(x, reducer="none"),
        color_constancy_loss(x[:, perm], reducer="none"),
    )


def test_reductions_and_batch():
    x = torch.rand(3, 3, 16, 16)
    per = exposure_control_loss(x, reducer="none")
    assert per.shape == (3,)
    torch.testing.assert_close(exposure_control_loss(x), per.mean())
    torch.testing.assert_close(exposure_control_loss(x, reducer="sum"), per.sum())
    # unbatched input equals batch of one
    torch.testing.assert_close(color_constancy_loss(x[0]), color_constancy_loss(x[:1]))
    # reduce_loss is deprecated in favour of get_reducer(reducer)(per_image)
    with pytest.warns(DeprecationWarning, match="get_reducer"):
        torch.testing.assert_close(reduce_loss(per, "sum"), per.sum())
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="reduction"):
        reduce_loss(per, "median")  # type: ignore[arg-type]


def test_modules_equal_functions():
    torch.manual_seed(4)
    x, y = torch.rand(2, 2, 3, 16, 16)
    torch.testing.assert_close(ExposureControl(8, 0.5)(x), exposure_control_loss(x, 8, 0.5))
    torch.testing.assert_close(ColorConstancy()(x), color_constancy_loss(x))
    torch.testing.assert_close(SpatialConsistency(2)(x, y), spatial_consistency_loss(x, y, 2))
    torch.testing.assert_close(
        IlluminationSmoothness("sum")(x), illumination_smoothness_loss(x, "sum")
    )


def test_gradcheck():
    torch.manual_seed(5)
    x = torch.rand(2, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    y = torch.rand(2, 3, 4, 4, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda a: exposure_control_loss(a, 2, 0.6, "none"), (x,))
    assert torch.autograd.gradcheck(lambda a: color_constancy_loss(a, "none"), (x,))
    assert torch.autograd.gradcheck(lambda a: spatial_consistency_loss(a, y, 2, "none"), (x,))
    assert torch.autograd.gradcheck(lambda a: illumination_smoothness_loss(a, "none"), (x,))


def test_gradient_finite_on_grey_and_extremes():
    for value in (0.0, 1.0, 0.5):
        x = torch.full((1, 3, 16, 16), value, requires_grad=True)
        loss = (
            color_constancy_loss(x)
            + exposure_control_loss(x)
            + spatial_consistency_loss(x, x.detach())
        )
        loss.backward()
        assert bool(torch.isfinite(x.grad).all())


def test_device_dtype(device, dtype):
    x = torch.rand(1, 3, 16, 16, device=device, dtype=dtype)
    for loss in (
        exposure_control_loss(x),
        color_constancy_loss(x),
        spatial_consistency_loss(x, x),
        illumination_smoothness_loss(x),
    ):
        assert loss.device.type == device.type and loss.dtype == dtype


def test_bad_inputs():
    x = torch.rand(1, 3, 8, 8)
    with pytest.raises(ValueError, match="at least `patch`"):
        exposure_control_loss(x, patch=16)
    with pytest.raises(ValueError, match="target"):
        exposure_control_loss(x, patch=4, target=1.5)
    with pytest.raises(ValueError, match="patch"):
        ExposureControl(patch=0)
    with pytest.raises(ValueError, match="channels"):
        color_constancy_loss(torch.rand(1, 1, 4, 4))
    with pytest.raises(ValueError, match="same shape"):
        spatial_consistency_loss(x, torch.rand(1, 3, 8, 4))
    with pytest.raises(ValueError, match="pool"):
        spatial_consistency_loss(x, x, pool=16)
    with pytest.raises(ValueError, match="NaN"):
        illumination_smoothness_loss(torch.full((1, 3, 4, 4), float("nan")))
    with pytest.raises(TypeError, match=r"torch\.Tensor"):
        color_constancy_loss([1, 2, 3])  # type: ignore[arg-type]
