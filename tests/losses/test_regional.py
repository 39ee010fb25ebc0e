"""Tests for pyisp_contrast.losses.regional."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pyisp_contrast.losses.regional import (
    BrightnessWeighting,
    RegionalBrightnessConsistency,
    regional_brightness_consistency,
)
from pyisp_contrast.segmentation import region_stats

LUMA = (0.299, 0.587, 0.114)


def slow_regional(x, labels, weights=None):
    """Loop over images, regions and pixels: (1/N) sum_k w_k sum_{i in k} (Y_i - mu_k)^2."""
    out = []
    for b in range(x.shape[0]):
        grey = sum(LUMA[c] * x[b, c] for c in range(3)) if x.shape[1] == 3 else x[b, 0]
        h, w = grey.shape
        total = 0.0
        for k in sorted(set(labels[b].flatten().tolist())):
            vals = [float(grey[i, j]) for i in range(h) for j in range(w) if labels[b, i, j] == k]
            mu = sum(vals) / len(vals)
            wk = 1.0 if weights is None else float(weights[b, k])
            total += wk * sum((v - mu) ** 2 for v in vals)
        out.append(total / (h * w))
    return torch.tensor(out, dtype=torch.float64)


def _labels(b, h, w, k, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, k, (b, h, w), generator=g)


@pytest.mark.parametrize("channels", [1, 3])
def test_matches_loop(channels):
    torch.manual_seed(0)
    x = torch.rand(2, channels, 6, 7, dtype=torch.float64)
    labels = _labels(2, 6, 7, 5, seed=1)
    got = regional_brightness_consistency(x, labels, reducer="none")
    torch.testing.assert_close(got, slow_regional(x, labels))


def test_matches_loop_with_weights_and_missing_regions():
    torch.manual_seed(2)
    x = torch.rand(2, 3, 5, 5, dtype=torch.float64)
    labels = _labels(2, 5, 5, 3, seed=3)
    labels[1] = torch.where(labels[1] == 1, 4, labels[1])  # region 1 absent from image 1, K = 5
    weights = torch.rand(2, 5, dtype=torch.float64)
    got = regional_brightness_consistency(x, labels, region_weights=weights, reducer="none")
    torch.testing.assert_close(got, slow_regional(x, labels, weights))


def test_known_values_and_invariances():
    x = torch.rand(1, 3, 8, 8)
    one_region = torch.zeros(1, 8, 8, dtype=torch.long)
    every_pixel = torch.arange(64).view(1, 8, 8)
    grey = (x * torch.tensor(LUMA).view(1, 3, 1, 1)).sum(1)
    # one region: the whole-image population variance of the grey level
    torch.testing.assert_close(
        regional_brightness_consistency(x, one_region), grey.var(unbiased=False)
    )
    # one pixel per region: nothing to be inconsistent with
    assert regional_brightness_consistency(x, every_pixel).item() == 0.0
    # a constant shift of brightness changes nothing; a gain g scales by g^2
    y = x * 0.5
    torch.testing.assert_close(
        regional_brightness_consistency(y + 0.3, one_region),
        regional_brightness_consistency(y, one_region),
    )
    torch.testing.assert_close(
        regional_brightness_consistency(2 * y, one_region),
        4 * regional_brightness_consistency(y, one_region),
    )


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), k=st.integers(1, 6))
def test_label_permutation_invariance_and_refinement(seed, k):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(1, 3, 6, 6, generator=g, dtype=torch.float64)
    labels = torch.randint(0, k, (1, 6, 6), generator=g)
    perm = torch.randperm(k, generator=g)
    a = regional_brightness_consistency(x, labels)
    torch.testing.assert_close(a, regional_brightness_consistency(x, perm[labels]))
    # splitting regions further can only lower the within-region spread
    finer = labels * 2 + torch.randint(0, 2, labels.shape, generator=g)
    assert regional_brightness_consistency(x, finer).item() <= a.item() + 1e-12


def test_gradcheck():
    torch.manual_seed(4)
    x = torch.rand(2, 3, 4, 5, dtype=torch.float64, requires_grad=True)
    labels = _labels(2, 4, 5, 3, seed=5)
    w = torch.rand(2, 3, dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda a: regional_brightness_consistency(a, labels, region_weights=w, reducer="none"),
        (x,),
    )


def test_brightness_weighting():
    grey = torch.tensor([[[[0.1, 0.1, 0.9, 0.9, 0.5, 0.5]]]], dtype=torch.float64)
    stats = region_stats(grey, torch.tensor([[[0, 0, 1, 1, 2, 2]]]))
    w = BrightnessWeighting(exponent=2.0, eps=0.0)(stats)
    torch.testing.assert_close(
        w, torch.tensor([[0.01, 0.81, 0.25]], dtype=torch.float64) / (1.07 / 3)
    )
    # count-weighted mean of the weights is 1
    torch.testing.assert_close(
        (w * stats.count).sum() / stats.count.sum(), torch.tensor(1.0).double()
    )
    torch.testing.assert_close(BrightnessWeighting(exponent=0.0)(stats), torch.ones_like(w))
    with pytest.raises(ValueError, match="exponent"):
        BrightnessWeighting(exponent=-1.0)


def test_module_labels_from_input_without_grad():
    seen = {}

    def labels_fn(images):
        seen["grad"] = torch.is_grad_enabled()
        seen["input"] = images
        return (images[:, 0] > 0.5).long()

    torch.manual_seed(6)
    original = torch.rand(2, 3, 6, 6)
    enhanced = torch.rand(2, 3, 6, 6, requires_grad=True)
    loss = RegionalBrightnessConsistency(labels_fn=labels_fn)
    out = loss(enhanced, original)
    assert seen["grad"] is False and seen["input"] is original
    torch.testing.assert_close(
        out, regional_brightness_consistency(enhanced, (original[:, 0] > 0.5).long())
    )
    out.backward()
    assert enhanced.grad is not None
    # explicit labels override labels_fn
    labels = torch.zeros(2, 6, 6, dtype=torch.long)
    torch.testing.assert_close(
        loss(enhanced, original, labels), regional_brightness_consistency(enhanced, labels)
    )


def test_module_weighting_equals_function():
    torch.manual_seed(7)
    original = torch.rand(1, 3, 6, 6)
    enhanced = torch.rand(1, 3, 6, 6)
    labels = _labels(1, 6, 6, 4, seed=8)
    weighting = BrightnessWeighting(1.0)
    grey = (original * torch.tensor(LUMA).view(1, 3, 1, 1)).sum(1, keepdim=True)
    w = weighting(region_stats(grey, labels))
    got = RegionalBrightnessConsistency(weighting=weighting)(enhanced, original, labels)
    torch.testing.assert_close(
        got, regional_brightness_consistency(enhanced, labels, region_weights=w)
    )


def test_default_labels_use_slic():
    torch.manual_seed(9)
    x = torch.rand(1, 3, 24, 24)
    loss = RegionalBrightnessConsistency(n_segments=9)
    labels = loss.compute_labels(x)
    assert labels.shape == (1, 24, 24) and labels.dtype == torch.long
    assert float(loss(x, x)) > 0


def test_unbatched_and_bad_inputs():
    x = torch.rand(3, 4, 4)
    labels = torch.zeros(4, 4, dtype=torch.long)
    torch.testing.assert_close(
        regional_brightness_consistency(x, labels),
        regional_brightness_consistency(x[None], labels[None]),
    )
    with pytest.raises(ValueError, match="shape"):
        regional_brightness_consistency(x, torch.zeros(1, 4, 5, dtype=torch.long))
    with pytest.raises(TypeError, match="integer"):
        regional_brightness_consistency(x, torch.zeros(1, 4, 4))
    with pytest.raises(ValueError, match="region_weights"):
        regional_brightness_consistency(x, labels, region_weights=torch.ones(1, 3))
    with pytest.raises(ValueError, match="original"):
        RegionalBrightnessConsistency()(x[None])
    with pytest.raises(TypeError, match="labels_fn"):
        RegionalBrightnessConsistency(labels_fn=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="labels_fn"):
        RegionalBrightnessConsistency(labels_fn=lambda im: [1])(x[None], x[None])


@pytest.mark.cuda
def test_default_slic_runs_on_cpu_and_labels_return_to_device(device):
    x = torch.rand(2, 3, 32, 32, device=device)
    loss = RegionalBrightnessConsistency(n_segments=8)
    labels = loss.compute_labels(x)
    assert labels.device.type == device.type and labels.shape == (2, 32, 32)
    cpu = RegionalBrightnessConsistency(n_segments=8).compute_labels(x.cpu())
    torch.testing.assert_close(labels.cpu(), cpu)
    assert torch.isfinite(loss(x, x))
