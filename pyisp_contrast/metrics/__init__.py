"""Image-quality metrics for enhancement.

- Full reference (held-out synthetic pairs): :func:`psnr`, :func:`ssim` (wrapping kornia.metrics).
- No reference (real low-light photos): :func:`niqe` (Mittal et al. 2013, with a pristine model
  fitted on the project's well-exposed training images) and :func:`loe` (lightness order error).

The harness that scores dehazing and deraining on held-out synthetic pairs (``synthetic_pairs``,
``evaluate_restoration``, ``classical_baseline``, ``RESTORATION_TASKS``) moved to
:mod:`pyisp_contrast.evaluation`; importing those names from here still works in this release,
with a ``DeprecationWarning``.
"""

from typing import Any

from pyisp_contrast.metrics import restoration as _restoration
from pyisp_contrast.metrics.full_reference import PSNR, SSIM, psnr, ssim
from pyisp_contrast.metrics.loe import LOE, lightness_map, loe
from pyisp_contrast.metrics.niqe import (
    NIQE,
    NIQE_BLOCK,
    NIQEModel,
    fit_niqe_model,
    niqe,
    niqe_features,
)

__all__ = [
    "LOE",
    "NIQE",
    "NIQE_BLOCK",
    "PSNR",
    "SSIM",
    "NIQEModel",
    "fit_niqe_model",
    "lightness_map",
    "loe",
    "niqe",
    "niqe_features",
    "psnr",
    "ssim",
]


def __getattr__(name: str) -> Any:
    # the restoration harness's names, deprecated here (see the module docstring)
    if name in _restoration.MOVED:
        return _restoration.moved(__name__, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
