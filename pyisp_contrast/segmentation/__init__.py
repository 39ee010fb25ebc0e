"""Superpixels and region operations.

Label maps from :func:`slic` (numba on CPU, torch elsewhere), :func:`soft_slic` (differentiable),
:func:`felzenszwalb` or any user-given ``(B, H, W)`` integer tensor plug into the same batched
region API (:func:`region_stats`, :func:`paint`, :func:`relabel_sequential`, :func:`boundaries`).
Quality metrics live in :mod:`pyisp_contrast.segmentation.metrics`.
"""

from pyisp_contrast.segmentation import metrics
from pyisp_contrast.segmentation.felzenszwalb import Felzenszwalb, felzenszwalb
from pyisp_contrast.segmentation.regions import (
    RegionStats,
    boundaries,
    paint,
    region_stats,
    relabel_sequential,
)
from pyisp_contrast.segmentation.slic import SLIC, Superpixels, slic, slic_grid
from pyisp_contrast.segmentation.soft import SoftSLIC, SoftSuperpixels, soft_slic

__all__ = [
    "SLIC",
    "Felzenszwalb",
    "RegionStats",
    "SoftSLIC",
    "SoftSuperpixels",
    "Superpixels",
    "boundaries",
    "felzenszwalb",
    "metrics",
    "paint",
    "region_stats",
    "relabel_sequential",
    "slic",
    "slic_grid",
    "soft_slic",
]
