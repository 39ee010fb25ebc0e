"""``pyisp-contrast enhance``: enhance low-light photos and videos with a pretrained enhancer."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pyisp_contrast.cli._common import TASK_WEIGHTS, add_model_options, command_error
from pyisp_contrast.core.files import written_atomically

EPILOG = """\
inputs:
  Files, folders (their images, not sub-folders unless --recursive; hidden files, whose names
  start with '.', are skipped) and glob patterns ("photos/*.jpg"; quote it so the shell does not
  expand it first). --sample adds the low-light sample photo shipped with the package (try the
  command with no photo of your own). An input that matches nothing is reported and the others
  still run. HEIC/HEIF photos need pip install -e '.[heic]'.

videos:
  Video files given by name or glob (.mp4, .mov, .m4v, .mkv, .webm, .avi; folders give images
  only) are enhanced frame by frame into OUT_DIR/<stem>.<same suffix> (8-bit H.264; VP9 for WebM,
  MPEG-4 for AVI), frame times kept, audio copied unchanged, container tags kept, with a progress
  bar per video. The low-light models' low-resolution exposure maps are averaged over
  --temporal-smoothing seconds so brightness does not flicker from frame to frame (a scene cut
  starts a new average); dehazing and deraining run frame by frame. A phone video's rotation is
  applied to the pixels. Needs PyAV: pip install -e '.[video]'.

tasks:
  --task lowlight (default) uses the bundled pie-physics weights, --task dehaze and --task derain the
  bundled dehazing and deraining models. --weights overrides the task's default weights.

