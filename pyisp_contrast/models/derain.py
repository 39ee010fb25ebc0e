"""Deraining composition: a residual network that predicts the rain layer, trained contrastively.

Rain streaks add light along short oriented lines. Rather than paint a clean image, the network
predicts that rain layer ``R`` and subtracts it, ``J = clamp(I - R, 0, 1)``: the residual is sparse
and simple, so a small network learns it (the residual formulation of Fu et al., *Removing rain
from single images via a deep detail network*, CVPR 2017).

Training (:meth:`Derainer.training_step`) combines an L1 reconstruction term with the same
contrastive regularisation as the dehazing composition
(:class:`~pyisp_contrast.contrastive.RatioContrastiveLoss`): anchor = the output, positive = the
clean image, negatives = the rainy input and the output re-rained by a
:class:`~pyisp_contrast.isp.bags.BagOfRain` with other directions, lengths and densities.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from pyisp_contrast.core.checks import (
    check_image,
    check_int,
    keep_input_dtype,
    unbatch,
)
from pyisp_contrast.models._restoration import (
    ContrastiveRestoration,
    batch_image,
    enhance_eval,
)

__all__ = ["Derainer", "RainEstimator"]


class RainEstimator(nn.Module):
    """A full-resolution residual CNN that predicts the rain layer of an image.

    A 3x3 conv lifts the image to ``width`` channels; ``len(dilations)`` residual blocks of one
    dilated 3x3 conv each widen the receptive field (dilations 1, 2, 4, 8, 1: about 33 px, longer
    than most streaks) without downsampling, which would blur the thin streaks; a last 3x3 conv gives
    the 3-channel layer. No normalisation, so the output scale follows the input's.

    About 12k parameters with the defaults.

    Args:
        width: feature channels.
        dilations: dilation of each residual block.

    Example:
        >>> net = RainEstimator()
        >>> net(torch.rand(2, 3, 24, 20)).shape
        torch.Size([2, 3, 24, 20])
        >>> sum(p.numel() for p in net.parameters()) < 20_000
        True
    """

    def __init__(self, width: int = 16, dilations: Sequence[int] = (1, 2, 4, 8, 1)) -> None:
        super().__init__()
        self.width = check_int(width, "width", 1)
        dilations = tuple(dilations)
        for i, d in enumerate(dilations):
            check_int(d, f"dilations[{i}]", 1)
        if not dilations:
            raise ValueError("`dilations` must hold at least one positive int.")
        self.dilations = dilations
        self.head = nn.Conv2d(3, width, 3, padding=1)
        self.blocks = nn.ModuleList(
            nn.Conv2d(width, width, 3, padding=d, dilation=d) for d in dilations
        )
        self.tail = nn.Conv2d(width, 3, 3, padding=1)
        # Start at "no rain": the first steps then refine the identity instead of undoing noise.
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)

    @property
    def config(self) -> dict:
        """Constructor arguments, for :func:`pyisp_contrast.models.save_pretrained`."""
        return {"width": self.width, "dilations": list(self.dilations)}

    @keep_input_dtype
    def forward(self, images: Tensor) -> Tensor:
        """Rain layer ``(B, 3, H, W)`` of rainy ``images`` ``(B, 3, H, W)`` in [0, 1] (any float
        dtype: computed in the network's, returned in the input's)."""
        x, _ = check_image(images, "images", channels=(3,), allow_unbatched=False)
        f = F.relu(self.head(x * 2.0 - 1.0))
        for block in self.blocks:
            f = f + F.relu(block(f))
        return self.tail(f)


class Derainer(ContrastiveRestoration):
    """The deraining composition: :class:`RainEstimator`, ``J = clamp(I - R)`` and its losses.

    Batches are dicts: ``{"rainy": I, "clear": J}`` (or ``"input"`` / ``"target"``), or clear images
    only (``"clear"`` or ``"normal"``), from which the step synthesises rainy inputs with
    :attr:`bag`.

    Args:
        estimator: the network, or a dict of :class:`RainEstimator` arguments (default: a new
            :class:`RainEstimator`).
        bag: the :class:`~pyisp_contrast.isp.bags.BagOfRain` for negatives and synthetic inputs.
        contrastive: ``loss(anchor, positives, negatives)`` (default: ratio loss on
            :class:`~pyisp_contrast.contrastive.PixelStatistics` at scales 1 and 4 with L1 distance:
            local brightness and contrast, which the streaks raise).
        contrastive_weight: weight of the contrastive term.
        num_negatives: re-rained copies of the output per image (besides the rainy input).
        l1_weight: weight of the L1 reconstruction term.

    Example:
        >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
        <torch._C.Generator object at ...>
        >>> model = Derainer()
        >>> sorted(model.training_step({"clear": torch.rand(2, 3, 16, 16)}))
        ['contrastive', 'l1', 'total']
        >>> model.enhance(torch.rand(3, 20, 20)).shape
        torch.Size([3, 20, 20])
    """

    def __init__(
        self,
        estimator: RainEstimator | Mapping[str, Any] | None = None,
        *,
        bag: nn.Module | None = None,
        contrastive: nn.Module | None = None,
        contrastive_weight: float = 0.1,
        num_negatives: int = 2,
        l1_weight: float = 1.0,
    ) -> None:
        from pyisp_contrast.isp.bags import BagOfRain

        super().__init__(
            estimator, RainEstimator, bag, BagOfRain, contrastive, _default_contrastive,
            contrastive_weight=contrastive_weight, num_negatives=num_negatives,
            l1_weight=l1_weight,
        )  # fmt: skip

    @property
    def config(self) -> dict:
        """Constructor arguments that rebuild the inference part: ``Derainer(**config)``."""
        return {"estimator": dict(getattr(self.estimator, "config", {}))}

    @keep_input_dtype
    def forward(self, images: Tensor) -> Tensor:
        """Derain ``images`` ``(B, 3, H, W)`` or ``(3, H, W)`` in [0, 1]; differentiable.

        Any float dtype: computed in the model's, returned in the input's.
        """
        x, unbatched = check_image(images, "images", channels=(3,))
        return unbatch((x - self.estimator(x)).clamp(0.0, 1.0), unbatched)

    @keep_input_dtype
    def enhance(self, images: Tensor) -> Tensor:
        """Derain for inference: eval mode, no gradient. Same shapes and dtypes as :meth:`forward`."""
        return enhance_eval(self, images)

    def prepare_batch(self, batch: dict) -> tuple[Tensor, Tensor | None]:
        """``(rainy, clear)`` from a batch; synthesises rainy images when only clear ones are given."""
        rainy = batch_image(batch, ("rainy", "input"), "rainy", required=False)
        clear = batch_image(batch, ("clear", "target", "normal"), "clear", required=rainy is None)
        if rainy is None:
            rainy = self.bag.synthesize(clear)
        elif clear is not None and clear.shape != rainy.shape:
            raise ValueError(
                f"rainy {tuple(rainy.shape)} and clear {tuple(clear.shape)} images must have one shape."
            )
        return rainy, clear

    def losses(self, rainy: Tensor, clear: Tensor) -> dict:
        """L1 and contrastive terms for one batch; ``"total"`` is their weighted sum."""
        # Unclipped: clipping has no gradient (see Dehazer.restore).
        out = rainy - self.estimator(rainy)
        terms: dict[str, Tensor] = {}
        terms["total"] = self.reference_terms(out, rainy, clear, terms)
        return terms

    def training_step(self, batch: dict) -> dict:
        """Loss terms for a batch; ``"total"`` is backpropagated."""
        if not isinstance(batch, dict):
            raise TypeError(f"`batch` must be a dict of tensors, got {type(batch).__name__}.")
        rainy, clear = self.prepare_batch(batch)
        if clear is None:
            raise KeyError(
                "deraining needs clean images (key 'clear', 'target' or 'normal') for its losses; "
                f"got keys {sorted(batch)}."
            )
        return self.losses(rainy, clear)


def _default_contrastive() -> nn.Module:
    from pyisp_contrast.contrastive import L1Distance, PixelStatistics, RatioContrastiveLoss

    return RatioContrastiveLoss(PixelStatistics(scales=(1, 4)), L1Distance())
