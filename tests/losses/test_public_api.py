"""The public surface of pyisp_contrast.losses must not shrink by accident."""

import pyisp_contrast.losses as losses

EXPECTED = {
    "BrightnessWeighting",
    "FeaturePreservation",
    "RegionalBrightnessConsistency",
    "feature_preservation_loss",
    "regional_brightness_consistency",
    "ColorConstancy",
    "ExposureControl",
    "IlluminationSmoothness",
    "SpatialConsistency",
    "color_constancy_loss",
    "exposure_control_loss",
    "illumination_smoothness_loss",
    "reduce_loss",
    "spatial_consistency_loss",
}


def test_public_names_present():
    missing = EXPECTED - set(losses.__all__)
    assert not missing, f"removed from pyisp_contrast.losses: {sorted(missing)}"
    for name in EXPECTED:
        assert hasattr(losses, name)


def test_deprecated_names_still_resolve():
    import pytest

    import pyisp_contrast.contrastive as contrastive

    # issue 15: the losses reduce with the contrastive reducers; their own Reduction goes
    with pytest.warns(DeprecationWarning, match="contrastive.Reduction"):
        assert losses.Reduction is contrastive.Reduction
    with pytest.warns(DeprecationWarning, match="contrastive.Reduction"):
        from pyisp_contrast.losses import Reduction  # noqa: F401
    assert "Reduction" not in losses.__all__
