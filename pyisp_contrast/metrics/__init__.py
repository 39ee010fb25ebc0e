"""Image-quality metrics for enhancement.

- Full reference (held-out synthetic pairs): :func:`psnr`, :func:`ssim` (wrapping kornia.metrics).
- No reference (real low-light photos): :func:`niqe` (Mittal et al. 2013, with a pristine model
  fitted on the project's well-exposed training images) and :func:`loe` (lightness order error).
- Dehazing and deraining on held-out synthetic pairs: :func:`synthetic_pairs`,
  :func:`evaluate_restoration`, :func:`classical_baseline`.
"""

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
from pyisp_contrast.metrics.restoration import (
    RESTORATION_TASKS,
    classical_baseline,
    evaluate_restoration,
    synthetic_pairs,
)

__all__ = [
    "LOE",
    "NIQE",
    "NIQE_BLOCK",
    "PSNR",
    "RESTORATION_TASKS",
    "SSIM",
    "NIQEModel",
    "classical_baseline",
    "evaluate_restoration",
    "fit_niqe_model",
    "lightness_map",
    "loe",
    "niqe",
    "niqe_features",
    "psnr",
    "ssim",
    "synthetic_pairs",
]
