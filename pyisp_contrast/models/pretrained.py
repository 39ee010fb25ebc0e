"""Pretrained enhancers: the weights shipped with the package, and files of your own.

``load_pretrained("pie-physics")`` (the default) reads
``pyisp_contrast/models/weights/pie_physics.pt``, ``load_pretrained("pie-default")`` the previous
default ``pie_default.pt``; any other
name ``NAME`` maps to ``NAME`` with ``-`` replaced by ``_`` plus ``.pt`` in the same folder. A path
may point to

- a file written by :func:`save_pretrained` (``{"format", "arch", "config", "state_dict", ...}``),
- the authors' released Zero-DCE / PIE checkpoints (a bare state dict with ``e_conv1.weight`` ..
  ``e_conv7.bias``, possibly prefixed ``module.``) -> :class:`CurveEstimator`,
- a checkpoint of the library's Trainer around :class:`~pyisp_contrast.models.pie.PIE` (its
  ``"model"`` entry; the network's architecture is read from the weight shapes).

Checkpoints are untrusted input: every file is read with ``torch.load(..., weights_only=True)``,
which refuses to run pickled code.
"""

from __future__ import annotations

import importlib.resources
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from pyisp_contrast.core.checks import check_float, check_plain_metadata
from pyisp_contrast.core.devices import resolve_device
from pyisp_contrast.core.files import WeightsError, load_weights, written_atomically
from pyisp_contrast.models.registry import ARCHITECTURE_VIEW, get_model_info, list_models

__all__ = [
    "ARCHITECTURES",
    "WeightsError",
    "WeightsInfo",
    "available_weights",
    "load_pretrained",
    "save_pretrained",
    "scale_denoiser",
    "set_exposure",
    "weights_info",
]

#: Value of the ``"format"`` entry of files written by :func:`save_pretrained`.
FORMAT = "pyisp_contrast.curve_estimator/1"

#: Architectures a weight file may name: a read-only view of the model registry
#: (:mod:`pyisp_contrast.models.registry`), keyed by class name.
ARCHITECTURES = ARCHITECTURE_VIEW


def _weights_dir():
    return importlib.resources.files("pyisp_contrast.models") / "weights"


def available_weights() -> list[str]:
    """Names of the weights shipped in the package (e.g. ``["pie-default", "pie-physics"]``)."""
    folder = _weights_dir()
    if not folder.is_dir():
        return []
    return sorted(
        p.name[: -len(".pt")].replace("_", "-") for p in folder.iterdir() if p.name.endswith(".pt")
    )


def _looks_like_path(name: str) -> bool:
    return (
        os.sep in name
        or "/" in name
        or name.endswith((".pt", ".pth", ".ckpt"))
        or Path(name).exists()
    )


def _read(source: str | os.PathLike) -> tuple[Any, str]:
    """Load the object stored in ``source`` (a path or a shipped name) and a label for messages."""
    if isinstance(source, str) and not _looks_like_path(source):
        resource = _weights_dir() / (source.replace("-", "_") + ".pt")
        if not resource.is_file():
            shipped = available_weights()
            listing = ", ".join(shipped) if shipped else "none are installed"
            raise FileNotFoundError(
                f"no shipped weights named {source!r} (expected the file {resource}); shipped "
                f"weights: {listing}. Pass a path to a .pt/.pth file instead, or reinstall "
                "pyisp-contrast if the bundled file is missing."
            )
        label = f"shipped weights {source!r} ({resource})"
        file: Any = resource
    else:
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(
                f"weights file {str(path)!r} does not exist; give a path to a .pt/.pth checkpoint or "
                f"a shipped name ({', '.join(available_weights()) or 'none installed'})."
            )
        label = f"weights file {str(path)!r}"
        file = path
    remedy = "Re-download or re-export it (pyisp_contrast.models.save_pretrained)."
    return load_weights(file, label, remedy), label


