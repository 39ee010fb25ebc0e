"""Dehazing composition: a small physics-based network trained with contrastive regularisation.

The network does not paint a clear image; it estimates the two unknowns of the atmospheric scattering
model ``I = J * t + A * (1 - t)`` (Koschmieder; McCartney 1976) -- a transmission map ``t`` and a
global airlight ``A`` -- and the clear image follows by inverting the model,
``J = (I - A * (1 - t)) / t`` (:func:`pyisp_contrast.isp.degrade.inverse_scatter`), with ``t`` kept
above a safe lower bound so dense haze is not amplified into noise.

Training (:meth:`Dehazer.training_step`) combines

- an L1 reconstruction term to the clear image when pairs exist, and an L1 term on the airlight
  when it is known (synthetic pairs);
- AECR-Net's contrastive regularisation (Wu et al., *Contrastive learning for compact single image
  dehazing*, CVPR 2021, arXiv:2104.09367) through :class:`~pyisp_contrast.contrastive.RatioContrastiveLoss`:
  anchor = the output, positive = the clear image, negatives = the hazy input *and* the output
  re-hazed by a :class:`~pyisp_contrast.isp.bags.BagOfHaze` with other transmissions and airlights --
  physically valid hazy versions of the very content the network produced;
- optionally, a region-aware term: the transmission depends on scene depth, which is nearly constant
  inside a superpixel, so its spread inside each superpixel of the input is penalised
  (:func:`pyisp_contrast.segmentation.region_stats`).

The input of the network is the RGB image and its dark channel (He et al., CVPR 2009,
:func:`pyisp_contrast.classical.dark_channel`), the classical haze cue, so the learned model starts
from the prior the baseline relies on and learns where it fails.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pyisp_contrast.classical.dark_channel import dark_channel
from pyisp_contrast.core.checks import (
    check_float,
    check_image,
    check_int,
    keep_input_dtype,
    unbatch,
    value_checks,
)
from pyisp_contrast.models._restoration import (
    ContrastiveRestoration,
    batch_image,
    enhance_eval,
)

__all__ = ["Dehazer", "HazeEstimate", "HazeEstimator"]

#: Dark channel patch of the network's input cue: small, so it stays local at crop sizes of 128 px.
DARK_PATCH = 7


class HazeEstimate(NamedTuple):
    """What :class:`HazeEstimator` predicts.

    Attributes:
        transmission: ``(B, 1, H, W)`` in ``[t_min, 1]``.
        airlight: ``(B, 3)`` in ``(0, 1)``.
    """

    transmission: Tensor
    airlight: Tensor


class HazeEstimator(nn.Module):
    """A small encoder-decoder that predicts transmission and airlight from a hazy image.

    Input: RGB plus its dark channel (4 channels). Encoder: a full-resolution 3x3 conv, then two
    stride-2 stages (1/2 and 1/4 resolution, the second with a dilated conv for a receptive field of
    about 40 px). Decoder: bilinear upsampling with skip concatenations back to full resolution; the
    transmission is ``t_min + (1 - t_min) * sigmoid(.)`` so it never reaches the singular ``t = 0``.
    The airlight head pools the deepest features globally (mean and max: the airlight is the colour of
    the haziest, usually brightest, region) and maps them to ``(B, 3)`` through a sigmoid.

    About 40k parameters with the defaults; cost grows linearly with the pixel count.

    Args:
        width: channels of the full-resolution stage (the others use ``2 * width``).
        t_min: lower bound of the predicted transmission, in (0, 1).

    Example:
        >>> net = HazeEstimator()
        >>> est = net(torch.rand(2, 3, 30, 34))
        >>> est.transmission.shape, est.airlight.shape
        (torch.Size([2, 1, 30, 34]), torch.Size([2, 3]))
        >>> sum(p.numel() for p in net.parameters()) < 60_000
        True
    """

    def __init__(self, width: int = 16, t_min: float = 0.05) -> None:
        super().__init__()
        self.width = check_int(width, "width", 1)
        self.t_min = check_float(t_min, "t_min", 0.0, 1.0, low_open=True, high_open=True)
        c, c2 = width, 2 * width

        def conv(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Conv2d:
            return nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation)

        self.stem = conv(4, c)
        self.down1 = nn.ModuleList([conv(c, c2, 2), conv(c2, c2)])
        self.down2 = nn.ModuleList([conv(c2, c2, 2), conv(c2, c2, dilation=2)])
        self.up1 = conv(2 * c2, c)
        self.up0 = conv(2 * c, c)
        self.to_t = nn.Conv2d(c, 1, 3, padding=1)
        self.to_a = nn.Linear(2 * c2, 3)
        # Start near "light haze, bright grey airlight" so early steps neither explode nor collapse.
        nn.init.zeros_(self.to_t.weight)
        nn.init.constant_(self.to_t.bias, 1.0)
        nn.init.zeros_(self.to_a.weight)
        nn.init.constant_(self.to_a.bias, 1.5)

    @property
    def config(self) -> dict:
        """Constructor arguments, for :func:`pyisp_contrast.models.save_pretrained`."""
        return {"width": self.width, "t_min": self.t_min}

    def features_input(self, images: Tensor) -> Tensor:
        """The network input: RGB and the dark channel, shifted to [-1, 1]."""
        with value_checks(False):  # shape and dtype only: the values are the caller's to check
            dark = dark_channel(images, DARK_PATCH)
        return torch.cat([images, dark], dim=1) * 2.0 - 1.0

    @keep_input_dtype
    def forward(self, images: Tensor) -> HazeEstimate:
        """Estimate ``(t, A)`` for hazy ``images`` ``(B, 3, H, W)`` in [0, 1] (any float dtype:
        computed in the network's, returned in the input's)."""
        x, _ = check_image(images, "images", channels=(3,), allow_unbatched=False)
        f0 = F.relu(self.stem(self.features_input(x)))
        f1 = f0
        for layer in self.down1:
            f1 = F.relu(layer(f1))
        f2 = f1
        for layer in self.down2:
            f2 = F.relu(layer(f2))
        pooled = torch.cat([f2.mean(dim=(-2, -1)), f2.amax(dim=(-2, -1))], dim=1)
        airlight = torch.sigmoid(self.to_a(pooled))
        u1 = F.interpolate(f2, size=f1.shape[-2:], mode="bilinear", align_corners=False)
        u1 = F.relu(self.up1(torch.cat([u1, f1], dim=1)))
        u0 = F.interpolate(u1, size=f0.shape[-2:], mode="bilinear", align_corners=False)
        u0 = F.relu(self.up0(torch.cat([u0, f0], dim=1)))
        t = self.t_min + (1.0 - self.t_min) * torch.sigmoid(self.to_t(u0))
        return HazeEstimate(t, airlight)


class Dehazer(ContrastiveRestoration):
    """The dehazing composition: :class:`HazeEstimator`, the scattering model and its losses.

    ``forward`` / :meth:`enhance` dehaze; :meth:`training_step` gives the losses for
    :class:`~pyisp_contrast.train.Trainer` (or any loop).

    Batches are dicts. With pairs: ``{"hazy": I, "clear": J}`` (generic names ``"input"`` /
    ``"target"`` are accepted too). With clear images only (``{"clear": J}`` or ``{"normal": J}``,
    what :class:`~pyisp_contrast.train.UnpairedImageFolders` yields), the hazy inputs are synthesised
    in the step from the clear ones with :attr:`bag`'s haze model, so any folder of clear images
    trains the model.

    Args:
        estimator: the network, or a dict of :class:`HazeEstimator` arguments (default: a new
            :class:`HazeEstimator`).
        bag: the :class:`~pyisp_contrast.isp.bags.BagOfHaze` that re-hazes the output into negatives
            and synthesises training inputs (default: ``BagOfHaze()``).
        contrastive: a contrastive loss called as ``loss(anchor, positives, negatives)`` (default:
            :class:`~pyisp_contrast.contrastive.RatioContrastiveLoss` on
            :class:`~pyisp_contrast.contrastive.PixelStatistics` at scales 1, 4 and 16 with
            :class:`~pyisp_contrast.contrastive.L1Distance`: local brightness, contrast and colour,
            exactly what haze changes). Pass one on :class:`VGG16Features` for AECR-Net's setting.
        contrastive_weight: weight of the contrastive term (AECR-Net: 0.1).
        num_negatives: re-hazed copies of the output per image (besides the hazy input).
        l1_weight: weight of the L1 reconstruction term (used when the batch has clear images).
        airlight_weight: weight of the L1 between estimated and true airlight, used when the
            airlight is known (synthetic inputs, or ``batch["airlight"]``).
        region_weight: weight of the superpixel transmission-consistency term (0 switches it off;
            it then needs ``batch["labels"]`` ``(B, H, W)`` or :func:`pyisp_contrast.segmentation.slic`).
        num_segments: superpixels per image when the step computes them itself.
        t_min: lower bound of ``t`` in the inversion (the estimator's own bound is lower still).

    Example:
        >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
        <torch._C.Generator object at ...>
        >>> model = Dehazer()
        >>> clear = torch.rand(2, 3, 32, 32)
        >>> losses = model.training_step({"clear": clear})
        >>> sorted(losses)
        ['airlight', 'contrastive', 'l1', 'total']
        >>> model.enhance(torch.rand(3, 40, 40)).shape
        torch.Size([3, 40, 40])
    """

    def __init__(
        self,
        estimator: HazeEstimator | Mapping[str, Any] | None = None,
        *,
        bag: nn.Module | None = None,
        contrastive: nn.Module | None = None,
        contrastive_weight: float = 0.1,
        num_negatives: int = 2,
        l1_weight: float = 1.0,
        airlight_weight: float = 1.0,
        region_weight: float = 0.0,
        num_segments: int = 64,
        t_min: float = 0.1,
    ) -> None:
        from pyisp_contrast.isp.bags import BagOfHaze

        super().__init__(
            estimator, HazeEstimator, bag, BagOfHaze, contrastive, _default_contrastive,
            contrastive_weight=contrastive_weight, num_negatives=num_negatives,
            l1_weight=l1_weight,
        )  # fmt: skip
        self.airlight_weight = check_float(airlight_weight, "airlight_weight", 0.0)
        self.region_weight = check_float(region_weight, "region_weight", 0.0)
        self.num_segments = check_int(num_segments, "num_segments", 1)
        self.t_min = check_float(t_min, "t_min", 0.0, 1.0, low_open=True, high_open=True)

    @property
    def config(self) -> dict:
        """Constructor arguments that rebuild the inference part: ``Dehazer(**config)``.

        Used by :func:`pyisp_contrast.models.save_pretrained` / ``load_pretrained``.
        """
        return {"estimator": dict(getattr(self.estimator, "config", {})), "t_min": self.t_min}

    # -- inference -----------------------------------------------------------------------------
    @keep_input_dtype
    def estimate(self, images: Tensor) -> HazeEstimate:
        """Transmission and airlight of ``images`` ``(B, 3, H, W)`` (differentiable; in the input's
        dtype)."""
        return self.estimator(images)

    def restore(self, images: Tensor, estimate: HazeEstimate, *, clamp: bool = True) -> Tensor:
        """Invert the scattering model with an estimate: ``J = (I - A) / max(t, t_min) + A``.

        Args:
            images: hazy ``(B, 3, H, W)``.
            estimate: ``(t, A)`` for them.
            clamp: clip to [0, 1]. The losses use the unclipped result: clipping has no
                gradient, and a network whose output is clipped everywhere would stop learning.
        """
        from pyisp_contrast.isp.degrade import inverse_scatter

        t, a = estimate
        j = inverse_scatter(images, t, a, t_min=self.t_min)
        return j.clamp(0.0, 1.0) if clamp else j

    @keep_input_dtype
    def forward(self, images: Tensor) -> Tensor:
        """Dehaze ``images`` ``(B, 3, H, W)`` or ``(3, H, W)`` in [0, 1]; differentiable.

        Any float dtype: computed in the model's, returned in the input's.
        """
        x, unbatched = check_image(images, "images", channels=(3,))
        return unbatch(self.restore(x, self.estimate(x)), unbatched)

    @keep_input_dtype
    def enhance(self, images: Tensor) -> Tensor:
        """Dehaze for inference: eval mode, no gradient. Same shapes and dtypes as :meth:`forward`."""
        return enhance_eval(self, images)

    # -- training ------------------------------------------------------------------------------
    def prepare_batch(self, batch: dict) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """``(hazy, clear, airlight)`` from a batch.

        When the batch has only clear images, the hazy ones are synthesised with :attr:`bag` and
        the airlight drawn for each is returned too (``(B, 3)``); otherwise it is
        ``batch["airlight"]`` when given, else ``None``.

        Raises:
            KeyError: the batch has neither hazy nor clear images.
            ValueError: hazy and clear images of different shapes; a malformed airlight.
        """
        hazy = batch_image(batch, ("hazy", "input"), "hazy", required=False)
        clear = batch_image(batch, ("clear", "target", "normal"), "clear", required=hazy is None)
        airlight = batch.get("airlight")
        if hazy is None:
            degraded, record = self.bag.sample(clear, 1)
            hazy = degraded[:, 0]
            airlight = record.params["airlight"][:, 0]
        elif clear is not None and clear.shape != hazy.shape:
            raise ValueError(
                f"hazy {tuple(hazy.shape)} and clear {tuple(clear.shape)} images must have one shape."
            )
        if airlight is not None and (
            not isinstance(airlight, Tensor) or airlight.shape != (hazy.shape[0], 3)
        ):
            raise ValueError(
                f"batch['airlight'] must be a ({hazy.shape[0]}, 3) tensor, got "
                f"{getattr(airlight, 'shape', type(airlight).__name__)}."
            )
        return hazy, clear, airlight

    def losses(
        self,
        hazy: Tensor,
        clear: Tensor | None,
        labels: Tensor | None = None,
        airlight: Tensor | None = None,
    ) -> dict:
        """The loss terms for one batch; ``"total"`` is their weighted sum.

        Without ``clear`` images the L1 and contrastive terms (which need positives) are skipped;
        the contrastive positive is then absent, so only the region term can train the model.
        With a known ``airlight`` ``(B, 3)`` (synthetic pairs), its L1 to the estimate is added.
        """
        est = self.estimate(hazy)
        out = self.restore(hazy, est, clamp=False)
        terms: dict[str, Tensor] = {}
        total = out.new_zeros(())
        if airlight is not None and self.airlight_weight > 0:
            # The airlight is the hardest unknown from a crop (a bright scene under darker haze
            # looks like light haze); the synthetic pairs know it, so say it directly.
            terms["airlight"] = F.l1_loss(est.airlight, airlight.to(est.airlight))
            total = total + self.airlight_weight * terms["airlight"]
        if clear is not None:
            total = total + self.reference_terms(out, hazy, clear, terms)
        if self.region_weight > 0:
            terms["region"] = self.region_term(hazy, est.transmission, labels)
            total = total + self.region_weight * terms["region"]
        terms["total"] = total
        return terms

    def region_term(self, hazy: Tensor, transmission: Tensor, labels: Tensor | None) -> Tensor:
        """Mean over superpixels of the transmission's variance inside each superpixel.

        Superpixels of the hazy input follow object boundaries, where depth (and so ``t``) may jump;
        inside them depth varies slowly, so ``t`` should too.
        """
        from pyisp_contrast.segmentation import region_stats

        if labels is None:
            from pyisp_contrast.segmentation import slic

            labels = slic(hazy.detach().clamp(0, 1), n_segments=self.num_segments).labels
        stats = region_stats(transmission, labels)
        present = (stats.count > 0).to(transmission.dtype)
        var = stats.var.mean(dim=-1)  # (B, K): one channel, t
        return (var * present).sum() / present.sum().clamp_min(1.0)

    def training_step(self, batch: dict) -> dict:
        """Loss terms for a batch (see the class notes for the keys); ``"total"`` is backpropagated."""
        if not isinstance(batch, dict):
            raise TypeError(f"`batch` must be a dict of tensors, got {type(batch).__name__}.")
        hazy, clear, airlight = self.prepare_batch(batch)
        if clear is None and self.region_weight == 0:
            raise KeyError(
                "without clean images (key 'clear', 'target' or 'normal') only the region term can "
                f"train the dehazer, and region_weight is 0; got keys {sorted(batch)}."
            )
        return self.losses(hazy, clear, batch.get("labels"), airlight)


def _default_contrastive() -> nn.Module:
    from pyisp_contrast.contrastive import L1Distance, PixelStatistics, RatioContrastiveLoss

    return RatioContrastiveLoss(PixelStatistics(scales=(1, 4, 16)), L1Distance())
