"""Training configuration: one dataclass, loadable from a TOML file.

Defaults follow PIE's published recipe (Liang et al., arXiv 2404.04586): Adam, learning rate 1e-4,
weight decay 1e-4, gradient-norm clip 0.1, batch 2, 384 px crops, 14k iterations.

The config also builds what the trainer steps with (:meth:`TrainConfig.build_optimizer`,
:meth:`TrainConfig.build_scheduler`) and says which of its options a resumed run may change
(:attr:`TrainConfig.RESUME_MUTABLE`).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch

from pyisp_contrast.core.checks import check_choice, check_float, check_int

__all__ = ["OPTIMIZERS", "TrainConfig"]

#: Optimiser names accepted by ``TrainConfig.optimizer`` (what each one builds:
#: :meth:`TrainConfig.build_optimizer`).
OPTIMIZERS: tuple[str, ...] = ("adam", "adamw", "sgd")


def _paths(value: Any, name: str) -> list[str]:
    if isinstance(value, str | os.PathLike):
        return [os.fspath(value)]
    if isinstance(value, list | tuple) and all(isinstance(v, str | os.PathLike) for v in value):
        return [os.fspath(v) for v in value]
    raise TypeError(f"`{name}` must be a path or a list of paths, got {value!r}.")


@dataclass
class TrainConfig:
    """Everything a training run needs besides the code.

    Attributes:
        normal: folder(s) of well-exposed images (positives, and sources of synthetic low-light inputs).
        low: folder(s) of real low-light images, or ``None`` to synthesise them from ``normal``.
        holdout_every: every n-th image (sorted by path) is held out for validation.
        crop: training crop side (pixels).
        batch_size: images per step *per process* (DDP multiplies it by the number of processes).
        optimizer: ``"adam"`` (default, as in PIE), ``"adamw"`` (decoupled weight decay) or
            ``"sgd"``; see :meth:`build_optimizer`.
        lr: learning rate.
        weight_decay: weight decay: an L2 term in the gradient for Adam (as in PIE's released
            code) and SGD, decoupled from the gradient for AdamW.
        momentum: SGD momentum in ``[0, 1)``; only ``optimizer = "sgd"`` takes it (Adam and AdamW
            keep their default betas), so it must stay 0 with them.
        grad_clip: maximum global gradient norm, or ``None`` (``false`` in TOML) for no clipping.
        scheduler: ``"constant"`` or ``"cosine"`` (cosine decay to 0 over ``iterations``).
        iterations: optimiser steps in total (a resumed run continues up to this number).
        schedule_steps: steps the learning-rate schedule spans (default ``iterations``). Set it
            to stop a run part-way through a longer schedule (a stage); changing ``iterations`` on
            resume moves the end of the run, never the schedule, which is fixed when a run starts.
        checkpoint_every: steps between checkpoints (and validation grids).
        val_every: steps between validations; ``None`` means at each checkpoint.
        val_images: validation images shown in each grid.
        log_every: steps between lines of ``log.jsonl``.
        seed: seed of the model initialisation, the data stream and the model's own randomness.
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...
        out_dir: run folder (``checkpoints/``, ``val/``, ``log.jsonl``, ``config.toml``).
        model: name in the model registry (:func:`pyisp_contrast.train.build_model`).
        model_kwargs: keyword arguments of the model factory.
        synthesize_kwargs: keyword arguments of the low-light synthesis
            (:func:`pyisp_contrast.isp.degrade.low_light`).
        workers: ``DataLoader`` worker processes (0 reads in the training process).
        init_from: a Trainer checkpoint whose model weights start a *new* run (fine-tuning, or
            continuing on other hardware with a new optimiser); ignored when resuming.

    Example:
        >>> TrainConfig(normal=["data/normal"], iterations=10).lr
        0.0001
    """

    normal: list[str] = field(default_factory=list)
    low: list[str] | None = None
    holdout_every: int = 5
    crop: int = 384
    batch_size: int = 2
    optimizer: str = "adam"
    lr: float = 1e-4
    weight_decay: float = 1e-4
    momentum: float = 0.0
    grad_clip: float | None = 0.1
    scheduler: str = "constant"
    iterations: int = 14000
    schedule_steps: int | None = None
    checkpoint_every: int = 1000
    val_every: int | None = None
    val_images: int = 4
    log_every: int = 10
    seed: int = 0
    device: str = "auto"
    out_dir: str = "runs/train"
    model: str = "pie"
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    synthesize_kwargs: dict[str, Any] = field(default_factory=dict)
    workers: int = 0
    init_from: str | None = None

    #: Options a resumed run may change: they only schedule the run (its length, how often it
    #: saves, validates and logs, where it runs and writes), so the steps it takes are the same.
    #: Changing any other option on resume changes the result, and the trainer warns.
    RESUME_MUTABLE: ClassVar[frozenset[str]] = frozenset(
        {"iterations", "checkpoint_every", "val_every", "val_images", "log_every", "workers",
         "device", "out_dir"}
    )  # fmt: skip

    def __post_init__(self) -> None:
        self.normal = _paths(self.normal, "normal") if self.normal else []
        if self.low is not None:
            self.low = _paths(self.low, "low")
        self.out_dir = os.fspath(self.out_dir)
        for name, low in (("holdout_every", 2), ("crop", 1), ("batch_size", 1), ("iterations", 1),
                          ("checkpoint_every", 1), ("val_images", 0), ("log_every", 1),
                          ("seed", None), ("workers", 0)):  # fmt: skip
            check_int(getattr(self, name), name, low)
        check_int(self.schedule_steps, "schedule_steps", 1, hint="or absent", optional=True)
        check_int(self.val_every, "val_every", 1, optional=True)
        for name in ("lr", "weight_decay", "momentum"):
            setattr(self, name, check_float(getattr(self, name), name, 0.0, finite=False))
        check_choice(self.optimizer, "optimizer", OPTIMIZERS)
        if self.momentum >= 1:
            raise ValueError(f"`momentum` must be in [0, 1), got {self.momentum}.")
        if self.momentum and self.optimizer != "sgd":
            raise ValueError(
                f"`momentum` only applies to optimizer = 'sgd', got momentum = {self.momentum} "
                f"with optimizer = {self.optimizer!r}; leave it out (Adam and AdamW use their "
                "default betas)."
            )
        if self.grad_clip is False:  # TOML has no null: `grad_clip = false` switches clipping off
            self.grad_clip = None
        self.grad_clip = check_float(
            self.grad_clip, "grad_clip", 0.0, low_open=True, finite=False, optional=True
        )
        check_choice(self.scheduler, "scheduler", ("constant", "cosine"))
        for name in ("model_kwargs", "synthesize_kwargs"):
            if not isinstance(getattr(self, name), dict):
                raise TypeError(f"`{name}` must be a table (dict), got {getattr(self, name)!r}.")
        if self.init_from is not None:
            if not isinstance(self.init_from, str | os.PathLike):
                raise TypeError(f"`init_from` must be a checkpoint path, got {self.init_from!r}.")
            self.init_from = os.fspath(self.init_from)
        if not isinstance(self.model, str) or not self.model:
            raise TypeError(f"`model` must be a registry name, got {self.model!r}.")

    def build_optimizer(self, params: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
        """The optimiser this config names, over ``params``.

        ``"adam"``: :class:`torch.optim.Adam` with ``lr`` and ``weight_decay`` (an L2 term, as in
        PIE's code); ``"adamw"``: :class:`torch.optim.AdamW` (decoupled weight decay);
        ``"sgd"``: :class:`torch.optim.SGD` with ``momentum``. Other settings are torch's defaults.

        Example:
            >>> w = torch.nn.Parameter(torch.zeros(2))
            >>> type(TrainConfig(optimizer="sgd", momentum=0.9).build_optimizer([w])).__name__
            'SGD'
        """
        params = list(params)
        if not params:
            raise ValueError("no parameters to optimise (none has requires_grad=True).")
        if self.optimizer == "adam":
            return torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)
        if self.optimizer == "adamw":
            return torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)
        return torch.optim.SGD(
            params, lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay
        )

    def build_scheduler(
        self, optimizer: torch.optim.Optimizer
    ) -> torch.optim.lr_scheduler.LRScheduler | None:
        """The learning-rate schedule: ``None`` for ``"constant"``, else cosine decay to 0 over
        ``iterations`` steps."""
        if self.scheduler == "cosine":
            span = self.schedule_steps if self.schedule_steps is not None else self.iterations
            return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=span)
        return None

    def changed_on_resume(self, saved: dict[str, Any]) -> list[str]:
        """Options (sorted) that differ from a checkpoint's config ``saved`` and change the run.

        Options in :attr:`RESUME_MUTABLE`, and options the checkpoint does not record (it was
        written before they existed), are not reported.

        Example:
            >>> old = TrainConfig(iterations=10, lr=1e-3).to_dict()
            >>> TrainConfig(iterations=20, lr=1e-4).changed_on_resume(old)
            ['lr']
        """
        new = self.to_dict()
        return sorted(
            k for k in new if k not in self.RESUME_MUTABLE and k in saved and saved[k] != new[k]
        )

    @property
    def validation_interval(self) -> int:
        """Steps between validations (``val_every``, or ``checkpoint_every`` when unset)."""
        return self.val_every if self.val_every is not None else self.checkpoint_every

    def to_dict(self) -> dict[str, Any]:
        """Plain ``dict`` of the fields (what checkpoints store)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build from a mapping; unknown keys raise ``ValueError`` naming them."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(
                f"unknown training option(s): {', '.join(unknown)}; valid options are {', '.join(sorted(names))}."
            )
        return cls(**data)

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> TrainConfig:
        """Read a TOML file whose top-level keys are the fields (``[model_kwargs]`` as a table).

        Relative paths inside the file are kept as written (relative to the working directory).
        """
        path = Path(path)
        try:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError as exc:
            raise FileNotFoundError(f"{path}: no such config file.") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not valid TOML ({exc}).") from exc
        try:
            return cls.from_dict(data)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{path}: {exc}") from exc

    def to_toml(self) -> str:
        """The config as TOML text (``None`` values are left out, as TOML has no null)."""
        lines, tables = [], []
        for key, value in self.to_dict().items():
            if key == "grad_clip" and value is None:
                value = False
            if value is None:
                continue
            if isinstance(value, dict):
                tables.append((key, value))
            else:
                lines.append(f"{key} = {_toml_value(value)}")
        for key, table in tables:
            lines.append(f"\n[{key}]")
            lines.extend(f"{k} = {_toml_value(v)}" for k, v in table.items() if v is not None)
        return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} to TOML: {value!r}")
