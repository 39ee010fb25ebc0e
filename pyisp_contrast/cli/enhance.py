"""``pyisp-contrast enhance``: enhance low-light photos with a pretrained curve estimator."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

EPILOG = """\
inputs:
  Files, folders (their images, not sub-folders unless --recursive) and glob patterns
  ("photos/*.jpg"; quote it so the shell does not expand it first). --sample adds the low-light
  sample photo shipped with the package (try the command with no photo of your own).

tasks:
  --task lowlight (default) uses the bundled PIE weights, --task dehaze and --task derain the
  bundled dehazing and deraining models. --weights overrides the task's default weights.

outputs:
  Each result is written as OUT_DIR/<input stem>.png (lossless). The command never writes onto
  an input file; an existing output is kept (and the input skipped) unless --overwrite is given.
  Two inputs with the same stem are refused before any work starts (run them separately).

image kinds:
  grey        enhanced as RGB (the three channels equal) and written back as grey (luma).
  RGBA / LA   the alpha channel is kept unchanged and written back with the result.
  16-bit      read at full precision; 16-bit grey is written as 16-bit grey PNG, 16-bit colour as
              8-bit RGB PNG (a limit of the image library used).
  palette     converted to RGB (RGBA when the palette has transparency) before enhancement.

memory:
  The default network estimates its curves at a fixed low resolution and applies them to the
  full-resolution image in blocks of rows, so large photos (12 MP and more) fit in well under
  2 GB. --max-side N also downsizes the input (and so the output) to at most N pixels a side.

exit status:
  0 when every image was enhanced (or skipped as already done), 1 when some could not be read or
  processed (each is named on stderr; the others still run), 2 for a usage error.
"""


#: Default shipped weights of each ``--task``.
TASK_WEIGHTS = {"lowlight": "pie-physics", "dehaze": "dehaze-default", "derain": "derain-default"}


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "enhance",
        help="enhance low-light images with pretrained weights",
        description="Enhance low-light images with a pretrained curve estimator (default: the "
        "bundled PIE weights).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "inputs", nargs="*", metavar="INPUT", help="image files, folders or glob patterns"
    )
    p.add_argument(
        "--sample", action="store_true", help="also enhance the bundled low-light sample photo"
    )
    p.add_argument(
        "--task",
        choices=sorted(TASK_WEIGHTS),
        default="lowlight",
        help="what to restore; picks the default weights (default: %(default)s)",
    )
    p.add_argument(
        "-o", "--output", required=True, metavar="OUT_DIR", help="folder for the results"
    )
    p.add_argument(
        "--weights",
        default=None,
        metavar="PATH|NAME",
        help="weights file or shipped name (default: the task's, e.g. pie-physics)",
    )
    p.add_argument(
        "--device", default="auto", help="cpu, cuda, cuda:1 or auto (default: %(default)s)"
    )
    p.add_argument(
        "--max-side",
        type=int,
        default=None,
        metavar="N",
        help="downsize images to at most N px a side",
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument("-r", "--recursive", action="store_true", help="also search sub-folders")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    return p


def _resize_max_side(img, max_side: int):
    import torch.nn.functional as F

    h, w = img.shape[-2:]
    if max(h, w) <= max_side:
        return img
    s = max_side / max(h, w)
    size = (max(1, round(h * s)), max(1, round(w * s)))
    return F.interpolate(img[None], size=size, mode="bicubic", antialias=True, align_corners=False)[
        0
    ].clamp(0, 1)


def _source_bits(path: Path) -> int:
    from PIL import Image

    with Image.open(path) as im:
        return 16 if im.mode.startswith("I") else 8


def enhance_file(model, path: Path, dest: Path, *, device, max_side: int | None) -> None:
    """Enhance one file into ``dest`` (PNG), keeping grey, alpha and 16-bit grey as described above."""
    import torch

    from pyisp_contrast.core.io import read_image, write_image

    img, alpha = read_image(path, return_alpha=True)
    grey = bool(torch.equal(img[0], img[1]) and torch.equal(img[1], img[2]))
    bits = _source_bits(path)
    if max_side is not None:
        img = _resize_max_side(img, max_side)
        if alpha is not None:
            alpha = _resize_max_side(alpha, max_side)
    with torch.no_grad():
        out = model.enhance(img[None].to(device))[0].cpu()
    if grey:
        out = (0.299 * out[0] + 0.587 * out[1] + 0.114 * out[2])[None]
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.stem}.partial.png")
    try:
        write_image(
            tmp, out, alpha=alpha, bits=16 if (grey and bits == 16 and alpha is None) else 8
        )
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()


def run(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from pyisp_contrast.core.io import find_images
    from pyisp_contrast.models import load_pretrained
    from pyisp_contrast.train.distributed import resolve_device

    def error(msg: str) -> None:
        print(f"pyisp-contrast enhance: error: {msg}", file=sys.stderr)

    if args.max_side is not None and args.max_side < 1:
        error(f"--max-side must be >= 1, got {args.max_side}")
        return 2
    inputs_given = list(args.inputs)
    if args.sample:
        from pyisp_contrast.data import sample_lowlight_path

        inputs_given.append(sample_lowlight_path())
    if not inputs_given:
        error("give at least one INPUT (file, folder or glob), or --sample for the bundled photo")
        return 2
    if args.weights is None:
        args.weights = TASK_WEIGHTS[args.task]
    try:
        paths = find_images(inputs_given, recursive=args.recursive)
    except FileNotFoundError as exc:
        error(str(exc))
        return 2
    out_dir = Path(args.output)
    if out_dir.exists() and not out_dir.is_dir():
        error(f"{out_dir} exists and is not a folder")
        return 2
    dests = [out_dir / f"{p.stem}.png" for p in paths]
    inputs = {p.resolve() for p in paths}
    clash = [str(d) for d in dests if d.resolve() in inputs]
    if clash:
        error(f"refusing to write onto input file(s): {', '.join(clash)}; choose another -o folder")
        return 2
    seen: dict[str, Path] = {}
    for p in paths:
        if p.stem in seen:
            error(
                f"{seen[p.stem]} and {p} would both be written as {p.stem}.png; run them separately"
            )
            return 2
        seen[p.stem] = p
    try:
        device = resolve_device(args.device)
        model = load_pretrained(args.weights, device=device)
    except (OSError, ValueError, RuntimeError) as exc:
        error(str(exc))
        return 2
    failed, done, skipped = [], 0, 0
    show = not args.quiet and sys.stderr.isatty()
    for path, dest in tqdm(list(zip(paths, dests)), disable=not show, unit="img", desc="enhance"):
        if dest.exists() and not args.overwrite:
            skipped += 1
            continue
        try:
            enhance_file(model, path, dest, device=device, max_side=args.max_side)
            done += 1
        except Exception as exc:  # one bad file must not stop the others
            failed.append(path)
            msg = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
            tqdm.write(f"pyisp-contrast enhance: error: {msg}", file=sys.stderr)
    if not args.quiet:
        note = f", {skipped} already there (use --overwrite to redo)" if skipped else ""
        fail = f", {len(failed)} failed" if failed else ""
        print(f"enhanced {done} image(s) into {out_dir}{note}{fail}", file=sys.stderr)
    return 1 if failed else 0
