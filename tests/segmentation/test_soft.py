"""Tests for pyisp_contrast.segmentation.soft (differentiable soft SLIC)."""

from __future__ import annotations

import pytest
import torch

from pyisp_contrast.segmentation.slic import slic_grid
from pyisp_contrast.segmentation.soft import SoftSLIC, SoftSuperpixels, soft_slic


def _img(b=2, c=3, h=12, w=16, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, c, h, w, generator=g, dtype=dtype)


def test_soft_slic_shapes_and_normalisation():
    out = soft_slic(_img(), n_segments=6, temperature=0.5, n_iter=3)
    assert isinstance(out, SoftSuperpixels)
    gy, gx = slic_grid(12, 16, 6)
    k = gy * gx
    assert out.association.shape == (2, 9, 12, 16)
    assert out.features.shape == (2, k, 5)
    assert out.labels.shape == (2, 12, 16) and out.labels.dtype == torch.int64
    assert out.neighbours.shape == (k, 9) and out.cells.shape == (12, 16)
    torch.testing.assert_close(out.association.sum(1), torch.ones(2, 12, 16))
    assert bool((out.association >= 0).all())
    assert int(out.labels.max()) < k


def test_soft_slic_off_grid_slots_get_zero_weight():
    out = soft_slic(_img(b=1), n_segments=4, temperature=1.0, n_iter=2)
    # top-left pixel: slots with dy = -1 or dx = -1 (0, 1, 2, 3, 6) are off the grid
    assert out.association[0, [0, 1, 2, 3, 6], 0, 0].abs().max().item() == 0.0


def test_soft_slic_low_temperature_matches_hard_argmin():
    # As the temperature goes to 0 the association becomes one-hot on the nearest candidate.
    out = soft_slic(_img(b=1, seed=3), n_segments=6, temperature=1e-4, n_iter=1)
    assert out.association.amax(1).min().item() > 0.99


def test_soft_slic_features_are_weighted_means():
    # With one iteration the features are the grid-cell means of the pixel features; with two,
    # they are the association-weighted means of the first association.
    x = _img(b=1, c=1, h=8, w=8, dtype=torch.float64)
    one = soft_slic(x, n_segments=4, temperature=0.3, n_iter=1, compactness=0.1)
    feat_grey = (x - x.min()) / (x.max() - x.min()) / 0.1
    cells = one.cells
    for k in range(4):
        torch.testing.assert_close(one.features[0, k, 0], feat_grey[0, 0][cells == k].mean())
    two = soft_slic(x, n_segments=4, temperature=0.3, n_iter=2, compactness=0.1)
    num = torch.zeros(4, dtype=torch.float64)
    den = torch.zeros(4, dtype=torch.float64)
    for y in range(8):
        for xx in range(8):
            for s in range(9):
                k = one.neighbours[cells[y, xx], s]
                q = one.association[0, s, y, xx]
                num[k] += q * feat_grey[0, 0, y, xx]
                den[k] += q
    torch.testing.assert_close(two.features[0, :, 0], num / den)


def test_soft_slic_gradcheck():
    # values strictly inside (0, 1) and without ties, so the min/max rescale is smooth
    x = (0.05 + 0.9 * _img(b=1, c=3, h=6, w=6, seed=1, dtype=torch.float64)).requires_grad_()

    def f(v):
        out = soft_slic(v, n_segments=4, temperature=0.5, n_iter=2, compactness=20.0)
        return out.association, out.features

    assert torch.autograd.gradcheck(f, (x,), eps=1e-6, atol=1e-5, fast_mode=True)


def test_soft_slic_grad_finite_at_0_and_1():
    x = torch.zeros(1, 3, 6, 6, dtype=torch.float64)
    x[..., 3:] = 1.0
    x.requires_grad_()
    out = soft_slic(x, n_segments=4, temperature=0.5, n_iter=2)
    (out.features.sum() + out.association.pow(2).sum()).backward()
    assert bool(torch.isfinite(x.grad).all())


def test_soft_slic_unbatched_and_module():
    x = _img(b=1)[0]
    a = soft_slic(x, 6, 0.5, 2)
    assert a.association.shape == (9, 12, 16) and a.features.ndim == 2
    m = SoftSLIC(6, 0.5, 2)(x[None])
    torch.testing.assert_close(m.features[0], a.features)


def test_soft_slic_per_image_temperature():
    x = _img()
    both = soft_slic(x, 6, torch.tensor([0.1, 2.0]), 2)
    second = soft_slic(x[1:], 6, 2.0, 2)
    torch.testing.assert_close(both.association[1], second.association[0])


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"temperature": 0.0}, ValueError, "temperature"),
        ({"n_iter": 0}, ValueError, "n_iter"),
        ({"n_segments": 0}, ValueError, "n_segments"),
        ({"compactness": -1.0}, ValueError, "compactness"),
        ({"convert2lab": True, "images": torch.rand(1, 1, 8, 8)}, ValueError, "convert2lab"),
        ({"images": torch.rand(1, 4, 8, 8)}, ValueError, "channels"),
        ({"images": torch.full((1, 3, 8, 8), float("nan"))}, ValueError, "NaN"),
        ({"spacing": (1.0,)}, ValueError, "spacing"),
    ],
)
def test_soft_slic_bad_input(kwargs, exc, match):
    images = kwargs.pop("images", torch.rand(1, 3, 8, 8))
    with pytest.raises(exc, match=match):
        soft_slic(images, **{"n_segments": 4, **kwargs})
