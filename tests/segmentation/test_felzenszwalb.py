"""Tests for pyisp_contrast.segmentation.felzenszwalb."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.segmentation import felzenszwalb as sk_felzenszwalb

from pyisp_contrast.segmentation.felzenszwalb import Felzenszwalb, felzenszwalb


def test_felzenszwalb_matches_skimage_per_image():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 3, 20, 24, generator=g)
    sp = felzenszwalb(x, scale=50, sigma=0.5, min_size=10)
    assert sp.labels.shape == (3, 20, 24) and sp.num_segments.shape == (3,)
    for i in range(3):
        ref = sk_felzenszwalb(
            x[i].permute(1, 2, 0).double().numpy(), scale=50, sigma=0.5, min_size=10
        )
        # same partition (the wrapper renumbers sequentially)
        ours = sp.labels[i].numpy()
        assert len(np.unique(ref)) == int(sp.num_segments[i])
        pairs = {(a, b) for a, b in zip(ours.ravel(), ref.ravel())}
        assert len(pairs) == int(sp.num_segments[i])
        assert sorted(np.unique(ours).tolist()) == list(range(int(sp.num_segments[i])))


def test_felzenszwalb_grey_and_unbatched_and_module():
    x = torch.zeros(1, 16, 16)
    x[:, 8:] = 1.0
    sp = felzenszwalb(x, scale=10, sigma=0.0, min_size=5)
    assert int(sp.num_segments) == 2 and sp.labels.shape == (16, 16)
    assert torch.equal(Felzenszwalb(10, 0.0, 5)(x[None]).labels[0], sp.labels)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"scale": 0.0}, ValueError, "scale"),
        ({"sigma": -1.0}, ValueError, "sigma"),
        ({"min_size": -1}, ValueError, "min_size"),
        ({"min_size": 2.5}, TypeError, "min_size"),
    ],
)
def test_felzenszwalb_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        felzenszwalb(torch.rand(1, 3, 8, 8), **kwargs)
    with pytest.raises(ValueError, match="channels"):
        felzenszwalb(torch.rand(1, 2, 8, 8))
