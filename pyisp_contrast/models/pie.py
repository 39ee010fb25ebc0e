"""PIE: the reference composition of the library, a low-light enhancer trained from unpaired data.

Liang, Xu, Li, Wei, Chen, "PIE: Physics-inspired low-light enhancement" (arXiv:2404.04586, IJCV
2024). A curve estimator brightens the low-light input (the *anchor*); unrelated well-exposed
images are the *positives*; the same positives pushed to bad exposure by a Bag of Curves are the
*negatives*. The objective, with the published weights as defaults:

==================  ======  ===============================================================
term                weight  part
==================  ======  ===============================================================
``contrastive``     10      :class:`~pyisp_contrast.contrastive.InfoNCELoss`, Gram-MSE distance
``intensity``       10      :class:`~pyisp_contrast.contrastive.IntensityHingeLoss` (margin 0.3)
``regional``        1       :class:`~pyisp_contrast.losses.RegionalBrightnessConsistency` (SLIC)
``preservation``    1       :class:`~pyisp_contrast.losses.FeaturePreservation`
``smoothness``      200     :class:`~pyisp_contrast.losses.IlluminationSmoothness` of the curves
``color``           8       :class:`~pyisp_contrast.losses.ColorConstancy`
``exposure``        0       :class:`~pyisp_contrast.losses.ExposureControl` (off, as in PIE)
==================  ======  ===============================================================

Every part is a constructor argument; a term with weight 0 is not computed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor, nn
from torch.profiler import record_function

from pyisp_contrast.core.checks import (
    check_float,
    check_generator,
    check_image,
    check_int,
    keep_input_dtype,
)
from pyisp_contrast.losses.preservation import FeaturePreservation
from pyisp_contrast.losses.regional import RegionalBrightnessConsistency
from pyisp_contrast.losses.zero_reference import (
    ColorConstancy,
    ExposureControl,
    IlluminationSmoothness,
)
from pyisp_contrast.models.curve_net import CurveEstimator, CurveOutput, FastCurveEstimator
from pyisp_contrast.models.gain_net import GuidedGainEnhancer

__all__ = ["DEFAULT_WEIGHTS", "PIE", "SelectLayers"]

#: Loss weights of PIE (released code); ``exposure`` is Zero-DCE's term, off by default.
DEFAULT_WEIGHTS: dict[str, float] = {
    "contrastive": 10.0,
    "intensity": 10.0,
    "regional": 1.0,
    "preservation": 1.0,
    "smoothness": 200.0,
    "color": 8.0,
    "exposure": 0.0,
}

_NETWORKS = {
    "dce": CurveEstimator,
    "fast": FastCurveEstimator,
    "guided-gain": GuidedGainEnhancer,
}
_VGG_CONTRASTIVE = ("relu1_2", "relu2_2", "relu3_3")
_VGG_PRESERVATION = "relu4_3"


class SelectLayers(nn.Module):
    """Embedder that returns some of another embedder's feature maps (by index).

    Lets the contrastive and the preservation terms share one network while using different
    layers, as PIE does with VGG16 (``relu1_2..relu3_3`` and ``relu4_3``).

    Example:
        >>> sel = SelectLayers(lambda x: [x, 2 * x, 3 * x], (2, 0))
        >>> [f.mean().item() for f in sel(torch.ones(1, 1, 2, 2))]
        [3.0, 1.0]
    """

    def __init__(self, embedder: Any, indices: Sequence[int]) -> None:
        super().__init__()
        if not callable(embedder):
            raise TypeError(f"`embedder` must be callable, got {type(embedder).__name__}.")
        self.embedder = embedder
        self.indices = tuple(int(i) for i in indices)
        if not self.indices:
            raise ValueError("`indices` must name at least one feature map.")

    def forward(self, images: Tensor) -> list[Tensor]:
        feats = self.embedder(images)
        return [feats[i] for i in self.indices]


def _build_network(network: nn.Module | str, kwargs: Mapping[str, Any] | None) -> nn.Module:
    if isinstance(network, str):
        if network not in _NETWORKS:
            raise ValueError(
                f"`network` must be an nn.Module or one of {sorted(_NETWORKS)}, got {network!r}."
            )
        return _NETWORKS[network](**dict(kwargs or {}))
    if not isinstance(network, nn.Module):
        raise TypeError(f"`network` must be an nn.Module or a name, got {type(network).__name__}.")
    if kwargs:
        raise ValueError("`network_kwargs` only applies when `network` is given by name.")
    return network


def _default_parts(embedder: Any, vgg16_weights: Any) -> tuple[Any, Any]:
    """(contrastive embedder, preservation embedder)."""
    from pyisp_contrast import contrastive

    if embedder == "exposure":
        enc = contrastive.ExposureEncoder.pretrained()
        # The encoder is trained to be sensitive to exposure; its features are compared after
        # per-channel normalisation in the preservation term (see FeaturePreservation).
        return enc, enc
    if embedder == "vgg16":
        vgg = contrastive.VGG16Features(
            layers=(*_VGG_CONTRASTIVE, _VGG_PRESERVATION), weights=vgg16_weights
        )
        return SelectLayers(vgg, (0, 1, 2)), SelectLayers(vgg, (3,))
    if isinstance(embedder, str):
        raise ValueError(f"`embedder` must be 'exposure', 'vgg16' or a callable, got {embedder!r}.")
    if not callable(embedder):
        raise TypeError(f"`embedder` must be callable, got {type(embedder).__name__}.")
    return embedder, embedder


class PIE(nn.Module):
    """The PIE objective around a curve-estimation network; trainable by the library's Trainer.

    Args:
        network: the enhancer: ``"dce"`` (:class:`CurveEstimator`, the paper's), ``"fast"``
            (:class:`FastCurveEstimator`) or any module whose ``forward`` returns
            :class:`CurveOutput`-like ``(enhanced, curves)`` (and, ideally, has ``enhance``).
        network_kwargs: constructor arguments when ``network`` is a name.
        embedder: features for the contrastive and preservation terms: ``"exposure"`` (the
            shipped :class:`~pyisp_contrast.contrastive.ExposureEncoder`, works offline),
            ``"vgg16"`` (ImageNet VGG16 from ``vgg16_weights``, as in the paper: relu1_2..3_3 for the
            contrastive term, relu4_3 for preservation), or a callable ``images -> list of maps``.
        vgg16_weights: ``"imagenet"`` (the torch hub cache) or a path, for ``embedder="vgg16"``.
        weights: overrides of :data:`DEFAULT_WEIGHTS` (missing keys keep their default).
        contrastive, intensity, regional, preservation, smoothness, color, exposure: replace a
            loss module (called as in :meth:`loss`); ``None`` builds the default.
        negatives: a negative sampler with ``sample(images, k, generator) -> (negatives (B, K, C, H, W),
            record)``; default ``BagOfCurves.pie(strict=False)``.
        num_negatives: negatives per positive.
        n_segments: superpixels per image for the default regional term.
        temperature: InfoNCE temperature of the default contrastive term (1 gives PIE's softplus).

    Example:
        >>> from pyisp_contrast.contrastive import PixelStatistics
        >>> pie = PIE("fast", embedder=PixelStatistics(scales=(2, 4)), n_segments=4,
        ...           network_kwargs={"channels": 4})
        >>> low, normal = torch.rand(2, 3, 16, 16) * 0.2, torch.rand(2, 3, 16, 16)
        >>> terms = pie.loss(low, normal, generator=torch.Generator().manual_seed(0))
        >>> sorted(terms)
        ['color', 'contrastive', 'intensity', 'preservation', 'regional', 'smoothness', 'total']
        >>> terms["total"].backward()
    """

    #: Loss weights used where ``weights`` gives none (subclasses add their own terms).
    default_weights: ClassVar[Mapping[str, float]] = DEFAULT_WEIGHTS

    def __init__(
        self,
        network: nn.Module | str = "dce",
        *,
        network_kwargs: Mapping[str, Any] | None = None,
        embedder: Any = "exposure",
        vgg16_weights: Any = "imagenet",
        weights: Mapping[str, float] | None = None,
        contrastive: nn.Module | None = None,
        intensity: nn.Module | None = None,
        regional: nn.Module | None = None,
        preservation: nn.Module | None = None,
        smoothness: nn.Module | None = None,
        color: nn.Module | None = None,
        exposure: nn.Module | None = None,
        negatives: Any = None,
        num_negatives: int = 1,
        n_segments: int = 100,
        temperature: float = 1.0,
    ) -> None:
        super().__init__()
        self.network = _build_network(network, network_kwargs)
        self.weights = dict(self.default_weights)
        for key, value in dict(weights or {}).items():
            if key not in self.default_weights:
                raise ValueError(
                    f"unknown loss term {key!r} in `weights`; known: {sorted(self.default_weights)}."
                )
            self.weights[key] = check_float(value, f"weights[{key!r}]", 0.0, finite=False)
        check_int(num_negatives, "num_negatives", 1)
        self.num_negatives = num_negatives

        needs_features = (contrastive is None and self.weights["contrastive"] > 0) or (
            preservation is None and self.weights["preservation"] > 0
        )
        embed_c = embed_p = None
        if needs_features:
            embed_c, embed_p = _default_parts(embedder, vgg16_weights)
        from pyisp_contrast import contrastive as con

        if contrastive is None and self.weights["contrastive"] > 0:
            contrastive = con.InfoNCELoss(embed_c, con.GramMSEDistance(), temperature=temperature)
        if intensity is None:
            intensity = con.IntensityHingeLoss(margin=0.3)
        if regional is None:
            regional = RegionalBrightnessConsistency(n_segments=n_segments)
        if preservation is None and self.weights["preservation"] > 0:
            normalize = embedder == "exposure"
            preservation = FeaturePreservation(embed_p, normalize=normalize)
        self.contrastive = contrastive
        self.intensity = intensity
        self.regional = regional
        self.preservation = preservation
        self.smoothness = IlluminationSmoothness() if smoothness is None else smoothness
        self.color = ColorConstancy() if color is None else color
        self.exposure = ExposureControl() if exposure is None else exposure
        if negatives is None:
            from pyisp_contrast.isp.bank import BagOfCurves

            negatives = BagOfCurves.pie(strict=False)
        if not callable(getattr(negatives, "sample", None)):
            raise TypeError(
                "`negatives` must have a sample(images, k, generator) method (e.g. BagOfCurves)."
            )
        self.negatives = negatives

    @classmethod
    def fast(cls, **kwargs: Any) -> PIE:
        """PIE around :class:`FastCurveEstimator` (the bundled default's network)."""
        return cls("fast", **kwargs)

    @keep_input_dtype
    def forward(self, images: Tensor) -> CurveOutput:
        """Run the network: ``(enhanced, curves)`` with gradients, in the input's float dtype."""
        out = self.network(images)
        return out if isinstance(out, CurveOutput) else CurveOutput(*out)

    def loss(
        self, low: Tensor, positives: Tensor, generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        """The weighted terms of the objective and their sum.

        Args:
            low: low-light inputs ``(B, 3, H, W)`` in [0, 1].
            positives: well-exposed images ``(B, 3, H, W)`` (one per input; same size as ``low``
                for the feature terms), or ``(B, P, 3, H, W)``.
            generator: randomness of the negatives (and of the default SLIC's seeding, if any).

        Returns:
            ``{name: weight * term}`` for every term with a non-zero weight, plus ``"total"``.
        """
        x, _ = check_image(low, "low", channels=(3,), allow_unbatched=False)
        pos = self._positives(positives, x)
        check_generator(generator, x.device)
        with record_function("pie.network"):
            enhanced, curves = self(x)
        terms = self.objective_terms(x, pos, enhanced, curves, generator)
        return self._with_total(terms)

    @staticmethod
    def _with_total(terms: dict[str, Tensor]) -> dict[str, Tensor]:
        """``terms`` plus their sum as ``"total"`` (an error when every weight is 0)."""
        if not terms:
            raise ValueError("every loss weight is 0; give at least one term a positive weight.")
        terms["total"] = torch.stack(list(terms.values())).sum()
        return terms

    @staticmethod
    def _positives(positives: Tensor, x: Tensor) -> Tensor:
        """``positives`` as ``(B, P, 3, H, W)``, checked against the inputs ``x``."""
        if not isinstance(positives, Tensor):
            raise TypeError(f"`positives` must be a tensor, got {type(positives).__name__}.")
        pos = positives.unsqueeze(1) if positives.ndim == 4 else positives
        if pos.ndim != 5 or pos.shape[0] != x.shape[0] or pos.shape[2] != 3:
            raise ValueError(
                f"`positives` must be (B, 3, H, W) or (B, P, 3, H, W) with B = {x.shape[0]}, "
                f"got {tuple(positives.shape)}."
            )
        return pos

    def objective_terms(
        self,
        x: Tensor,
        pos: Tensor,
        enhanced: Tensor,
        curves: Tensor,
        generator: torch.Generator | None = None,
    ) -> dict[str, Tensor]:
        """PIE's weighted terms for a network output already computed (no ``"total"``).

        Args:
            x: the checked low-light inputs ``(B, 3, H, W)``.
            pos: positives ``(B, P, 3, H, W)``.
            enhanced: the network's output for ``x``.
            curves: the maps the network produced (for the smoothness term).
            generator: randomness of the negatives.
        """
        w = self.weights
        terms: dict[str, Tensor] = {}
        needs_negatives = w["contrastive"] > 0 or w["intensity"] > 0
        if needs_negatives:
            with torch.no_grad(), record_function("pie.negatives"):
                flat = pos.flatten(0, 1)
                neg, _ = self.negatives.sample(flat, k=self.num_negatives, generator=generator)
                neg = neg.reshape(x.shape[0], -1, *neg.shape[-3:])
        if w["contrastive"] > 0:
            with record_function("pie.contrastive"):
                terms["contrastive"] = w["contrastive"] * self.contrastive(enhanced, pos, neg)
        if w["intensity"] > 0:
            with record_function("pie.intensity"):
                terms["intensity"] = w["intensity"] * self.intensity(enhanced, pos, neg)
        if w["regional"] > 0:
            labels = None
            if callable(getattr(self.regional, "compute_labels", None)):
                with record_function("pie.segmentation"):
                    labels = self.regional.compute_labels(x)
            with record_function("pie.regional"):
                terms["regional"] = w["regional"] * self.regional(enhanced, x, labels)
        if w["preservation"] > 0:
            with record_function("pie.preservation"):
                terms["preservation"] = w["preservation"] * self.preservation(enhanced, x)
        if w["smoothness"] > 0:
            terms["smoothness"] = w["smoothness"] * self.smoothness(curves)
        if w["color"] > 0:
            terms["color"] = w["color"] * self.color(enhanced)
        if w["exposure"] > 0:
            terms["exposure"] = w["exposure"] * self.exposure(enhanced)
        return terms

    def training_step(self, batch: Mapping[str, Any]) -> dict[str, Tensor]:
        """One step's losses for the Trainer: ``batch["low"]`` and ``batch["normal"]`` ``(B, 3, H, W)``."""
        return self.loss(batch["low"], batch["normal"])

    @torch.no_grad()
    def validation_images(self, batch: Mapping[str, Any]) -> Tensor:
        """Enhanced ``batch["low"]`` for the Trainer's validation grids."""
        return self.enhance(batch["low"])

    @torch.no_grad()
    @keep_input_dtype
    def enhance(self, images: Tensor) -> Tensor:
        """Enhance for inference (no gradient, eval mode; memory-bounded when the network allows).

        Any float dtype: computed in the network's, returned in the input's.
        """
        was_training = self.training
        self.eval()
        try:
            if callable(getattr(self.network, "enhance", None)):
                return self.network.enhance(images)
            x, unbatched = check_image(images, "images", channels=(3,))
            out = self(x).enhanced.clamp(0, 1)
            return out.squeeze(0) if unbatched else out
        finally:
            self.train(was_training)
