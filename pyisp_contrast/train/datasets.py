"""Unpaired image-folder datasets for training enhancers without ground truth.

PIE (Liang et al., arXiv 2404.04586) trains from *unpaired* data: a low-light input and an unrelated
well-exposed image (the positive). :class:`UnpairedImageFolders` yields such pairs from folders, and,
when no low-light folder is given, synthesises the low-light input from a normal image with the
library's physics-based degradation (:func:`pyisp_contrast.isp.degrade.low_light`).

Determinism: every random choice of sample ``index`` (the positive drawn, the crops, the flips and the
synthetic degradation) comes from a generator seeded by ``(seed, index)`` only. Indices may exceed
``len(dataset)``: index ``i`` reads image ``i % len(dataset)`` with fresh random draws, so a sampler
that hands out ever-growing indices (:class:`ResumableSampler`) gives new crops every epoch and
a training run can be resumed or sharded across processes exactly, whatever the number of workers.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset, Sampler

from pyisp_contrast.core.checks import check_callable, check_choice, check_int
from pyisp_contrast.core.io import ImageReadError, find_images, read_image

__all__ = [
    "ResumableSampler",
    "UnpairedImageFolders",
    "sample_seed",
    "split_paths",
]

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike
#: ``synthesize(images (1, 3, H, W), generator) -> images`` or ``(images, params)``.
Synthesizer = Callable[..., Tensor | tuple[Tensor, dict]]


def sample_seed(seed: int, index: int) -> int:
    """A 63-bit seed for sample ``index`` of a run seeded with ``seed`` (well mixed, platform-stable).

    Example:
        >>> sample_seed(0, 1) == sample_seed(0, 1) != sample_seed(0, 2)
        True
    """
    state = np.random.SeedSequence(
        [int(seed) & 0xFFFFFFFF, int(index) & 0xFFFFFFFF, int(index) >> 32]
    )
    return int(state.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def split_paths(
    paths: Sequence[Path], split: Literal["train", "val", "all"], holdout_every: int = 5
) -> list[Path]:
    """The fixed train/validation split: sorted by path, every ``holdout_every``-th image is held out.

    With ``holdout_every=5`` images 5, 10, 15, ... (1-based, in sorted path order) form ``"val"``
    and the others ``"train"``; ``"all"`` keeps everything.

    Example:
        >>> from pathlib import Path
        >>> [p.name for p in split_paths([Path(f"{i}.png") for i in range(7)], "val")]
        ['4.png']
    """
    check_choice(split, "split", ("train", "val", "all"))
    check_int(holdout_every, "holdout_every", 2)
    ordered = sorted(paths, key=lambda p: str(p))
    if split == "all":
        return ordered
    held = [i % holdout_every == holdout_every - 1 for i in range(len(ordered))]
    return [p for p, h in zip(ordered, held) if h == (split == "val")]


def _collect(source: PathLike | Sequence[PathLike], name: str) -> list[Path]:
    items = [source] if isinstance(source, str | os.PathLike) else list(source)
    if not items:
        raise ValueError(
            f"`{name}` is empty; pass a folder (or a list of folders/files) of images."
        )
    try:
        return find_images(items, recursive=True)
    except FileNotFoundError as exc:
        raise ValueError(f"`{name}`: {exc}") from exc


def _default_synthesize(images: Tensor, generator: torch.Generator, **kwargs) -> Tensor:
    from pyisp_contrast.core.checks import value_checks
    from pyisp_contrast.isp.degrade import low_light

    # Decoded crops are in range by construction, and the parameters were checked once when the
    # dataset was made; per-call value scans would cost more than the synthesis at crop sizes.
    with value_checks(False):
        return low_light(images, generator=generator, **kwargs)


def _check_synthesis(kwargs: dict) -> None:
    """Run :func:`~pyisp_contrast.isp.degrade.low_light` once on a tiny image with every check on."""
    from pyisp_contrast.isp.degrade import low_light

    low_light(torch.full((1, 3, 2, 2), 0.5), generator=torch.Generator().manual_seed(0), **kwargs)


class UnpairedImageFolders(Dataset):
    """Unpaired (low-light, normal-light) image crops from folders.

    Each item is a dict ``{"low": (3, crop, crop), "normal": (3, crop, crop), "low_path": str,
    "normal_path": str, "index": int}``; synthesised items also hold ``"clean"``, the crop the low
    input was made from (a ground truth for PSNR/SSIM on held-out synthetic pairs; the training
    losses do not use it). The normal (positive) image is drawn at random, independently of
    the low one, as in PIE's unpaired training. Without ``low``, the low input is the ``index``-th
    normal image of the split degraded by ``synthesize`` (default
    :func:`pyisp_contrast.isp.degrade.low_light`); ``low_path`` then names that source image.

    Images smaller than ``crop`` on a side are upscaled (bilinear, aspect ratio kept) until the short
    side equals ``crop``: padding would add flat borders that distort the brightness statistics
    the losses look at. Corrupt or unreadable files are logged (``logging`` warning naming the path),
    collected in :attr:`skipped` and replaced by the next readable image, so a bad file never stops an
    epoch. With ``DataLoader`` workers :attr:`skipped` fills in each worker's copy; the log lines are
    the record then.

    Args:
        normal: folder(s) or files of well-exposed images (searched recursively).
        low: folder(s) or files of real low-light images, or ``None`` to synthesise them.
        crop: square crop side in pixels, or ``None`` for whole images (batches then need equal sizes).
        flips: random horizontal flips (training split only).
        split: ``"train"``, ``"val"`` (every ``holdout_every``-th image by sorted path, see
            :func:`split_paths`) or ``"all"``. Applied to each folder list separately.
        holdout_every: period of the held-out images.
        seed: seed of all random draws (see the module notes).
        synthesize: ``f(images (1, 3, H, W), generator) -> images or (images, params)``.
        synthesize_kwargs: extra keyword arguments for ``synthesize`` (e.g. exposure ranges).
        augment: random crops and flips; defaults to ``split == "train"``. Without it, crops are
            central and no flip is made (deterministic validation).

    Raises:
        ValueError: a folder holds no images, or the chosen split is empty.

    Example:
        >>> import tempfile, torch
        >>> from pyisp_contrast.core.io import write_image
        >>> d = tempfile.mkdtemp()
        >>> for i in range(3):
        ...     write_image(f"{d}/{i}.png", torch.rand(3, 20, 24))
        >>> ds = UnpairedImageFolders(d, crop=16, split="all", synthesize=lambda x, g: x * 0.1)
        >>> item = ds[0]
        >>> item["low"].shape, item["normal"].shape
        (torch.Size([3, 16, 16]), torch.Size([3, 16, 16]))
    """

    def __init__(
        self,
        normal: PathLike | Sequence[PathLike],
        low: PathLike | Sequence[PathLike] | None = None,
        *,
        crop: int | None = 384,
        flips: bool = True,
        split: Literal["train", "val", "all"] = "train",
        holdout_every: int = 5,
        seed: int = 0,
        synthesize: Synthesizer | None = None,
        synthesize_kwargs: dict | None = None,
        augment: bool | None = None,
    ) -> None:
        check_int(crop, "crop", 1, optional=True)
        check_int(seed, "seed")
        check_callable(synthesize, "synthesize", "f(images, generator) -> images", optional=True)
        #: Paths that could not be read (in this process), in the order they were met.
        self.skipped: list[Path] = []
        self._bad: set[Path] = set()
        self.normal_paths = split_paths(
            self._readable(_collect(normal, "normal"), normal, "normal"), split, holdout_every
        )
        if not self.normal_paths:
            raise ValueError(
                f"`normal` has no images in the {split!r} split; add images or use split='all'."
            )
        self.low_paths: list[Path] | None = None
        if low is not None:
            self.low_paths = split_paths(
                self._readable(_collect(low, "low"), low, "low"), split, holdout_every
            )
            if not self.low_paths:
                raise ValueError(
                    f"`low` has no images in the {split!r} split; add images or use split='all'."
                )
        self.crop = crop
        self.flips = bool(flips)
        self.split = split
        self.seed = seed
        self.augment = (split == "train") if augment is None else bool(augment)
        self.synthesize = synthesize if synthesize is not None else _default_synthesize
        self.synthesize_kwargs = dict(synthesize_kwargs or {})
        if synthesize is None and low is None:
            # Fail now, naming the bad parameter, rather than at the first batch.
            try:
                _check_synthesis(self.synthesize_kwargs)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"`synthesize_kwargs`: {exc}") from exc

    def _readable(self, paths: list[Path], source, name: str) -> list[Path]:
        """``paths`` without the files whose image header or data is broken (logged, skipped).

        Raises ``ValueError`` naming the folder when none is usable, so a run does not start on
        data it cannot read.
        """
        from PIL import Image

        good = []
        for p in paths:
            try:
                with Image.open(p) as im:
                    im.verify()
            except Exception as exc:  # PIL raises many types for broken files
                self._bad.add(p)
                self.skipped.append(p)
                logger.warning("skipping unreadable image %s: %s", p, exc)
            else:
                good.append(p)
        if not good:
            where = source if isinstance(source, str | os.PathLike) else ", ".join(map(str, source))
            raise ValueError(
                f"`{name}`: none of the {len(paths)} image files in {where} could be read (first: "
                f"{paths[0]}); replace the broken files or point `{name}` at another folder."
            )
        return good

    def __len__(self) -> int:
        return len(self.low_paths if self.low_paths is not None else self.normal_paths)

    def __repr__(self) -> str:
        low = "synthetic" if self.low_paths is None else f"{len(self.low_paths)} images"
        return (
            f"{type(self).__name__}(normal={len(self.normal_paths)} images, low={low}, "
            f"crop={self.crop}, split={self.split!r}, seed={self.seed})"
        )

    # -- reading -------------------------------------------------------------------------------
    def _read(self, paths: list[Path], start: int) -> tuple[Tensor, Path]:
        """Read ``paths[start]``, or the next readable one (cyclically), logging what is skipped."""
        n = len(paths)
        for k in range(n):
            path = paths[(start + k) % n]
            if path in self._bad:
                continue
            try:
                return read_image(path), path
            except ImageReadError as exc:
                self._bad.add(path)
                self.skipped.append(path)
                logger.warning("skipping unreadable image %s: %s", path, exc)
        raise RuntimeError(
            f"none of the {n} images could be read (first: {paths[0]}); see the log for each error."
        )

    def _crop(self, img: Tensor, g: torch.Generator) -> Tensor:
        if self.crop is None:
            return img
        c = self.crop
        _, h, w = img.shape
        if min(h, w) < c:
            s = c / min(h, w)
            size = (max(c, math.ceil(h * s)), max(c, math.ceil(w * s)))
            img = F.interpolate(img[None], size=size, mode="bilinear", align_corners=False)[
                0
            ].clamp(0, 1)
            _, h, w = img.shape
        if self.augment:
            top = int(torch.randint(h - c + 1, (1,), generator=g))
            left = int(torch.randint(w - c + 1, (1,), generator=g))
        else:
            top, left = (h - c) // 2, (w - c) // 2
        return img[:, top : top + c, left : left + c]

    def _flip(self, img: Tensor, g: torch.Generator) -> Tensor:
        if self.augment and self.flips and bool(torch.rand((), generator=g) < 0.5):
            return img.flip(-1)
        return img

    def __getitem__(self, index: int) -> dict:
        if isinstance(index, bool) or not isinstance(index, int | np.integer) or index < 0:
            raise IndexError(f"index must be a non-negative int, got {index!r}.")
        index = int(index)
        g = torch.Generator().manual_seed(sample_seed(self.seed, index))
        # Draw the positive first, so its choice does not depend on how the low image is made.
        normal_start = int(torch.randint(len(self.normal_paths), (1,), generator=g))
        normal, normal_path = self._read(self.normal_paths, normal_start)
        normal = self._flip(self._crop(normal, g), g)
        extra = {}
        if self.low_paths is not None:
            low, low_path = self._read(self.low_paths, index % len(self.low_paths))
            low = self._flip(self._crop(low, g), g)
        else:
            source, low_path = self._read(self.normal_paths, index % len(self.normal_paths))
            source = self._flip(self._crop(source, g), g)
            out = self.synthesize(source[None], g, **self.synthesize_kwargs)
            low = (out[0] if isinstance(out, tuple) else out)[0].clamp(0, 1)
            extra["clean"] = source.contiguous()
        return {
            "low": low.contiguous(),
            "normal": normal.contiguous(),
            "low_path": str(low_path),
            "normal_path": str(normal_path),
            "index": index,
            **extra,
        }


class ResumableSampler(Sampler[int]):
    """An endless, seeded, shardable stream of sample indices that can start at any position.

    Position ``p`` of the global stream is index ``e * n + perm_e[p % n]`` with ``e = p // n`` and
    ``perm_e`` a permutation seeded by ``(seed, e)``: every epoch visits each image once in a new order,
    and the index grows so the dataset makes fresh random crops (see :class:`UnpairedImageFolders`).
    For data-parallel training the stream is consumed in global batches of
    ``batch_size * world_size``; rank ``r`` takes the ``r``-th slice of each, so ranks see disjoint
    samples and a run resumed at ``start`` (in global positions) continues exactly.

    Args:
        num_samples: dataset length ``n``.
        batch_size: per-process batch size.
        seed: stream seed.
        start: global position to start from (``step * batch_size * world_size`` when resuming).
        rank: this process's rank.
        world_size: number of processes.

    Example:
        >>> s = ResumableSampler(4, batch_size=2, seed=0)
        >>> it = iter(s)
        >>> first = [next(it) for _ in range(8)]
        >>> sorted(first[:4]), sorted(first[4:])
        ([0, 1, 2, 3], [4, 5, 6, 7])
    """

    def __init__(
        self,
        num_samples: int,
        *,
        batch_size: int,
        seed: int = 0,
        start: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        check_int(num_samples, "num_samples", 1)
        check_int(batch_size, "batch_size", 1)
        check_int(seed, "seed")
        check_int(start, "start", 0)
        check_int(world_size, "world_size", 1)
        check_int(rank, "rank", 0, world_size - 1, hint=f"one of the {world_size} processes")
        self.num_samples = num_samples
        self.batch_size = batch_size
        self.seed = seed
        self.start = start
        self.rank = rank
        self.world_size = world_size

    def index_at(self, position: int) -> int:
        """The sample index at global stream ``position``."""
        n = self.num_samples
        epoch, offset = divmod(position, n)
        g = torch.Generator().manual_seed(sample_seed(self.seed ^ 0x5EED, epoch))
        return epoch * n + int(torch.randperm(n, generator=g)[offset])

    def __iter__(self) -> Iterator[int]:
        n, b, w = self.num_samples, self.batch_size, self.world_size
        global_batch = b * w
        position = self.start
        epoch, perm = -1, None
        while True:
            for k in range(b):
                p = position + self.rank * b + k
                e, off = divmod(p, n)
                if e != epoch:
                    g = torch.Generator().manual_seed(sample_seed(self.seed ^ 0x5EED, e))
                    epoch, perm = e, torch.randperm(n, generator=g).tolist()
                yield e * n + perm[off]
            position += global_batch

    def __len__(self) -> int:
        # Endless; DataLoader only uses this for progress estimates.
        return 2**62
