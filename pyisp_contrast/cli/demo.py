"""``pyisp-contrast demo``: darken a sample photo and show Bag of Curves negatives.

Writes into the output folder:

- ``sample_lowlight.png``: scikit-image's ``astronaut`` darkened by
  :func:`pyisp_contrast.isp.degrade.low_light` (physics-based: linear light, fewer stops, sensor noise);
- ``boc_negatives.png``: the clean photo (top left) followed by ``k`` negatives from
  :meth:`pyisp_contrast.isp.bank.BagOfCurves.pie`, in a grid;
- ``boc_record.json``: what the bank drew for each negative (family, parameter, exposure), enough
  to reproduce them with :meth:`~pyisp_contrast.isp.bank.BagOfCurves.apply_record`.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from pyisp_contrast.cli._common import command_error

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "demo",
        help="darken a sample photo and write a grid of Bag of Curves negatives",
        description=__doc__.splitlines()[0],
    )
    p.add_argument(
        "-o",
        "--output",
        dest="out",
        type=Path,
        default=Path("demo_out"),
        metavar="OUT_DIR",
        help="output folder (default: %(default)s)",
    )
    p.add_argument("-k", "--negatives", type=int, default=7, help="negatives to draw (default 7)")
    p.add_argument(
        "--size", type=int, default=256, help="side of the photo in pixels (default 256)"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    return p


def run(args: argparse.Namespace) -> int:
    import torch
    import torch.nn.functional as F
    from skimage import data

    from pyisp_contrast.core.io import write_image
    from pyisp_contrast.isp.bank import BagOfCurves
    from pyisp_contrast.isp.degrade import low_light
    from pyisp_contrast.train import image_grid

    error = command_error("demo")
    if args.negatives < 1:
        return error(f"--negatives must be >= 1, got {args.negatives}")
    if args.size < 16:
        return error(f"--size must be >= 16, got {args.size}")
    t0 = time.perf_counter()
    clean = torch.from_numpy(data.astronaut()).permute(2, 0, 1).float().div(255).unsqueeze(0)
    clean = F.interpolate(clean, size=(args.size, args.size), mode="bilinear", antialias=True)
    clean = clean.clamp(0, 1)
    g = torch.Generator().manual_seed(args.seed)
    dark, params = low_light(clean, ev_range=(-4.0, -3.0), generator=g)
    negatives, record = BagOfCurves.pie().sample(clean, k=args.negatives, generator=g)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_image(out / "sample_lowlight.png", dark[0])
    tiles = torch.cat([clean, negatives[0]], dim=0)
    columns = 4  # rows of four tiles, the last one filled with white
    blank = tiles.new_ones(-len(tiles) % columns, *tiles.shape[1:])
    rows = list(torch.cat([tiles, blank]).unflatten(0, (-1, columns)))
    write_image(out / "boc_negatives.png", image_grid(rows, pad=4))
    log = {
        "seed": args.seed,
        "low_light": {k: v.tolist() for k, v in params.items()},
        "negatives": record.as_rows(),
    }
    (out / "boc_record.json").write_text(json.dumps(log, indent=2) + "\n")
    for row in record.as_rows():
        print(
            f"negative {row['k']}: {row['family']:<9} param={row['param']:.3f} "
            f"{row['exposure']:<5} |luma diff|={row['difference']:.3f}"
        )
    print(
        f"wrote {out}/sample_lowlight.png, boc_negatives.png, boc_record.json "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    return 0
