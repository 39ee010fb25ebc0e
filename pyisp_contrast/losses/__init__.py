"""Losses for low-light enhancement beyond the contrastive terms.

- :mod:`~pyisp_contrast.losses.zero_reference`: Zero-DCE's exposure control, colour constancy,
  spatial consistency and illumination smoothness.
"""

from __future__ import annotations

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
    "ColorConstancy",
    "ExposureControl",
    "IlluminationSmoothness",
    "Reduction",
    "SpatialConsistency",
    "color_constancy_loss",
    "exposure_control_loss",
    "illumination_smoothness_loss",
    "reduce_loss",
    "spatial_consistency_loss",
]
