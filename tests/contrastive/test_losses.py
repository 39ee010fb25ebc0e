import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from pyisp_contrast.contrastive import (
    ContrastiveLoss,
    CosineDistance,
    GramMSEDistance,
    InfoNCELoss,
    IntensityHingeLoss,
    L1Distance,
    MSEDistance,
    RatioContrastiveLoss,
    TripletHingeLoss,
    gray_level,
)
from pyisp_contrast.contrastive.losses import CPU_CHUNK_SIZE


class TinyEmbedder(nn.Module):
    """Two-layer fixed random embedder; counts the images it embeds."""

    def __init__(self, dtype=torch.float32):
        super().__init__()
        gen = torch.Generator().manual_seed(0)
        self.conv = nn.Conv2d(3, 4, 3, padding=1).to(dtype)
        with torch.no_grad():
            self.conv.weight.copy_(
                torch.randn(self.conv.weight.shape, generator=gen, dtype=dtype) * 0.5
            )
            self.conv.bias.copy_(torch.randn(4, generator=gen, dtype=dtype) * 0.1)
        self.requires_grad_(False)
        self.calls: list[int] = []

    def forward(self, x):
        self.calls.append(x.shape[0])
        f1 = torch.tanh(self.conv(x))
        return [f1, F.avg_pool2d(f1, 2)]


def _data(b=2, p=2, n=3, size=4, dtype=torch.float32, seed=0, shared_pos=False):
    gen = torch.Generator().manual_seed(seed)
    a = torch.rand(b, 3, size, size, generator=gen, dtype=dtype)
    pos_shape = (p, 3, size, size) if shared_pos else (b, p, 3, size, size)
    pos = torch.rand(*pos_shape, generator=gen, dtype=dtype)
    neg = torch.rand(b, n, 3, size, size, generator=gen, dtype=dtype)
    return a, pos, neg


def _layer_dists(emb, dist, x, y):
    """Per-layer distances of two single images, each embedded on its own (the slow way)."""
    fx, fy = emb(x[None]), emb(y[None])
    return [type(dist)()([u], [v]).item() for u, v in zip(fx, fy)]


def _slow(loss, a, pos, neg):
    """Evaluate each loss's formula with Python loops over anchors, positives and negatives."""
    emb, dist = loss.embedder, loss.distance
    b = a.shape[0]
    pos = pos if pos.ndim == 5 else pos.unsqueeze(0).expand(b, *pos.shape)
    neg = neg if neg.ndim == 5 else neg.unsqueeze(0).expand(b, *neg.shape)
    out = []
    for i in range(b):
        dp = [_layer_dists(emb, dist, a[i], p) for p in pos[i]]  # [P][L]
        dn = [_layer_dists(emb, dist, a[i], n) for n in neg[i]]  # [N][L]
        n_layers = len(dp[0])
        w = dist.layer_weights or (1.0,) * n_layers
        tot_p = [sum(wl * d for wl, d in zip(w, row)) for row in dp]
        tot_n = [sum(wl * d for wl, d in zip(w, row)) for row in dn]
        if isinstance(loss, RatioContrastiveLoss):
            val = sum(
                w[k] * sum(row[k] for row in dp) / len(dp) / (sum(row[k] for row in dn) + loss.eps)
                for k in range(n_layers)
            )
        elif isinstance(loss, InfoNCELoss):
            t = loss.temperature
            terms = []
            for d in tot_p:
                num = torch.exp(torch.tensor(-d / t, dtype=torch.float64))
                den = num + sum(torch.exp(torch.tensor(-e / t, dtype=torch.float64)) for e in tot_n)
                terms.append(-torch.log(num / den).item())
            val = sum(terms) / len(terms)
        elif isinstance(loss, TripletHingeLoss):
            val = sum(max(dp_ - dn_ + loss.margin, 0.0) for dp_ in tot_p for dn_ in tot_n) / (
                len(tot_p) * len(tot_n)
            )
        out.append(val)
    return torch.tensor(out, dtype=a.dtype)


