"""Score low-light enhancer checkpoints on the development sets (how pie-physics was chosen).

Only validation data is used to choose (DICM and LIME are never read here):

- ``--lol DIR`` (default ``../shared/data/lowlight_paired/LOL_train50``): real low/normal pairs,
  PSNR / SSIM of the enhanced ``low/`` against ``high/``, the mean output brightness and the
  lightness-order error against the input (:func:`pyisp_contrast.metrics.loe`);
- held-out synthetic pairs: every 5th image (sorted by path) of ``--normal`` folders, at most 384 px,
  darkened by :func:`pyisp_contrast.isp.degrade.low_light` with the training synthesis of
  ``configs/pie_physics.toml`` (seed ``9000 + i``), PSNR / SSIM against the clean image; and the
  same images at EV 0 without noise, where the enhancer should change little (PSNR to itself).

Usage::

    python scripts/select_enhancer.py pie-default runs/pie_physics/checkpoints/step_00*.pt \\
        --normal ../shared/data/normal ../shared/data/normal_more --json scores.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from pathlib import Path

import torch

# scripts/ is on sys.path when this file runs as a script
from eval_lowlight_checkpoints import held_out as _held_out_one

from pyisp_contrast.core.checks import value_checks
from pyisp_contrast.core.io import find_images, read_image
from pyisp_contrast.isp.degrade import low_light
from pyisp_contrast.metrics import loe, psnr, ssim
from pyisp_contrast.models import load_pretrained

ROOT = Path(__file__).resolve().parents[1]
SEED = 9000


def lol_pairs(folder: Path) -> list[tuple[torch.Tensor, torch.Tensor]]:
    lows = find_images([folder / "low"])
    if not lows:
        raise SystemExit(f"no images in {folder / 'low'}")
    return [(read_image(p)[None], read_image(folder / "high" / p.name)[None]) for p in lows]


def held_out(folders: list[Path], holdout_every: int = 5) -> list[torch.Tensor]:
    """The held-out photos of each folder, as ``scripts/eval_lowlight_checkpoints.py`` takes them."""
    return [x for folder in folders for x in _held_out_one(folder, holdout_every)]


@torch.no_grad()
def score(model, lol, clean, synth_kwargs) -> dict[str, float]:
    out = {}
    p = s = b = order = 0.0
    for low, high in lol:
        y = model.enhance(low)
        p += psnr(y, high).item()
        s += ssim(y, high).item()
        b += y.mean().item()
        order += loe(low, y).item()
    n = len(lol)
    out.update(lol_psnr=p / n, lol_ssim=s / n, lol_brightness=b / n, lol_loe=order / n)
    p = s = e0 = 0.0
    for i, x in enumerate(clean):
        g = torch.Generator().manual_seed(SEED + i)
        with value_checks(False):
            low, _ = low_light(x, generator=g, **synth_kwargs)
        y = model.enhance(low)
        p += psnr(y, x).item()
        s += ssim(y, x).item()
        e0 += psnr(model.enhance(x), x).item()
    n = len(clean)
    out.update(synth_psnr=p / n, synth_ssim=s / n, ev0_psnr=e0 / n)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("weights", nargs="+", help="shipped names or checkpoint paths")
    ap.add_argument(
        "--lol", type=Path, default=ROOT.parent / "shared/data/lowlight_paired/LOL_train50"
    )
    ap.add_argument("--normal", type=Path, nargs="+", default=[ROOT.parent / "shared/data/normal"])
    ap.add_argument("--config", type=Path, default=ROOT / "configs/pie_physics.toml")
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args()
    synth = tomllib.loads(a.config.read_text()).get("synthesize_kwargs", {})
    lol, clean = lol_pairs(a.lol), held_out(a.normal)
    print(f"{len(lol)} LOL pairs, {len(clean)} held-out synthetic pairs", file=sys.stderr)
    cols = ["lol_psnr", "lol_ssim", "lol_brightness", "lol_loe", "synth_psnr", "synth_ssim"]
    cols.append("ev0_psnr")
    print(f"{'weights':60s} " + " ".join(f"{c:>14s}" for c in cols))
    results = {}
    for w in a.weights:
        r = score(load_pretrained(w), lol, clean, synth)
        results[w] = r
        print(f"{w[-60:]:60s} " + " ".join(f"{r[c]:14.3f}" for c in cols), flush=True)
    if a.json is not None:
        a.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
