"""Transforms of feature maps: Gram matrices and embedder composition.

A transform maps one feature map ``(B, C, H, W)`` to another tensor with the same batch size.
Distances apply theirs once per embedded image (see :mod:`pyisp_contrast.contrastive.distances`);
:class:`TransformedEmbedder` bakes one into an embedder instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import Tensor, nn

__all__ = ["Gram", "TransformedEmbedder", "gram_matrix"]


def _check_feature_map(feature: Tensor, name: str) -> None:
    if not isinstance(feature, Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor, got {type(feature).__name__}.")
    if feature.ndim < 3:
        raise ValueError(f"`{name}` must have shape (..., C, H, W), got {tuple(feature.shape)}.")
    if not feature.is_floating_point():
        raise TypeError(f"`{name}` must be a floating-point tensor, got dtype {feature.dtype}.")


def gram_matrix(feature: Tensor) -> Tensor:
    """Gram matrix of a feature map, normalised by the number of entries ``C * H * W``.

    ``G[c, d] = sum_{y,x} F[c, y, x] F[d, y, x] / (C H W)``: the channel co-activation statistics
    that style and texture losses compare (Gatys et al., "Image style transfer using convolutional
    neural networks", CVPR 2016). Normalising by ``C H W`` makes the value independent of the crop
    size, so images of different sizes can be compared; it is the normalisation PIE's contrastive
    term uses (Liang et al., arXiv 2404.04586).

    Args:
        feature: feature map of shape ``(*, C, H, W)``.

    Returns:
        Gram matrices of shape ``(*, C, C)``.

    Example:
        >>> f = torch.ones(2, 3, 4, 4)
        >>> g = gram_matrix(f)
        >>> g.shape, round(g[0, 0, 0].item(), 4)
        (torch.Size([2, 3, 3]), 0.3333)
    """
    _check_feature_map(feature, "feature")
    c, h, w = feature.shape[-3:]
    flat = feature.reshape(*feature.shape[:-2], h * w)
    return flat @ flat.transpose(-1, -2) / (c * h * w)


class Gram(nn.Module):
    """Module twin of :func:`gram_matrix`; also accepts a list of feature maps.

    Example:
        >>> [g.shape for g in Gram()([torch.rand(1, 4, 8, 8), torch.rand(1, 2, 4, 4)])]
        [torch.Size([1, 4, 4]), torch.Size([1, 2, 2])]
    """

    def forward(self, features: Tensor | Sequence[Tensor]) -> Tensor | list[Tensor]:
        if isinstance(features, Tensor):
            return gram_matrix(features)
        return [gram_matrix(f) for f in features]


class TransformedEmbedder(nn.Module):
    """An embedder followed by a transform applied to each of its feature maps.

    Args:
        embedder: any callable ``images -> list of feature maps``.
        transform: callable applied to each feature map (e.g. :func:`gram_matrix`).

    Example:
        >>> from pyisp_contrast.contrastive import PixelStatistics
        >>> emb = TransformedEmbedder(PixelStatistics(scales=(1, 2)), gram_matrix)
        >>> [f.shape for f in emb(torch.rand(2, 3, 8, 8))]
        [torch.Size([2, 4, 4]), torch.Size([2, 4, 4])]
    """

    def __init__(
        self, embedder: Callable[[Tensor], list[Tensor]], transform: Callable[[Tensor], Tensor]
    ):
        super().__init__()
        if not callable(embedder) or not callable(transform):
            raise TypeError("`embedder` and `transform` must both be callable.")
        self.embedder = embedder
        self.transform = transform

    def forward(self, images: Tensor) -> list[Tensor]:
        return [self.transform(f) for f in self.embedder(images)]


def as_feature_list(features: Tensor | Sequence[Tensor], name: str) -> list[Tensor]:
    """Normalise an embedder's output to a non-empty list of tensors (``name`` for messages)."""
    if isinstance(features, Tensor):
        features = [features]
    if not isinstance(features, Sequence) or isinstance(features, str):
        raise TypeError(
            f"`{name}` must be a list of feature maps (an embedder's output), got {type(features).__name__}."
        )
    out = list(features)
    if not out:
        raise ValueError(
            f"`{name}` is an empty list; the embedder must return at least one feature map."
        )
    for i, f in enumerate(out):
        if not isinstance(f, Tensor):
            raise TypeError(f"`{name}[{i}]` must be a torch.Tensor, got {type(f).__name__}.")
    return out