def _losses(emb, reducer="none"):
    return [
        RatioContrastiveLoss(emb, L1Distance(layer_weights=(1.0, 0.5)), reducer),
        InfoNCELoss(emb, GramMSEDistance(), temperature=0.05, reducer=reducer),
        InfoNCELoss(emb, MSEDistance(layer_weights=(0.3, 2.0)), temperature=1.0, reducer=reducer),
        TripletHingeLoss(emb, CosineDistance(), margin=0.2, reducer=reducer),
    ]


@pytest.mark.parametrize("shared_pos", [False, True])
def test_losses_against_slow_loop(shared_pos):
    emb = TinyEmbedder()
    a, pos, neg = _data(shared_pos=shared_pos)
    for loss in _losses(emb):
        out = loss(a, pos, neg)
        assert out.shape == (2,), type(loss).__name__
        torch.testing.assert_close(
            out, _slow(loss, a, pos, neg), atol=1e-5, rtol=1e-4, msg=type(loss).__name__
        )


def test_intensity_hinge_against_pie_formula():
    a, pos, neg = _data(b=3, p=1, n=1, size=5, seed=4)
    neg = neg * 0.3  # dark negatives, so some hinges are active and some are not
    out = IntensityHingeLoss(reducer="none")(a, pos, neg)
    for i in range(3):
        ga, gp, gn = gray_level(a[i : i + 1]), gray_level(pos[i]), gray_level(neg[i])
        expected = max((ga - gp).abs().mean().item() - (gn - ga).abs().mean().item() + 0.3, 0.0)
        assert out[i].item() == pytest.approx(expected, abs=1e-6)
    assert IntensityHingeLoss()(a, pos, neg).item() == pytest.approx(out.mean().item())


def test_infonce_one_pair_is_pie_softplus():
    emb = TinyEmbedder()
    a, pos, neg = _data(b=3, p=1, n=1, seed=2)
    dist = GramMSEDistance()
    loss = InfoNCELoss(emb, dist, temperature=1.0)(a, pos, neg)
    d_ap = dist(emb(a), emb(pos[:, 0]))
    d_an = dist(emb(a), emb(neg[:, 0]))
    torch.testing.assert_close(loss, F.softplus(d_ap - d_an).mean())


def test_reducers_and_distances_method():
    emb = TinyEmbedder()
    a, pos, neg = _data()
    per = InfoNCELoss(emb, MSEDistance(), reducer="none")(a, pos, neg)
    assert torch.allclose(InfoNCELoss(emb, MSEDistance(), reducer="sum")(a, pos, neg), per.sum())
    assert torch.allclose(InfoNCELoss(emb, MSEDistance())(a, pos, neg), per.mean())
    d = InfoNCELoss(emb, MSEDistance()).distances(a, pos, neg)
    assert d.anchor_positive.shape == (2, 2, 2) and d.anchor_negative.shape == (2, 2, 3)
    assert d.layer_weights.tolist() == [1.0, 1.0]


def test_each_image_embedded_once_and_chunking_agrees():
    emb = TinyEmbedder()
    a, pos, neg = _data(b=2, p=3, shared_pos=True)
    a.requires_grad_(True)
    ref = InfoNCELoss(emb, GramMSEDistance(), chunk_size=None)(a, pos, neg)
    # anchor (needs grad) in one batch; 3 shared positives and 2 x 3 negatives in another.
    assert sorted(emb.calls) == [2, 3 + 6]
    emb.calls.clear()
    # the default ("auto") embeds CPU_CHUNK_SIZE images a call on the CPU, with the same result
    auto = InfoNCELoss(emb, GramMSEDistance())(a, pos, neg)
    assert sum(emb.calls) == 2 + 9 and max(emb.calls) <= CPU_CHUNK_SIZE
    torch.testing.assert_close(auto, ref)
    emb.calls.clear()
    chunked = InfoNCELoss(emb, GramMSEDistance(), chunk_size=4)(a, pos, neg)
    assert sum(emb.calls) == 2 + 9 and max(emb.calls) <= 4
    torch.testing.assert_close(chunked, ref)
    (g1,) = torch.autograd.grad(ref, a)
    (g2,) = torch.autograd.grad(InfoNCELoss(emb, GramMSEDistance(), chunk_size=1)(a, pos, neg), a)
    torch.testing.assert_close(g1, g2)


