"""Every loss of pyisp_contrast.losses reduces with the contrastive reducers (issue 15, item 2).

``reducer=`` takes ``"mean" | "sum" | "none"`` or any :class:`Reducer`, in the functions and the
modules alike; the per-image values it reduces are the ones the slow loops of the other test files
check (``reducer="none"``). The old keyword ``reduction=`` still works, with a DeprecationWarning.
"""

from __future__ import annotations

import pytest
import torch

import pyisp_contrast.contrastive as contrastive
import pyisp_contrast.losses as losses
from pyisp_contrast.contrastive import MeanReducer, NoReducer, Reducer, SumReducer
from pyisp_contrast.losses import (
    ColorConstancy,
    ExposureControl,
    FeaturePreservation,
    IlluminationSmoothness,
    RegionalBrightnessConsistency,
    SpatialConsistency,
    color_constancy_loss,
    exposure_control_loss,
    feature_preservation_loss,
    illumination_smoothness_loss,
    regional_brightness_consistency,
    spatial_consistency_loss,
)


class WeightedReducer(Reducer):
    """A reducer the library does not know: a weighted sum of the per-image values."""

    def __init__(self, weights: torch.Tensor) -> None:
        super().__init__()
        self.weights = weights

    def forward(self, losses: torch.Tensor) -> torch.Tensor:
        return (self.weights.to(losses) * losses).sum()


def _data():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 3, 16, 16, generator=g, dtype=torch.float64)
    y = torch.rand(3, 3, 16, 16, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 5, (3, 16, 16), generator=g)
    return x, y, labels


def _embed(t):
    return [t, t.mean(1, keepdim=True)]


def _zeros(t):
    return torch.zeros_like(t[:, 0], dtype=torch.long)


# name -> (function call with a reducer keyword, module built with a reducer, module call)
LOSSES = {
    "exposure": (
        lambda x, y, lab, **kw: exposure_control_loss(x, patch=4, **kw),
        lambda **kw: ExposureControl(4, **kw),
        lambda m, x, y, lab: m(x),
    ),
    "color": (
        lambda x, y, lab, **kw: color_constancy_loss(x, **kw),
        lambda **kw: ColorConstancy(**kw),
        lambda m, x, y, lab: m(x),
    ),
    "spatial": (
        lambda x, y, lab, **kw: spatial_consistency_loss(x, y, **kw),
        lambda **kw: SpatialConsistency(**kw),
        lambda m, x, y, lab: m(x, y),
    ),
    "smoothness": (
        lambda x, y, lab, **kw: illumination_smoothness_loss(x, **kw),
        lambda **kw: IlluminationSmoothness(**kw),
        lambda m, x, y, lab: m(x),
    ),
    "regional": (
        lambda x, y, lab, **kw: regional_brightness_consistency(x, lab, **kw),
        lambda **kw: RegionalBrightnessConsistency(labels_fn=_zeros, **kw),
        lambda m, x, y, lab: m(x, labels=lab),
    ),
    "preservation": (
        lambda x, y, lab, **kw: feature_preservation_loss(x, y, _embed, **kw),
        lambda **kw: FeaturePreservation(_embed, **kw),
        lambda m, x, y, lab: m(x, y),
    ),
}


@pytest.mark.parametrize("name", list(LOSSES))
def test_reducer_names_and_objects(name: str) -> None:
    fn, make, call = LOSSES[name]
    x, y, lab = _data()
    per = fn(x, y, lab, reducer="none")
    assert per.shape == (3,)
    torch.testing.assert_close(fn(x, y, lab), per.mean())
    torch.testing.assert_close(fn(x, y, lab, reducer="sum"), per.sum())
    torch.testing.assert_close(fn(x, y, lab, reducer=contrastive.Reduction.SUM), per.sum())
    torch.testing.assert_close(fn(x, y, lab, reducer=SumReducer()), per.sum())
    torch.testing.assert_close(fn(x, y, lab, reducer=NoReducer()), per)
    w = torch.tensor([0.5, 2.0, 0.0])
    torch.testing.assert_close(fn(x, y, lab, reducer=WeightedReducer(w)), (w * per).sum())
    # the modules hold a Reducer and give the functions' values
    assert isinstance(make().reducer, MeanReducer)
    torch.testing.assert_close(call(make(reducer="none"), x, y, lab), per)
    weighted = make(reducer=WeightedReducer(w))
    torch.testing.assert_close(call(weighted, x, y, lab), (w * per).sum())
    with pytest.raises(ValueError, match="reducer"):
        fn(x, y, lab, reducer="median")
    with pytest.raises(ValueError, match="reducer"):
        make(reducer="median")


@pytest.mark.parametrize("name", list(LOSSES))
def test_old_reduction_keyword_is_deprecated(name: str) -> None:
    fn, make, call = LOSSES[name]
    x, y, lab = _data()
    per = fn(x, y, lab, reducer="none")
    with pytest.warns(DeprecationWarning, match="reducer"):
        torch.testing.assert_close(fn(x, y, lab, reduction="none"), per)
    with pytest.warns(DeprecationWarning, match="reducer"):
        module = make(reduction="sum")
    torch.testing.assert_close(call(module, x, y, lab), per.sum())
    with pytest.warns(DeprecationWarning), pytest.raises(TypeError, match="reducer"):
        fn(x, y, lab, reducer="sum", reduction="none")
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="reduction"):
        fn(x, y, lab, reduction="median")
    # the modules' old attribute: reading gives the name, assigning sets the reducer
    with pytest.warns(DeprecationWarning, match="reducer"):
        assert module.reduction == "sum"
    with pytest.warns(DeprecationWarning, match="reducer"):
        module.reduction = "none"
    assert isinstance(module.reducer, NoReducer)
    torch.testing.assert_close(call(module, x, y, lab), per)


def test_positional_reducer_keeps_its_place() -> None:
    # the old positional slot of `reduction` is `reducer` now
    x, y, _ = _data()
    per = exposure_control_loss(x, 4, 0.6, "none")
    torch.testing.assert_close(per, exposure_control_loss(x, patch=4, reducer="none"))
    torch.testing.assert_close(color_constancy_loss(x, "sum"), color_constancy_loss(x).mul(3))
    torch.testing.assert_close(
        feature_preservation_loss(x, y, _embed, None, None, "sum"),
        feature_preservation_loss(x, y, _embed, reducer="none").sum(),
    )
    torch.testing.assert_close(ExposureControl(4, 0.6, "none")(x), per)


def test_one_reduction_system() -> None:
    with pytest.warns(DeprecationWarning):
        assert losses.Reduction is contrastive.Reduction
    assert {r.value for r in contrastive.Reduction} == {"mean", "sum", "none"}
