"""Losses for low-light enhancement beyond the contrastive terms.

- :mod:`~pyisp_contrast.losses.zero_reference`: Zero-DCE's exposure control, colour constancy,
  spatial consistency and illumination smoothness.
- :mod:`~pyisp_contrast.losses.regional`: PIE's regional brightness consistency over superpixels.
- :mod:`~pyisp_contrast.losses.preservation`: feature preservation (MSE of embedder features).

Every loss takes ``reducer=``: ``"mean"``, ``"sum"``, ``"none"``
(:class:`~pyisp_contrast.contrastive.Reduction`) or a :class:`~pyisp_contrast.contrastive.Reducer`,
the reduction system of :mod:`pyisp_contrast.contrastive`. The old keyword ``reduction=``,
``reduce_loss`` and the name ``pyisp_contrast.losses.Reduction`` are deprecated.
"""

from __future__ import annotations

import warnings
from typing import Any

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


def __getattr__(name: str) -> Any:
    # Deprecated: the losses use the contrastive reduction system, whose names live there.
    if name == "Reduction":
        warnings.warn(
            "pyisp_contrast.losses.Reduction is deprecated and will be removed in the next "
            "release; use pyisp_contrast.contrastive.Reduction (the same names).",
            DeprecationWarning,
            stacklevel=2,
        )
        from pyisp_contrast.contrastive.reducers import Reduction

        return Reduction
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
