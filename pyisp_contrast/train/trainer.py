"""A generic training loop: progress bar, checkpoints, exact resume, validation grids, DDP.

The loop knows nothing about PIE. Any ``nn.Module`` with

- ``training_step(batch: dict) -> dict[str, Tensor]`` holding a scalar ``"total"`` (backpropagated;
  the other entries are logged), and optionally
- ``validation_images(batch: dict) -> Tensor (B, 3, H, W)`` (the enhanced images shown in the grids)

can be trained. Run folder layout (``config.out_dir``)::

    config.toml                 the configuration of the run
    log.jsonl                   one JSON object per logged step (losses averaged over the window)
    checkpoints/step_XXXXXX.pt  periodic checkpoints; checkpoints/last.pt the latest
    val/step_XXXXXX.png         rows: input, output, and the clean source (synthetic inputs) or
                                the positive, for the first validation images

Exactness: at the start of every step the torch (CPU and CUDA), numpy and Python generators are
reseeded from ``(seed, step, rank)``, and the data stream is a pure function of ``(seed, position)``
(see :class:`~pyisp_contrast.train.datasets.ResumableSampler`). A run interrupted at step ``k`` and
resumed therefore takes the same steps as an uninterrupted one, whatever the worker count. The
checkpoint also stores the generators' states at save time (restored on resume) for any randomness
drawn outside a step.
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from pyisp_contrast.core.checks import value_checks, value_checks_enabled
from pyisp_contrast.core.files import load_weights, written_atomically
from pyisp_contrast.core.io import write_image
from pyisp_contrast.train.config import TrainConfig
from pyisp_contrast.train.datasets import ResumableSampler, sample_seed
from pyisp_contrast.train.distributed import DistributedContext, StepModule, init_distributed

__all__ = ["CHECKPOINT_FORMAT", "Trainer", "image_grid", "load_checkpoint"]

logger = logging.getLogger(__name__)

#: Format tag stored in every checkpoint.
CHECKPOINT_FORMAT = "pyisp_contrast.train/1"


def image_grid(rows: list[Tensor], *, pad: int = 2, value: float = 1.0) -> Tensor:
    """Tile rows of equally sized images ``(B, C, H, W)`` into one ``(C, H', W')`` image.

    Example:
        >>> image_grid([torch.zeros(2, 3, 4, 4), torch.ones(2, 3, 4, 4)]).shape
        torch.Size([3, 14, 14])
    """
    if not rows:
        raise ValueError("`rows` is empty; pass at least one (B, C, H, W) tensor.")
    b, c, h, w = rows[0].shape
    for r in rows:
        if r.shape != rows[0].shape:
            raise ValueError(
                f"all rows must have the same shape, got {tuple(r.shape)} and {(b, c, h, w)}."
            )
    grid = rows[0].new_full((c, pad + len(rows) * (h + pad), pad + b * (w + pad)), value)
    for i, r in enumerate(rows):
        for j in range(b):
            y, x = pad + i * (h + pad), pad + j * (w + pad)
            grid[:, y : y + h, x : x + w] = r[j]
    return grid


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Read a training checkpoint safely (``weights_only=True``: checkpoints are untrusted input)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint.")
    remedy = "Resume from an earlier checkpoint of the run (checkpoints/step_*.pt)."
    ckpt = load_weights(path, f"training checkpoint {str(path)!r}", remedy, map_location)
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(
            f"{path}: not a pyisp_contrast training checkpoint (format {CHECKPOINT_FORMAT})."
        )
    return ckpt


def _is_worker_killed(exc: BaseException) -> bool:
    """Whether ``exc`` is torch's report of a DataLoader worker killed by a signal."""
    return "DataLoader worker" in str(exc) and "killed by signal" in str(exc)


def _stop_workers(batches: Any) -> None:
    """Shut a DataLoader iterator's workers down so their exit cannot interrupt a save."""
    shutdown = getattr(batches, "_shutdown_workers", None)
    if callable(shutdown):
        try:
            shutdown()
        except Exception:  # workers already gone: nothing left to stop
            pass


