"""Train the bundled dehazing (or deraining) weights on synthetic pairs from normal-light images.

Clean crops come from the training split (every 5th image, sorted by path, is held out; the split
of :func:`pyisp_contrast.train.split_paths`), decoded once and cropped at random; the composition synthesises the degraded input inside its
``training_step`` with its own bag (:class:`~pyisp_contrast.isp.bags.BagOfHaze` or
:class:`~pyisp_contrast.isp.bags.BagOfRain`), so every step sees fresh haze or rain. The loop is the
library's :class:`~pyisp_contrast.train.Trainer` (checkpoints and exact resume in ``--run-dir``);
the result is written with :func:`pyisp_contrast.models.save_pretrained`, with the recipe as
metadata.

Usage::

    python scripts/train_dehaze.py --data ../shared/data/normal \\
        --out pyisp_contrast/models/weights/dehaze_default.pt
    python scripts/train_derain.py --data ../shared/data/normal \\
        --out pyisp_contrast/models/weights/derain_default.pt
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import Dataset

from pyisp_contrast.core.io import find_images, read_image
from pyisp_contrast.models import load_pretrained, save_pretrained
from pyisp_contrast.models.dehaze import Dehazer
from pyisp_contrast.models.derain import Derainer
from pyisp_contrast.train import TrainConfig, Trainer
from pyisp_contrast.train.datasets import sample_seed, split_paths

DEFAULTS = {
    "dehaze": {"steps": 1500, "crop": 128, "batch": 4, "lr": 2e-3},
    "derain": {"steps": 1200, "crop": 80, "batch": 4, "lr": 2e-3},
}


class CleanCrops(Dataset):
    """Random crops (and flips) of clean images held in memory as uint8.

    The images are decoded once: on a busy CPU, decoding two PNGs per item (what
    :class:`~pyisp_contrast.train.UnpairedImageFolders` does) costs as much as a training step
    of these small networks. Item ``i`` depends only on ``(seed, i)``, so the Trainer's exact
    resume holds.
    """

    def __init__(self, paths: list[Path], crop: int, seed: int) -> None:
        self.images = [(read_image(p) * 255).round().to(torch.uint8) for p in paths]
        small = [str(p) for p, im in zip(paths, self.images) if min(im.shape[-2:]) < crop]
        if small:
            raise ValueError(f"images smaller than the {crop} px crop: {small[:3]}")
        self.crop, self.seed = crop, seed

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict:
        g = torch.Generator().manual_seed(sample_seed(self.seed, int(index)))
        img = self.images[int(index) % len(self.images)]
        _, h, w = img.shape
        top = int(torch.randint(h - self.crop + 1, (1,), generator=g))
        left = int(torch.randint(w - self.crop + 1, (1,), generator=g))
        out = img[:, top : top + self.crop, left : left + self.crop].float() / 255
        if bool(torch.rand((), generator=g) < 0.5):
            out = out.flip(-1)
        return {"clear": out.contiguous()}


def parse_args(task: str, argv: list[str] | None = None) -> argparse.Namespace:
    d = DEFAULTS[task]
    p = argparse.ArgumentParser(description=f"Train the {task} composition on synthetic pairs.")
    p.add_argument("--data", type=Path, required=True, help="folder of clean normal-light images")
    p.add_argument("--out", type=Path, required=True, help="weights file to write (.pt)")
    p.add_argument("--run-dir", type=Path, default=Path(f"runs/{task}"), help="checkpoints, logs")
    p.add_argument("--steps", type=int, default=d["steps"])
    p.add_argument("--crop", type=int, default=d["crop"])
    p.add_argument("--batch", type=int, default=d["batch"])
    p.add_argument("--lr", type=float, default=d["lr"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--device", default="cpu")
    p.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    p.add_argument("--init", type=Path, default=None, help="start from these weights (fine-tune)")
    if task == "dehaze":
        p.add_argument("--airlight-weight", type=float, default=1.0, help="Dehazer airlight term")
    return p.parse_args(argv)


def main(task: str = "dehaze", argv: list[str] | None = None) -> int:
    args = parse_args(task, argv)
    torch.set_num_threads(args.threads)
    model = Dehazer(airlight_weight=args.airlight_weight) if task == "dehaze" else Derainer()
    if args.init is not None:
        model.load_state_dict(load_pretrained(args.init).state_dict())
    paths = split_paths(find_images([args.data], recursive=True), "train", 5)
    train = CleanCrops(paths, args.crop, args.seed)
    config = TrainConfig(
        normal=[str(args.data)],
        crop=args.crop,
        batch_size=args.batch,
        lr=args.lr,
        weight_decay=0.0,
        grad_clip=1.0,
        scheduler="cosine",
        iterations=args.steps,
        checkpoint_every=max(1, args.steps // 3),
        val_images=4,
        log_every=25,
        seed=args.seed,
        device=args.device,
        out_dir=str(args.run_dir),
        model=task,
    )
    t0 = time.perf_counter()
    result = Trainer(model, train, config, resume=args.resume).fit()
    seconds = time.perf_counter() - t0
    model.cpu().eval()
    meta = {
        "task": task,
        "trained_on": f"{args.data.name}/ training split ({len(paths)} images; every "
        "5th image sorted by path held out)",
        "synthesis": "BagOfHaze()" if task == "dehaze" else "BagOfRain()",
        "recipe": {
            "steps": args.steps,
            "crop": args.crop,
            "batch": args.batch,
            "lr": args.lr,
            "scheduler": "cosine",
            "grad_clip": 1.0,
            "seed": args.seed,
            "threads": args.threads,
            "device": args.device,
            "init": None if args.init is None else str(args.init),
            "airlight_weight": getattr(args, "airlight_weight", None),
        },
        "train_seconds": round(seconds, 1),
        "final_losses": {k: float(v) for k, v in result["losses"].items()},
        "torch": str(torch.__version__),
    }
    save_pretrained(model, args.out, **meta)
    print(json.dumps(meta, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main("dehaze"))