def _strip(state: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


def _infer_from_state_dict(state: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Architecture and config of a bare state dict, from its keys and weight shapes."""
    w7 = state.get("e_conv7.weight")
    w1 = state.get("e_conv1.weight")
    if isinstance(w7, Tensor) and isinstance(w1, Tensor):
        channels, maps = w1.shape[0], w7.shape[0] // 3
        return "CurveEstimator", {"channels": int(channels), "iterations": int(maps)}
    p7 = state.get("e_conv7.pointwise.weight")
    p1 = state.get("e_conv1.pointwise.weight")
    if isinstance(p7, Tensor) and isinstance(p1, Tensor):
        # Working resolution and iteration count are not in the weights: the defaults are used.
        return "FastCurveEstimator", {"channels": int(p1.shape[0]), "n_maps": int(p7.shape[0] // 3)}
    m1 = state.get("maps.enc1.0.weight")
    if isinstance(m1, Tensor):
        # Working size, block and radius are not in the weights: the defaults are used.
        return "GuidedGainEnhancer", {"channels": int(m1.shape[0])}
    raise KeyError("no e_conv1/e_conv7 weights")


def _unwrap(obj: Any, label: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(arch, config, state_dict) of any supported checkpoint layout."""
    if not isinstance(obj, Mapping):
        raise WeightsError(f"the {label} holds a {type(obj).__name__}, not a checkpoint dict.")
    if "arch" in obj and "state_dict" in obj:
        fmt = obj.get("format")
        if fmt != FORMAT:
            raise WeightsError(
                f"the {label} has format tag {fmt!r}, but this version reads {FORMAT!r}; re-export "
                "it with pyisp_contrast.models.save_pretrained from the version that wrote it."
            )
        arch, config, state = obj["arch"], dict(obj.get("config") or {}), obj["state_dict"]
        if arch not in ARCHITECTURES:
            raise WeightsError(
                f"the {label} is for architecture {arch!r}; this version knows {sorted(ARCHITECTURES)}."
            )
        if not isinstance(state, Mapping):
            raise WeightsError(f"the {label} has a malformed 'state_dict'.")
        return arch, config, dict(state)
    if "model" in obj and isinstance(obj["model"], Mapping):  # the Trainer's checkpoint of PIE
        state = _strip(obj["model"], "network.")
        if not state:
            raise WeightsError(f"the {label} is a training checkpoint without a 'network.' model.")
    else:
        state = dict(obj)
        if any(k.startswith("module.") for k in state):
            state = _strip(state, "module.")
    try:
        arch, config = _infer_from_state_dict(state)
    except KeyError:
        keys = ", ".join(list(state)[:5])
        raise WeightsError(
            f"the {label} is not a curve-estimator checkpoint (expected keys e_conv1.weight .. "
            f"e_conv7.bias or a file from save_pretrained; found {keys} ...)."
        ) from None
    return arch, config, state


def load_pretrained(
    name_or_path: str | os.PathLike = "pie-physics", device: str | torch.device | None = None
) -> nn.Module:
    """Load a pretrained enhancer, ready for ``model.enhance(images)``.

    Args:
        name_or_path: a shipped name (see :func:`available_weights`; ``"pie-physics"`` is the
            bundled default, ``"pie-default"`` the previous one) or a path to a checkpoint
            (formats in the module notes).
        device: where to put the model (default CPU): ``"auto"``, ``"cpu"``, ``"cuda"``,
            ``"cuda:N"`` or ``"mps"`` (see :func:`~pyisp_contrast.core.resolve_device`).

    Returns:
        The network (:class:`GuidedGainEnhancer`, :class:`CurveEstimator` or
        :class:`FastCurveEstimator`) in eval mode.

    Raises:
        FileNotFoundError: no such file or shipped name; the message lists the shipped names.
        WeightsError: the file is corrupt or not a curve-estimator checkpoint.

    Example:
        >>> import tempfile, os
        >>> from pyisp_contrast.models import FastCurveEstimator
        >>> net = FastCurveEstimator()
        >>> path = os.path.join(tempfile.mkdtemp(), "mine.pt")
        >>> save_pretrained(net, path, trained_on="nothing")
        >>> type(load_pretrained(path)).__name__
        'FastCurveEstimator'
    """
    if not isinstance(name_or_path, str | os.PathLike):
        raise TypeError(
            f"`name_or_path` must be a name or a path, got {type(name_or_path).__name__}."
        )
    dev = None if device is None else resolve_device(device)  # a bad name fails before reading
    obj, label = _read(name_or_path)
    arch, config, state = _unwrap(obj, label)
    try:
        model = ARCHITECTURES[arch](**config)
    except (TypeError, ValueError) as err:
        raise WeightsError(f"the {label} has an invalid config for {arch}: {err}") from err
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise WeightsError(
            f"the {label} does not fit {arch}({config}): {str(err).splitlines()[0][:300]}"
        ) from err
    model.eval()
    if dev is not None:
        model.to(dev)
    return model


def _require_setting(model: nn.Module, attribute: str, option: str, what: str) -> None:
    """Refuse a model without ``attribute``: setting it there would silently do nothing."""
    if not hasattr(model, attribute):
        raise ValueError(
            f"`{option}` needs a model with {what}, such as pie-physics; a "
            f"{type(model).__name__} has none."
        )


def set_exposure(model: nn.Module, stops: float) -> None:
    """Set a low-light model's exposure correction (``model.exposure``), in stops.

    One place for the check that the model has the setting (the CLI's ``--exposure``, the
    exporters and the quality benchmark call it): setting the attribute on another model would
    silently do nothing.

    Raises:
        ValueError: the model has no exposure setting, or ``stops`` is out of its range.
        TypeError: ``stops`` is not a number.

    Example:
        >>> from pyisp_contrast.models import FastCurveEstimator, GuidedGainEnhancer
        >>> net = GuidedGainEnhancer(channels=4)
        >>> set_exposure(net, 0.5)
        >>> net.exposure
        0.5
        >>> set_exposure(FastCurveEstimator(), 1.0)
        Traceback (most recent call last):
        ...
        ValueError: `exposure` needs a model with an exposure setting, such as pie-physics; a FastCurveEstimator has none.
    """
    _require_setting(model, "exposure", "exposure", "an exposure setting")
    model.exposure = stops


#: :func:`scale_denoiser`'s range: a factor this far either way of the model's own strength.
DENOISE_FACTOR_LIMIT = 100.0


def scale_denoiser(model: nn.Module, factor: float) -> None:
    """Multiply a low-light model's denoiser strength (``model.denoise_scale``) by ``factor``.

    ``factor`` 1 is the model's own strength, 4 denoises four times as hard (for photos noisier
    than the model was calibrated on), 0.25 a quarter as hard (to keep more texture). The model's
    per-photo rule (``denoise_nsr``) still applies on top. One place for the check that the model
    has a denoiser (the CLI's ``--denoise`` calls it).

    Raises:
        ValueError: the model has no denoiser, or ``factor`` is outside [1/100, 100].
        TypeError: ``factor`` is not a number.

    Example:
        >>> from pyisp_contrast.models import FastCurveEstimator, GuidedGainEnhancer
        >>> net = GuidedGainEnhancer(channels=4, denoise_scale=0.5)
        >>> scale_denoiser(net, 4)
        >>> net.denoise_scale
        2.0
        >>> scale_denoiser(FastCurveEstimator(), 2.0)
        Traceback (most recent call last):
        ...
        ValueError: `denoise` needs a model with a denoiser, such as pie-physics; a FastCurveEstimator has none.
    """
    _require_setting(model, "denoise_scale", "denoise", "a denoiser")
    limit = DENOISE_FACTOR_LIMIT
    factor = check_float(factor, "denoise", 1 / limit, limit, hint="a factor on the model's own")
    model.denoise_scale = model.denoise_scale * factor


def save_pretrained(model: nn.Module, path: str | os.PathLike, **meta: Any) -> None:
    """Write ``model`` in the format :func:`load_pretrained` reads.

    Args:
        model: a :class:`CurveEstimator` or :class:`FastCurveEstimator`, or a
            :class:`~pyisp_contrast.models.pie.PIE` (its network is saved).
        path: output file (``.pt``).
        **meta: plain values (str, numbers, lists, dicts of those) stored beside the weights, e.g.
            training steps, data, scores; they must be loadable with ``weights_only=True``.
    """
    network = getattr(model, "network", model)
    arch = type(network).__name__
    if arch not in ARCHITECTURES or type(network) is not ARCHITECTURES[arch]:
        raise TypeError(
            f"save_pretrained stores registered architectures {sorted(ARCHITECTURES)} (or a PIE "
            f"holding one), got {arch}; register it with pyisp_contrast.models.register_model."
        )
    reserved = {"format", "arch", "config", "state_dict"} & set(meta)
    if reserved:
        raise ValueError(f"metadata keys {sorted(reserved)} are reserved.")
    check_plain_metadata(meta)
    state = {k: v.detach().cpu().clone() for k, v in network.state_dict().items()}
    blob = {
        "format": FORMAT,
        "arch": arch,
        "config": dict(network.config),
        "state_dict": state,
        **meta,
    }
    with written_atomically(path) as tmp:
        torch.save(blob, tmp)


@dataclass(frozen=True)
class WeightsInfo:
    """A shipped weight file, as ``pyisp-contrast list-models`` shows it.

    Attributes:
        name: the shipped name (``load_pretrained(name)``).
        architecture: the network class the file stores.
        model: the registry name of that class.
        task: the registry's task for it.
        parameters: number of parameters.
        summary: the first line of its model card (the ``.md`` beside it), or ``""``.
    """

    name: str
    architecture: str
    model: str
    task: str
    parameters: int
    summary: str


def _card_summary(name: str) -> str:
    card = _weights_dir() / (name.replace("-", "_") + ".md")
    if not card.is_file():
        return ""
    for line in card.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if text and not text.startswith("#"):
            return text
    return ""


def weights_info(name: str) -> WeightsInfo:
    """What a shipped weight file holds (architecture, task, parameters, model-card line).

    Example:
        >>> info = weights_info("pie-physics")
        >>> info.architecture, info.task
        ('GuidedGainEnhancer', 'lowlight')
    """
    model = load_pretrained(name)
    arch = type(model).__name__
    registered = [n for n in list_models() if get_model_info(n).architecture == arch]
    entry = get_model_info(registered[0]) if registered else None
    return WeightsInfo(
        name=name,
        architecture=arch,
        model=entry.name if entry else "",
        task=entry.task if entry else "any",
        parameters=sum(p.numel() for p in model.parameters()),
        summary=_card_summary(name),
    )
