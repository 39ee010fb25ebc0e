"""Superpixels and region operations.

Label maps from :func:`slic`, :func:`soft_slic`, :func:`felzenszwalb` or any user-given ``(B, H, W)``
integer tensor plug into the same batched region API (:func:`region_stats`, :func:`paint`,
:func:`relabel_sequential`, :func:`boundaries`). Quality metrics live in
:mod:`pyisp_contrast.segmentation.metrics`.
"""

from pyisp_contrast.segmentation.regions import (
    RegionStats,
    boundaries,
    paint,
    region_stats,
    relabel_sequential,
)
from pyisp_contrast.segmentation.slic import SLIC, Superpixels, slic, slic_grid

__all__ = [
    "SLIC",
    "RegionStats",
    "Superpixels",
    "boundaries",
    "paint",
    "region_stats",
    "relabel_sequential",
    "slic",
    "slic_grid",
]
