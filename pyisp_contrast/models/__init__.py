"""Curve-estimation networks and the PIE composition.

- :mod:`~pyisp_contrast.models.curve_net`: :class:`CurveEstimator` (DCE-Net, loads the authors'
  checkpoints) and :class:`FastCurveEstimator` (reduced-resolution curves, the bundled default).
"""

from __future__ import annotations

from pyisp_contrast.models.curve_net import (
    CurveEstimator,
    CurveOutput,
    FastCurveEstimator,
    apply_curve_maps,
)

__all__ = [
    "CurveEstimator",
    "CurveOutput",
    "FastCurveEstimator",
    "apply_curve_maps",
]