def test_images_of_different_sizes_with_gram():
    emb = TinyEmbedder()
    a = torch.rand(2, 3, 8, 8)
    pos, neg = torch.rand(2, 3, 6, 6), torch.rand(2, 1, 3, 4, 4)
    out = InfoNCELoss(emb, GramMSEDistance(), reducer="none")(a, pos, neg)
    torch.testing.assert_close(
        out, _slow(InfoNCELoss(emb, GramMSEDistance()), a, pos, neg), atol=1e-5, rtol=1e-4
    )
    with pytest.raises(ValueError, match="do not match"):
        InfoNCELoss(emb, MSEDistance())(a, pos, neg)


@pytest.mark.parametrize("which", range(4))
def test_gradcheck_float64(which):
    emb = TinyEmbedder(torch.float64)
    a, pos, neg = _data(b=2, p=2, n=2, dtype=torch.float64)
    loss = _losses(emb, reducer="mean")[which]
    a.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: loss(x, pos, neg), (a,), fast_mode=True)


def test_gradcheck_intensity_hinge():
    a, pos, neg = _data(b=2, p=1, n=2, dtype=torch.float64, seed=3)
    a.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: IntensityHingeLoss(margin=1.0)(x, pos, neg), (a,))


@settings(max_examples=15, deadline=None)
@given(c1=st.floats(0.1, 0.8), c2=st.floats(0.1, 0.8), which=st.integers(0, 3))
def test_loss_falls_as_anchor_moves_toward_positive(c1, c2, which):
    # Toy embedding: the image itself (one layer). Positive bright, negative dark.
    lo, hi = sorted((c1, c2))
    loss = [
        RatioContrastiveLoss(lambda x: [x], MSEDistance()),
        InfoNCELoss(lambda x: [x], MSEDistance(), temperature=0.1),
        TripletHingeLoss(lambda x: [x], L1Distance(), margin=1.0),
        IntensityHingeLoss(margin=1.0),
    ][which]
    pos, neg = torch.full((1, 1, 3, 4, 4), 0.8), torch.full((1, 1, 3, 4, 4), 0.1)
    far = loss(torch.full((1, 3, 4, 4), lo), pos, neg).item()
    near = loss(torch.full((1, 3, 4, 4), hi), pos, neg).item()
    assert near <= far + 1e-6
    if hi - lo > 1e-3:
        assert near < far


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_order_of_negatives_does_not_matter(seed):
    emb = TinyEmbedder()
    a, pos, neg = _data(n=4, seed=seed)
    perm = torch.randperm(4, generator=torch.Generator().manual_seed(seed))
    for loss in _losses(emb):
        torch.testing.assert_close(
            loss(a, pos, neg), loss(a, pos, neg[:, perm]), atol=1e-6, rtol=1e-5
        )


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 10_000), p=st.integers(1, 3))
def test_shared_and_per_sample_sets_agree(seed, p):
    emb = TinyEmbedder()
    a, pos, neg = _data(b=3, p=p, seed=seed, shared_pos=True)
    shared_neg = neg[0]
    for loss in _losses(emb):
        torch.testing.assert_close(
            loss(a, pos, shared_neg),
            loss(a, pos.expand(3, *pos.shape), shared_neg.expand(3, *shared_neg.shape)),
            atol=1e-6,
            rtol=1e-5,
        )


def test_bad_inputs():
    emb = TinyEmbedder()
    loss = InfoNCELoss(emb, MSEDistance())
    a, pos, neg = _data()
    with pytest.raises(ValueError, match=r"positives.*empty"):
        loss(a, pos[:, :0], neg)
    with pytest.raises(ValueError, match=r"negatives.*empty"):
        loss(a, pos, torch.rand(0, 3, 4, 4))
    with pytest.raises(ValueError, match="anchor's batch size"):
        loss(a, torch.rand(3, 2, 3, 4, 4), neg)
    with pytest.raises(ValueError, match="channels"):
        loss(a, pos, torch.rand(2, 3, 1, 4, 4))
    with pytest.raises(ValueError, match=r"\(B, P, C, H, W\)"):
        loss(a, pos[0, 0], neg)
    with pytest.raises(ValueError, match="anchor"):
        loss(a[0], pos, neg)
    with pytest.raises(ValueError, match="dtype"):
        loss(a, pos.double(), neg)
    nan_anchor = a.clone()
    nan_anchor[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"anchor.*NaN"):
        loss(nan_anchor, pos, neg)


