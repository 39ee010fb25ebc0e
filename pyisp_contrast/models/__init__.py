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
- :mod:`~pyisp_contrast.models.pretrained`: :func:`load_pretrained` / :func:`save_pretrained`, :func:`set_exposure`, :func:`scale_denoiser`.
- :mod:`~pyisp_contrast.models.registry`: one registry of models (:func:`register_model`,
  :func:`get_model`, :func:`list_models`); the bundled models are registered below.
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
    WeightsInfo,
    available_weights,
    load_pretrained,
    save_pretrained,
    scale_denoiser,
    set_exposure,
    weights_info,
)
from pyisp_contrast.models.registry import (
    ModelInfo,
    get_model,
    get_model_info,
    list_models,
    register_model,
)

# The bundled models, registered explicitly in one place (weight files name the class).
register_model("dce", CurveEstimator, task="lowlight")
register_model("fast-curve", FastCurveEstimator, task="lowlight")
register_model("guided-gain", GuidedGainEnhancer, task="lowlight")
register_model("pie", PIE, task="lowlight")
register_model("pie-physics", PhysicsPIE, task="lowlight")
register_model("dehaze", Dehazer, task="dehaze")
register_model("derain", Derainer, task="derain")

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
    "ModelInfo",
    "PhysicsPIE",
    "RainEstimator",
    "SelectLayers",
    "WeightsError",
    "WeightsInfo",
    "apply_curve_maps",
    "available_weights",
    "get_model",
    "get_model_info",
    "list_models",
    "load_pretrained",
    "register_model",
    "save_pretrained",
    "scale_denoiser",
    "set_exposure",
    "weights_info",
]
