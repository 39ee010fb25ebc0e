"""Tests for the restoration compositions' shared base (models._restoration.ContrastiveRestoration)."""

from __future__ import annotations

import pytest
import torch

from pyisp_contrast.models import Dehazer, Derainer
from pyisp_contrast.models._restoration import ContrastiveRestoration
from pyisp_contrast.models.dehaze import HazeEstimator
from pyisp_contrast.models.derain import RainEstimator

SMALL = {Dehazer: HazeEstimator(width=4), Derainer: RainEstimator(width=4)}


@pytest.mark.parametrize("cls", [Dehazer, Derainer])
@pytest.mark.parametrize(("l1", "contrastive"), [(1.5, 0.2), (0.0, 0.2), (1.5, 0.0), (0.0, 0.0)])
def test_reference_terms_are_the_weighted_sum_of_the_terms_with_weight(cls, l1, contrastive):
    torch.manual_seed(0)
    model = cls(SMALL[cls], l1_weight=l1, contrastive_weight=contrastive, num_negatives=2)
    assert isinstance(model, ContrastiveRestoration)
    clear = torch.rand(2, 3, 16, 16)
    degraded = (0.5 * clear + 0.3).clamp(0, 1)
    out = clear.flip(-1)
    terms: dict = {}
    total = model.reference_terms(out, degraded, clear, terms)
    assert set(terms) == {k for k, w in (("l1", l1), ("contrastive", contrastive)) if w > 0}
    expected = sum(
        w * terms[k] for k, w in (("l1", l1), ("contrastive", contrastive)) if k in terms
    )
    torch.testing.assert_close(total, torch.as_tensor(expected, dtype=total.dtype))
    if "l1" in terms:
        torch.testing.assert_close(terms["l1"], (out - clear).abs().mean())


@pytest.mark.parametrize("cls", [Dehazer, Derainer])
def test_validation_images_restore_the_degraded_images_of_a_batch(cls):
    torch.manual_seed(1)
    model = cls(SMALL[cls]).train()
    key = "hazy" if cls is Dehazer else "rainy"
    x = torch.rand(2, 3, 20, 24)
    out = model.validation_images({key: x})
    torch.testing.assert_close(out, model.enhance(x))
    assert model.training  # the training flag is left as it was


@pytest.mark.parametrize("cls", [Dehazer, Derainer])
def test_shared_checks_name_the_argument(cls):
    with pytest.raises(ValueError, match="contrastive_weight"):
        cls(contrastive_weight=-1.0)
    with pytest.raises(ValueError, match="num_negatives"):
        cls(num_negatives=0)
    with pytest.raises(ValueError, match="l1_weight"):
        cls(l1_weight=float("nan"))
    with pytest.raises(TypeError, match="contrastive"):
        cls(contrastive="not callable")
