"""Paired evaluation of dehazing and deraining on held-out synthetic pairs.

The pairs are made by the library's own physical synthesis from clean images, on the split the
bundled weights were trained without (sorted by path, every ``holdout_every``-th image), each image
resized so its long side is at most ``max_side`` and degraded with a seed fixed per image, so every
run (the benchmark, the CLI, a user's script) scores the same pairs:

- ``"dehaze"``: :func:`pyisp_contrast.isp.degrade.haze` with its defaults, seed ``60000 + i``;
  classical baseline: the dark channel prior with guided-filter refinement.
- ``"derain"``: :func:`pyisp_contrast.isp.degrade.rain` with its defaults, seed ``70000 + i``;
  classical baseline: self-guided filtering (radius 2, eps 0.01), which smooths thin streaks away.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from pyisp_contrast.core.checks import check_choice, check_int
from pyisp_contrast.core.devices import resolve_device
from pyisp_contrast.core.resize import fit_long_side

__all__ = ["RESTORATION_TASKS", "classical_baseline", "evaluate_restoration", "synthetic_pairs"]

#: Seed of image ``i``'s degradation is ``RESTORATION_TASKS[task] + i``.
RESTORATION_TASKS: dict[str, int] = {"dehaze": 60_000, "derain": 70_000}


def _resize(img: Tensor, max_side: int) -> Tensor:
    size = fit_long_side(*img.shape[-2:], max_side, min_side=16)
    if size == tuple(img.shape[-2:]):
        return img
    return F.interpolate(img[None], size=size, mode="area")[0].clamp(0, 1)


def synthetic_pairs(
    folder: str | os.PathLike,
    task: str,
    *,
    max_side: int = 512,
    split: str = "val",
    holdout_every: int = 5,
    limit: int | None = None,
    device: str | torch.device = "cpu",
) -> Iterator[tuple[str, Tensor, Tensor]]:
    """Yield ``(name, degraded (1, 3, H, W), clean (1, 3, H, W))`` held-out pairs for ``task``.

    Args:
        folder: clean images (searched recursively).
        task: ``"dehaze"`` or ``"derain"``.
        max_side: long side of the resized clean images.
        split: ``"val"`` (the held-out images), ``"train"`` or ``"all"``.
        holdout_every: the split's period, as in :func:`pyisp_contrast.train.split_paths`.
        limit: at most this many pairs.
        device: where the pairs are made.

    Raises:
        FileNotFoundError: ``folder`` holds no images.
    """
    from pyisp_contrast.core.io import find_images, read_image
    from pyisp_contrast.isp.degrade import haze, rain
    from pyisp_contrast.train.datasets import split_paths

    check_choice(task, "task", sorted(RESTORATION_TASKS))
    degrade = {"dehaze": haze, "derain": rain}[task]
    check_int(max_side, "max_side", 16)
    device = resolve_device(device)
    paths = split_paths(find_images([folder], recursive=True), split, holdout_every)
    if not paths:
        raise FileNotFoundError(f"{folder}: no images in the {split!r} split.")
    for i, path in enumerate(paths[:limit] if limit is not None else paths):
        clean = _resize(read_image(path), max_side)[None].to(device)
        g = torch.Generator(device=device.type).manual_seed(RESTORATION_TASKS[task] + i)
        degraded, _ = degrade(clean, generator=g)
        yield Path(path).name, degraded, clean


def classical_baseline(task: str) -> Callable[[Tensor], Tensor]:
    """The classical method each task is compared with (see the module docstring)."""
    from pyisp_contrast.classical import dark_channel_dehaze, guided_filter

    check_choice(task, "task", sorted(RESTORATION_TASKS))
    if task == "dehaze":
        return dark_channel_dehaze
    return lambda x: guided_filter(x, x, 2, 1e-2)


@torch.no_grad()
def evaluate_restoration(
    methods: dict[str, Callable[[Tensor], Tensor]],
    pairs: Iterator[tuple[str, Tensor, Tensor]],
) -> dict:
    """PSNR and SSIM of each method (and of the degraded input) on the pairs.

    Args:
        methods: ``{label: restore}``, each ``(1, 3, H, W) -> (1, 3, H, W)``.
        pairs: from :func:`synthetic_pairs` (or any ``(name, degraded, clean)`` iterable).

    Returns:
        ``{"mean": {label: {"psnr", "ssim"}}, "images": [{"image", label: psnr, ...}]}`` with
        ``"input"`` first among the labels.

    Example:
        >>> pairs = [("a", torch.full((1, 3, 16, 16), 0.4), torch.full((1, 3, 16, 16), 0.5))]
        >>> r = evaluate_restoration({"shift": lambda x: x + 0.1}, pairs)
        >>> round(r["mean"]["input"]["psnr"], 1), r["mean"]["shift"]["psnr"] > 60
        (20.0, True)
    """
    from pyisp_contrast.metrics import psnr, ssim

    all_methods = {"input": lambda x: x, **methods}
    sums: dict[str, list[float]] = {}
    images = []
    for name, degraded, clean in pairs:
        row: dict = {"image": name}
        for label, fn in all_methods.items():
            out = fn(degraded).clamp(0, 1)
            p, s = float(psnr(out, clean)[0]), float(ssim(out, clean)[0])
            acc = sums.setdefault(label, [0.0, 0.0, 0])
            acc[0] += p
            acc[1] += s
            acc[2] += 1
            row[label] = round(p, 3)
        images.append(row)
    if not images:
        raise ValueError("no pairs to evaluate.")
    mean = {k: {"psnr": v[0] / v[2], "ssim": v[1] / v[2]} for k, v in sums.items()}
    return {"mean": mean, "images": images}