outputs:
  Each photo is written as OUT_DIR/<input stem>.png (lossless), with the input's ICC profile and
  EXIF (orientation reset, as the pixels are turned upright). The command never writes onto an
  input file. Each output records what it was made from (input file, model, task and options; in
  a PNG text chunk or the video's metadata):
    - made from the same input with the same model, task and options: kept ("already there");
    - made from the same input file with other weights, task or options, or from an older
      version of it: made again;
    - made from another input (two folders holding x.png and x.jpg), or not made by this command:
      nothing is done and the command stops (exit 2) naming it: give another -o folder or
      --overwrite.
  --overwrite always makes every output again. Two inputs with the same stem in one run are
  refused before any work starts (enhance them into different -o folders). Results are written
  to a hidden .<name>.<random>.partial file first and renamed when complete; Ctrl-C or SIGTERM
  removes it. The output folder is created and checked writable before any work; a run that
  writes nothing (a refused option, weights that do not load, every input failing, Ctrl-C before
  the first output) removes the folders it created.

image kinds:
  grey        enhanced as RGB (the three channels equal) and written back as grey (luma).
  RGBA / LA   the alpha channel is kept unchanged and written back with the result.
  16-bit      read at full precision (PNG and TIFF, grey and colour) and written as 16-bit PNG.
  palette     converted to RGB (RGBA when the palette has transparency) before enhancement.
  EXIF-rotated  turned as the Orientation tag says (phone photos), so the output is upright.

CPU threads:
  torch and numba use --threads N threads (or the PYISP_CONTRAST_THREADS environment variable).
  By default (auto) the count is the CPUs this process may use minus the CPUs other programs keep
  busy, re-checked between inputs: a parallel step waits for its slowest thread, and a thread
  sharing its core with another busy program stalls the rest, so on a busy machine fewer
  threads finish sooner (2 cores with one taken: 1 thread, not 2).

memory:
  The default network estimates its maps at a fixed low resolution and applies them to the
  full-resolution image in blocks of rows, so large photos (12 MP and more) fit in well under
  2 GB. --max-side N also downsizes the input (and so the output) to at most N pixels a side.

exit status:
  0 when every input was enhanced (or skipped as already done), 1 when some were missing or could
  not be read or processed (each is named on stderr; the others still run), 2 for a usage error
  (bad option, unwritable output folder, an output that would be replaced, missing extra),
  130 after Ctrl-C and 143 after SIGTERM (finished outputs are kept; run again to continue).
"""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "enhance",
        help="enhance low-light photos and videos with pretrained weights",
        description="Enhance low-light photos and videos with a pretrained enhancer (default: "
        "the bundled pie-physics weights).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "inputs", nargs="*", metavar="INPUT", help="image or video files, folders or glob patterns"
    )
    p.add_argument(
        "--sample", action="store_true", help="also enhance the bundled low-light sample photo"
    )
    p.add_argument(
        "-o", "--output", required=True, metavar="OUT_DIR", help="folder for the results"
    )
    add_model_options(p, settings="apply")
    p.add_argument(
        "--max-side",
        type=int,
        default=None,
        metavar="N",
        help="downsize images and video frames to at most N px a side",
    )
    p.add_argument(
        "--temporal-smoothing",
        type=float,
        default=0.5,
        metavar="SECONDS",
        help="videos: average the exposure maps over this many seconds; 0 = each frame alone "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        metavar="N",
        help="CPU threads (default: auto, the CPUs left free by other programs; see below)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument("-r", "--recursive", action="store_true", help="also search sub-folders")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    return p


def _resize_max_side(img, max_side: int):
    import torch.nn.functional as F

    from pyisp_contrast.core.resize import fit_long_side

    size = fit_long_side(*img.shape[-2:], max_side)
    if size == tuple(img.shape[-2:]):
        return img
    return F.interpolate(img[None], size=size, mode="bicubic", antialias=True, align_corners=False)[
        0
    ].clamp(0, 1)


def enhance_file(
    model, path: Path, dest: Path, *, device, max_side: int | None, text: dict | None = None
) -> None:
    """Enhance one photo into ``dest`` (PNG), keeping grey, alpha, 16 bits, ICC and EXIF.

    ``text`` adds PNG text chunks (the command's record of what the output was made from).
    """
    import torch

    from pyisp_contrast.core.color import LUMA_WEIGHTS
    from pyisp_contrast.core.io import icc_space, read_photo, write_image

    img, alpha, info = read_photo(path)
    grey = info.channels == 1
    if max_side is not None:
        img = _resize_max_side(img, max_side)
        if alpha is not None:
            alpha = _resize_max_side(alpha, max_side)
    with torch.no_grad():
        out = model.enhance(img[None].to(device))[0].float().cpu()
    del img  # a 12-MP input is 144 MB: not kept while the output is written
    if grey:
        r, g, b = LUMA_WEIGHTS
        out = (r * out[0] + g * out[1] + b * out[2])[None]
    icc = info.icc_profile
    if icc is not None and icc_space(icc) != ("GRAY" if grey else "RGB"):
        icc = None  # e.g. a grey profile on a photo stored as RGB: it does not describe the result
    with written_atomically(dest) as tmp:
        write_image(
            tmp, out, alpha=alpha, bits=info.bits, icc_profile=icc, exif=info.exif, text=text
        )


def _enhance_video_file(model, path: Path, dest: Path, *, device, args, record, show) -> None:
    from tqdm.auto import tqdm

    from pyisp_contrast.cli.provenance import VIDEO_KEY
    from pyisp_contrast.video import enhance_video

    text = json.dumps(record)
    # AVI keeps only its standard tags: the record goes into the comment there.
    meta = (
        {"comment": json.dumps({VIDEO_KEY: record})}
        if dest.suffix.lower() == ".avi"
        else {VIDEO_KEY: text}
    )
    bar = tqdm(disable=not show, unit="frame", desc=path.name, leave=False)

    def progress(done: int, total: int | None) -> None:
        if total and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    try:
        with written_atomically(dest) as tmp:
            enhance_video(
                model, path, tmp, device=device, max_side=args.max_side,
                time_constant=args.temporal_smoothing, metadata=meta, progress=progress,
            )  # fmt: skip
    finally:
        bar.close()


def run(args: argparse.Namespace) -> int:
    from pyisp_contrast.cli._common import remove_empty_folders

    made: list[Path] = []  # output folders this run creates: gone again if it writes nothing
    try:
        return _run(args, made)
    finally:
        remove_empty_folders(made)


def _run(args: argparse.Namespace, made: list[Path]) -> int:
    from tqdm.auto import tqdm

    from pyisp_contrast.cli import provenance
    from pyisp_contrast.cli._common import (
        CpuThreads,
        Terminated,
        check_writable_folder,
        terminate_raises,
    )
    from pyisp_contrast.core.devices import resolve_device
    from pyisp_contrast.core.io import HEIF_INSTALL_HINT, HEIF_SUFFIXES, find_images
    from pyisp_contrast.models import load_pretrained, scale_denoiser, set_exposure
    from pyisp_contrast.video import VIDEO_INSTALL_HINT, VIDEO_SUFFIXES

    error = command_error("enhance")

    if args.max_side is not None and args.max_side < 1:
        error(f"--max-side must be >= 1, got {args.max_side}")
        return 2
    if not args.temporal_smoothing >= 0:
        error(f"--temporal-smoothing must be >= 0 seconds, got {args.temporal_smoothing}")
        return 2
    try:
        threads = CpuThreads(getattr(args, "threads", None))
    except ValueError as exc:
        error(str(exc))
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
    missing: list[str] = []
    paths = find_images(inputs_given, recursive=args.recursive, errors=missing)
    for msg in missing:
        error(msg)
    if not paths:
        return 2
    videos = {p for p in paths if p.suffix.lower() in VIDEO_SUFFIXES}
    for suffixes, module, hint in (
        (VIDEO_SUFFIXES, "av", VIDEO_INSTALL_HINT),
        (HEIF_SUFFIXES, "pillow_heif", HEIF_INSTALL_HINT),
    ):
        needing = [p for p in paths if p.suffix.lower() in suffixes]
        if needing:
            try:
                __import__(module)
            except ImportError:
                shown = ", ".join(str(p) for p in needing[:3]) + (
                    " ..." if len(needing) > 3 else ""
                )
                error(f"{shown}: {hint}")
                return 2
    out_dir = Path(args.output)
    why = check_writable_folder(out_dir, made)
    if why is not None:
        error(why)
        return 2
    dests = [out_dir / (p.stem + (p.suffix.lower() if p in videos else ".png")) for p in paths]
    inputs = {p.resolve() for p in paths}
    clash = [str(d) for d in dests if d.resolve() in inputs]
    if clash:
        error(f"refusing to write onto input file(s): {', '.join(clash)}; choose another -o folder")
        return 2
    seen: dict[Path, Path] = {}
    for p, d in zip(paths, dests):
        if d in seen:
            error(
                f"{seen[d]} and {p} would both be written as {d}; enhance them into different "
                "-o folders"
            )
            return 2
        seen[d] = p
    try:
        device = resolve_device(args.device, what="--device")
        model = load_pretrained(args.weights, device=device)
    except (OSError, ValueError, RuntimeError) as exc:
        error(str(exc))
        return 2

    # What each output would be made from; an existing output is kept only if it matches. The
    # hash is of the weights as shipped; --exposure and --denoise are recorded with the options.
    model_hash = provenance.model_sha256(model)
    for flag, value, setting in (
        ("--exposure", args.exposure, set_exposure),
        ("--denoise", args.denoise, scale_denoiser),
    ):
        if value is not None:
            try:
                setting(model, value)
            except (TypeError, ValueError) as exc:
                error(f"{flag} with {args.weights}: {exc}")
                return 2
    settings = {}
    plan = []
    conflicts = []
    for path, dest in zip(paths, dests):
        options = {"max_side": args.max_side}
        if args.exposure:  # 0 is the model's own choice: the same job as no --exposure
            options["exposure"] = args.exposure
        if args.denoise is not None and args.denoise != 1:  # 1: the model's own strength
            options["denoise"] = args.denoise
        if path in videos:
            options["temporal_smoothing"] = args.temporal_smoothing
        job = {"model": {"weights": str(args.weights), "sha256": model_hash},
               "task": args.task, "options": options}  # fmt: skip
        settings[path] = job
        if not dest.exists():
            verdict = provenance.Verdict("do")
        elif args.overwrite:
            verdict = provenance.Verdict("redo", "--overwrite")
        else:
            verdict = provenance.compare(provenance.read(dest), path, job)
        if verdict.action == "conflict":
            conflicts.append(
                f"{dest} already exists and {verdict.why}; enhancing {path} would replace it"
            )
        plan.append((path, dest, verdict))
    if conflicts:
        for msg in conflicts:
            error(msg)
        error("nothing was done: use another -o folder, or --overwrite to replace these")
        return 2

    failed: list[str] = []
    done = 0
    redone: dict[str, int] = {}
    show = not args.quiet and sys.stderr.isatty()
    todo = [(p, d, v) for p, d, v in plan if v.action != "skip"]
    skipped = len(plan) - len(todo)
    n_videos = 0
    try:
        with terminate_raises():
            for path, dest, verdict in tqdm(todo, disable=not show, unit="file", desc="enhance"):
                threads.update()
                try:
                    job = settings[path]
                    record = provenance.make_record(
                        path, weights=job["model"]["weights"], model_hash=model_hash,
                        task=job["task"], options=job["options"],
                    )  # fmt: skip
                    if path in videos:
                        _enhance_video_file(model, path, dest, device=device, args=args,
                                            record=record, show=show)  # fmt: skip
                        n_videos += 1
                    else:
                        text = {provenance.KEY: json.dumps(record)}
                        enhance_file(model, path, dest, device=device, max_side=args.max_side,
                                     text=text)  # fmt: skip
                    done += 1
                    if verdict.action == "redo":
                        redone[verdict.why] = redone.get(verdict.why, 0) + 1
                except Exception as exc:  # one bad file must not stop the others
                    failed.append(str(path))
                    msg = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
                    tqdm.write(f"pyisp-contrast enhance: error: {msg}", file=sys.stderr)
    except (KeyboardInterrupt, Terminated):
        if not args.quiet:
            print(
                f"stopped after {done} of {len(todo)} file(s); finished outputs are kept (the "
                "unfinished one is removed): run the same command again to continue",
                file=sys.stderr,
            )
        raise
    if not args.quiet:
        images = done - n_videos
        what = f"{images} image(s)" + (f" and {n_videos} video(s)" if n_videos else "")
        notes = ""
        if skipped:
            notes += f", {skipped} already there (use --overwrite to redo)"
        for why, n in redone.items():
            notes += f", {n} redone ({why})"
        if missing:
            notes += f", {len(missing)} input(s) not found"
        if failed:
            notes += f", {len(failed)} failed"
        print(f"enhanced {what} into {out_dir}{notes}", file=sys.stderr)
    return 1 if failed or missing else 0
