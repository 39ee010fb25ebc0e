"""ExposureEncoder: a small CNN whose features separate under-, well- and over-exposed content.

Its weights ship inside the package (``weights/exposure_encoder.pt``, about 0.3 MB), so contrastive
training such as PIE's runs with no download. They were trained with this library's own contrastive
API by ``scripts/train_exposure_encoder.py``; ``weights/exposure_encoder.md`` is the model card.
"""

from __future__ import annotations

import importlib.resources
import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from pyisp_contrast.core.checks import check_generator, check_image, check_plain_metadata
from pyisp_contrast.core.files import WeightsError, load_weights, written_atomically

__all__ = ["ExposureEncoder"]

_WEIGHTS_FILE = "exposure_encoder.pt"


class ExposureEncoder(nn.Module):
    """Three-stage CNN embedder (1/2, 1/4 and 1/8 resolution) trained to encode exposure.

    Stage 1 is one stride-2 3x3 conv; stages 2 and 3 are a stride-2 3x3 conv and a 3x3 conv, all
    with ReLU. Exposure is a coarse property, so starting at half resolution costs little accuracy
    and makes the encoder about 60 times cheaper than VGG16 to ``relu3_3``.
    The input is only shifted to ``[-1, 1]`` (no per-image normalisation), so absolute brightness
    reaches the features. Use :meth:`pretrained` for the shipped weights; the constructor gives
    random ones. Pair it with :class:`GramMSEDistance` (as in training) to compare images of
    different content.

    Args:
        channels: output channels of the three stages.
        generator: random generator for the initial weights.

    Shape:
        - Input: ``(B, 3, H, W)`` or ``(B, 1, H, W)`` (grey is repeated), values in ``[0, 1]``.
        - Output: list of three maps ``(B, c_1, H/2, W/2)``, ``(B, c_2, H/4, W/4)``,
          ``(B, c_3, H/8, W/8)`` (sizes rounded up).

    Example:
        >>> enc = ExposureEncoder.pretrained()
        >>> [tuple(f.shape) for f in enc(torch.rand(1, 3, 16, 16))]
        [(1, 16, 8, 8), (1, 32, 4, 4), (1, 64, 2, 2)]
        >>> sum(p.numel() for p in enc.parameters()) < 100_000
        True
    """

    def __init__(
        self, channels: Sequence[int] = (16, 32, 64), *, generator: torch.Generator | None = None
    ):
        super().__init__()
        channels = tuple(int(c) for c in channels)
        if len(channels) != 3 or min(channels) < 1:
            raise ValueError(f"`channels` must be three positive ints, got {channels}.")
        self.channels = channels
        c1, c2, c3 = channels

        def conv(i: int, o: int, stride: int = 1) -> nn.Conv2d:
            return nn.Conv2d(i, o, 3, stride=stride, padding=1)

        self.stage1 = nn.Sequential(conv(3, c1, 2), nn.ReLU())
        self.stage2 = nn.Sequential(conv(c1, c2, 2), nn.ReLU(), conv(c2, c2), nn.ReLU())
        self.stage3 = nn.Sequential(conv(c2, c3, 2), nn.ReLU(), conv(c3, c3), nn.ReLU())
        g = check_generator(generator, torch.device("cpu"))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu", generator=g)
                nn.init.zeros_(m.bias)

    @classmethod
    def pretrained(
        cls, path: str | os.PathLike | None = None, *, frozen: bool = True
    ) -> ExposureEncoder:
        """The encoder with the weights shipped in the package (or from ``path``).

        Args:
            path: a file written by :meth:`save`; ``None`` for the packaged weights.
            frozen: eval mode and parameters without grad (gradients still reach the input).
        """
        if path is None:
            resource = (
                importlib.resources.files("pyisp_contrast.contrastive") / "weights" / _WEIGHTS_FILE
            )
            if not resource.is_file():
                raise FileNotFoundError(
                    f"the packaged ExposureEncoder weights ({resource}) are missing; reinstall the package "
                    "or train them with scripts/train_exposure_encoder.py."
                )
            label, source = f"packaged ExposureEncoder weights ({resource})", resource
        else:
            source = Path(path)
            if not source.is_file():
                raise FileNotFoundError(f"no ExposureEncoder weights at {source}.")
            label = f"ExposureEncoder weights file {str(source)!r}"
        remedy = "Write it again with ExposureEncoder.save, or pass path=None for the packaged one."
        blob = load_weights(source, label, remedy)
        if not isinstance(blob, dict) or "state_dict" not in blob:
            raise WeightsError(
                f"the {label} is not an ExposureEncoder weight file (expected a dict with "
                "'state_dict', as ExposureEncoder.save writes)."
            )
        model = cls(channels=tuple(blob.get("channels", (16, 32, 64))))
        try:
            model.load_state_dict(blob["state_dict"])
        except RuntimeError as err:
            raise WeightsError(
                f"the {label} does not fit ExposureEncoder(channels={model.channels}): "
                f"{str(err).splitlines()[0][:300]}"
            ) from err
        if frozen:
            model.requires_grad_(False)
            model.eval()
        return model

    def save(self, path: str | os.PathLike, **metadata: object) -> None:
        """Write the weights (and plain ``metadata``) in the format :meth:`pretrained` reads."""
        check_plain_metadata(metadata)
        state = {k: v.detach().cpu().clone() for k, v in self.state_dict().items()}
        with written_atomically(path) as tmp:
            torch.save({"channels": list(self.channels), "state_dict": state, **metadata}, tmp)

    def forward(self, images: Tensor) -> list[Tensor]:
        x, _ = check_image(
            images, "images", channels=(1, 3), allow_unbatched=False, check_range=False
        )
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        f1 = self.stage1(2 * x - 1)
        f2 = self.stage2(f1)
        f3 = self.stage3(f2)
        return [f1, f2, f3]
