"""Contrastive losses for images, built from swappable parts: embedder, distance, reducer.

Every loss is called as ``loss(anchor, positives, negatives)``:

- ``anchor``: ``(B, C, H, W)``, e.g. a network's output;
- ``positives`` / ``negatives``: ``(B, P, C, H, W)`` (each anchor has its own) or ``(P, C, H, W)``
  (shared by every anchor). A single per-sample positive is ``x.unsqueeze(1)``: a 4-D tensor always
  means *shared*.

Each distinct image is embedded exactly once per call: the anchor, positives and negatives are
concatenated into one batch (in chunks of ``chunk_size`` images to bound memory), each layer is
prepared once by the distance (e.g. its Gram matrix), and all anchor-positive and anchor-negative
distances are then computed at once by broadcasting. The released PIE code instead re-embeds the
anchor for every pair. Images that need no gradient are embedded in a separate batch from those that
do, so no activations of fixed positives/negatives are kept for the backward pass.

:meth:`ContrastiveLoss.compute_loss` gets the per-layer distances ``d_ap`` ``(L, B, P)`` and
``d_an`` ``(L, B, N)`` with the layer weights ``(L,)`` and returns one loss per anchor ``(B,)``;
the reducer turns those into the result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pyisp_contrast.contrastive.distances import FeatureDistance, GramMSEDistance, L1Distance
from pyisp_contrast.contrastive.pixel import GrayLevel
from pyisp_contrast.contrastive.reducers import Reducer, Reduction, get_reducer
from pyisp_contrast.contrastive.transforms import as_feature_list
from pyisp_contrast.core.checks import check_finite, check_float, check_image, check_int

__all__ = [
    "CPU_CHUNK_SIZE",
    "ContrastiveDistances",
    "ContrastiveLoss",
    "InfoNCELoss",
    "IntensityHingeLoss",
    "RatioContrastiveLoss",
    "TripletHingeLoss",
]

Embedder = Callable[[Tensor], Sequence[Tensor]]


class ContrastiveDistances(NamedTuple):
    """Per-layer distances of one call: ``anchor_positive`` ``(L, B, P)``, ``anchor_negative``
    ``(L, B, N)`` and the distance's layer weights ``(L,)``."""

    anchor_positive: Tensor
    anchor_negative: Tensor
    layer_weights: Tensor


class _ImageSet(NamedTuple):
    flat: Tensor  # (M, C, H, W) images to embed
    count: int  # P: positives (or negatives) per anchor
    shared: bool  # one set for every anchor


