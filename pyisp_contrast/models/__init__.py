"""Curve-estimation networks, the PIE composition, and pretrained weights.

- :mod:`~pyisp_contrast.models.curve_net`: :class:`CurveEstimator` (DCE-Net, loads the authors'
  checkpoints) and :class:`FastCurveEstimator` (reduced-resolution curves, the bundled default).
- :mod:`~pyisp_contrast.models.gain_net`: :class:`GuidedGainEnhancer`, a noise-adaptive guided
  filter and a smooth exposure gain (the network of the bundled default ``pie-physics``).
- :mod:`~pyisp_contrast.models.pie`: :class:`PIE`, network plus the full PIE objective.
- :mod:`~pyisp_contrast.models.pie_physics`: :class:`PhysicsPIE`, PIE's terms plus full-reference
  terms on physically synthesised pairs.
- :mod:`~pyisp_contrast.models.dehaze` / :mod:`~pyisp_contrast.models.derain`: the dehazing and
  deraining compositions (:class:`Dehazer`, :class:`Derainer`).
- :mod:`~pyisp_contrast.models.pretrained`: :func:`load_pretrained` / :func:`save_pretrained`.
"""

from __future__ import annotations

from pyisp_contrast.models.curve_net import (
    CurveEstimator,
    CurveOutput,
    FastCurveEstimator,
    apply_curve_maps,
)
from pyisp_contrast.models.dehaze import Dehazer, HazeEstimate, HazeEstimator
from pyisp_contrast.models.derain import Derainer, RainEstimator
from pyisp_contrast.models.gain_net import GuidedGainEnhancer
from pyisp_contrast.models.pie import DEFAULT_WEIGHTS, PIE, SelectLayers
from pyisp_contrast.models.pie_physics import PHYSICS_WEIGHTS, PhysicsPIE
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
    "PHYSICS_WEIGHTS",
    "PIE",
    "CurveEstimator",
    "CurveOutput",
    "Dehazer",
    "Derainer",
    "FastCurveEstimator",
    "GuidedGainEnhancer",
    "HazeEstimate",
    "HazeEstimator",
    "PhysicsPIE",
    "RainEstimator",
    "SelectLayers",
    "WeightsError",
    "apply_curve_maps",
    "available_weights",
    "load_pretrained",
    "save_pretrained",
]
