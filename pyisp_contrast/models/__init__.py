"""Curve-estimation networks, the PIE composition, and pretrained weights.

- :mod:`~pyisp_contrast.models.curve_net`: :class:`CurveEstimator` (DCE-Net, loads the authors'
  checkpoints) and :class:`FastCurveEstimator` (reduced-resolution curves, the bundled default).
- :mod:`~pyisp_contrast.models.pie`: :class:`PIE`, network plus the full PIE objective.
- :mod:`~pyisp_contrast.models.pretrained`: :func:`load_pretrained` / :func:`save_pretrained`.
"""

from __future__ import annotations

from pyisp_contrast.models.curve_net import (
    CurveEstimator,
    CurveOutput,
    FastCurveEstimator,
    apply_curve_maps,
)
from pyisp_contrast.models.pie import DEFAULT_WEIGHTS, PIE, SelectLayers
from pyisp_contrast.models.pretrained import (
    ARCHITECTURES,
    WeightsError,
    available_weights,
    load_pretrained,
    save_pretrained,
)

__all__ = [
    "ARCHITECTURES",
    "DEFAULT_WEIGHTS",
    "PIE",
    "CurveEstimator",
    "CurveOutput",
    "FastCurveEstimator",
    "SelectLayers",
    "WeightsError",
    "apply_curve_maps",
    "available_weights",
    "load_pretrained",
    "save_pretrained",
]
