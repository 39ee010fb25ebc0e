"""Contrastive losses for images from swappable parts: embedders, distances, losses, reducers.

- Embedders (any callable ``images (B, C, H, W) -> list of (B, C_l, H_l, W_l)`` works):
  :class:`VGG16Features` (torchvision's weight file, never downloaded), :class:`ExposureEncoder`
  (small, weights shipped), :class:`PixelStatistics` and :class:`GrayLevel` (no weights).
- Transforms: :func:`gram_matrix` / :class:`Gram`, :class:`TransformedEmbedder`.
- Distances: :class:`L1Distance`, :class:`MSEDistance`, :class:`CosineDistance`,
  :class:`GramMSEDistance` (per-sample means, layer-weighted sums).
- Losses on one base, :class:`ContrastiveLoss`: :class:`RatioContrastiveLoss` (AECR-Net),
  :class:`InfoNCELoss` (PIE with one positive and one negative), :class:`TripletHingeLoss`
  (SCL-LLE), :class:`IntensityHingeLoss` (PIE's grey-level hinge).
- Reducers: ``"mean" | "sum" | "none"`` (:class:`Reduction`) or a :class:`Reducer`; the one
  reduction system of the package (the losses of :mod:`pyisp_contrast.losses` take it too).

Example:
    >>> import torch
    >>> from pyisp_contrast.contrastive import GramMSEDistance, InfoNCELoss, VGG16Features
    >>> vgg = VGG16Features(weights=None, generator=torch.Generator().manual_seed(0))
    >>> loss = InfoNCELoss(vgg, GramMSEDistance(), temperature=1.0)
    >>> out = torch.rand(2, 3, 32, 32, requires_grad=True)
    >>> loss(out, torch.rand(2, 3, 32, 32), torch.rand(2, 1, 3, 32, 32)).backward()
    >>> out.grad.shape
    torch.Size([2, 3, 32, 32])
"""

from pyisp_contrast.contrastive.distances import (
    CosineDistance,
    FeatureDistance,
    GramMSEDistance,
    L1Distance,
    MSEDistance,
)
from pyisp_contrast.contrastive.encoder import ExposureEncoder
from pyisp_contrast.contrastive.losses import (
    ContrastiveDistances,
    ContrastiveLoss,
    InfoNCELoss,
    IntensityHingeLoss,
    RatioContrastiveLoss,
    TripletHingeLoss,
)
from pyisp_contrast.contrastive.pixel import (
    GrayLevel,
    PixelStatistics,
    gray_level,
    pixel_statistics,
)
from pyisp_contrast.contrastive.reducers import (
    MeanReducer,
    NoReducer,
    Reducer,
    Reduction,
    SumReducer,
    get_reducer,
)
from pyisp_contrast.contrastive.transforms import Gram, TransformedEmbedder, gram_matrix
from pyisp_contrast.contrastive.vgg import VGG16_LAYERS, VGG16Features, vgg16_weights_path

__all__ = [
    "VGG16_LAYERS",
    "ContrastiveDistances",
    "ContrastiveLoss",
    "CosineDistance",
    "ExposureEncoder",
    "FeatureDistance",
    "Gram",
    "GramMSEDistance",
    "GrayLevel",
    "InfoNCELoss",
    "IntensityHingeLoss",
    "L1Distance",
    "MSEDistance",
    "MeanReducer",
    "NoReducer",
    "PixelStatistics",
    "RatioContrastiveLoss",
    "Reducer",
    "Reduction",
    "SumReducer",
    "TransformedEmbedder",
    "TripletHingeLoss",
    "VGG16Features",
    "get_reducer",
    "gram_matrix",
    "gray_level",
    "pixel_statistics",
    "vgg16_weights_path",
]
