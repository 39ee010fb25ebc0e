"""Distances between lists of feature maps (one map per embedder layer).

Each distance is a per-sample mean over a feature map, summed over layers with per-layer weights
(default 1): ``D(a, b) = sum_l w_l mean(d(prep(a_l), prep(b_l)))``. It is split in two steps so that
a contrastive loss can ``prepare`` each embedded image once (e.g. its Gram matrix) and then
``compare`` every anchor with every positive and negative by broadcasting.

A prepared feature has shape ``(*batch, *feature)``, where ``feature`` is its last
``feature_ndim`` dimensions; ``compare`` reduces those and broadcasts the batch dimensions.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pyisp_contrast.contrastive.transforms import as_feature_list, gram_matrix

__all__ = ["CosineDistance", "FeatureDistance", "GramMSEDistance", "L1Distance", "MSEDistance"]


class FeatureDistance(nn.Module):
    """Base class: layer-weighted sum of per-layer, per-sample distances.

    Subclasses set ``feature_ndim`` and implement :meth:`compare` (and :meth:`prepare` if the
    features are transformed first).

    Args:
        layer_weights: one weight per layer (``w_l``); ``None`` weighs every layer 1.
    """

    #: Number of trailing dimensions of a prepared feature that :meth:`compare` reduces.
    feature_ndim: int = 3

    def __init__(self, layer_weights: Sequence[float] | None = None):
        super().__init__()
        if layer_weights is not None:
            if isinstance(layer_weights, int | float) or (
                isinstance(layer_weights, Tensor) and layer_weights.ndim == 0
            ):
                layer_weights = [float(layer_weights)]
            layer_weights = [float(w) for w in layer_weights]
            if not layer_weights or any(not (w >= 0 and w < float("inf")) for w in layer_weights):
                raise ValueError(
                    f"`layer_weights` must be a non-empty sequence of finite non-negative numbers, got {layer_weights}."
                )
        self.layer_weights: tuple[float, ...] | None = (
            None if layer_weights is None else tuple(layer_weights)
        )

    def prepare(self, feature: Tensor) -> Tensor:
        """Per-image transform applied once to each feature map ``(N, C, H, W)``; identity here."""
        return feature

    def compare(self, a: Tensor, b: Tensor) -> Tensor:
        """Distance of prepared features, reducing the last ``feature_ndim`` dims; batch dims broadcast."""
        raise NotImplementedError

    def weights(self, n_layers: int, like: Tensor) -> Tensor:
        """The layer weights as a ``(L,)`` tensor on ``like``'s device and dtype."""
        if self.layer_weights is None:
            return torch.ones(n_layers, device=like.device, dtype=like.dtype)
        if len(self.layer_weights) != n_layers:
            raise ValueError(
                f"{type(self).__name__} has {len(self.layer_weights)} layer weights but the embedder "
                f"returned {n_layers} feature maps; give one weight per layer."
            )
        return torch.tensor(self.layer_weights, device=like.device, dtype=like.dtype)

    def compare_layers(self, prepared_a: Sequence[Tensor], prepared_b: Sequence[Tensor]) -> Tensor:
        """Per-layer distances of prepared features, stacked: ``(L, *batch)`` (batch dims broadcast)."""
        if len(prepared_a) != len(prepared_b):
            raise ValueError(
                f"the two feature lists have {len(prepared_a)} and {len(prepared_b)} layers; they must come "
                "from the same embedder."
            )
        out = []
        nd = self.feature_ndim
        for i, (a, b) in enumerate(zip(prepared_a, prepared_b)):
            if a.ndim <= nd or b.ndim <= nd or a.shape[-nd:] != b.shape[-nd:]:
                raise ValueError(
                    f"layer {i}: feature shapes {tuple(a.shape)} and {tuple(b.shape)} do not match "
                    f"({type(self).__name__} compares the last {nd} dimensions; images of different "
                    "sizes need a size-free distance such as GramMSEDistance)."
                )
            try:
                torch.broadcast_shapes(a.shape[:-nd], b.shape[:-nd])
            except RuntimeError:
                raise ValueError(
                    f"layer {i}: batch dimensions {tuple(a.shape[:-nd])} and {tuple(b.shape[:-nd])} do not "
                    "broadcast; pass the same batch size (or 1) on both sides."
                ) from None
            out.append(self.compare(a, b))
        return torch.stack(out)

    def forward(
        self, feats_a: Sequence[Tensor] | Tensor, feats_b: Sequence[Tensor] | Tensor
    ) -> Tensor:
        """Distance between two lists of feature maps ``(B, C_l, H_l, W_l)``; returns ``(B,)``."""
        fa = as_feature_list(feats_a, "feats_a")
        fb = as_feature_list(feats_b, "feats_b")
        per_layer = self.compare_layers(
            [self.prepare(f) for f in fa], [self.prepare(f) for f in fb]
        )
        w = self.weights(per_layer.shape[0], per_layer).view(-1, *([1] * (per_layer.ndim - 1)))
        return (w * per_layer).sum(0)

    def extra_repr(self) -> str:
        return "" if self.layer_weights is None else f"layer_weights={list(self.layer_weights)}"