def _rng_state() -> dict[str, Any]:
    kind, key, pos, has_gauss, gauss = np.random.get_state()  # noqa: NPY002 (the legacy global state is what user code uses)
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {
            "kind": kind,
            "key": torch.from_numpy(key.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "gauss": float(gauss),
        },
        "python": random.getstate(),
    }


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"][: torch.cuda.device_count()])
    n = state["numpy"]
    key = n["key"].numpy().astype(np.uint32)
    np.random.set_state((n["kind"], key, n["pos"], n["has_gauss"], n["gauss"]))  # noqa: NPY002
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


def _seed_all(seed: int) -> None:
    torch.manual_seed(seed)  # also seeds every CUDA device
    np.random.seed(seed & 0xFFFFFFFF)  # noqa: NPY002
    random.seed(seed)


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM (cluster pre-emption, torchrun shutdown) like Ctrl-C so a checkpoint is saved."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@dataclass
class _Loop:
    """What one call of :meth:`Trainer.fit` carries from step to step (the trainer holds the rest)."""

    step_module: nn.Module  # the model's training_step as a module (DDP-wrapped when distributed)
    params: list[Tensor]  # the optimiser's parameters, in its order (for gradient clipping)
    batches: Iterator[Any]  # the DataLoader's iterator
    bar: Any  # tqdm progress bar
    show: bool  # whether the bar is shown (then it also shows the loss terms)
    first_step: int  # the step this call started at (value checks run on it only)
    t0: float  # time.perf_counter() at the start (log.jsonl's elapsed_s)
    sums: dict[str, float] = field(default_factory=dict)  # loss terms since the last log line
    count: int = 0  # steps since the last log line
    last_losses: dict[str, float] = field(default_factory=dict)  # means of the last log line
    # RNG state at the start of the step in progress; None between steps. A checkpoint saved on
    # an interrupt stores it, so the interrupted step is retaken exactly on resume.
    rng_at_step_start: dict[str, Any] | None = None


def _to_device(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, list | tuple):
        return type(batch)(_to_device(v, device) for v in batch)
    return batch


