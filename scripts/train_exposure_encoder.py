"""Train the shipped ExposureEncoder with the library's own contrastive API, then measure it.

Data: well-exposed images under ``--data`` (``../shared/data/normal``), sorted by path with every
5th held out (:func:`pyisp_contrast.train.split_paths`, the split of every bundled weight file).
Exposure variants come from the library: PIE's Bag of Curves (:class:`~pyisp_contrast.isp.bank.
BagOfCurves`), exposure changes in linear light (:func:`~pyisp_contrast.isp.curves.exposure`) and,
when available, the physics-based low-light synthesis (``pyisp_contrast.isp.degrade.low_light``).

Loss (all :class:`~pyisp_contrast.contrastive.InfoNCELoss` with :class:`GramMSEDistance`):

1. *PIE term*: anchor = a well-exposed crop, positives = well-exposed crops of *other* images
   (shared), negatives = badly exposed versions of the anchor. This is how PIE uses the embedder.
2. *Ranking terms*: anchor = a well-exposed crop (the same image, and another image), one positive
   = a slightly re-exposed version (|EV| < 0.75), negatives = stronger re-exposures of the same
   content, so distances grow with the exposure error.

Measurement on the held-out images, against random-initialised VGG16 (relu1_2/2_2/3_3, GramMSE,
as PIE's term) and the weight-free PixelStatistics embedder:

- Spearman correlation between distance and |EV| (EV in +-{0.5, 1, 2, 3}), reference = the same
  image well exposed ("same content") or a different held-out image ("cross content");
- 1-nearest-neighbour accuracy of under / well / over labels, the neighbours drawn only from other
  source images.

Usage::

    python scripts/train_exposure_encoder.py --data ../shared/data/normal \
        --out pyisp_contrast/contrastive/weights/exposure_encoder.pt
    python scripts/train_exposure_encoder.py --data ../shared/data/normal --eval-only
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import spearmanr
from torch import Tensor

from pyisp_contrast.contrastive import (
    ExposureEncoder,
    GramMSEDistance,
    InfoNCELoss,
    PixelStatistics,
    VGG16Features,
)
from pyisp_contrast.core.checks import check_image, value_checks
from pyisp_contrast.core.io import find_images, read_image
from pyisp_contrast.isp.curves import exposure, gamma, log_curve, value_curve
from pyisp_contrast.train import split_paths

try:  # being written alongside this script; train without it if it is not there yet
    from pyisp_contrast.isp.bank import BagOfCurves
except ImportError:  # pragma: no cover
    BagOfCurves = None
try:
    from pyisp_contrast.isp.degrade import low_light
except ImportError:  # pragma: no cover
    low_light = None

ROOT = Path(__file__).resolve().parents[1]


def _bank_works() -> bool:
    """The bank is being written alongside this script; probe it once and fall back if it breaks."""
    if BagOfCurves is None:
        return False
    try:
        BagOfCurves.pie(strict=False)(
            torch.rand(1, 3, 8, 8), k=1, generator=torch.Generator().manual_seed(0)
        )
    except Exception as err:
        print(
            f"BagOfCurves unusable here ({type(err).__name__}: {err}); using the PIE curves from isp.curves"
        )
        return False
    return True


def pie_curves(
    x: Tensor, k: int, gen: torch.Generator, under_ratio: float = 0.5
) -> tuple[Tensor, Tensor]:
    """PIE's Bag of Curves from :mod:`pyisp_contrast.isp.curves` (fallback for BagOfCurves.pie()):
    HSV value power k = 6 / 0.1, RGB gamma U(5, 8) / U(0.001, 0.2), log curve a = 10 / 40, dark or
    bright with odds ``under_ratio``. Returns ``(B, k, C, H, W)`` and the under(0)/over(1) labels."""
    b = x.shape[0]
    outs, labels = [], []
    for _ in range(k):
        dark = torch.rand(b, generator=gen) < under_ratio
        fam = torch.randint(0, 3, (b,), generator=gen)
        y = torch.empty_like(x)
        for i in range(b):
            xi, d = x[i : i + 1], bool(dark[i])
            if fam[i] == 0:
                y[i] = value_curve(xi, gamma, gamma=6.0 if d else 0.1)[0]
            elif fam[i] == 1:
                g = (
                    5 + 3 * torch.rand((), generator=gen)
                    if d
                    else 0.001 + 0.199 * torch.rand((), generator=gen)
                )
                y[i] = gamma(xi, float(g))[0]
            else:
                y[i] = log_curve(xi, 10.0 if d else 40.0)[0]
        outs.append(y)
        labels.append((~dark).long())
    return torch.stack(outs, dim=1), torch.stack(labels, dim=1)


USE_BANK = False
EVAL_EVS = (-3.0, -2.0, -1.0, -0.5, 0.5, 1.0, 2.0, 3.0)


def load_images(paths: list[Path], short_side: int) -> list[Tensor]:
    """Read and downscale (antialiased) so the short side is ``short_side``: exposure is a global
    property, and small images keep CPU training to minutes."""
    out = []
    for p in paths:
        x = read_image(p)[None]
        s = short_side / min(x.shape[-2:])
        size = (round(x.shape[-2] * s), round(x.shape[-1] * s))
        y = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
        y, _ = check_image(y.clamp(0, 1), str(p))  # checked once here; training runs unchecked
        out.append(y)
    return out


def random_crops(images: list[Tensor], idx: list[int], crop: int, gen: torch.Generator) -> Tensor:
    crops = []
    for i in idx:
        x = images[i]
        h, w = x.shape[-2:]
        y0 = int(torch.randint(0, h - crop + 1, (1,), generator=gen))
        x0 = int(torch.randint(0, w - crop + 1, (1,), generator=gen))
        c = x[..., y0 : y0 + crop, x0 : x0 + crop]
        if torch.rand((), generator=gen) < 0.5:
            c = c.flip(-1)
        crops.append(c)
    return torch.cat(crops)


def signed(mag: Tensor, gen: torch.Generator) -> Tensor:
    return mag * torch.where(torch.rand(mag.shape, generator=gen) < 0.5, -1.0, 1.0)


def bad_exposures(x: Tensor, k: int, gen: torch.Generator) -> Tensor:
    """``k`` badly exposed versions per image: half from the Bag of Curves, half EV shifts
    (and low-light synthesis when available). Returns ``(B, k, C, H, W)``."""
    b = x.shape[0]
    parts = []
    n_boc = k // 2
    if n_boc:
        if USE_BANK:
            neg, _ = BagOfCurves.pie(strict=False)(x, k=n_boc, generator=gen)
        else:
            neg, _ = pie_curves(x, n_boc, gen)
        parts.append(neg)
    n_ll = 1 if low_light is not None and k - n_boc >= 2 else 0
    if n_ll:
        parts.append(low_light(x, generator=gen)[0].unsqueeze(1))
    for _ in range(k - n_boc - n_ll):
        ev = signed(1.5 + 2.5 * torch.rand(b, generator=gen), gen)
        parts.append(exposure(x, ev).unsqueeze(1))
    return torch.cat(parts, dim=1)


def graded(x: Tensor, k: int, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    """A slight re-exposure (positive) and ``k`` stronger ones (negatives) of each image."""
    b = x.shape[0]
    small = 0.75 * torch.rand(b, generator=gen)
    pos = exposure(x, signed(small, gen)).unsqueeze(1)
    negs = [
        exposure(x, signed(small + 0.75 + 2.5 * torch.rand(b, generator=gen), gen))
        for _ in range(k)
    ]
    return pos, torch.stack(negs, dim=1)


def _train_step(images, args, gen, pie_term, rank_term) -> Tensor:
    n = len(images)
    perm = torch.randperm(n, generator=gen).tolist()
    anchors = random_crops(images, perm[: args.batch], args.crop, gen)
    others = random_crops(images, perm[args.batch : 2 * args.batch], args.crop, gen)
    negs = bad_exposures(anchors, args.negatives, gen)
    pos_g, neg_g = graded(anchors, 2, gen)
    return (
        pie_term(anchors, others, negs)
        + 0.5 * rank_term(anchors, pos_g, neg_g)
        # cross content: rank a *different* image's re-exposures from a well-exposed anchor
        + 0.5 * rank_term(others, pos_g, neg_g)
    )


def train(args: argparse.Namespace, images: list[Tensor]) -> tuple[ExposureEncoder, dict]:
    gen = torch.Generator().manual_seed(args.seed)
    enc = ExposureEncoder(generator=gen)
    dist = GramMSEDistance()
    pie_term = InfoNCELoss(enc, dist, temperature=args.temperature)
    rank_term = InfoNCELoss(enc, dist, temperature=args.temperature)
    opt = torch.optim.AdamW(enc.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / args.steps))
    )
    log = []
    t0 = time.perf_counter()
    for step in range(args.steps):
        with value_checks(False):  # the crops are checked once at load time
            loss = _train_step(images, args, gen, pie_term, rank_term)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(enc.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 25 == 0 or step == args.steps - 1:
            log.append((step, float(loss.detach())))
            print(
                f"step {step:4d}  loss {float(loss.detach()):.4f}  {time.perf_counter() - t0:6.1f}s",
                flush=True,
            )
    info = {
        "steps": args.steps,
        "batch": args.batch,
        "crop": args.crop,
        "negatives_per_anchor": args.negatives,
        "temperature": args.temperature,
        "lr": args.lr,
        "seed": args.seed,
        "train_seconds": round(time.perf_counter() - t0, 1),
        "first_loss": log[0][1],
        "final_loss": log[-1][1],
        "bag_of_curves": "isp.bank.BagOfCurves.pie()"
        if USE_BANK
        else "PIE curves from isp.curves (bank fallback)",
        "used_low_light": low_light is not None,
    }
    enc.requires_grad_(False)
    enc.eval()
    return enc, info


# ------------------------------------------------------------------------------------ measurement
def center_crop(x: Tensor, size: int) -> Tensor:
    h, w = x.shape[-2:]
    y0, x0 = (h - size) // 2, (w - size) // 2
    return x[..., y0 : y0 + size, x0 : x0 + size]


@torch.no_grad()
def gram_features(embedder, x: Tensor, dist: GramMSEDistance, chunk: int = 8) -> list[Tensor]:
    out: list[list[Tensor]] = []
    for i in range(0, x.shape[0], chunk):
        out.append([dist.prepare(f) for f in embedder(x[i : i + chunk])])
    return [torch.cat(layer) for layer in zip(*out)]


def pairwise(dist: GramMSEDistance, fa: list[Tensor], fb: list[Tensor]) -> Tensor:
    """All distances ``(Na, Nb)`` between two sets of prepared features."""
    d = dist.compare_layers([f[:, None] for f in fa], [f[None] for f in fb])
    return d.sum(0)


@torch.no_grad()
def measure(embedders: dict[str, object], images: list[Tensor], crop: int, seed: int) -> dict:
    gen = torch.Generator().manual_seed(seed)
    x = torch.cat([center_crop(im, crop) for im in images])  # (M, 3, crop, crop)
    m = x.shape[0]
    evs = torch.tensor(EVAL_EVS)
    variants = torch.stack([exposure(x, float(e)) for e in EVAL_EVS], dim=1)  # (M, E, ...)

    # under / well / over items, two per class and image; BoC adds a curve-made under and over.
    items, labels, source = [], [], []
    if USE_BANK:
        boc = BagOfCurves.pie(strict=False)
        under_boc, _ = BagOfCurves(boc.families, under_ratio=1.0, strict=False)(
            x, k=1, generator=gen
        )
        over_boc, _ = BagOfCurves(boc.families, under_ratio=0.0, strict=False)(
            x, k=1, generator=gen
        )
    else:
        under_boc, _ = pie_curves(x, 1, gen, under_ratio=1.0)
        over_boc, _ = pie_curves(x, 1, gen, under_ratio=0.0)
    extra_under, extra_over = under_boc[:, 0], over_boc[:, 0]
    for lab, batch in (
        (0, exposure(x, -2.5)),
        (0, extra_under),
        (1, x),
        (1, exposure(x, 0.25)),
        (2, exposure(x, 2.0)),
        (2, extra_over),
    ):
        items.append(batch)
        labels.append(torch.full((m,), lab))
        source.append(torch.arange(m))
    items_t, labels_t, source_t = torch.cat(items), torch.cat(labels), torch.cat(source)

    results = {}
    dist = GramMSEDistance()
    for name, emb in embedders.items():
        t0 = time.perf_counter()
        f_ref = gram_features(emb, x, dist)
        f_var = gram_features(emb, variants.flatten(0, 1), dist)
        d_same = torch.stack(
            [
                pairwise(
                    dist,
                    [f[i : i + 1] for f in f_ref],
                    [f[i * len(evs) : (i + 1) * len(evs)] for f in f_var],
                )[0]
                for i in range(m)
            ]
        )  # (M, E)
        rho_same = [spearmanr(d_same[i].numpy(), evs.abs().numpy()).statistic for i in range(m)]
        # cross content: reference = another held-out image; EV 0 (the image itself) included.
        d_all = pairwise(dist, f_ref, f_var).view(m, m, len(evs))  # (ref, src, E)
        d_zero = pairwise(dist, f_ref, f_ref)  # (ref, src) at EV 0
        abs_ev = np.concatenate([[0.0], evs.abs().numpy()])
        rho_cross = []
        for r in range(m):
            for s in range(m):
                if r != s:
                    d = np.concatenate([[float(d_zero[r, s])], d_all[r, s].numpy()])
                    rho_cross.append(spearmanr(d, abs_ev).statistic)
        f_items = gram_features(emb, items_t, dist)
        d_items = pairwise(dist, f_items, f_items)
        d_items[source_t[:, None] == source_t[None, :]] = float(
            "inf"
        )  # neighbours from other images only
        pred = labels_t[d_items.argmin(dim=1)]
        acc = float((pred == labels_t).float().mean())
        per_class = {
            c: float((pred[labels_t == i] == i).float().mean())
            for i, c in enumerate(("under", "well", "over"))
        }
        results[name] = {
            "spearman_same_content": float(np.nanmean(rho_same)),
            "spearman_cross_content": float(np.nanmean(rho_cross)),
            "retrieval_accuracy_1nn": acc,
            "retrieval_per_class": per_class,
            "seconds": round(time.perf_counter() - t0, 1),
        }
        print(name, json.dumps(results[name]), flush=True)
    return {
        "held_out_images": m,
        "crop": crop,
        "evs": list(EVAL_EVS),
        "chance_accuracy": 1 / 3,
        "embedders": results,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        default="../shared/data/normal",
        help="folder of well-exposed images (searched recursively)",
    )
    parser.add_argument("--out", default="pyisp_contrast/contrastive/weights/exposure_encoder.pt")
    parser.add_argument("--results", default="benchmarks/results/exposure_encoder.json")
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--crop", type=int, default=64)
    parser.add_argument("--negatives", type=int, default=3)
    parser.add_argument("--temperature", type=float, default=0.1)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--short-side", type=int, default=128)
    parser.add_argument("--eval-crop", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (1 is fastest on a shared 2-core machine)",
    )
    parser.add_argument(
        "--eval-only", action="store_true", help="measure the weights at --out, no training"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    global USE_BANK
    USE_BANK = _bank_works()

    paths = find_images([args.data], recursive=True)
    train_paths, val_paths = split_paths(paths, "train"), split_paths(paths, "val")
    print(f"{len(train_paths)} training, {len(val_paths)} held-out images", flush=True)
    train_imgs = load_images(train_paths, args.short_side)
    val_imgs = load_images(val_paths, args.short_side)

    if args.eval_only:
        enc, info = ExposureEncoder.pretrained(args.out), {}
    else:
        enc, info = train(args, train_imgs)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        enc.save(args.out, train_info=json.dumps(info))
        print(f"wrote {args.out} ({Path(args.out).stat().st_size / 1024:.0f} KiB)")
    gen = torch.Generator().manual_seed(args.seed)
    embedders = {
        "ExposureEncoder (trained)": enc,
        "VGG16 random init (relu1_2/2_2/3_3)": VGG16Features(weights=None, generator=gen),
        "ExposureEncoder random init": ExposureEncoder(generator=gen),
        "PixelStatistics (no weights)": PixelStatistics(scales=(1, 4, 16)),
    }
    with value_checks(False):
        report = measure(embedders, val_imgs, args.eval_crop, args.seed)
    report["training"] = info
    report["data"] = {
        "root": str(args.data),
        "train_images": len(train_paths),
        "held_out_images": len(val_paths),
        "split": "sorted by path, every 5th held out (pyisp_contrast.train.split_paths)",
    }
    report["machine"] = {
        "platform": platform.platform(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }
    Path(args.results).parent.mkdir(parents=True, exist_ok=True)
    # paths relative to the repository root, like the benchmarks' results (benchmarks/_common.py)
    report["data"]["root"] = os.path.relpath(Path(args.data).resolve(), ROOT)
    Path(args.results).write_text(json.dumps(report, indent=2))
    print(f"wrote {args.results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