def _check_set(images: Tensor, name: str, anchor: Tensor, check_range: bool = False) -> _ImageSet:
    if not isinstance(images, Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor, got {type(images).__name__}.")
    b, c = anchor.shape[:2]
    if images.ndim == 5:
        if images.shape[0] != b:
            raise ValueError(
                f"`{name}` has shape {tuple(images.shape)}: a 5-D tensor must be (B, P, C, H, W) with the "
                f"anchor's batch size B = {b}; pass a 4-D (P, C, H, W) tensor to share one set."
            )
        count, shared = images.shape[1], False
    elif images.ndim == 4:
        count, shared = images.shape[0], True
    else:
        raise ValueError(
            f"`{name}` must have shape (B, P, C, H, W) or shared (P, C, H, W), got {tuple(images.shape)}."
        )
    if count == 0:
        raise ValueError(
            f"`{name}` is empty (P = 0); a contrastive loss needs at least one of them."
        )
    if images.shape[-3] != c:
        raise ValueError(
            f"`{name}` has {images.shape[-3]} channels but the anchor has {c} (shapes "
            f"{tuple(images.shape)} and {tuple(anchor.shape)})."
        )
    if images.dtype != anchor.dtype or images.device != anchor.device:
        raise ValueError(
            f"`{name}` is {images.dtype} on {images.device} but the anchor is {anchor.dtype} on "
            f"{anchor.device}; move both to one dtype and device."
        )
    flat, _ = check_image(
        images.reshape(-1, *images.shape[-3:]), name, channels=None, check_range=check_range
    )
    return _ImageSet(flat, int(count), shared)


#: Images per embedder call on the CPU when ``chunk_size="auto"``.
CPU_CHUNK_SIZE = 2


class ContrastiveLoss(nn.Module):
    """Base class of the contrastive losses: embed once, compare by broadcasting, reduce.

    Subclasses implement :meth:`compute_loss`. Use :meth:`distances` to get the per-layer
    distances of a call without a loss (for analysis or a custom loss).

    Args:
        embedder: any ``nn.Module`` or callable ``images (N, C, H, W) -> list of (N, C_l, H_l, W_l)``
            (e.g. :class:`VGG16Features`, :class:`ExposureEncoder`, :class:`PixelStatistics`).
        distance: a :class:`FeatureDistance`; its layer weights weigh the layers.
        reducer: ``"mean"``, ``"sum"``, ``"none"`` (a :class:`Reduction`) or a :class:`Reducer`.
        chunk_size: embed at most this many images per embedder call; ``None``: all at once;
            ``"auto"`` (default): :data:`CPU_CHUNK_SIZE` images a call on the CPU, where small
            batches keep a convolution's activations in cache, and all at once on other devices.
    """

    #: Whether anchor, positives and negatives must hold values in [0, 1] (checked like every
    #: image input, see :func:`pyisp_contrast.core.checks.check_image`). Off here, as an embedder
    #: may take other values; losses on images as the ISP makes them switch it on.
    images_in_unit_range: bool = False

    def __init__(
        self,
        embedder: Embedder,
        distance: FeatureDistance,
        reducer: Reduction | str | Reducer = Reduction.MEAN,
        *,
        chunk_size: int | str | None = "auto",
    ):
        super().__init__()
        if not callable(embedder):
            raise TypeError(
                f"`embedder` must be callable (images -> list of feature maps), got {type(embedder).__name__}."
            )
        if not isinstance(distance, FeatureDistance):
            raise TypeError(
                f"`distance` must be a FeatureDistance (e.g. GramMSEDistance()), got {type(distance).__name__}."
            )
        if not (isinstance(chunk_size, str) and chunk_size == "auto"):
            check_int(chunk_size, "chunk_size", 1, hint="or 'auto'", optional=True)
        self.embedder = embedder
        self.distance = distance
        self.reducer = get_reducer(reducer)
        self.chunk_size = chunk_size

    # -- embedding -------------------------------------------------------------------------------
    def _embed_batch(self, images: Tensor, name: str) -> list[Tensor]:
        """Embed and prepare a batch in chunks; returns one prepared tensor per layer."""
        step = self.chunk_size
        if step == "auto":
            step = CPU_CHUNK_SIZE if images.device.type == "cpu" else None
        step = images.shape[0] if step is None else step
        per_chunk: list[list[Tensor]] = []
        for start in range(0, images.shape[0], step):
            chunk = images[start : start + step]
            feats = as_feature_list(self.embedder(chunk), "the embedder's output")
            prepared = []
            for i, f in enumerate(feats):
                if f.ndim < 2 or f.shape[0] != chunk.shape[0]:
                    raise ValueError(
                        f"the embedder returned a feature map of shape {tuple(f.shape)} (layer {i}) for "
                        f"{chunk.shape[0]} images; it must keep the batch dimension first."
                    )
                check_finite(f, f"features of `{name}` (layer {i})")
                prepared.append(self.distance.prepare(f))
            if per_chunk and len(prepared) != len(per_chunk[0]):
                raise ValueError(
                    "the embedder returned a different number of feature maps for different batches."
                )
            per_chunk.append(prepared)
        if len(per_chunk) == 1:
            return per_chunk[0]
        return [torch.cat(layer) for layer in zip(*per_chunk)]

    def _embed_all(self, parts: Sequence[tuple[str, Tensor]]) -> list[list[Tensor]]:
        """Embed several image batches with one embedder batch per (image size, needs-grad) group."""
        groups: dict[tuple, list[int]] = {}
        for idx, (_, x) in enumerate(parts):
            groups.setdefault((tuple(x.shape[1:]), x.requires_grad), []).append(idx)
        out: list[list[Tensor] | None] = [None] * len(parts)
        for members in groups.values():
            names = "/".join(parts[i][0] for i in members)
            batch = (
                torch.cat([parts[i][1] for i in members])
                if len(members) > 1
                else parts[members[0]][1]
            )
            layers = self._embed_batch(batch, names)
            sizes = [parts[i][1].shape[0] for i in members]
            split = [layer.split(sizes) for layer in layers]
            for j, i in enumerate(members):
                out[i] = [s[j] for s in split]
        n_layers = {len(o) for o in out if o is not None}
        if len(n_layers) != 1:
            raise ValueError(
                "the embedder returned a different number of feature maps for different inputs."
            )
        return out  # type: ignore[return-value]

    def distances(
        self, anchor: Tensor, positives: Tensor, negatives: Tensor
    ) -> ContrastiveDistances:
        """Embed everything once and return the per-layer anchor-positive/-negative distances."""
        in_range = self.images_in_unit_range
        anchor, _ = check_image(
            anchor, "anchor", channels=None, allow_unbatched=False, check_range=in_range
        )
        pos = _check_set(positives, "positives", anchor, in_range)
        neg = _check_set(negatives, "negatives", anchor, in_range)
        fa, fp, fn = self._embed_all(
            [("anchor", anchor), ("positives", pos.flat), ("negatives", neg.flat)]
        )
        b = anchor.shape[0]

        def as_sets(feats: list[Tensor], s: _ImageSet) -> list[Tensor]:
            lead = (1, s.count) if s.shared else (b, s.count)
            return [f.reshape(*lead, *f.shape[1:]) for f in feats]

        fa = [f.unsqueeze(1) for f in fa]  # (B, 1, ...) broadcasts against (B|1, P, ...)
        d_ap = self.distance.compare_layers(fa, as_sets(fp, pos)).expand(-1, b, pos.count)
        d_an = self.distance.compare_layers(fa, as_sets(fn, neg)).expand(-1, b, neg.count)
        return ContrastiveDistances(d_ap, d_an, self.distance.weights(d_ap.shape[0], d_ap))

    def compute_loss(self, d_ap: Tensor, d_an: Tensor, layer_weights: Tensor) -> Tensor:
        """Per-anchor losses ``(B,)`` from per-layer distances ``(L, B, P)``, ``(L, B, N)`` and ``(L,)``."""
        raise NotImplementedError

    def forward(self, anchor: Tensor, positives: Tensor, negatives: Tensor) -> Tensor:
        d = self.distances(anchor, positives, negatives)
        return self.reducer(self.compute_loss(*d))


def _weighted_sum(d: Tensor, w: Tensor) -> Tensor:
    """``sum_l w_l d_l`` for ``d`` of shape ``(L, ...)``."""
    return (w.view(-1, *([1] * (d.ndim - 1))) * d).sum(0)


class RatioContrastiveLoss(ContrastiveLoss):
    """Contrastive regularisation as a distance ratio (AECR-Net).

    ``loss(a) = sum_l w_l * mean_p D_l(a, p_p) / (sum_k D_l(a, n_k) + eps)``: pull the anchor toward the
    positives relative to its distance from the negatives, layer by layer (Wu et al., "Contrastive
    learning for compact single image dehazing", CVPR 2021; positives: clear images, negatives: the
    hazy inputs).

    Args:
        embedder, distance, reducer, chunk_size: see :class:`ContrastiveLoss`.
        eps: added to the denominator so that an anchor on a negative stays finite.

    Example:
        >>> from pyisp_contrast.contrastive import L1Distance, PixelStatistics
        >>> loss = RatioContrastiveLoss(PixelStatistics(scales=(4,)), L1Distance())
        >>> a, p, n = torch.rand(2, 3, 8, 8), torch.rand(2, 1, 3, 8, 8), torch.rand(2, 2, 3, 8, 8)
        >>> loss(a, p, n).shape
        torch.Size([])
    """

    def __init__(
        self,
        embedder: Embedder,
        distance: FeatureDistance,
        reducer: Reduction | str | Reducer = Reduction.MEAN,
        *,
        eps: float = 1e-7,
        chunk_size: int | str | None = "auto",
    ):
        super().__init__(embedder, distance, reducer, chunk_size=chunk_size)
        self.eps = check_float(eps, "eps", 0.0, low_open=True)

    def compute_loss(self, d_ap: Tensor, d_an: Tensor, layer_weights: Tensor) -> Tensor:
        ratio = d_ap.mean(-1) / (d_an.sum(-1) + self.eps)  # (L, B)
        return _weighted_sum(ratio, layer_weights)


class InfoNCELoss(ContrastiveLoss):
    """InfoNCE with distances as negative logits, any number of positives and negatives.

    For each anchor ``a`` and each positive ``p`` (averaged over the positives)::

        -log( exp(-D(a, p) / t) / (exp(-D(a, p) / t) + sum_k exp(-D(a, n_k) / t)) )

    where ``D = sum_l w_l D_l`` (van den Oord et al., arXiv 1807.03748). With one positive, one
    negative and ``t = 1`` this is ``softplus(D(a, p) - D(a, n))``, PIE's contrastive term (Liang et
    al., arXiv 2404.04586), averaged over the batch by the default reducer.

    Args:
        embedder, distance, reducer, chunk_size: see :class:`ContrastiveLoss`.
        temperature: ``t > 0``; smaller values focus on the hardest negatives.

    Anchor, positives and negatives must be images in [0, 1] (a ``ValueError`` says so
    otherwise): at 0..255 the distances are so large that every term saturates and the loss is
    0 with no gradient, which looks like a converged loss rather than a wrong input.

    Example:
        >>> from pyisp_contrast.contrastive import GramMSEDistance, PixelStatistics
        >>> loss = InfoNCELoss(PixelStatistics(scales=(2, 4)), GramMSEDistance(), temperature=1.0)
        >>> a, p, n = torch.rand(2, 3, 8, 8), torch.rand(3, 3, 8, 8), torch.rand(2, 4, 3, 8, 8)
        >>> bool(loss(a, p, n) > 0)
        True
    """

    images_in_unit_range = True

    def __init__(
        self,
        embedder: Embedder,
        distance: FeatureDistance | None = None,
        temperature: float = 1.0,
        reducer: Reduction | str | Reducer = Reduction.MEAN,
        *,
        chunk_size: int | str | None = "auto",
    ):
        super().__init__(
            embedder,
            GramMSEDistance() if distance is None else distance,
            reducer,
            chunk_size=chunk_size,
        )
        if not (isinstance(temperature, int | float) and 0 < temperature < float("inf")):
            raise ValueError(
                f"`temperature` must be a positive finite number, got {temperature!r}."
            )
        self.temperature = float(temperature)

    def compute_loss(self, d_ap: Tensor, d_an: Tensor, layer_weights: Tensor) -> Tensor:
        pos = _weighted_sum(d_ap, layer_weights) / self.temperature  # (B, P)
        neg = _weighted_sum(d_an, layer_weights) / self.temperature  # (B, N)
        # log of the denominator for each positive: logsumexp over {-pos_p} U {-neg_k}, stable.
        neg_lse = torch.logsumexp(-neg, dim=-1, keepdim=True)  # (B, 1)
        denom = torch.logaddexp(-pos, neg_lse)
        return (denom + pos).mean(-1)


class TripletHingeLoss(ContrastiveLoss):
    """Triplet hinge ``max(D(a, p) - D(a, n) + margin, 0)``, averaged over all (positive, negative) pairs.

    The form of SCL-LLE (Liang et al., "Semantically contrastive learning for low-light image
    enhancement", AAAI 2022).

    Args:
        embedder, distance, reducer, chunk_size: see :class:`ContrastiveLoss`.
        margin: ``>= 0``; how much nearer the positive must be than the negative.

    Example:
        >>> from pyisp_contrast.contrastive import GrayLevel, L1Distance
        >>> loss = TripletHingeLoss(GrayLevel(), L1Distance(), margin=0.1)
        >>> a = torch.full((1, 3, 4, 4), 0.5)
        >>> loss(a, torch.full((1, 3, 4, 4), 0.6), torch.zeros(1, 3, 4, 4)).item() == 0.0
        True
    """

    def __init__(
        self,
        embedder: Embedder,
        distance: FeatureDistance,
        margin: float = 1.0,
        reducer: Reduction | str | Reducer = Reduction.MEAN,
        *,
        chunk_size: int | str | None = "auto",
    ):
        super().__init__(embedder, distance, reducer, chunk_size=chunk_size)
        self.margin = check_float(margin, "margin", 0.0)

    def compute_loss(self, d_ap: Tensor, d_an: Tensor, layer_weights: Tensor) -> Tensor:
        pos = _weighted_sum(d_ap, layer_weights)  # (B, P)
        neg = _weighted_sum(d_an, layer_weights)  # (B, N)
        return F.relu(pos.unsqueeze(-1) - neg.unsqueeze(-2) + self.margin).mean(dim=(-2, -1))


class IntensityHingeLoss(TripletHingeLoss):
    """PIE's grey-level hinge: ``max(L1(gray(a), gray(p)) - L1(gray(n), gray(a)) + margin, 0)``.

    A :class:`TripletHingeLoss` on :class:`GrayLevel` with :class:`L1Distance` (Liang et al., arXiv
    2404.04586, weight 10, margin 0.3): the output's brightness should be nearer the well-exposed
    positives than the badly exposed negatives. The L1 is a per-image mean and the hinge is taken per
    image, then averaged (the released code hinges the batch mean).

    Args:
        margin: hinge margin (PIE: 0.3).
        reducer, chunk_size: see :class:`ContrastiveLoss`.

    Example:
        >>> loss = IntensityHingeLoss()
        >>> a = torch.full((1, 3, 4, 4), 0.5)
        >>> round(loss(a, torch.full((1, 3, 4, 4), 0.6), torch.full((1, 3, 4, 4), 0.4)).item(), 4)
        0.3
    """

    def __init__(
        self,
        margin: float = 0.3,
        reducer: Reduction | str | Reducer = Reduction.MEAN,
        *,
        chunk_size: int | str | None = "auto",
    ):
        super().__init__(GrayLevel(), L1Distance(), margin, reducer, chunk_size=chunk_size)