def test_nan_features_are_reported():
    def bad_embedder(x):
        return [x, torch.full_like(x, float("nan"))]

    a, pos, neg = _data()
    with pytest.raises(ValueError, match=r"features of `.*` \(layer 1\).*NaN"):
        InfoNCELoss(bad_embedder, MSEDistance())(a, pos, neg)
    with pytest.raises(ValueError, match="batch dimension"):
        InfoNCELoss(lambda x: [x.sum(0)], MSEDistance())(a, pos, neg)


def test_bad_construction():
    emb = TinyEmbedder()
    with pytest.raises(TypeError, match="embedder"):
        InfoNCELoss(3, MSEDistance())
    with pytest.raises(TypeError, match="distance"):
        InfoNCELoss(emb, "mse")
    with pytest.raises(ValueError, match="temperature"):
        InfoNCELoss(emb, MSEDistance(), temperature=0.0)
    with pytest.raises(ValueError, match="margin"):
        TripletHingeLoss(emb, MSEDistance(), margin=-1.0)
    with pytest.raises(ValueError, match="eps"):
        RatioContrastiveLoss(emb, MSEDistance(), eps=0.0)
    with pytest.raises(ValueError, match="chunk_size"):
        InfoNCELoss(emb, MSEDistance(), chunk_size=0)
    with pytest.raises(ValueError, match="chunk_size"):
        InfoNCELoss(emb, MSEDistance(), chunk_size="big")
    with pytest.raises(ValueError, match="reducer"):
        InfoNCELoss(emb, MSEDistance(), reducer="avg")
    with pytest.raises(NotImplementedError):
        ContrastiveLoss(emb, MSEDistance())(*_data())


def test_works_with_vgg_and_module_state():
    from pyisp_contrast.contrastive import VGG16Features

    vgg = VGG16Features(
        layers=("relu1_2", "relu2_2"), weights=None, generator=torch.Generator().manual_seed(0)
    )
    loss = InfoNCELoss(vgg, GramMSEDistance())
    loss.train()
    assert not vgg.training
    a, pos, neg = _data(size=8)
    a.requires_grad_(True)
    loss(a, pos, neg).backward()
    assert torch.isfinite(a.grad).all() and a.grad.abs().sum() > 0
    assert not any(p.requires_grad for p in loss.parameters())


def test_all_pairs_combinations_small():
    # Guard the broadcasting layout: swapping two anchors swaps their per-sample losses.
    emb = TinyEmbedder()
    a, pos, neg = _data(b=2)
    for loss in _losses(emb):
        out = loss(a, pos, neg)
        swapped = loss(a.flip(0), pos.flip(0), neg.flip(0))
        torch.testing.assert_close(out.flip(0), swapped)


def test_infonce_rejects_images_outside_unit_range():
    # Issue 14: 0..255 floats gave a loss of exactly 0.0 (every term saturated), silently.
    emb = TinyEmbedder()
    loss = InfoNCELoss(emb, GramMSEDistance())
    a, pos, neg = _data()
    for name, args in (
        ("anchor", (a * 255, pos, neg)),
        ("positives", (a, pos * 255, neg)),
        ("negatives", (a, pos, neg * 255)),
        ("anchor", (a - 0.5, pos, neg)),
    ):
        with pytest.raises(
            ValueError, match=rf"`{name}` must hold values in \[0, 1\].*divide 8-bit"
        ):
            loss(*args)
    from pyisp_contrast.core.checks import value_checks

    with value_checks(False):  # the usual switch for data already checked
        assert torch.isfinite(loss(a * 255, pos * 255, neg * 255))
    # losses that do not take images as the ISP makes them still accept other values
    assert torch.isfinite(TripletHingeLoss(emb, MSEDistance())(a * 255, pos * 255, neg * 255))
