"""Compare low-light enhancer weights on held-out synthetic pairs (how pie-default was chosen).

The held-out split is that of :func:`pyisp_contrast.train.split_paths` (every 5th normal-light
image, sorted by path). Each held-out image is resized to at most 384 px (bilinear, antialiased),
darkened with :func:`pyisp_contrast.isp.degrade.low_light` (generator seed ``9000 + i``), enhanced,
and compared with the clean image:

- ``PSNR / SSIM`` at the training range of exposures (EV -5 to -2, drawn per image): the number
  the model card uses to choose between checkpoints;
- ``--ev`` levels (default -4 -2 -1 0): mean output brightness and PSNR at fixed exposures, which
  shows whether the gain adapts to how dark the input is (mean ground truth brightness alongside).

Usage::

    python scripts/eval_lowlight_checkpoints.py pie-default runs/x/checkpoints/step_000400.pt \\
        --data ../shared/data/normal

Prints one table and, with ``--json``, writes the numbers.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from pyisp_contrast.core.io import find_images, read_image
from pyisp_contrast.isp.degrade import low_light
from pyisp_contrast.metrics import psnr, ssim
from pyisp_contrast.models import load_pretrained
from pyisp_contrast.train import split_paths

SEED = 9000
SIDE = 384


def held_out(data: Path, holdout_every: int, side: int = SIDE) -> list[torch.Tensor]:
    """The held-out photos of ``data``, each resized to at most ``side`` px."""
    paths = find_images([data], recursive=True)
    if not paths:
        raise SystemExit(f"no images under {data}; pass --data DIR with the normal-light photos")
    images = []
    for p in split_paths(sorted(paths), "val", holdout_every):
        x = read_image(p)[None]
        s = side / max(x.shape[-2:])
        if s < 1:
            x = F.interpolate(x, scale_factor=s, mode="bilinear", antialias=True)
        images.append(x.clamp(0, 1))
    return images


@torch.no_grad()
def evaluate(model, images, ev) -> dict[str, float]:
    """Mean PSNR, SSIM and output brightness; ``ev=None`` draws it from the training range."""
    out = {"psnr": 0.0, "ssim": 0.0, "brightness": 0.0, "gt_brightness": 0.0}
    for i, x in enumerate(images):
        g = torch.Generator().manual_seed(SEED + i)
        low, _ = low_light(x, generator=g) if ev is None else low_light(x, ev_range=ev, generator=g)
        y = model.enhance(low)
        out["psnr"] += psnr(y, x).item()
        out["ssim"] += ssim(y, x).item()
        out["brightness"] += y.mean().item()
        out["gt_brightness"] += x.mean().item()
    return {k: v / len(images) for k, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("weights", nargs="+", help="shipped names or checkpoint paths")
    ap.add_argument("--data", type=Path, default=Path("../shared/data/normal"))
    ap.add_argument("--holdout-every", type=int, default=5)
    ap.add_argument("--ev", type=float, nargs="*", default=[-4.0, -2.0, -1.0, 0.0])
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args()
    images = held_out(a.data, a.holdout_every)
    results = {}
    for w in tqdm(a.weights, desc="weights", file=sys.stderr):
        model = load_pretrained(w)
        res = {"training range": evaluate(model, images, None)}
        for ev in a.ev:
            res[f"EV {ev:+g}"] = evaluate(model, images, ev)
        results[w] = res
    print(f"{len(images)} held-out images, at most {SIDE} px")
    for w, res in results.items():
        print(f"\n{w}")
        print(f"  {'exposure':16s} {'PSNR':>7s} {'SSIM':>6s} {'output':>7s} {'truth':>6s}")
        for name, r in res.items():
            print(
                f"  {name:16s} {r['psnr']:7.2f} {r['ssim']:6.3f} "
                f"{r['brightness']:7.3f} {r['gt_brightness']:6.3f}"
            )
    if a.json is not None:
        a.json.write_text(json.dumps(results, indent=2))
        print(f"wrote {a.json}")


if __name__ == "__main__":
    main()
