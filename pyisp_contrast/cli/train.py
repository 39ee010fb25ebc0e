"""``pyisp-contrast train``: train a model from a TOML config, on one process or under torchrun (DDP)."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from pyisp_contrast.cli._common import command_error

EPILOG = """\
examples:
  pyisp-contrast train --config configs/pie_default.toml --data ../shared/data
  pyisp-contrast train --config configs/pie_default.toml --data ../shared/data --resume  # exactly
  torchrun --nproc_per_node=4 -m pyisp_contrast train --config FILE    # data-parallel (DDP)

The config's keys are the fields of pyisp_contrast.train.TrainConfig (unknown keys are refused).
`model` names a registered model ("pie", or one added with pyisp_contrast.train.register_model) or an
import path "package.module:Factory"; `[model_kwargs]` holds its arguments. Under torchrun each process
uses `batch_size` images per step; only rank 0 writes checkpoints, logs and validation grids.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "train",
        help="train a model from a TOML config (DDP under torchrun)",
        description="Train a model (default: PIE) on unpaired image folders.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", required=True, metavar="FILE", help="TOML training config")
    p.add_argument(
        "--resume", action="store_true", help="continue from OUT_DIR/checkpoints/last.pt"
    )
    p.add_argument("--out-dir", default=None, help="override the config's out_dir")
    p.add_argument("--iterations", type=int, default=None, help="override the config's iterations")
    p.add_argument("--device", default=None, help="override the config's device")
    p.add_argument(
        "--data",
        default=None,
        metavar="DIR",
        help=f"root that relative `normal`/`low` paths of the config start from (default: "
        f"${DATA_ENV}, else the working directory); e.g. --data ../shared/data",
    )
    return p


#: Environment variable naming the data root of training configs.
DATA_ENV = "PYISP_CONTRAST_DATA"


def resolve_data_paths(paths: list[str] | None, root: str | None) -> list[str] | None:
    """Relative ``paths`` joined to ``root`` (absolute ones and ``root=None`` leave them as they are).

    Example:
        >>> resolve_data_paths(["normal", "/abs/x"], "data")
        ['data/normal', '/abs/x']
    """
    if paths is None or root is None:
        return paths
    return [p if os.path.isabs(p) else os.path.join(root, p) for p in paths]


def run(args: argparse.Namespace) -> int:
    import dataclasses

    import torch

    from pyisp_contrast.train import (
        TrainConfig,
        Trainer,
        UnpairedImageFolders,
        build_model,
        init_distributed,
    )

    error = command_error("train")

    try:
        cfg = TrainConfig.from_toml(args.config)
        overrides = {
            k: v
            for k, v in (
                ("out_dir", args.out_dir),
                ("iterations", args.iterations),
                ("device", args.device),
            )
            if v is not None
        }
        cfg = dataclasses.replace(cfg, **overrides)
    except (OSError, TypeError, ValueError) as exc:
        return error(str(exc))
    if not cfg.normal:
        return error(f"{args.config}: `normal` (folders of well-exposed images) is required")
    if isinstance(cfg.device, str):
        from pyisp_contrast.core.devices import resolve_device

        try:  # a bad name or a missing GPU, said before anything starts
            resolve_device(cfg.device, what="--device" if args.device else f"{args.config}: device")
        except ValueError as exc:
            return error(str(exc))
    root = args.data if args.data is not None else os.environ.get(DATA_ENV) or None
    if root is not None and not os.path.isdir(root):
        return error(f"data root {root!r} is not a folder (from --data or ${DATA_ENV})")
    cfg = dataclasses.replace(
        cfg, normal=resolve_data_paths(cfg.normal, root), low=resolve_data_paths(cfg.low, root)
    )
    ctx = init_distributed(cfg.device)
    if ctx.is_main and not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        data_kwargs = dict(crop=cfg.crop, holdout_every=cfg.holdout_every, seed=cfg.seed,
                           synthesize_kwargs=cfg.synthesize_kwargs)  # fmt: skip
        train_set = UnpairedImageFolders(cfg.normal, cfg.low, split="train", **data_kwargs)
        per_step = cfg.batch_size * ctx.world_size
        if len(train_set) < per_step:
            folders = ", ".join(cfg.low if cfg.low is not None else cfg.normal)
            raise ValueError(
                f"{folders}: the training split holds {len(train_set)} usable image(s), fewer than "
                f"one step's batch ({cfg.batch_size} x {ctx.world_size} process(es)); add images "
                "or lower `batch_size`."
            )
        try:
            val_set = UnpairedImageFolders(cfg.normal, cfg.low, split="val", **data_kwargs)
        except ValueError:
            val_set = None  # too few images to hold any out
        torch.manual_seed(cfg.seed)  # the same initial weights on every rank and every run
        model = build_model(cfg.model, **cfg.model_kwargs)
        trainer = Trainer(model, train_set, cfg, val_set, resume=args.resume, context=ctx)
    except (OSError, TypeError, ValueError) as exc:
        ctx.shutdown()
        return error(str(exc))
    if ctx.is_main:
        print(
            f"training {type(model).__name__} on {train_set} for {cfg.iterations} steps "
            f"({ctx.world_size} process(es), {ctx.device}) -> {cfg.out_dir}",
            file=sys.stderr,
        )
    try:
        result = trainer.fit()
    finally:
        ctx.shutdown()
    if ctx.is_main:
        losses = ", ".join(f"{k} {v:.4g}" for k, v in result["losses"].items())
        print(
            f"done: step {result['step']} ({losses}); checkpoint {result['checkpoint']}",
            file=sys.stderr,
        )
    return 0
