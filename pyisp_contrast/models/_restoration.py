"""Parts the restoration compositions share (:class:`~pyisp_contrast.models.Dehazer`,
:class:`~pyisp_contrast.models.Derainer`): their base class (an estimator, a bag of degradations,
the L1 and contrastive terms), reading images from a training batch, and inference with the
training flag restored."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pyisp_contrast.core.checks import check_callable, check_float, check_image, check_int

#: How a composition calls its ``contrastive`` loss, for the message when it is not callable.
CONTRASTIVE_USAGE = "loss(anchor, positives, negatives)"


def build_estimator(estimator: Any, cls: type[nn.Module]) -> nn.Module:
    """``estimator`` as a module: ``None`` -> ``cls()``, a config dict -> ``cls(**config)``."""
    if isinstance(estimator, Mapping):
        estimator = cls(**estimator)
    if estimator is not None and not isinstance(estimator, nn.Module):
        raise TypeError(
            f"`estimator` must be an nn.Module or a {cls.__name__} config dict, got "
            f"{type(estimator).__name__}."
        )
    return cls() if estimator is None else estimator


@torch.no_grad()
def enhance_eval(model: nn.Module, images: Tensor) -> Tensor:
    """``model(images)`` for inference: eval mode and no gradient, the training flag restored."""
    was_training = model.training
    model.eval()
    try:
        return model(images)
    finally:
        model.train(was_training)


def batch_image(batch: dict, keys: tuple[str, ...], what: str, *, required: bool) -> Tensor | None:
    """The ``(B, 3, H, W)`` images under the first of ``keys`` in ``batch`` (checked); ``None``
    when there are none, or ``KeyError`` naming ``what`` when they are ``required``."""
    for key in keys:
        if key in batch:
            x, _ = check_image(batch[key], f"batch[{key!r}]", channels=(3,), allow_unbatched=False)
            return x
    if required:
        raise KeyError(
            f"the batch needs the {what} images under one of the keys {list(keys)}; got keys "
            f"{sorted(batch)}."
        )
    return None


class ContrastiveRestoration(nn.Module):
    """Base of the restoration compositions: what :class:`~pyisp_contrast.models.Dehazer` and
    :class:`~pyisp_contrast.models.Derainer` build and compute the same way.

    It holds the estimator (built by :func:`build_estimator`), the bag of degradations that
    synthesises training inputs and re-degrades the output into negatives, the contrastive loss and
    the three weights it checks; :meth:`reference_terms` adds the L1 and contrastive terms of one
    batch. A subclass gives its defaults (``estimator_cls``, ``default_bag``,
    ``default_contrastive``), :meth:`prepare_batch` (the degraded images first) and ``enhance``.
    """

    def __init__(
        self,
        estimator: Any,
        estimator_cls: type[nn.Module],
        bag: nn.Module | None,
        default_bag: Callable[[], nn.Module],
        contrastive: nn.Module | None,
        default_contrastive: Callable[[], nn.Module],
        *,
        contrastive_weight: float,
        num_negatives: int,
        l1_weight: float,
    ) -> None:
        super().__init__()
        self.estimator = build_estimator(estimator, estimator_cls)
        check_callable(contrastive, "contrastive", CONTRASTIVE_USAGE, optional=True)
        self.bag = default_bag() if bag is None else bag
        self.contrastive = default_contrastive() if contrastive is None else contrastive
        self.contrastive_weight = check_float(contrastive_weight, "contrastive_weight", 0.0)
        self.num_negatives = check_int(num_negatives, "num_negatives", 1)
        self.l1_weight = check_float(l1_weight, "l1_weight", 0.0)

    def reference_terms(
        self, out: Tensor, degraded: Tensor, clear: Tensor, terms: dict[str, Tensor]
    ) -> Tensor:
        """Add the L1 and contrastive terms of ``out`` against ``clear`` to ``terms`` (those whose
        weight is above 0); return their weighted sum.

        The negatives are the degraded input and :attr:`num_negatives` copies of the output
        re-degraded by :attr:`bag`. They are constants (as in AECR-Net): the output is pushed away
        from them, they are not moved toward it.
        """
        total = out.new_zeros(())
        if self.l1_weight > 0:
            terms["l1"] = F.l1_loss(out, clear)
            total = total + self.l1_weight * terms["l1"]
        if self.contrastive_weight > 0:
            with torch.no_grad():
                again, _ = self.bag.sample(out.detach().clamp(0, 1), self.num_negatives)
            negatives = torch.cat([degraded.unsqueeze(1), again], dim=1)
            terms["contrastive"] = self.contrastive(out, clear.unsqueeze(1), negatives)
            total = total + self.contrastive_weight * terms["contrastive"]
        return total

    def prepare_batch(self, batch: dict) -> tuple[Tensor, ...]:
        """The degraded images of ``batch`` first, then what the subclass's losses need."""
        raise NotImplementedError

    def enhance(self, images: Tensor) -> Tensor:
        """Restore for inference (the subclass's)."""
        raise NotImplementedError

    @torch.no_grad()
    def validation_images(self, batch: dict) -> Tensor:
        """The restored images of a batch (for the trainer's validation grids)."""
        return self.enhance(self.prepare_batch(batch)[0])
