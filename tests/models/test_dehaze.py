"""Tests for pyisp_contrast.models.dehaze (the dehazing composition)."""

from __future__ import annotations

import hypothesis.strategies as st
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings

from pyisp_contrast.contrastive import L1Distance, PixelStatistics, RatioContrastiveLoss
from pyisp_contrast.isp.bags import BagOfHaze
from pyisp_contrast.isp.degrade import inverse_scatter, scatter
from pyisp_contrast.models import dehaze
from pyisp_contrast.models.dehaze import Dehazer, HazeEstimate, HazeEstimator


def _rand(*shape, seed=0, dtype=torch.float32, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=g, dtype=torch.float64).to(device=device, dtype=dtype)


def _small_model(**kwargs):
    torch.manual_seed(0)
    loss = RatioContrastiveLoss(PixelStatistics(scales=(1, 4)), L1Distance())
    return Dehazer(contrastive=loss, **kwargs)


def test_public_api():
    assert set(dehaze.__all__) >= {"Dehazer", "HazeEstimate", "HazeEstimator"}


# ---------------------------------------------------------------- the network
def test_estimator_shapes_and_bounds(device, dtype):
    torch.manual_seed(0)
    net = HazeEstimator(t_min=0.1).to(device=device, dtype=dtype)
    est = net(_rand(3, 3, 21, 26, dtype=dtype, device=device))
    assert isinstance(est, HazeEstimate)
    assert est.transmission.shape == (3, 1, 21, 26) and est.airlight.shape == (3, 3)
    assert est.transmission.dtype == dtype and est.transmission.device.type == device.type
    assert est.transmission.min() >= 0.1 and est.transmission.max() <= 1
    assert est.airlight.min() > 0 and est.airlight.max() < 1


def test_estimator_size_and_config():
    net = HazeEstimator()
    n = sum(p.numel() for p in net.parameters())
    assert 10_000 < n < 60_000
    assert HazeEstimator(**net.config).config == net.config


def test_estimator_gradients_finite_at_0_and_1():
    torch.manual_seed(0)
    net = HazeEstimator()
    x = torch.zeros(1, 3, 16, 16)
    x[..., 8:] = 1.0
    x.requires_grad_()
    est = net(x)
    (est.transmission.sum() + est.airlight.sum()).backward()
    assert torch.isfinite(x.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters())


# ---------------------------------------------------------------- the physics it inverts
@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), t_lo=st.floats(0.15, 0.9))
def test_restore_with_true_parameters_returns_image(seed, t_lo):
    # Haze with known t and A, then the composition's inversion with those same t and A.
    model = Dehazer(t_min=0.1)
    clear = _rand(2, 3, 8, 8, seed=seed, dtype=torch.float64)
    t = t_lo + (1 - t_lo) * _rand(2, 1, 8, 8, seed=seed + 1, dtype=torch.float64)
    a = 0.6 + 0.4 * _rand(2, 3, seed=seed + 2, dtype=torch.float64)
    hazy = scatter(clear, t, a)
    torch.testing.assert_close(model.restore(hazy, HazeEstimate(t, a)), clear)


def test_restore_t_one_is_identity():
    model = Dehazer()
    x = _rand(2, 3, 8, 8, dtype=torch.float64)
    out = model.restore(x, HazeEstimate(torch.ones(2, 1, 8, 8, dtype=torch.float64), _rand(2, 3)))
    torch.testing.assert_close(out, x)


def test_restore_bounds_transmission():
    # t below t_min is treated as t_min: dense haze is not amplified without bound.
    model = Dehazer(t_min=0.2)
    x = _rand(1, 3, 4, 4, dtype=torch.float64) * 0.2 + 0.7
    a = torch.full((1, 3), 0.8, dtype=torch.float64)
    tiny = torch.full((1, 1, 4, 4), 1e-4, dtype=torch.float64)
    # He et al.: J = (I - A) / max(t, t_min) + A.
    expected = ((x - 0.8) / 0.2 + 0.8).clamp(0, 1)
    torch.testing.assert_close(model.restore(x, HazeEstimate(tiny, a)), expected)


def test_gradcheck_scattering_model_and_inverse():
    j = (0.1 + 0.8 * _rand(1, 3, 4, 4, dtype=torch.float64)).requires_grad_()
    t = (0.3 + 0.6 * _rand(1, 1, 4, 4, seed=1, dtype=torch.float64)).requires_grad_()
    a = (0.7 + 0.2 * _rand(1, 3, seed=2, dtype=torch.float64)).requires_grad_()
    assert torch.autograd.gradcheck(scatter, (j, t, a))
    i = scatter(j, t, a).detach().requires_grad_()
    assert torch.autograd.gradcheck(
        lambda i_, t_, a_: inverse_scatter(i_, t_, a_, t_min=0.05), (i, t, a)
    )


