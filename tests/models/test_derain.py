"""Tests for pyisp_contrast.models.derain (the deraining composition)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from pyisp_contrast.contrastive import L1Distance, PixelStatistics, RatioContrastiveLoss
from pyisp_contrast.models import derain
from pyisp_contrast.models.derain import Derainer, RainEstimator


def _rand(*shape, seed=0, dtype=torch.float32, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=g, dtype=torch.float64).to(device=device, dtype=dtype)


def _small_model(**kwargs):
    torch.manual_seed(0)
    loss = RatioContrastiveLoss(PixelStatistics(scales=(1, 4)), L1Distance())
    return Derainer(contrastive=loss, **kwargs)


def test_public_api():
    assert set(derain.__all__) >= {"Derainer", "RainEstimator"}


def test_estimator_shapes(device, dtype):
    net = RainEstimator().to(device=device, dtype=dtype)
    r = net(_rand(2, 3, 17, 23, dtype=dtype, device=device))
    assert r.shape == (2, 3, 17, 23) and r.dtype == dtype and r.device.type == device.type


def test_estimator_starts_at_identity_and_config():
    net = RainEstimator()
    assert net(_rand(1, 3, 8, 8)).abs().max() == 0
    assert 10_000 < sum(p.numel() for p in net.parameters()) < 60_000
    assert RainEstimator(**net.config).config == net.config
    torch.testing.assert_close(Derainer(net).enhance(_rand(1, 3, 8, 8)), _rand(1, 3, 8, 8))


def test_output_is_input_minus_layer():
    model = _small_model()
    torch.nn.init.normal_(model.estimator.tail.weight, std=0.1)
    x = _rand(2, 3, 12, 12)
    torch.testing.assert_close(model(x), (x - model.estimator(x)).clamp(0, 1))
    assert model.enhance(x[0]).shape == (3, 12, 12)


def test_gradcheck_forward():
    torch.manual_seed(0)
    model = Derainer().double()
    torch.nn.init.normal_(model.estimator.tail.weight, std=0.01)
    x = (0.3 + 0.4 * _rand(1, 3, 6, 6, dtype=torch.float64)).requires_grad_()
    assert torch.autograd.gradcheck(model, (x,), atol=1e-6, fast_mode=True)


@pytest.mark.parametrize("keys", [("rainy", "clear"), ("input", "target"), (None, "normal")])
def test_training_step(keys):
    model = _small_model()
    clear = _rand(2, 3, 16, 16) * 0.8
    batch = {keys[1]: clear}
    if keys[0]:
        batch[keys[0]] = (clear + 0.1).clamp(0, 1)
    out = model.training_step(batch)
    assert set(out) == {"l1", "contrastive", "total"}
    out["total"].backward()
    assert all(torch.isfinite(p.grad).all() for p in model.estimator.parameters())
    torch.testing.assert_close(out["total"], out["l1"] + 0.1 * out["contrastive"])


def test_terms_match_formulas():
    model = _small_model(num_negatives=1)
    torch.nn.init.normal_(model.estimator.tail.weight, std=0.05)
    clear = _rand(1, 3, 16, 16) * 0.8
    rainy = (clear + 0.2 * _rand(1, 3, 16, 16, seed=1)).clamp(0, 1)
    torch.manual_seed(7)
    terms = model.losses(rainy, clear)
    out = rainy - model.estimator(rainy)  # the losses see the unclipped output
    torch.testing.assert_close(terms["l1"], (out - clear).abs().mean())
    torch.manual_seed(7)
    rerained, _ = model.bag.sample(out.detach().clamp(0, 1), 1)
    emb = PixelStatistics(scales=(1, 4))
    fa, fp = emb(out), emb(clear)
    fn = [emb(rainy), emb(rerained[:, 0])]
    expected = sum(
        (fa[lay] - fp[lay]).abs().mean() / (sum((fa[lay] - f[lay]).abs().mean() for f in fn) + 1e-7)
        for lay in range(2)
    )
    torch.testing.assert_close(terms["contrastive"], expected)


@pytest.mark.slow
def test_learns_on_a_fixed_batch():
    model = _small_model()
    clear = _rand(4, 3, 24, 24, seed=3) * 0.6
    torch.manual_seed(0)
    rainy = model.bag.synthesize(clear)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    start = F.l1_loss(model(rainy), clear).item()
    for _ in range(40):
        opt.zero_grad()
        model.losses(rainy, clear)["total"].backward()
        opt.step()
    assert F.l1_loss(model(rainy), clear).item() < 0.85 * start


def test_bad_input():
    model = _small_model()
    with pytest.raises(TypeError, match="dict"):
        model.training_step([1])
    with pytest.raises(KeyError, match="clean images"):
        model.training_step({"rainy": _rand(1, 3, 8, 8)})
    with pytest.raises(KeyError, match="clear"):
        model.training_step({"low": _rand(1, 3, 8, 8)})
    with pytest.raises(ValueError, match="one shape"):
        model.training_step({"rainy": _rand(1, 3, 8, 8), "clear": _rand(1, 3, 6, 8)})
    with pytest.raises(ValueError, match="3 channels"):
        model(_rand(1, 4, 8, 8))
    with pytest.raises(ValueError, match="width"):
        RainEstimator(width=0)
    with pytest.raises(ValueError, match="dilations"):
        RainEstimator(dilations=(1, 0))
    with pytest.raises(ValueError, match="dilations"):
        RainEstimator(dilations=())
    with pytest.raises(TypeError, match="estimator"):
        Derainer(estimator=1)


def test_save_and_load_pretrained_roundtrip(tmp_path):
    from pyisp_contrast.models import load_pretrained, save_pretrained

    model = Derainer({"width": 8, "dilations": [1, 2]})
    torch.nn.init.normal_(model.estimator.tail.weight, std=0.1)
    save_pretrained(model, tmp_path / "dr.pt", task="derain")
    loaded = load_pretrained(tmp_path / "dr.pt")
    assert isinstance(loaded, Derainer)
    assert loaded.config == {"estimator": {"width": 8, "dilations": [1, 2]}}
    x = _rand(1, 3, 16, 16)
    torch.testing.assert_close(loaded.enhance(x), model.enhance(x))