def _mean_last(x: Tensor, n: int) -> Tensor:
    return x.mean(dim=tuple(range(-n, 0)))


class L1Distance(FeatureDistance):
    """Mean absolute difference of feature maps, per sample and layer.

    Example:
        >>> L1Distance()([torch.zeros(2, 1, 2, 2)], [torch.ones(2, 1, 2, 2)])
        tensor([1., 1.])
    """

    def compare(self, a: Tensor, b: Tensor) -> Tensor:
        return _mean_last((a - b).abs(), self.feature_ndim)


class MSEDistance(FeatureDistance):
    """Mean squared difference of feature maps, per sample and layer.

    Example:
        >>> MSEDistance(layer_weights=[2.0])([torch.zeros(1, 1, 2, 2)], [torch.full((1, 1, 2, 2), 3.0)])
        tensor([18.])
    """

    def compare(self, a: Tensor, b: Tensor) -> Tensor:
        return _mean_last((a - b).square(), self.feature_ndim)


class CosineDistance(FeatureDistance):
    """One minus the cosine similarity of the channel vectors, averaged over positions.

    Args:
        layer_weights: one weight per layer; ``None`` weighs every layer 1.
        eps: floor of the vector norms (zero vectors get distance 1 from everything).

    Example:
        >>> a = torch.tensor([1.0, 0.0]).view(1, 2, 1, 1)
        >>> CosineDistance()([a], [torch.tensor([0.0, 2.0]).view(1, 2, 1, 1)])
        tensor([1.])
    """

    def __init__(self, layer_weights: Sequence[float] | None = None, eps: float = 1e-8):
        super().__init__(layer_weights)
        self.eps = float(eps)

    def prepare(self, feature: Tensor) -> Tensor:
        return F.normalize(feature, dim=-3, eps=self.eps)

    def compare(self, a: Tensor, b: Tensor) -> Tensor:
        return _mean_last(1 - (a * b).sum(dim=-3), 2)


class GramMSEDistance(FeatureDistance):
    """Mean squared difference of Gram matrices (:func:`gram_matrix`), per sample and layer.

    PIE's contrastive distance (Liang et al., arXiv 2404.04586) on VGG16 ``relu1_2, relu2_2,
    relu3_3``. It compares channel co-activation statistics, not positions, so it ignores content
    layout and accepts images of different sizes.

    Example:
        >>> GramMSEDistance()([torch.ones(1, 2, 3, 3)], [torch.zeros(1, 2, 5, 5)])
        tensor([0.2500])
    """

    feature_ndim = 2

    def prepare(self, feature: Tensor) -> Tensor:
        return gram_matrix(feature)

    def compare(self, a: Tensor, b: Tensor) -> Tensor:
        return _mean_last((a - b).square(), 2)
