"""Tests for pyisp_contrast.models.pie_physics (PhysicsPIE)."""

from __future__ import annotations

import kornia
import pytest
import torch

from pyisp_contrast.contrastive import PixelStatistics
from pyisp_contrast.isp.curves import exposure
from pyisp_contrast.models.pie_physics import PHYSICS_WEIGHTS, PhysicsPIE, charbonnier
from pyisp_contrast.train import build_model


def _model(**kw) -> PhysicsPIE:
    torch.manual_seed(0)
    return PhysicsPIE(
        embedder=PixelStatistics(scales=(2, 4)), n_segments=4, network_kwargs={"channels": 4}, **kw
    )


def test_charbonnier_matches_loop_of_formula() -> None:
    a, b = torch.rand(2, 3, 4, 5, dtype=torch.float64), torch.rand(2, 3, 4, 5, dtype=torch.float64)
    eps = 1e-3
    slow = sum(
        ((x - y) ** 2 + eps**2) ** 0.5 - eps
        for x, y in zip(a.flatten().tolist(), b.flatten().tolist())
    )
    assert float(charbonnier(a, b, eps)) == pytest.approx(slow / a.numel(), rel=1e-12)


def test_terms_are_weighted_parts_and_total_is_their_sum() -> None:
    model = _model()
    clean = torch.rand(2, 3, 32, 32)
    low = clean * 0.1
    terms = model.loss(
        low, clean, torch.rand(2, 3, 32, 32), generator=torch.Generator().manual_seed(0)
    )
    assert set(terms) == {"fidelity", "ssim", "contrastive", "regional", "smoothness", "total"}
    torch.testing.assert_close(terms["total"], sum(v for k, v in terms.items() if k != "total"))
    with torch.no_grad():
        enhanced = model(low).enhanced
    w = PHYSICS_WEIGHTS
    torch.testing.assert_close(terms["fidelity"], w["fidelity"] * charbonnier(enhanced, clean))
    torch.testing.assert_close(
        terms["ssim"], w["ssim"] * kornia.losses.ssim_loss(enhanced, clean, window_size=11)
    )


def test_training_step_needs_clean_images_and_is_registered() -> None:
    model = _model()
    batch = {"low": torch.rand(2, 3, 16, 16) * 0.1, "normal": torch.rand(2, 3, 16, 16)}
    with pytest.raises(ValueError, match="clean"):
        model.training_step(batch)
    batch["clean"] = torch.rand(2, 3, 16, 16)
    model.training_step(batch)["total"].backward()
    assert (
        type(build_model("pie-physics", embedder=PixelStatistics(), n_segments=4)).__name__
        == "PhysicsPIE"
    )


def test_a_few_steps_lower_the_supervised_loss() -> None:
    model = _model(weights={"contrastive": 0.0, "regional": 0.0, "ssim": 0.0})
    g = torch.Generator().manual_seed(1)
    clean = torch.rand(4, 3, 1, 1, generator=g).expand(4, 3, 16, 16) * 0.6 + 0.2
    low = exposure(clean, -1.0)
    opt = torch.optim.Adam(model.parameters(), 3e-2)
    first = None
    for _ in range(25):
        terms = model.loss(low, clean, clean)
        first = float(terms["total"].detach()) if first is None else first
        opt.zero_grad()
        terms["total"].backward()
        opt.step()
    assert float(terms["total"].detach()) < 0.8 * first


def test_bad_input() -> None:
    model = _model()
    with pytest.raises(ValueError, match="shape"):
        model.loss(torch.rand(2, 3, 16, 16), torch.rand(2, 3, 8, 8), torch.rand(2, 3, 16, 16))
    with pytest.raises(ValueError, match="unknown loss term"):
        _model(weights={"nope": 1.0})
