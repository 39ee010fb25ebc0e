"""``pyisp-contrast export``: write an enhancer as an ONNX or TorchScript file for deployment.

The file maps a float32 RGB batch ``(batch, 3, height, width)`` in [0, 1] to the enhanced batch of
the same shape, for any batch and image size, and runs without this library (ONNX: with
``onnxruntime``; TorchScript: with ``torch.jit.load``). See :mod:`pyisp_contrast.export`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pyisp_contrast.cli._common import TASK_WEIGHTS, add_model_options, command_error

__all__ = ["add_parser", "run"]

EPILOG = """\
models:
  --task lowlight (default), dehaze or derain picks the task's bundled weights (pie-physics,
  dehaze-default, derain-default); --weights names other shipped weights (e.g. pie-default) or a
  checkpoint file, which overrides the task.

the file:
  input "image": float32 (batch, 3, height, width), RGB in [0, 1]; output "enhanced": the same
  shape, in [0, 1]. Batch, height and width are free. Unless --no-verify is given, the written
  file is run on images of several sizes and compared with the PyTorch model; the largest
  difference is printed.

requirements:
  --format onnx needs the export extra (onnx, onnxruntime):
  pip install -e '.[export]' in a clone, or pip install 'pyisp-contrast[export]'.

exit status:
  0 written (and verified), 1 written but the check against the model failed, 2 usage error
  (missing extra, unknown weights, output not writable or already there without --overwrite).
"""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "export",
        help="write an enhancer as an ONNX or TorchScript file (any image size)",
        description="Write an enhancer (default: the bundled low-light weights) as an ONNX or "
        "TorchScript file with dynamic batch, height and width.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--format", required=True, choices=["onnx", "torchscript"], help="file format to write"
    )
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the file to write")
    add_model_options(
        p,
        task_help="what the model restores; picks the default weights",
        device=False,
        settings="bake",
    )
    p.add_argument(
        "--opset", type=int, default=17, metavar="N", help="ONNX opset, >= 17 (default: 17)"
    )
    p.add_argument(
        "--no-verify",
        action="store_true",
        help="do not run the file and compare it with the PyTorch model",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing FILE")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    return p


_error = command_error("export")


def _check_output(path: Path, overwrite: bool, suffix: str) -> str | None:
    """Why ``path`` cannot be written, or ``None``."""
    if path.is_dir():
        return f"-o {path} is a folder; give a file name such as {path / ('enhancer' + suffix)}"
    if path.exists() and not overwrite:
        return f"{path} exists; use --overwrite to replace it"
    # The nearest folder that exists must take a file (missing folders are made when writing).
    folder = next((p for p in path.absolute().parents if p.exists()), Path("/"))
    if not folder.is_dir():
        return f"cannot write {path}: {folder} is a file, not a folder"
    probe = folder / f".{path.name}.probe"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        return f"cannot write {path}: {exc.strerror or exc} ({folder})"
    return None


def run(args: argparse.Namespace) -> int:
    from pyisp_contrast import export

    if args.format == "onnx":
        if args.opset < 17:
            return _error(f"--opset must be >= 17, got {args.opset}")
        for name in ("onnx", *(() if args.no_verify else ("onnxruntime",))):
            try:
                __import__(name)
            except ImportError:
                return _error(
                    f"--format onnx needs the package {name!r}, which is not installed; install "
                    "the export extra: pip install -e '.[export]' (in a clone) or "
                    "pip install 'pyisp-contrast[export]'"
                )
    weights = args.weights if args.weights is not None else TASK_WEIGHTS[args.task]
    out = Path(args.output)
    problem = _check_output(out, args.overwrite, ".onnx" if args.format == "onnx" else ".pt")
    if problem:
        return _error(problem)
    options = {"verify": not args.no_verify, "exposure": args.exposure, "denoise": args.denoise}
    try:
        if args.format == "onnx":
            result = export.export_onnx(weights, out, opset=args.opset, **options)
        else:
            result = export.export_torchscript(weights, out, **options)
    except export.VerificationError as exc:
        print(f"pyisp-contrast export: error: {out} was written, but {exc}", file=sys.stderr)
        return 1
    except export.MissingExtraError as exc:
        return _error(str(exc))
    except (OSError, ValueError, TypeError) as exc:  # unknown weights, bad checkpoint, I/O
        return _error(str(exc))
    if not args.quiet:
        what = f"ONNX opset {args.opset}" if args.format == "onnx" else "TorchScript"
        print(f"wrote {out} ({what}, {result.architecture}, weights {weights})")
        if result.max_abs_diff:
            sizes = ", ".join(f"{h}x{w}" for h, w in result.max_abs_diff)
            print(
                f"checked against the PyTorch model at {sizes}: largest difference "
                f"{max(result.max_abs_diff.values()):.2g}"
            )
    return 0
