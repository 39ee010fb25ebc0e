"""Losses for low-light enhancement beyond the contrastive terms.

- :mod:`~pyisp_contrast.losses.zero_reference`: Zero-DCE's exposure control, colour constancy,
  spatial consistency and illumination smoothness.
- :mod:`~pyisp_contrast.losses.regional`: PIE's regional brightness consistency over superpixels.
- :mod:`~pyisp_contrast.losses.preservation`: feature preservation (MSE of embedder features).

Every loss takes ``reducer=``: ``"mean"``, ``"sum"``, ``"none"`` (:class:`Reduction`) or a
:class:`~pyisp_contrast.contrastive.Reducer`, the reduction system of
:mod:`pyisp_contrast.contrastive` (the old keyword ``reduction=`` is deprecated).
"""

from __future__ import annotations

from pyisp_contrast.losses.preservation import FeaturePreservation, feature_preservation_loss
from pyisp_contrast.losses.regional import (
    BrightnessWeighting,
    RegionalBrightnessConsistency,
    regional_brightness_consistency,
)
from pyisp_contrast.losses.zero_reference import (
    ColorConstancy,
    ExposureControl,
    IlluminationSmoothness,
    Reduction,
    SpatialConsistency,
    color_constancy_loss,
    exposure_control_loss,
    illumination_smoothness_loss,
    reduce_loss,
    spatial_consistency_loss,
)

__all__ = [
    "BrightnessWeighting",
    "ColorConstancy",
    "ExposureControl",
    "FeaturePreservation",
    "IlluminationSmoothness",
    "Reduction",
    "RegionalBrightnessConsistency",
    "SpatialConsistency",
    "color_constancy_loss",
    "exposure_control_loss",
    "feature_preservation_loss",
    "illumination_smoothness_loss",
    "reduce_loss",
    "regional_brightness_consistency",
    "spatial_consistency_loss",
]
