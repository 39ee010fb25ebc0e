"""Tests for pyisp_contrast.models.pie."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from pyisp_contrast.contrastive import (
    GramMSEDistance,
    InfoNCELoss,
    IntensityHingeLoss,
    PixelStatistics,
)
from pyisp_contrast.losses import (
    ColorConstancy,
    FeaturePreservation,
    IlluminationSmoothness,
    RegionalBrightnessConsistency,
)
from pyisp_contrast.models import (
    DEFAULT_WEIGHTS,
    PIE,
    CurveEstimator,
    CurveOutput,
    FastCurveEstimator,
    SelectLayers,
)


class GammaNegatives:
    """Stand-in negative sampler: alternately darkened / brightened by a power curve."""

    def __init__(self):
        self.calls = 0

    def sample(self, images, k=1, generator=None):
        self.calls += 1
        u = torch.rand(images.shape[0], k, 1, 1, 1, generator=generator)
        gamma = torch.where(u < 0.5, 5.0, 0.2)
        return images.unsqueeze(1).clamp_min(1e-3) ** gamma, None


def grid_labels(images):
    b, _, h, w = images.shape
    rows = torch.arange(h).div(h // 2, rounding_mode="floor").clamp(max=1)
    cols = torch.arange(w).div(w // 2, rounding_mode="floor").clamp(max=1)
    return (rows[:, None] * 2 + cols[None, :]).expand(b, h, w).contiguous()


def small_pie(network="fast", **kwargs):
    embed = PixelStatistics(scales=(2, 4))
    kwargs.setdefault("network_kwargs", {"channels": 4} if isinstance(network, str) else None)
    return PIE(
        network,
        embedder=embed,
        regional=RegionalBrightnessConsistency(labels_fn=grid_labels),
        negatives=GammaNegatives(),
        **kwargs,
    )


def batch(seed=0, size=16):
    g = torch.Generator().manual_seed(seed)
    return {
        "low": torch.rand(2, 3, size, size, generator=g) * 0.2,
        "normal": torch.rand(2, 3, size, size, generator=g),
    }


def test_default_weights_are_the_papers():
    assert DEFAULT_WEIGHTS == {
        "contrastive": 10.0,
        "intensity": 10.0,
        "regional": 1.0,
        "preservation": 1.0,
        "smoothness": 200.0,
        "color": 8.0,
        "exposure": 0.0,
    }


def test_loss_terms_are_weighted_parts_and_total_is_their_sum():
    torch.manual_seed(0)
    pie = small_pie()
    b = batch()
    g = torch.Generator().manual_seed(1)
    terms = pie.loss(b["low"], b["normal"], generator=g)
    assert set(terms) == {
        "contrastive", "intensity", "regional", "preservation", "smoothness", "color", "total"
    }  # fmt: skip
    torch.testing.assert_close(terms["total"], sum(v for k, v in terms.items() if k != "total"))
    # recompute each part by hand with the same negatives
    enhanced, curves = pie.network(b["low"])
    neg, _ = GammaNegatives().sample(b["normal"], 1, torch.Generator().manual_seed(1))
    pos = b["normal"].unsqueeze(1)
    torch.testing.assert_close(terms["contrastive"], 10 * pie.contrastive(enhanced, pos, neg))
    torch.testing.assert_close(terms["intensity"], 10 * IntensityHingeLoss(0.3)(enhanced, pos, neg))
    torch.testing.assert_close(
        terms["regional"], RegionalBrightnessConsistency(labels_fn=grid_labels)(enhanced, b["low"])
    )
    torch.testing.assert_close(terms["smoothness"], 200 * IlluminationSmoothness()(curves))
    torch.testing.assert_close(terms["color"], 8 * ColorConstancy()(enhanced))
    torch.testing.assert_close(
        terms["preservation"], FeaturePreservation(pie.preservation.embedder)(enhanced, b["low"])
    )


def test_training_step_backpropagates_into_the_network_only():
    torch.manual_seed(1)
    pie = small_pie()
    out = pie.training_step(batch())
    out["total"].backward()
    grads = [p.grad for p in pie.network.parameters()]
    assert all(g is not None and bool(torch.isfinite(g).all()) for g in grads)
    assert any(float(g.abs().sum()) > 0 for g in grads)


def test_weights_replace_and_zero_skips_terms():
    neg = GammaNegatives()
    pie = PIE(
        "fast",
        network_kwargs={"channels": 4},
        weights={"contrastive": 0, "intensity": 0, "regional": 0, "preservation": 0, "exposure": 3},
        negatives=neg,
    )
    terms = pie.loss(**{"low": batch()["low"], "positives": batch()["normal"]})
    assert set(terms) == {"smoothness", "color", "exposure", "total"}
    assert neg.calls == 0  # no negatives drawn when no term needs them
    assert pie.contrastive is None and pie.preservation is None
    with pytest.raises(ValueError, match="unknown loss term"):
        PIE("fast", weights={"contrast": 1.0}, negatives=neg, embedder=PixelStatistics())
    with pytest.raises(ValueError, match="must be a number >= 0"):
        PIE("fast", weights={"color": -1.0}, negatives=neg, embedder=PixelStatistics())


def test_every_part_is_replaceable():
    class Constant(nn.Module):
        def __init__(self, value):
            super().__init__()
            self.value = value

        def forward(self, *args):
            return torch.tensor(self.value)

    pie = PIE(
        CurveEstimator(channels=4, iterations=2),
        embedder=PixelStatistics(scales=(2,)),
        contrastive=Constant(1.0),
        intensity=Constant(2.0),
        regional=Constant(3.0),
        preservation=Constant(4.0),
        smoothness=Constant(5.0),
        color=Constant(6.0),
        exposure=Constant(7.0),
        weights={"exposure": 1.0},
        negatives=GammaNegatives(),
    )
    terms = pie.loss(batch()["low"], batch()["normal"])
    expected = {"contrastive": 10.0, "intensity": 20.0, "regional": 3.0, "preservation": 4.0,
                "smoothness": 1000.0, "color": 48.0, "exposure": 7.0}  # fmt: skip
    for key, value in expected.items():
        assert float(terms[key]) == pytest.approx(value)
    assert float(terms["total"]) == pytest.approx(sum(expected.values()))


def test_networks_by_name_and_fast_classmethod():
    neg = GammaNegatives()
    embed = PixelStatistics(scales=(2,))
    assert isinstance(PIE(embedder=embed, negatives=neg).network, CurveEstimator)
    fast = PIE.fast(embedder=embed, negatives=neg, network_kwargs={"working_side": 64})
    assert isinstance(fast.network, FastCurveEstimator) and fast.network.working_side == 64
    with pytest.raises(ValueError, match="network"):
        PIE("unet", embedder=embed, negatives=neg)
    with pytest.raises(ValueError, match="network_kwargs"):
        PIE(CurveEstimator(), network_kwargs={"channels": 4}, embedder=embed, negatives=neg)
    with pytest.raises(TypeError, match="sample"):
        PIE("fast", embedder=embed, negatives=object())


def test_positives_shapes():
    torch.manual_seed(2)
    pie = small_pie()
    b = batch()
    g = torch.Generator().manual_seed(3)
    a = pie.loss(b["low"], b["normal"], generator=g)
    g = torch.Generator().manual_seed(3)
    c = pie.loss(b["low"], b["normal"].unsqueeze(1), generator=g)
    torch.testing.assert_close(a["total"], c["total"])
    with pytest.raises(ValueError, match="positives"):
        pie.loss(b["low"], b["normal"][:1])
    with pytest.raises(ValueError, match="channels"):
        pie.loss(b["low"][:, :1], b["normal"])


def test_enhance_and_validation_images():
    torch.manual_seed(3)
    pie = small_pie()
    b = batch(size=20)
    out = pie.enhance(b["low"])
    assert out.shape == b["low"].shape and not out.requires_grad
    assert bool(((out >= 0) & (out <= 1)).all())
    torch.testing.assert_close(out, pie(b["low"]).enhanced.clamp(0, 1), atol=2e-6, rtol=1e-5)
    torch.testing.assert_close(pie.validation_images(b), out)
    assert pie.training  # mode restored
    assert isinstance(pie(b["low"]), CurveOutput)


def test_select_layers():
    sel = SelectLayers(lambda x: [x, 2 * x], (1,))
    torch.testing.assert_close(sel(torch.ones(1, 1, 2, 2))[0], torch.full((1, 1, 2, 2), 2.0))
    with pytest.raises(ValueError, match="indices"):
        SelectLayers(lambda x: [x], ())


def test_vgg16_embedder_shares_one_network(monkeypatch):
    import pyisp_contrast.contrastive as con

    built = []
    original = con.VGG16Features

    def fake_vgg(layers, weights):
        built.append((tuple(layers), weights))
        return original(layers=layers, weights=None)

    monkeypatch.setattr(con, "VGG16Features", fake_vgg)
    pie = PIE("fast", embedder="vgg16", vgg16_weights="/some/file.pth", negatives=GammaNegatives())
    assert built == [(("relu1_2", "relu2_2", "relu3_3", "relu4_3"), "/some/file.pth")]
    assert isinstance(pie.contrastive, InfoNCELoss)
    assert isinstance(pie.contrastive.distance, GramMSEDistance)
    assert pie.contrastive.embedder.indices == (0, 1, 2)
    assert pie.preservation.embedder.indices == (3,)
    assert pie.contrastive.embedder.embedder is pie.preservation.embedder.embedder
    # frozen embedder: only the network trains
    trainable = {n for n, p in pie.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith("network.") for n in trainable)
