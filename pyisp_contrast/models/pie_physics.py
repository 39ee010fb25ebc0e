"""Physics-supervised PIE: PIE's objective plus full-reference terms on synthesised pairs.

PIE (Liang et al., IJCV 2024, arXiv 2404.04586) learns from unpaired data. The library can also
*make* pairs: :func:`~pyisp_contrast.isp.degrade.low_light` turns any well-exposed photo into a
physically plausible dark one (exposure in linear light, Poisson-Gaussian noise, white-balance error,
a camera tone curve, JPEG), so every normal-light photo gives a ``(dark, clean)`` pair for free.
:class:`PhysicsPIE` adds two full-reference terms on such pairs to PIE's terms:

==================  ======  ===============================================================
term                weight  part
==================  ======  ===============================================================
``fidelity``        1       Charbonnier distance to the clean image (a smooth L1)
``ssim``            1       ``(1 - SSIM) / 2`` to the clean image (kornia, 11 px window)
``contrastive``     0.5     PIE's InfoNCE against Bag-of-Curves negatives
``regional``        0.5     PIE's regional brightness consistency on SLIC superpixels
``smoothness``      1       total variation of the network's maps (keeps lightness order)
others              0       PIE's intensity hinge, preservation, colour and exposure terms
==================  ======  ===============================================================

The supervised terms teach how far to lift and how much to denoise; the contrastive term keeps
outputs away from badly exposed versions of real photos, and the regional term keeps each
superpixel's brightness even, as in PIE.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import kornia
import torch
from torch import Tensor
from torch.profiler import record_function

from pyisp_contrast.core.checks import check_generator, check_image
from pyisp_contrast.models.pie import DEFAULT_WEIGHTS, PIE

__all__ = ["PHYSICS_WEIGHTS", "PhysicsPIE", "charbonnier"]

#: Loss weights of :class:`PhysicsPIE`.
PHYSICS_WEIGHTS: dict[str, float] = {
    **{k: 0.0 for k in DEFAULT_WEIGHTS},
    "fidelity": 1.0,
    "ssim": 1.0,
    "contrastive": 0.5,
    "regional": 0.5,
    "smoothness": 1.0,
}


def charbonnier(images: Tensor, target: Tensor, eps: float = 1e-3) -> Tensor:
    r"""Mean Charbonnier distance :math:`\sqrt{(x - y)^2 + \epsilon^2} - \epsilon` (a smooth L1).

    Example:
        >>> round(float(charbonnier(torch.zeros(1, 3, 2, 2), torch.ones(1, 3, 2, 2))), 4)
        0.999
    """
    return (torch.sqrt((images - target) ** 2 + eps * eps) - eps).mean()


class PhysicsPIE(PIE):
    """PIE's objective plus full-reference terms on physically synthesised pairs.

    Takes every argument of :class:`~pyisp_contrast.models.pie.PIE`; the default network is
    :class:`~pyisp_contrast.models.gain_net.GuidedGainEnhancer` and the default weights are
    :data:`PHYSICS_WEIGHTS`. Train it on folders of normal-light photos with synthesised low-light
    inputs (the Trainer's default when no ``low`` folder is given): each batch carries the clean
    crop the dark input was made from.

    Example:
        >>> from pyisp_contrast.contrastive import PixelStatistics
        >>> model = PhysicsPIE(embedder=PixelStatistics(scales=(2, 4)), n_segments=4,
        ...                    network_kwargs={"channels": 4})
        >>> clean = torch.rand(2, 3, 32, 32)
        >>> terms = model.loss(clean * 0.1, clean, torch.rand(2, 3, 32, 32),
        ...                    generator=torch.Generator().manual_seed(0))
        >>> sorted(terms)
        ['contrastive', 'fidelity', 'regional', 'smoothness', 'ssim', 'total']
        >>> terms["total"].backward()
    """

    default_weights: ClassVar[Mapping[str, float]] = PHYSICS_WEIGHTS

    def __init__(self, network: Any = "guided-gain", **kwargs: Any) -> None:
        super().__init__(network, **kwargs)

    def loss(  # type: ignore[override]
        self,
        low: Tensor,
        clean: Tensor,
        positives: Tensor,
        generator: torch.Generator | None = None,
    ) -> dict[str, Tensor]:
        """The weighted terms and their sum.

        Args:
            low: synthesised low-light inputs ``(B, 3, H, W)`` in [0, 1].
            clean: the images they were made from, same shape.
            positives: unrelated well-exposed images ``(B, 3, H, W)`` or ``(B, P, 3, H, W)``.
            generator: randomness of the negatives.

        Returns:
            ``{name: weight * term}`` for every term with a non-zero weight, plus ``"total"``.
        """
        x, _ = check_image(low, "low", channels=(3,), allow_unbatched=False)
        y, _ = check_image(clean, "clean", channels=(3,), allow_unbatched=False)
        if y.shape != x.shape:
            raise ValueError(
                f"`clean` {tuple(y.shape)} must have the shape of `low` {tuple(x.shape)}."
            )
        pos = self._positives(positives, x)
        check_generator(generator, x.device)
        with record_function("pie.network"):
            enhanced, curves = self(x)
        w = self.weights
        terms: dict[str, Tensor] = {}
        if w["fidelity"] > 0:
            terms["fidelity"] = w["fidelity"] * charbonnier(enhanced, y)
        if w["ssim"] > 0:
            terms["ssim"] = w["ssim"] * kornia.losses.ssim_loss(enhanced, y, window_size=11)
        terms.update(self.objective_terms(x, pos, enhanced, curves, generator))
        return self._with_total(terms)

    def training_step(self, batch: Mapping[str, Any]) -> dict[str, Tensor]:
        """One step's losses: ``batch["low"]``, ``batch["clean"]`` and ``batch["normal"]``."""
        if "clean" not in batch:
            raise ValueError(
                "PhysicsPIE trains on synthesised pairs: the batch has no 'clean' images. Train "
                "without a `low` folder so the low-light inputs are synthesised from `normal`."
            )
        return self.loss(batch["low"], batch["clean"], batch["normal"])