def test_gradcheck_dehazer_forward():
    torch.manual_seed(0)
    model = Dehazer().double()
    x = (0.3 + 0.4 * _rand(1, 3, 8, 8, dtype=torch.float64)).requires_grad_()
    assert torch.autograd.gradcheck(model, (x,), atol=1e-6, fast_mode=True)


# ---------------------------------------------------------------- inference
def test_forward_enhance_shapes_and_modes():
    model = _small_model()
    x = _rand(2, 3, 20, 24)
    out = model(x)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert model.enhance(x[0]).shape == (3, 20, 24)
    assert model.training  # enhance restores the mode
    e = model.enhance(x)
    assert not e.requires_grad
    model.eval()
    torch.testing.assert_close(e, model(x))


# ---------------------------------------------------------------- training
@pytest.mark.parametrize(
    "keys", [("hazy", "clear"), ("input", "target"), (None, "clear"), (None, "normal")]
)
def test_training_step_keys(keys):
    model = _small_model()
    clear = _rand(2, 3, 16, 16)
    batch = {keys[1]: clear}
    if keys[0]:
        batch[keys[0]] = (clear * 0.6 + 0.35).clamp(0, 1)
    out = model.training_step(batch)
    # The airlight term needs the true airlight: known when the step synthesises the haze.
    expected = {"l1", "contrastive", "total"} | ({"airlight"} if keys[0] is None else set())
    assert set(out) == expected
    out["total"].backward()
    grads = [p.grad for p in model.estimator.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


def test_total_is_weighted_sum_and_terms_match_formulas():
    model = _small_model(contrastive_weight=0.3, l1_weight=2.0, num_negatives=3)
    clear = _rand(2, 3, 16, 16)
    hazy = scatter(clear, torch.full((2, 1, 16, 16), 0.6), torch.full((2, 3), 0.9))
    torch.manual_seed(123)
    terms = model.losses(hazy, clear)
    out = model.restore(hazy, model.estimate(hazy), clamp=False)  # the losses see it unclipped
    torch.testing.assert_close(terms["l1"], (out - clear).abs().mean())
    # The negatives are the hazy input and the output re-hazed by the bag, with the same draws.
    torch.manual_seed(123)
    rehazed, _ = model.bag.sample(out.detach().clamp(0, 1), 3)
    negatives = torch.cat([hazy[:, None], rehazed], 1)
    # Slow loop of AECR-Net's ratio on pixel statistics with L1 distance.
    emb = PixelStatistics(scales=(1, 4))
    expected = 0.0
    for b in range(2):
        fa = emb(out[b : b + 1])
        fp = emb(clear[b : b + 1])
        for layer in range(2):
            d_ap = (fa[layer] - fp[layer]).abs().mean()
            d_an = sum(
                (fa[layer] - emb(negatives[b, k : k + 1])[layer]).abs().mean() for k in range(4)
            )
            expected = expected + d_ap / (d_an + 1e-7)
    torch.testing.assert_close(terms["contrastive"], expected / 2)
    torch.testing.assert_close(terms["total"], 2.0 * terms["l1"] + 0.3 * terms["contrastive"])


def test_region_term_matches_loop():
    model = _small_model(region_weight=0.5)
    t = _rand(2, 1, 6, 6)
    labels = torch.randint(0, 4, (2, 6, 6), generator=torch.Generator().manual_seed(0))
    labels[1][labels[1] == 3] = 2  # image 1 has no region 3: empty regions are not counted
    got = model.region_term(_rand(2, 3, 6, 6), t, labels)
    variances = []
    for b in range(2):
        for r in range(4):
            vals = t[b, 0][labels[b] == r]
            if vals.numel():
                variances.append(vals.var(unbiased=False))
    torch.testing.assert_close(got, torch.stack(variances).mean())
    out = model.training_step({"clear": _rand(2, 3, 6, 6), "labels": labels})
    assert "region" in out
    torch.testing.assert_close(
        out["total"],
        out["l1"] + 0.1 * out["contrastive"] + 0.5 * out["region"] + out["airlight"],
    )


def test_region_term_computes_superpixels_itself():
    model = _small_model(region_weight=1.0, num_segments=4)
    out = model.training_step({"clear": _rand(2, 3, 16, 16)})
    assert torch.isfinite(out["region"]) and out["region"] >= 0
    out["total"].backward()


def test_learns_on_a_fixed_batch():
    model = _small_model()
    clear = _rand(4, 3, 16, 16, seed=3) * 0.7
    torch.manual_seed(0)
    hazy = model.bag.synthesize(clear)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    start = F.l1_loss(model(hazy), clear).item()
    for _ in range(30):
        opt.zero_grad()
        model.losses(hazy, clear)["total"].backward()
        opt.step()
    assert F.l1_loss(model(hazy), clear).item() < 0.6 * start


def test_airlight_term():
    model = _small_model(airlight_weight=2.0)
    clear = _rand(2, 3, 16, 16)
    hazy = scatter(clear, 0.5, torch.full((2, 3), 0.8))
    truth = torch.tensor([[0.8, 0.8, 0.8], [0.7, 0.75, 0.8]])
    out = model.training_step({"hazy": hazy, "clear": clear, "airlight": truth})
    est = model.estimate(hazy).airlight
    torch.testing.assert_close(out["airlight"], (est - truth).abs().mean())
    torch.testing.assert_close(
        out["total"], out["l1"] + 0.1 * out["contrastive"] + 2.0 * out["airlight"]
    )
    # Synthesised inputs come with the airlight the bag drew for them.
    torch.manual_seed(5)
    hazy2, _, drawn = model.prepare_batch({"clear": clear})
    torch.manual_seed(5)
    neg, rec = model.bag.sample(clear, 1)
    torch.testing.assert_close(hazy2, neg[:, 0])
    torch.testing.assert_close(drawn, rec.params["airlight"][:, 0])
    with pytest.raises(ValueError, match="airlight"):
        model.training_step({"hazy": hazy, "clear": clear, "airlight": torch.ones(3)})


def test_validation_images():
    model = _small_model()
    assert model.validation_images({"hazy": _rand(2, 3, 16, 16)}).shape == (2, 3, 16, 16)


# ---------------------------------------------------------------- bad input
def test_bad_input():
    model = _small_model()
    with pytest.raises(TypeError, match="dict"):
        model.training_step(_rand(1, 3, 8, 8))
    with pytest.raises(KeyError, match="clear"):
        model.training_step({"low": _rand(1, 3, 8, 8)})
    with pytest.raises(KeyError, match="region_weight"):
        model.training_step({"hazy": _rand(1, 3, 8, 8)})
    with pytest.raises(ValueError, match="one shape"):
        model.training_step({"hazy": _rand(1, 3, 8, 8), "clear": _rand(1, 3, 8, 6)})
    with pytest.raises(ValueError, match="3 channels"):
        model(_rand(1, 1, 8, 8))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        model(_rand(1, 3, 8, 8) + 2)
    with pytest.raises(ValueError, match="t_min"):
        HazeEstimator(t_min=0.0)
    with pytest.raises(ValueError, match="width"):
        HazeEstimator(width=0)
    with pytest.raises(ValueError, match="contrastive_weight"):
        Dehazer(contrastive_weight=-1.0)
    with pytest.raises(ValueError, match="num_negatives"):
        Dehazer(num_negatives=0)
    with pytest.raises(TypeError, match="estimator"):
        Dehazer(estimator="net")
    with pytest.raises(TypeError, match="contrastive"):
        Dehazer(contrastive=3)


def test_custom_bag_is_used():
    model = _small_model(bag=BagOfHaze(beta=(0.0, 0.0)))
    clear = _rand(2, 3, 8, 8)
    torch.testing.assert_close(model.prepare_batch({"clear": clear})[0], clear)


def test_save_and_load_pretrained_roundtrip(tmp_path):
    from pyisp_contrast.models import load_pretrained, save_pretrained

    model = Dehazer(HazeEstimator(width=8, t_min=0.07), t_min=0.15)
    torch.nn.init.normal_(model.estimator.to_t.weight, std=0.1)
    save_pretrained(model, tmp_path / "dh.pt", task="dehaze")
    loaded = load_pretrained(tmp_path / "dh.pt")
    assert isinstance(loaded, Dehazer) and not loaded.training
    assert loaded.config == {"estimator": {"width": 8, "t_min": 0.07}, "t_min": 0.15}
    x = _rand(1, 3, 16, 16)
    torch.testing.assert_close(loaded.enhance(x), model.enhance(x))
