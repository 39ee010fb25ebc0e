"""Feature preservation: keep the input's content (texture, structure) in the enhanced image.

PIE (Liang et al., arXiv:2404.04586) adds the mean squared error between deep features of the
input and of the output (VGG16 ``relu4_3``, weight 1) so that enhancement changes exposure, not
content. Any embedder of :mod:`pyisp_contrast.contrastive` (a callable ``images -> list of feature
maps``) can be used.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from pyisp_contrast.contrastive.reducers import Reduction, ReductionAlias, resolve_reducer
from pyisp_contrast.core.checks import check_callable, check_finite, check_image, check_int
from pyisp_contrast.losses.zero_reference import ReducerLike

__all__ = ["FeaturePreservation", "feature_preservation_loss"]

Embedder = Callable[[Tensor], Sequence[Tensor]]


def _select(
    features: Sequence[Tensor] | Tensor, layers: Sequence[int] | None, name: str
) -> list[Tensor]:
    feats = [features] if isinstance(features, Tensor) else list(features)
    if not feats or not all(isinstance(f, Tensor) for f in feats):
        raise TypeError(f"the embedder must return a list of feature tensors for `{name}`.")
    if layers is None:
        return feats
    try:
        return [feats[i] for i in layers]
    except IndexError:
        raise ValueError(
            f"`layers` {list(layers)} index past the embedder's {len(feats)} feature maps."
        ) from None


def _standardize(f: Tensor, eps: float = 1e-5) -> Tensor:
    if f.ndim < 3:
        return f
    dims = tuple(range(2, f.ndim))
    mean = f.mean(dim=dims, keepdim=True)
    var = (f - mean).square().mean(dim=dims, keepdim=True)
    # eps inside the root keeps flat maps (std 0) finite, with finite gradients.
    return (f - mean) / (var + eps).sqrt()


def _check_layers(layers: Sequence[int] | int | None) -> tuple[int, ...] | None:
    if layers is None:
        return None
    if isinstance(layers, int) and not isinstance(layers, bool):
        return (layers,)
    out = tuple(layers)
    if not out:
        raise ValueError("`layers` must be a non-empty sequence of ints or None, got ().")
    return tuple(check_int(i, f"layers[{k}]") for k, i in enumerate(out))


def feature_preservation_loss(
    enhanced: Tensor,
    original: Tensor,
    embedder: Embedder,
    layers: Sequence[int] | int | None = None,
    weights: Sequence[float] | None = None,
    reducer: ReducerLike = Reduction.MEAN,
    *,
    normalize: bool = False,
    reduction: ReducerLike | None = None,
) -> Tensor:
    """Weighted sum over layers of the per-image MSE between features of output and input.

    ``L = sum_l w_l * mean_{c,h,w} (phi_l(enhanced) - phi_l(original))^2``. The input's features are
    computed under ``torch.no_grad()`` (the input is data, not a parameter): gradients reach
    ``enhanced`` only.

    With ``normalize=True`` each feature map is first standardised per image and channel over its
    spatial positions (zero mean, unit variance, as instance normalisation): the comparison then
    keeps the *pattern* of the features (structure, texture) and ignores their overall level. Use
    it with embedders trained to respond to brightness (such as
    :class:`~pyisp_contrast.contrastive.ExposureEncoder`), whose raw features would otherwise
    resist the very brightening the enhancer must do.

    Args:
        enhanced: ``(B, C, H, W)`` or ``(C, H, W)`` output images.
        original: the input images, same shape.
        embedder: callable ``images -> list of (B, C_l, H_l, W_l)`` (e.g.
            ``VGG16Features(layers=("relu4_3",))`` as in PIE, or ``ExposureEncoder.pretrained()``).
        layers: indices into the embedder's list to use (default: all).
        weights: one weight per used layer (default 1 each).
        reducer: ``"mean"``, ``"sum"``, ``"none"`` or a
            :class:`~pyisp_contrast.contrastive.Reducer` of the ``(B,)`` per-image values.
        normalize: standardise each feature map per image and channel before comparing.
        reduction: deprecated name of ``reducer``.

    Returns:
        Scalar, or ``(B,)`` for ``reducer="none"``.

    Example:
        >>> embed = lambda x: [x, x.mean(1, keepdim=True)]
        >>> a, b = torch.zeros(1, 3, 4, 4), torch.full((1, 3, 4, 4), 0.5)
        >>> feature_preservation_loss(a, b, embed, weights=(1.0, 2.0))  # 0.25 + 2 * 0.25
        tensor(0.7500)
    """
    reduce = resolve_reducer(reducer, reduction, "feature_preservation_loss")
    check_callable(embedder, "embedder", "embedder(images) -> list of feature maps")
    y, _ = check_image(enhanced, "enhanced", check_range=False)
    x, _ = check_image(original, "original", check_range=False)
    if y.shape != x.shape:
        raise ValueError(
            f"`enhanced` {tuple(y.shape)} and `original` {tuple(x.shape)} must have the same shape."
        )
    layers = _check_layers(layers)
    with torch.no_grad():
        fx = _select(embedder(x), layers, "original")
    fy = _select(embedder(y), layers, "enhanced")
    w = [1.0] * len(fy) if weights is None else [float(v) for v in weights]
    if len(w) != len(fy):
        raise ValueError(f"`weights` has {len(w)} entries for {len(fy)} feature maps.")
    total = y.new_zeros(y.shape[0])
    for wl, a, b in zip(w, fy, fx, strict=True):
        if a.shape != b.shape:
            raise ValueError(f"feature maps differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}.")
        if normalize:
            a, b = _standardize(a), _standardize(b)
        total = total + wl * (a - b.detach()).square().flatten(1).mean(1)
    check_finite(total.detach(), "feature preservation loss")
    return reduce(total)


class FeaturePreservation(nn.Module):
    """Module form of :func:`feature_preservation_loss`; called as ``(enhanced, original)``.

    Args:
        embedder: feature extractor (held as a submodule when it is an ``nn.Module``).
        layers: indices of the embedder's outputs to compare (default all).
        weights: per-layer weights (default 1).
        reducer: ``"mean"``, ``"sum"``, ``"none"`` or a :class:`~pyisp_contrast.contrastive.Reducer`.
        normalize: standardise feature maps before comparing (see :func:`feature_preservation_loss`).
        reduction: deprecated name of ``reducer``.

    Example:
        >>> loss = FeaturePreservation(lambda x: [x])
        >>> x = torch.rand(1, 3, 4, 4)
        >>> loss(x, x)
        tensor(0.)
    """

    reduction = ReductionAlias()

    def __init__(
        self,
        embedder: Embedder,
        layers: Sequence[int] | int | None = None,
        weights: Sequence[float] | None = None,
        reducer: ReducerLike = Reduction.MEAN,
        *,
        normalize: bool = False,
        reduction: ReducerLike | None = None,
    ) -> None:
        super().__init__()
        self.reducer = resolve_reducer(reducer, reduction, "FeaturePreservation")
        self.normalize = bool(normalize)
        if not callable(embedder):
            raise TypeError(f"`embedder` must be callable, got {type(embedder).__name__}.")
        self.embedder = embedder
        self.layers = _check_layers(layers)
        self.weights = None if weights is None else tuple(float(v) for v in weights)
        if (
            self.layers is not None
            and self.weights is not None
            and len(self.layers) != len(self.weights)
        ):
            raise ValueError(
                f"`weights` has {len(self.weights)} entries for {len(self.layers)} layers."
            )

    def forward(self, enhanced: Tensor, original: Tensor) -> Tensor:
        return feature_preservation_loss(
            enhanced,
            original,
            self.embedder,
            self.layers,
            self.weights,
            self.reducer,
            normalize=self.normalize,
        )