class Trainer:
    """Train a model with ``training_step`` on a dataset, with checkpoints, resume and DDP.

    Args:
        model: module with ``training_step(batch) -> {"total": Tensor, ...}`` (see the module notes).
        dataset: map-style dataset of dict items (e.g.
            :class:`~pyisp_contrast.train.datasets.UnpairedImageFolders`); indices beyond its length must
            be accepted (fresh random draws), as the sampler hands out an endless stream.
        config: the run's :class:`~pyisp_contrast.train.config.TrainConfig`.
        val_dataset: dataset whose first ``config.val_images`` items give the validation grid and loss.
        resume: continue from ``out_dir/checkpoints/last.pt`` when it exists (else start afresh).
        progress: show a tqdm bar; default: only on rank 0 and when stderr is a terminal.
        context: distributed context; default :func:`~pyisp_contrast.train.distributed.init_distributed`
            (joins the process group when launched by torchrun with ``WORLD_SIZE > 1``).

    Example:
        >>> import tempfile
        >>> class Tiny(torch.nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.w = torch.nn.Parameter(torch.zeros(()))
        ...     def training_step(self, batch):
        ...         return {"total": ((batch["x"] - self.w) ** 2).mean()}
        >>> data = [{"x": torch.tensor(1.0)}] * 4
        >>> class Data(torch.utils.data.Dataset):
        ...     def __len__(self): return 4
        ...     def __getitem__(self, i): return data[i % 4]
        >>> cfg = TrainConfig(iterations=3, checkpoint_every=3, lr=0.1, out_dir=tempfile.mkdtemp(),
        ...                   device="cpu")
        >>> Trainer(Tiny(), Data(), cfg, progress=False).fit()["step"]
        3
    """

    def __init__(
        self,
        model: nn.Module,
        dataset: Dataset,
        config: TrainConfig,
        val_dataset: Dataset | None = None,
        *,
        resume: bool = False,
        progress: bool | None = None,
        context: DistributedContext | None = None,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"`model` must be an nn.Module, got {type(model).__name__}.")
        if not callable(getattr(model, "training_step", None)):
            raise TypeError(
                f"`model` ({type(model).__name__}) needs a training_step(batch) -> dict method "
                "returning the loss terms with a 'total' entry."
            )
        if not isinstance(config, TrainConfig):
            raise TypeError(f"`config` must be a TrainConfig, got {type(config).__name__}.")
        try:
            n = len(dataset)  # type: ignore[arg-type]
        except TypeError as exc:
            raise TypeError("`dataset` must be a map-style dataset with a length.") from exc
        if n < 1:
            raise ValueError("`dataset` is empty.")
        self.model = model
        self.dataset = dataset
        self.val_dataset = val_dataset
        self.config = config
        self.resume = resume
        self.ctx = context if context is not None else init_distributed(config.device)
        self.device = self.ctx.device
        self.progress = progress
        self.out_dir = Path(config.out_dir)
        self.step = 0
        self.optimizer: torch.optim.Optimizer | None = None
        self.scheduler: torch.optim.lr_scheduler.LRScheduler | None = None
        self._val_batch: dict | None = None

    # -- paths --------------------------------------------------------------------------------
    @property
    def checkpoint_dir(self) -> Path:
        return self.out_dir / "checkpoints"

    def _step_name(self, step: int | None = None) -> str:
        return f"step_{self.step if step is None else step:06d}"

    # -- setup --------------------------------------------------------------------------------
    def _build_optimizer(self) -> None:
        params = [p for p in self.model.parameters() if p.requires_grad]
        if not params:
            raise ValueError("`model` has no trainable parameters (requires_grad=True).")
        self.optimizer = self.config.build_optimizer(params)
        self.scheduler = self.config.build_scheduler(self.optimizer)

    def _setup(self) -> None:
        """Model on its device in training mode, optimiser built, state resumed or initialised,
        ``config.toml`` written."""
        cfg = self.config
        self.model.to(self.device)
        self.model.train()
        if self.optimizer is None:
            self._build_optimizer()
        last = self.checkpoint_dir / "last.pt"
        if self.resume and last.is_file():
            self.load_state_dict(load_checkpoint(last, map_location=self.device))
            logger.info("resumed from %s at step %d", last, self.step)
        elif self.resume:
            logger.info("no checkpoint in %s; starting a new run", self.checkpoint_dir)
        if self.step == 0 and cfg.init_from is not None:
            self.model.load_state_dict(load_checkpoint(cfg.init_from, self.device)["model"])
            logger.info("initialised the model from %s", cfg.init_from)
        if self.ctx.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            (self.out_dir / "config.toml").write_text(cfg.to_toml())

    def _step_module(self) -> nn.Module:
        """The model's ``training_step`` as a module, wrapped in DDP when distributed."""
        step_module: nn.Module = StepModule(self.model)
        if self.ctx.distributed:
            step_module = nn.parallel.DistributedDataParallel(
                step_module, device_ids=[self.device.index] if self.device.type == "cuda" else None
            )
        return step_module

    def _loader(self) -> DataLoader:
        """The data stream from the current step on (see :class:`ResumableSampler`)."""
        cfg, ctx = self.config, self.ctx
        sampler = ResumableSampler(
            len(self.dataset),  # type: ignore[arg-type]
            batch_size=cfg.batch_size,
            seed=cfg.seed,
            start=self.step * cfg.batch_size * ctx.world_size,
            rank=ctx.rank,
            world_size=ctx.world_size,
        )
        return DataLoader(
            self.dataset,
            batch_size=cfg.batch_size,
            sampler=sampler,
            num_workers=cfg.workers,
            pin_memory=self.device.type == "cuda",
            # Seeds the workers' base seed without touching the global generator.
            generator=torch.Generator().manual_seed(cfg.seed),
        )

    def _start_loop(self) -> _Loop:
        """Step module, parameters, data loader and progress bar of one call of :meth:`fit`."""
        from tqdm.auto import tqdm

        step_module = self._step_module()
        params = [p for group in self.optimizer.param_groups for p in group["params"]]
        loader = self._loader()
        show = (
            self.progress
            if self.progress is not None
            else (self.ctx.is_main and sys.stderr.isatty())
        )
        bar = tqdm(
            total=self.config.iterations, initial=self.step, disable=not show, dynamic_ncols=True
        )
        t0 = time.perf_counter()  # elapsed_s in the log counts the workers' start too
        return _Loop(step_module, params, iter(loader), bar, show, first_step=self.step, t0=t0)

    def state_dict(self, rng: dict[str, Any] | None = None) -> dict[str, Any]:
        """Everything needed to continue exactly: model, optimiser, scheduler, step, RNG, data stream."""
        cfg = self.config
        return {
            "format": CHECKPOINT_FORMAT,
            "step": self.step,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict() if self.optimizer is not None else None,
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "rng": rng if rng is not None else _rng_state(),
            "sampler": {
                "seed": cfg.seed,
                "position": self.step * cfg.batch_size * self.ctx.world_size,
                "world_size": self.ctx.world_size,
            },
            "config": cfg.to_dict(),
        }

    def save_checkpoint(self, rng: dict[str, Any] | None = None) -> Path | None:
        """Write ``checkpoints/step_XXXXXX.pt`` and ``last.pt`` atomically (rank 0 only)."""
        if not self.ctx.is_main:
            return None
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        path = self.checkpoint_dir / f"{self._step_name()}.pt"
        with written_atomically(path) as tmp:
            torch.save(self.state_dict(rng), tmp)
        with written_atomically(self.checkpoint_dir / "last.pt") as tmp:
            shutil.copyfile(path, tmp)
        logger.info("saved checkpoint %s", path)
        return path

    def load_state_dict(self, ckpt: dict[str, Any]) -> None:
        """Restore a checkpoint's model, optimiser, scheduler, step and RNG states.

        Raises:
            ValueError: the checkpoint was written with another ``optimizer`` (its state cannot
                continue a different method; start a new run from its weights with ``init_from``).
        """
        old = ckpt.get("config", {})
        # Checkpoints written before `optimizer` was an option were all made with Adam.
        saved_optimizer = old.get("optimizer", "adam")
        if saved_optimizer != self.config.optimizer:
            raise ValueError(
                f"the checkpoint was written with optimizer = {saved_optimizer!r}, this config has "
                f"optimizer = {self.config.optimizer!r}: resume with {saved_optimizer!r}, or start a "
                "new run from its weights with `init_from`."
            )
        self.model.load_state_dict(ckpt["model"])
        if self.optimizer is None:
            self._build_optimizer()
        if ckpt.get("optimizer") is not None:
            self.optimizer.load_state_dict(ckpt["optimizer"])
        if self.scheduler is not None and ckpt.get("scheduler") is not None:
            self.scheduler.load_state_dict(ckpt["scheduler"])
        self.step = int(ckpt["step"])
        _set_rng_state(ckpt["rng"])
        changed = self.config.changed_on_resume(old)  # TrainConfig.RESUME_MUTABLE may change
        if changed:
            logger.warning(
                "resuming with changed options (the run will differ): %s", ", ".join(changed)
            )
        saved_world = ckpt.get("sampler", {}).get("world_size", self.ctx.world_size)
        if saved_world != self.ctx.world_size:
            logger.warning(
                "resuming a %d-process run on %d processes: the data stream continues but batches differ",
                saved_world,
                self.ctx.world_size,
            )

    # -- validation ---------------------------------------------------------------------------
    def _validation_batch(self) -> dict | None:
        if self.val_dataset is None or self.config.val_images == 0:
            return None
        if self._val_batch is None:
            k = min(self.config.val_images, len(self.val_dataset))  # type: ignore[arg-type]
            items = [self.val_dataset[i] for i in range(k)]
            self._val_batch = torch.utils.data.default_collate(items)
        return _to_device(self._val_batch, self.device)

    @torch.no_grad()
    def validate(self, *, write_grid: bool) -> dict[str, float]:
        """Validation losses (``val/<term>``), PSNR/SSIM against the clean source of synthetic
        inputs (``val/psnr``, ``val/ssim``) and, when asked, the PNG grid ``val/step_XXXXXX.png``.

        Runs with forked RNG state so that validating does not change the training run.
        """
        batch = self._validation_batch()
        if batch is None:
            return {}
        devices = [self.device] if self.device.type == "cuda" else []
        was_training = self.model.training
        self.model.eval()
        metrics: dict[str, float] = {}
        try:
            with torch.random.fork_rng(devices=devices):
                out = self.model.training_step(batch)
                metrics = {
                    f"val/{k}": float(v.detach().mean())
                    for k, v in out.items()
                    if isinstance(v, Tensor)
                }
                if callable(getattr(self.model, "validation_images", None)):
                    enhanced = self.model.validation_images(batch).clamp(0, 1)
                    # Synthetic pairs carry their clean source: a ground truth to score and show.
                    reference = batch.get("clean", batch.get("normal"))
                    if (
                        isinstance(batch.get("clean"), Tensor)
                        and batch["clean"].shape == enhanced.shape
                    ):
                        from pyisp_contrast.metrics import psnr, ssim

                        clean = batch["clean"].to(enhanced.dtype)
                        metrics["val/psnr"] = float(psnr(enhanced, clean).mean())
                        if min(clean.shape[-2:]) >= 11:
                            metrics["val/ssim"] = float(ssim(enhanced, clean).mean())
                    if write_grid:
                        rows = [r.float().cpu() for r in (batch.get("low"), enhanced, reference)
                                if isinstance(r, Tensor) and r.shape == enhanced.shape]  # fmt: skip
                        path = self.out_dir / "val" / f"{self._step_name()}.png"
                        write_image(path, image_grid(rows).clamp(0, 1))
        finally:
            self.model.train(was_training)
        return metrics

    # -- logging ------------------------------------------------------------------------------
    def _log(self, record: dict[str, Any]) -> None:
        if not self.ctx.is_main:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with (self.out_dir / "log.jsonl").open("a") as fh:
            fh.write(json.dumps(record) + "\n")

    def _reduce_means(self, sums: dict[str, float], count: int) -> dict[str, float]:
        keys = sorted(sums)
        values = torch.tensor([sums[k] for k in keys] + [float(count)], dtype=torch.float64)
        if self.ctx.distributed:
            values = values.to(self.device)
            dist.all_reduce(values)
            values = values.cpu()
        total = max(values[-1].item(), 1.0)
        return {k: values[i].item() / total for i, k in enumerate(keys)}

    # -- the loop -----------------------------------------------------------------------------
    def fit(self) -> dict[str, Any]:
        """Run until ``config.iterations`` steps; returns ``{"step", "losses", "checkpoint"}``.

        On ``KeyboardInterrupt`` (Ctrl-C) or SIGTERM a checkpoint of the last completed step is saved
        before the exception propagates.

        The steps, in order: :meth:`_setup` (resume or initialise), :meth:`_start_loop` (data
        loader, progress bar), then per step :meth:`_train_step`, :meth:`_record_losses` (progress
        and ``log.jsonl``) and :meth:`_validate_and_checkpoint`; :meth:`_save_on_interrupt` on an
        interrupt.
        """
        self._setup()
        loop = self._start_loop()
        try:
            with _sigterm_as_interrupt():
                while self.step < self.config.iterations:
                    terms = self._train_step(loop)
                    self._record_losses(loop, terms)
                    self._validate_and_checkpoint()
        except (KeyboardInterrupt, RuntimeError) as exc:
            # A SIGTERM to the whole process group (torchrun, SLURM, `timeout`) also kills the
            # DataLoader workers, and torch reports their death as a RuntimeError that can arrive
            # before our own KeyboardInterrupt or in the middle of the save below.
            if isinstance(exc, RuntimeError) and not _is_worker_killed(exc):
                raise
            self._save_on_interrupt(loop)
            raise
        finally:
            loop.bar.close()
        return {
            "step": self.step,
            "losses": loop.last_losses,
            "checkpoint": str(self.checkpoint_dir / "last.pt") if self.ctx.is_main else None,
        }

    def _train_step(self, loop: _Loop) -> dict[str, float]:
        """One optimiser step; returns the step's scalar loss terms.

        Reseeds every generator from ``(seed, step, rank)`` first, so the step does not depend on
        what ran before it (the basis of exact resume).
        """
        cfg, ctx = self.config, self.ctx
        _seed_all(sample_seed(cfg.seed, self.step * ctx.world_size + ctx.rank))
        loop.rng_at_step_start = _rng_state()
        batch = _to_device(next(loop.batches), self.device)
        self.optimizer.zero_grad(set_to_none=True)
        # Value checks (NaN, range) of the model's inputs run on the first step of a process
        # only: after that the data path is known good, the loss is checked for NaN below, and
        # the checks' full-tensor reductions cost ~10% of a step.
        with value_checks(value_checks_enabled() and self.step == loop.first_step):
            out = loop.step_module(batch)
        total = out.get("total") if isinstance(out, dict) else None
        if not isinstance(total, Tensor) or total.ndim != 0:
            raise TypeError("training_step must return a dict with a scalar tensor 'total'.")
        if not torch.isfinite(total):
            raise FloatingPointError(
                f"loss is {total.item()} at step {self.step + 1}; lower the learning rate or "
                "check the data (the last checkpoint is intact)."
            )
        total.backward()
        if cfg.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(loop.params, cfg.grad_clip)
        self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        self.step += 1
        loop.rng_at_step_start = None
        return {
            k: float(v.detach()) for k, v in out.items() if isinstance(v, Tensor) and v.ndim == 0
        }

    def _record_losses(self, loop: _Loop, terms: dict[str, float]) -> None:
        """Progress bar, and every ``log_every`` steps the window's mean losses to ``log.jsonl``."""
        cfg = self.config
        for k, v in terms.items():
            loop.sums[k] = loop.sums.get(k, 0.0) + v
        loop.count += 1
        loop.bar.update(1)
        if loop.show:
            loop.bar.set_postfix({k: f"{v:.4g}" for k, v in terms.items()}, refresh=False)
        if self.step % cfg.log_every == 0 or self.step == cfg.iterations:
            loop.last_losses = self._reduce_means(loop.sums, loop.count)
            record = {
                "step": self.step,
                "lr": self.optimizer.param_groups[0]["lr"],
                "elapsed_s": round(time.perf_counter() - loop.t0, 3),
                **{f"loss/{k}": v for k, v in loop.last_losses.items()},
            }
            self._log(record)
            loop.sums, loop.count = {}, 0

    def _validate_and_checkpoint(self) -> None:
        """Validation every ``validation_interval`` steps and checkpoints every
        ``checkpoint_every`` steps and at the end (a validation, with its grid, at each)."""
        cfg, ctx = self.config, self.ctx
        is_ckpt = self.step % cfg.checkpoint_every == 0 or self.step == cfg.iterations
        is_val = self.step % cfg.validation_interval == 0 or is_ckpt
        if is_val and ctx.is_main:
            metrics = self.validate(write_grid=is_ckpt)
            if metrics:
                self._log({"step": self.step, **metrics})
        if is_ckpt:
            self.save_checkpoint()
            ctx.barrier()

    def _save_on_interrupt(self, loop: _Loop) -> None:
        """Stop the workers and save the last completed step, with the RNG state of the step that
        was cut short (rank 0)."""
        _stop_workers(loop.batches)
        loop.bar.close()
        if self.ctx.is_main and self.step > 0:
            path = self.save_checkpoint(rng=loop.rng_at_step_start)
            print(f"interrupted at step {self.step}; checkpoint saved to {path}", file=sys.stderr)
