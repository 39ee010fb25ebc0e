"""VGG16 feature embedder built here, loading torchvision's published weight file.

torchvision does not import beside this project's torch, so the convolutional stack is rebuilt with
the same module indices (``features.0`` ... ``features.30``) and torchvision's state dict
``vgg16-397923af.pth`` loads into it unchanged. Nothing is ever downloaded.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from pyisp_contrast.core.checks import check_generator, check_image
from pyisp_contrast.core.files import load_weights

__all__ = ["VGG16_LAYERS", "VGG16Features", "vgg16_weights_path"]

#: File name and address of torchvision's ImageNet VGG16 weights (the state dict this loads).
VGG16_FILENAME = "vgg16-397923af.pth"
VGG16_URL = f"https://download.pytorch.org/models/{VGG16_FILENAME}"

# VGG16 "D" configuration: channel counts per conv, "M" for a 2x2 max-pool.
_CFG: tuple[int | str, ...] = (
    64,
    64,
    "M",
    128,
    128,
    "M",
    256,
    256,
    256,
    "M",
    512,
    512,
    512,
    "M",
    512,
    512,
    512,
    "M",
)


def _layer_names() -> tuple[str, ...]:
    names: list[str] = []
    block, conv = 1, 1
    for v in _CFG:
        if v == "M":
            names.append(f"pool{block}")
            block, conv = block + 1, 1
        else:
            names += [f"conv{block}_{conv}", f"relu{block}_{conv}"]
            conv += 1
    return tuple(names)


#: Names of VGG16's feature layers in order; the position is torchvision's ``features`` index.
VGG16_LAYERS: tuple[str, ...] = _layer_names()

# ImageNet statistics that torchvision's weights expect after scaling to [0, 1].
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def vgg16_weights_path() -> Path:
    """Where ``weights="imagenet"`` looks: ``<torch.hub.get_dir()>/checkpoints/vgg16-397923af.pth``.

    ``torch.hub.get_dir()`` follows ``$TORCH_HOME`` (default ``~/.cache/torch``) + ``/hub``.

    Example:
        >>> vgg16_weights_path().name
        'vgg16-397923af.pth'
    """
    return Path(torch.hub.get_dir()) / "checkpoints" / VGG16_FILENAME


def _missing_weights_message(path: Path) -> str:
    return (
        f"VGG16 ImageNet weights not found at {path}. Nothing is downloaded by this library: on a machine "
        f"with internet, fetch torchvision's file {VGG16_URL} (e.g. `curl -L -o {VGG16_FILENAME} {VGG16_URL}`) "
        f"and copy it to {path} (the torch hub cache; set $TORCH_HOME to move it), or pass its location as "
        "`weights=<path>`. Use `weights=None` for random weights, or `ExposureEncoder.pretrained()` for "
        "an embedder whose weights ship with the package."
    )


class VGG16Features(nn.Module):
    """Frozen VGG16 convolutional features at named layers (ReLU outputs by default).

    The layers are built here with torchvision's module indices, so torchvision's ImageNet state dict
    (``vgg16-397923af.pth``, keys ``features.N.weight`` / ``features.N.bias``; ``classifier.*`` is
    ignored) loads unchanged. Only the layers up to the deepest requested one are built and run. The
    module is frozen: parameters without grad, always in eval mode (``train()`` keeps it in eval).
    Gradients still flow to the *input*, which is what perceptual and contrastive losses need.

    Args:
        layers: layer names from :data:`VGG16_LAYERS` (e.g. ``"relu1_2"``, ``"relu3_3"``,
            ``"relu4_3"``), returned in the order given. PIE's contrastive term uses
            ``relu1_2, relu2_2, relu3_3``; its feature-preservation term ``relu4_3``.
        weights: ``"imagenet"`` to load ``vgg16_weights_path()`` (the torch hub cache), a path to a
            state dict in torchvision's layout, or ``None`` for random weights (He-normal, as
            torchvision initialises VGG; for tests and benchmarks).
        normalize_input: subtract ImageNet mean and divide by std, for inputs in ``[0, 1]``.
        generator: random generator for ``weights=None`` (reproducible random features).

    Shape:
        - Input: ``(B, 3, H, W)`` or ``(B, 1, H, W)`` (grey is repeated to RGB), values in ``[0, 1]``.
        - Output: list of ``(B, C_l, H_l, W_l)``, one per requested layer.

    Raises:
        FileNotFoundError: the weight file is absent; the message says where to put it and where to get it.
        ValueError: unknown layer names; a state dict missing keys or with the wrong shapes.

    Example:
        >>> vgg = VGG16Features(layers=("relu1_2", "relu2_2"), weights=None)
        >>> [tuple(f.shape) for f in vgg(torch.rand(1, 3, 32, 32))]
        [(1, 64, 32, 32), (1, 128, 16, 16)]
    """

    def __init__(
        self,
        layers: Sequence[str] = ("relu1_2", "relu2_2", "relu3_3"),
        weights: str | os.PathLike | None = "imagenet",
        normalize_input: bool = True,
        *,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        if isinstance(layers, str):
            layers = (layers,)
        layers = tuple(layers)
        if not layers:
            raise ValueError("`layers` is empty; name at least one VGG16 layer, e.g. ('relu1_2',).")
        unknown = [name for name in layers if name not in VGG16_LAYERS]
        if unknown:
            raise ValueError(f"unknown VGG16 layer(s) {unknown}; choose from {list(VGG16_LAYERS)}.")
        self.layers = layers
        self._indices = [VGG16_LAYERS.index(name) for name in layers]
        depth = max(self._indices) + 1

        modules: list[nn.Module] = []
        in_ch = 3
        for v in _CFG:
            if len(modules) >= depth:
                break
            if v == "M":
                modules.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                modules.append(nn.Conv2d(in_ch, int(v), kernel_size=3, padding=1))
                # Not in-place: a requested conv output must not be overwritten by its ReLU.
                modules.append(nn.ReLU(inplace=False))
                in_ch = int(v)
        self.features = nn.Sequential(*modules[:depth])
        self.normalize_input = bool(normalize_input)
        self.register_buffer(
            "mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False
        )
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

        if weights is None:
            self._random_init(check_generator(generator, torch.device("cpu")))
        else:
            if isinstance(weights, str) and weights == "imagenet":
                path = vgg16_weights_path()
            elif isinstance(weights, str | os.PathLike):
                path = Path(weights)
            else:
                raise TypeError(
                    f"`weights` must be 'imagenet', a path or None, got {type(weights).__name__}."
                )
            self.load_torchvision_weights(path)
        self.requires_grad_(False)
        super().train(False)

    def _random_init(self, generator: torch.Generator | None) -> None:
        for m in self.features:
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(
                    m.weight, mode="fan_out", nonlinearity="relu", generator=generator
                )
                nn.init.zeros_(m.bias)

    def load_torchvision_weights(self, path: str | os.PathLike) -> None:
        """Load torchvision's VGG16 state dict (or any dict with ``features.N.*`` keys) from ``path``."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(_missing_weights_message(path))
        remedy = f"Download torchvision's file again: {VGG16_URL}."
        state = load_weights(path, f"VGG16 weights file {str(path)!r}", remedy)
        if not isinstance(state, dict):
            raise ValueError(f"{path} does not hold a state dict (got {type(state).__name__}).")
        own = self.state_dict()
        wanted = {k: v for k, v in state.items() if k in own}
        missing = sorted(set(own) - set(wanted))
        if missing:
            raise ValueError(
                f"{path} lacks VGG16 keys {missing[:4]}{' ...' if len(missing) > 4 else ''}; "
                "expected torchvision's vgg16 state dict layout (features.N.weight / features.N.bias)."
            )
        for k, v in wanted.items():
            if v.shape != own[k].shape:
                raise ValueError(
                    f"{path}: `{k}` has shape {tuple(v.shape)}, VGG16 needs {tuple(own[k].shape)}."
                )
        self.load_state_dict(wanted, strict=True)

    def train(self, mode: bool = True) -> VGG16Features:
        # Frozen: a parent's .train() (e.g. a whole model with its losses) must not change it, and
        # warning on that would be noise in every training loop.
        return super().train(False)

    def forward(self, images: Tensor) -> list[Tensor]:
        x, _ = check_image(
            images, "images", channels=(1, 3), allow_unbatched=False, check_range=False
        )
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if self.normalize_input:
            x = (x - self.mean.to(x)) / self.std.to(x)
        channels_last = x.device.type == "cpu"
        if channels_last:
            # The CPU's convolutions (oneDNN) run about a quarter faster on channels-last input
            # (benchmarks/bench_contrastive.py); the features are returned in the usual layout.
            x = x.contiguous(memory_format=torch.channels_last)
        wanted = dict.fromkeys(self._indices)
        for i, module in enumerate(self.features):
            x = module(x)
            if i in wanted:
                wanted[i] = x
        if channels_last:
            return [wanted[i].contiguous() for i in self._indices]
        return [wanted[i] for i in self._indices]
