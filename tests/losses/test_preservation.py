"""Tests for pyisp_contrast.losses.preservation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from pyisp_contrast.contrastive import ExposureEncoder
from pyisp_contrast.losses.preservation import FeaturePreservation, feature_preservation_loss


class TinyEmbedder(nn.Module):
    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 5, 3, stride=2, padding=1)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 0.3)

    def forward(self, x):
        f1 = torch.tanh(self.conv1(x))
        return [f1, torch.tanh(self.conv2(f1))]


def slow_preservation(y, x, embed, layers, weights):
    with torch.no_grad():
        fy, fx = embed(y), embed(x)
    out = []
    for b in range(y.shape[0]):
        total = 0.0
        for layer, w in zip(layers, weights, strict=True):
            a, c = fy[layer][b], fx[layer][b]
            n = a.numel()
            total += w * sum(float(v) ** 2 for v in (a - c).flatten()) / n
        out.append(total)
    return torch.tensor(out, dtype=torch.float64)


def test_matches_loop():
    torch.manual_seed(1)
    embed = TinyEmbedder().double()
    y, x = torch.rand(2, 2, 3, 6, 6, dtype=torch.float64)
    got = feature_preservation_loss(y, x, embed, layers=(1, 0), weights=(2.0, 0.5), reducer="none")
    torch.testing.assert_close(got, slow_preservation(y, x, embed, (1, 0), (2.0, 0.5)))
    got = feature_preservation_loss(y, x, embed, layers=1, reducer="none")
    torch.testing.assert_close(got, slow_preservation(y, x, embed, (1,), (1.0,)))


def test_gradcheck_and_no_grad_to_original():
    torch.manual_seed(2)
    embed = TinyEmbedder().double()
    y = torch.rand(1, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    x = torch.rand(1, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda a: feature_preservation_loss(a, x, embed, reducer="none"), (y,)
    )
    feature_preservation_loss(y, x, embed).backward()
    assert x.grad is None and y.grad is not None


def test_module_equals_function_and_identity_is_zero():
    embed = ExposureEncoder(generator=torch.Generator().manual_seed(3))
    x, y = torch.rand(2, 2, 3, 8, 8)
    module = FeaturePreservation(embed, layers=(2,), weights=(3.0,))
    torch.testing.assert_close(module(y, x), feature_preservation_loss(y, x, embed, (2,), (3.0,)))
    assert module(x, x).item() == 0.0
    assert "embedder" in dict(module.named_children())


def test_bad_inputs():
    embed = TinyEmbedder()
    x = torch.rand(1, 3, 6, 6)
    with pytest.raises(ValueError, match="same shape"):
        feature_preservation_loss(x, torch.rand(1, 3, 6, 5), embed)
    with pytest.raises(ValueError, match="index past"):
        feature_preservation_loss(x, x, embed, layers=(5,))
    with pytest.raises(ValueError, match="weights"):
        feature_preservation_loss(x, x, embed, weights=(1.0,))
    with pytest.raises(ValueError, match="weights"):
        FeaturePreservation(embed, layers=(0, 1), weights=(1.0,))
    with pytest.raises(TypeError, match="callable"):
        FeaturePreservation(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="list of feature tensors"):
        feature_preservation_loss(x, x, lambda im: ["a"])
    with pytest.raises(ValueError, match="layers"):
        FeaturePreservation(embed, layers=())


def slow_normalized(y, x, eps=1e-5):
    """Identity embedder with normalize=True: per-channel standardisation, then MSE."""
    out = []
    for b in range(y.shape[0]):
        total = 0.0
        for c in range(y.shape[1]):

            def std(t):
                vals = [float(v) for v in t.flatten()]
                m = sum(vals) / len(vals)
                v = sum((a - m) ** 2 for a in vals) / len(vals)
                return [(a - m) / (v + eps) ** 0.5 for a in vals]

            a, d = std(y[b, c]), std(x[b, c])
            total += sum((p - q) ** 2 for p, q in zip(a, d, strict=True))
        out.append(total / y[b].numel())
    return torch.tensor(out, dtype=torch.float64)


def test_normalized_matches_loop_and_ignores_level_and_gain():
    torch.manual_seed(4)
    y, x = torch.rand(2, 2, 3, 5, 5, dtype=torch.float64)
    identity = lambda im: [im]  # noqa: E731
    got = feature_preservation_loss(y, x, identity, reducer="none", normalize=True)
    torch.testing.assert_close(got, slow_normalized(y, x))
    # brightening by a gain and an offset keeps the normalised features
    same = feature_preservation_loss(0.8 * x + 0.1, x, identity, normalize=True)
    assert same.item() < 1e-6
    assert feature_preservation_loss(0.8 * x + 0.1, x, identity).item() > 1e-3
    # a flat map has finite loss and gradient
    flat = torch.full((1, 3, 4, 4), 0.5, dtype=torch.float64, requires_grad=True)
    loss = feature_preservation_loss(flat, x[:1, :, :4, :4], identity, normalize=True)
    loss.backward()
    assert bool(torch.isfinite(flat.grad).all())
    module = FeaturePreservation(identity, normalize=True)
    torch.testing.assert_close(module(y, x), got.mean())
