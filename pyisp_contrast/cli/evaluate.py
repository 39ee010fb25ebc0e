"""``pyisp-contrast evaluate``: no-reference (and, with ground truth, paired) scores of an enhancer.

The recipe is the one the project's targets were measured with: each image is resized so its long
side is at most ``--max-side`` (bicubic, on 8-bit values), enhanced, and the result quantised to 8 bits
as a saved PNG would be; then NIQE (the library's, lower is better), LOE (50x50 lightness grid, lower
keeps the light order) and the mean brightness of input and output. With ``--gt DIR`` (images paired
by file stem) also PSNR and SSIM against the ground truth.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from pyisp_contrast.cli._common import TASK_WEIGHTS, add_model_options, command_error

EPILOG = """\
outputs (with -o OUT):
  OUT/metrics.json       per-image scores and their means
  OUT/before_after.png   a figure of the first --figure-images inputs and results
  OUT/enhanced/*.png     the results, with --save-images

Special --weights values: "input" scores the unenhanced inputs (a baseline).

dehazing and deraining (--task dehaze|derain --synthetic DIR):
  Held-out synthetic pairs are made from the clean images in DIR (every 5th image sorted by path,
  resized to --max-side, default 512 here, hazed or rained with seeds fixed per image; see
  pyisp_contrast.metrics.restoration) and the degraded input, the classical baseline (dark channel
  prior / self-guided filter) and the model (default weights dehaze-default / derain-default) are
  scored by PSNR and SSIM. -o OUT writes OUT/metrics.json.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "evaluate",
        help="score an enhancer on a folder (NIQE, LOE, brightness; PSNR/SSIM with --gt)",
        description=__doc__.splitlines()[0].split(": ", 1)[1],
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_model_options(p, task_help="what the weights restore")
    p.add_argument(
        "--synthetic",
        default=None,
        metavar="DIR",
        help="clean images to make held-out hazy/rainy pairs from (--task dehaze|derain)",
    )
    p.add_argument(
        "--low",
        nargs="+",
        metavar="DIR",
        help="low-light images (folders/files/globs)",
    )
    p.add_argument(
        "--gt", default=None, metavar="DIR", help="ground-truth images paired by file stem"
    )
    p.add_argument(
        "--max-side", type=int, default=None, metavar="N", help="(default: 1200; 512 for pairs)"
    )
    p.add_argument("-o", "--output", default=None, metavar="OUT", help="folder for JSON and figure")
    p.add_argument(
        "--figure-images", type=int, default=4, metavar="K", help="(default: %(default)s)"
    )
    p.add_argument("--save-images", action="store_true", help="also write the enhanced images")
    p.add_argument("--per-image", action="store_true", help="print one table row per image")
    return p


def load_resized(path: str | Path, max_side: int | None, *, return_size: bool = False):
    """An image as ``(3, H, W)`` float in [0, 1], resized (PIL bicubic on 8 bits) to ``max_side``.

    The EXIF orientation is applied first (the image as a viewer shows it). With ``return_size``
    also returns its ``(H, W)`` before resizing.
    """
    import numpy as np
    import torch
    from PIL import Image, ImageOps

    from pyisp_contrast.core.io import ImageReadError
    from pyisp_contrast.core.resize import fit_long_side

    try:
        with Image.open(path) as im:
            im = ImageOps.exif_transpose(im).convert("RGB")
            size = (im.size[1], im.size[0])
            if max_side:
                fit = fit_long_side(im.size[1], im.size[0], max_side)
                if fit != size:
                    im = im.resize((fit[1], fit[0]), Image.BICUBIC)
            arr = np.asarray(im)
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageReadError(f"{path}: cannot read image ({exc})") from exc
    t = torch.from_numpy(arr.copy()).permute(2, 0, 1).float() / 255
    return (t, size) if return_size else t


def match_ground_truth(paths: Sequence[Path], gt_dir: str | Path) -> dict[Path, Path]:
    """``{input: ground truth}`` for the inputs whose file stem names an image in ``gt_dir``.

    Raises:
        FileNotFoundError: ``gt_dir`` holds no images.
        ValueError: none of the inputs has a ground truth (the message shows names of both).
    """
    from pyisp_contrast.core.io import find_images

    index = {p.stem: p for p in find_images([gt_dir])}
    pairs = {p: index[p.stem] for p in paths if p.stem in index}
    if not pairs:

        def some(names):
            names = sorted(names)
            return ", ".join(names[:4]) + (" ..." if len(names) > 4 else "")

        raise ValueError(
            f"--gt {gt_dir}: no ground truth has the name of an input (images are paired by file "
            f"stem; inputs: {some(p.stem for p in paths)}; ground truth: {some(index)})"
        )
    return pairs


def evaluate_images(
    enhance: Callable,
    paths: Sequence[Path],
    *,
    gt_dir: str | Path | None = None,
    max_side: int | None = 1200,
    keep: int = 0,
    save_dir: str | Path | None = None,
    progress: bool = False,
) -> dict:
    """Score ``enhance`` (``(1, 3, H, W) -> (1, 3, H, W)`` in [0, 1]) on image files.

    Returns:
        ``{"images": [per-image dict], "mean": {metric: mean}, "failed": [path], "examples":
        [(input, output) tensors of the first ``keep`` images]}``.
    """
    import torch
    from tqdm.auto import tqdm

    from pyisp_contrast.core.io import write_image
    from pyisp_contrast.metrics import loe, niqe, psnr, ssim

    gt_index = {} if gt_dir is None else match_ground_truth([Path(p) for p in paths], gt_dir)
    rows, failed, examples = [], [], []
    for path in tqdm(paths, disable=not progress, unit="img", desc="evaluate"):
        try:
            x, size = load_resized(path, max_side, return_size=True)
            t0 = time.perf_counter()
            with torch.no_grad():
                y = enhance(x[None])[0].float().cpu().clamp(0, 1)
            seconds = time.perf_counter() - t0
            y = torch.round(y * 255) / 255  # what a saved 8-bit PNG holds
            row = {
                "image": str(path),
                "size": list(x.shape[-2:]),
                "seconds": seconds,
                "niqe_input": float(niqe(x)),
                "niqe": float(niqe(y)),
                "loe": float(loe(x, y)),
                "brightness_input": float(x.mean()),
                "brightness": float(y.mean()),
            }
            gt_path = gt_index.get(Path(path))
            if gt_path is not None:
                # Resized by the same rule as the input, so an equal size gives equal pixels.
                g, gt_size = load_resized(gt_path, max_side, return_size=True)
                if gt_size != size:
                    raise ValueError(
                        f"{path}: its ground truth {gt_path} is {gt_size[1]}x{gt_size[0]} px but "
                        f"the input is {size[1]}x{size[0]}; PSNR/SSIM need the same size"
                    )
                row["psnr"] = float(psnr(y, g))
                row["ssim"] = float(ssim(y, g))
            rows.append(row)
            if len(examples) < keep:
                examples.append((x, y))
            if save_dir is not None:
                write_image(Path(save_dir) / f"{Path(path).stem}.png", y)
        except Exception as exc:  # report and go on with the others
            failed.append(str(path))
            tqdm.write(
                f"error: {exc if str(path) in str(exc) else f'{path}: {exc}'}", file=sys.stderr
            )
    keys = [k for k in ("niqe_input", "niqe", "loe", "brightness_input", "brightness", "psnr", "ssim", "seconds")
            if any(k in r for r in rows)]  # fmt: skip
    mean = {}
    for k in keys:
        vals = [r[k] for r in rows if k in r and math.isfinite(r[k])]
        mean[k] = sum(vals) / len(vals) if vals else math.nan
    return {"images": rows, "mean": mean, "failed": failed, "examples": examples}


def format_table(rows: list[tuple[str, dict]]) -> str:
    """A plain-text table: one ``(label, means)`` per line."""
    cols = ["niqe", "loe", "brightness", "psnr", "ssim", "seconds"]
    cols = [c for c in cols if any(c in m for _, m in rows)]
    width = max([len(label) for label, _ in rows] + [6])
    head = f"{'method':<{width}}  " + "  ".join(f"{c:>10}" for c in cols)
    lines = [head, "-" * len(head)]
    for label, m in rows:
        cells = "  ".join(f"{m[c]:>10.4g}" if c in m else f"{'':>10}" for c in cols)
        lines.append(f"{label:<{width}}  {cells}")
    return "\n".join(lines)


def save_figure(
    examples: list, path: str | Path, *, titles: Sequence[str] = ("input", "enhanced")
) -> None:
    """Before/after figure: one column per example, one row per stage."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = len(examples)
    if k == 0:
        return
    stages = len(examples[0])
    fig, axes = plt.subplots(stages, k, figsize=(3 * k, 2.4 * stages), squeeze=False)
    for j, images in enumerate(examples):
        for i, img in enumerate(images):
            ax = axes[i][j]
            ax.imshow(img.permute(1, 2, 0).clamp(0, 1).numpy())
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0 and i < len(titles):
                ax.set_ylabel(titles[i])
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run(args: argparse.Namespace) -> int:
    from pyisp_contrast.core.devices import resolve_device
    from pyisp_contrast.core.io import find_images

    error = command_error("evaluate")
    if args.max_side is not None and args.max_side < 1:
        return error(f"--max-side must be >= 1, got {args.max_side}")
    if args.weights is None:
        args.weights = TASK_WEIGHTS[args.task]
    if args.task != "lowlight":
        if args.synthetic is None:
            return error(f"--task {args.task} needs --synthetic DIR (clean images to degrade)")
        return run_restoration(args, error)
    if args.low is None:
        return error("give --low DIR (low-light images), or --task dehaze|derain --synthetic DIR")
    if args.max_side is None:
        args.max_side = 1200
    try:
        paths = find_images(args.low)
    except FileNotFoundError as exc:
        return error(str(exc))
    if args.gt is not None:
        if not Path(args.gt).is_dir():
            return error(f"--gt {args.gt}: not a folder")
        try:
            pairs = match_ground_truth(paths, args.gt)
        except (FileNotFoundError, ValueError) as exc:
            return error(str(exc))
        unpaired = [p for p in paths if p not in pairs]
        if unpaired:
            print(
                f"note: {len(unpaired)} of {len(paths)} inputs have no ground truth in {args.gt} "
                f"(e.g. {unpaired[0].name}); PSNR/SSIM are over the other {len(pairs)}",
                file=sys.stderr,
            )
    if args.weights == "input":
        label = "input"

        def enhance(x):
            return x
    else:
        from pyisp_contrast.models import load_pretrained

        try:
            device = resolve_device(args.device, what="--device")
            model = load_pretrained(args.weights, device=device)
        except (OSError, ValueError, RuntimeError) as exc:
            return error(str(exc))
        label = str(args.weights)

        def enhance(x):
            return model.enhance(x.to(device))

    out = Path(args.output) if args.output else None
    result = evaluate_images(
        enhance,
        paths,
        gt_dir=args.gt,
        max_side=args.max_side,
        keep=args.figure_images if out else 0,
        save_dir=(out / "enhanced") if (out and args.save_images) else None,
        progress=sys.stderr.isatty(),
    )
    m = result["mean"]
    table = [
        (
            "input",
            {
                "niqe": m.get("niqe_input", math.nan),
                "brightness": m.get("brightness_input", math.nan),
            },
        )
    ]
    if label != "input":
        table.append((label, {k: v for k, v in m.items() if not k.endswith("_input")}))
    if args.per_image:
        table += [(Path(r["image"]).name, {k: v for k, v in r.items() if isinstance(v, float) and not k.endswith("_input")})
                  for r in result["images"]]  # fmt: skip
    print(
        f"{len(result['images'])} images from {', '.join(args.low)} (long side <= {args.max_side} px)"
    )
    print(format_table(table))
    if out:
        out.mkdir(parents=True, exist_ok=True)
        payload = {k: v for k, v in result.items() if k != "examples"}
        payload.update(
            {"weights": label, "max_side": args.max_side, "niqe_model": "pyisp_contrast shipped"}
        )
        (out / "metrics.json").write_text(json.dumps(payload, indent=2))
        save_figure(result["examples"], out / "before_after.png")
        print(f"wrote {out / 'metrics.json'} and {out / 'before_after.png'}")
    if result["failed"]:
        print(
            f"{len(result['failed'])} image(s) failed: {', '.join(result['failed'])}",
            file=sys.stderr,
        )
        return 1
    return 0


def run_restoration(args: argparse.Namespace, error: Callable[[str], int]) -> int:
    """``--task dehaze|derain``: PSNR/SSIM of input, classical baseline and model on synthetic pairs."""
    from pyisp_contrast.core.devices import resolve_device
    from pyisp_contrast.evaluation import (
        classical_baseline,
        evaluate_restoration,
        synthetic_pairs,
    )
    from pyisp_contrast.models import load_pretrained

    max_side = 512 if args.max_side is None else args.max_side
    try:
        device = resolve_device(args.device, what="--device")
        model = load_pretrained(args.weights, device=device)
        pairs = list(synthetic_pairs(args.synthetic, args.task, max_side=max_side, device=device))
    except (OSError, ValueError, RuntimeError) as exc:
        return error(str(exc))
    baseline = "dark channel prior" if args.task == "dehaze" else "self-guided filter"
    result = evaluate_restoration(
        {baseline: classical_baseline(args.task), str(args.weights): model.enhance}, pairs
    )
    print(
        f"{len(pairs)} held-out {args.task} pairs from {args.synthetic} (long side <= {max_side} px)"
    )
    print(format_table(list(result["mean"].items())))
    if args.output:
        out = Path(args.output)
        out.mkdir(parents=True, exist_ok=True)
        payload = {"task": args.task, "weights": str(args.weights), "max_side": max_side, **result}
        (out / "metrics.json").write_text(json.dumps(payload, indent=2))
        print(f"wrote {out / 'metrics.json'}")
    return 0
