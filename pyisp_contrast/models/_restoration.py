"""Parts the restoration compositions share (:class:`~pyisp_contrast.models.Dehazer`,
:class:`~pyisp_contrast.models.Derainer`): building their estimator, reading images from a
training batch, and inference with the training flag restored."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from pyisp_contrast.core.checks import check_image

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
