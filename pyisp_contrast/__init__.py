"""pyisp_contrast: differentiable ISP primitives for contrastive low-level vision.

Subpackages (imported on first use, so ``import pyisp_contrast`` stays fast):

- :mod:`pyisp_contrast.isp`: ISP curves, the Bag of Curves, physics-based degradations.
- :mod:`pyisp_contrast.segmentation`: batched SLIC superpixels, region statistics, quality metrics.
- :mod:`pyisp_contrast.contrastive`: embedders, distances and contrastive losses.
- :mod:`pyisp_contrast.losses`: regional, preservation and zero-reference losses.
- :mod:`pyisp_contrast.models`: curve estimators, PIE, dehazing and deraining compositions.
- :mod:`pyisp_contrast.train`: unpaired datasets and a checkpointing, DDP-ready trainer.
- :mod:`pyisp_contrast.metrics`: PSNR/SSIM, LOE, NIQE.
- :mod:`pyisp_contrast.evaluation`: evaluation harnesses (held-out synthetic pairs for dehazing
  and deraining, classical baselines).
- :mod:`pyisp_contrast.data`: the small sample photo shipped with the package.
- :mod:`pyisp_contrast.classical`: classical baselines (dark channel prior dehazing, guided filter).
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "classical",
    "contrastive",
    "core",
    "data",
    "evaluation",
    "isp",
    "losses",
    "metrics",
    "models",
    "segmentation",
    "train",
]

_SUBPACKAGES = frozenset(__all__) - {"__version__"}


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _SUBPACKAGES)
