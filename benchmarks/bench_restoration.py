"""Dehazing and deraining on held-out synthetic pairs: input, classical baseline, trained model.

Workload: the held-out split of the normal-light images (sorted by path, every 5th image, the split
the bundled weights were trained without; :func:`pyisp_contrast.train.split_paths`), each resized so
its longer side is at most ``--max-side`` pixels, then degraded with the library's own synthesis,
seeded per image so every run sees the same pairs:

- haze: :func:`pyisp_contrast.isp.degrade.haze` with its defaults (planar depth ramp,
  ``beta ~ U(0.5, 2)``, grey-ish airlight in [0.7, 1]);
- rain: :func:`pyisp_contrast.isp.degrade.rain` with its defaults (screen-blended streaks).

Methods, scored by PSNR and SSIM against the clean image (:mod:`pyisp_contrast.metrics`):

- dehazing: the hazy input; the dark channel prior with guided-filter refinement (He et al. 2009 /
  2010, :func:`pyisp_contrast.classical.dark_channel_dehaze`, default parameters); the bundled
  ``dehaze-default`` model (:class:`pyisp_contrast.models.dehaze.Dehazer`).
- deraining: the rainy input; self-guided filtering (an edge-preserving smoothing that removes
  thin streaks, :func:`pyisp_contrast.classical.guided_filter`, radius 2, eps 0.01); the bundled
  ``derain-default`` model (:class:`pyisp_contrast.models.derain.Derainer`).

Targets (issue 6): the dehazer beats the dark channel prior on mean PSNR; the derainer beats the
rainy input by at least 3 dB mean PSNR.

Run ``python benchmarks/bench_restoration.py [--data DIR] [--quick]``; writes
``benchmarks/results/restoration.json``. ``--data`` defaults to ``../shared/data/normal`` beside the
repository.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import _common as common
from pyisp_contrast.core.io import find_images
from pyisp_contrast.evaluation import RESTORATION_TASKS, classical_baseline, synthetic_pairs
from pyisp_contrast.metrics import psnr, ssim
from pyisp_contrast.models import load_pretrained
from pyisp_contrast.models.dehaze import Dehazer
from pyisp_contrast.models.derain import Derainer
from pyisp_contrast.train.datasets import split_paths

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "normal"


def _score(out: torch.Tensor, ref: torch.Tensor) -> tuple[float, float]:
    return float(psnr(out, ref)[0]), float(ssim(out, ref)[0])


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def main() -> int:
    parser = common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of clean images")
    parser.add_argument("--max-side", type=int, default=512, help="resize held-out images to this")
    parser.add_argument("--dehaze-weights", default="dehaze-default", help="name or path")
    parser.add_argument("--derain-weights", default="derain-default", help="name or path")
    args = parser.parse_args()
    if not args.data.is_dir():
        parser.error(f"--data {args.data} is not a folder; pass the normal-light image folder.")
    torch.set_grad_enabled(False)
    device = torch.device(args.device)

    paths = split_paths(find_images([args.data], recursive=True), "val", 5)
    max_side = args.max_side
    if args.quick:
        paths, max_side = paths[:4], min(max_side, 256)

    dehazer = load_pretrained(args.dehaze_weights, device=device)
    derainer = load_pretrained(args.derain_weights, device=device)
    if not isinstance(dehazer, Dehazer) or not isinstance(derainer, Derainer):
        parser.error("the weights must hold a Dehazer and a Derainer.")

    scores: dict[str, dict[str, list[float]]] = {}
    seconds: dict[str, float] = {}

    def record(method: str, out: torch.Tensor, ref: torch.Tensor, t: float) -> None:
        p, s = _score(out.clamp(0, 1), ref)
        entry = scores.setdefault(method, {"psnr": [], "ssim": []})
        entry["psnr"].append(p)
        entry["ssim"].append(s)
        seconds[method] = seconds.get(method, 0.0) + t

    def timed(fn, x):
        t0 = time.perf_counter()
        y = fn(x)
        return y, time.perf_counter() - t0

    # The same held-out pairs as `pyisp-contrast evaluate --task dehaze|derain --synthetic DIR`.
    pair_kw = dict(max_side=max_side, limit=len(paths), device=device)
    hazy_pairs = synthetic_pairs(args.data, "dehaze", **pair_kw)
    rainy_pairs = synthetic_pairs(args.data, "derain", **pair_kw)
    dark_channel_dehaze, self_guided = classical_baseline("dehaze"), classical_baseline("derain")
    per_image = []
    for i, path in enumerate(paths):
        _, hazy, clean = next(hazy_pairs)
        record("haze: input", hazy, clean, 0.0)
        out, t = timed(dark_channel_dehaze, hazy)
        record("haze: dark channel prior", out, clean, t)
        out, t = timed(dehazer.enhance, hazy)
        record("haze: Dehazer (dehaze-default)", out, clean, t)

        _, rainy, clean = next(rainy_pairs)
        record("rain: input", rainy, clean, 0.0)
        out, t = timed(self_guided, rainy)
        record("rain: self-guided filter", out, clean, t)
        out, t = timed(derainer.enhance, rainy)
        record("rain: Derainer (derain-default)", out, clean, t)
        per_image.append(
            {
                "image": path.name,
                "size": list(clean.shape[-2:]),
                **{m: round(v["psnr"][-1], 3) for m, v in scores.items()},
            }
        )
        print(f"[{i + 1}/{len(paths)}] {path.name}", file=sys.stderr)

    n = len(paths)
    rows = [
        [
            m,
            round(_mean(v["psnr"]), 2),
            round(_mean(v["ssim"]), 4),
            round(1000 * seconds[m] / n, 1),
        ]
        for m, v in scores.items()
    ]
    columns = ["method", "PSNR (dB)", "SSIM", "ms / image"]
    common.print_table(
        columns, rows, title=f"Held-out synthetic pairs ({n} images, <= {max_side} px)"
    )

    p = {m: _mean(v["psnr"]) for m, v in scores.items()}
    workload = f"{n} held-out images of {args.data.name}/, <= {max_side} px, {args.device}"
    gain_dcp = p["haze: Dehazer (dehaze-default)"] - p["haze: dark channel prior"]
    gain_rain = p["rain: Derainer (derain-default)"] - p["rain: input"]
    checks = [
        common.Check(
            peer="dark channel prior + guided filter (He et al. 2009/2010)",
            workload=f"dehazing, synthetic haze; {workload}",
            target="> 0 dB PSNR over the peer",
            ratio=gain_dcp,
            met=bool(gain_dcp > 0),
            metric="PSNR gain (dB)",
            target_ratio=0.0,
        ),
        common.Check(
            peer="the rainy input",
            workload=f"deraining, synthetic rain; {workload}",
            target=">= 3 dB PSNR over the input",
            ratio=gain_rain,
            met=bool(gain_rain >= 3.0),
            metric="PSNR gain (dB)",
            target_ratio=3.0,
        ),
    ]
    path = common.write_result(
        "restoration",
        title="Dehazing and deraining on held-out synthetic pairs",
        checks=checks,
        tables=[{"title": "Mean PSNR / SSIM", "columns": columns, "rows": rows}],
        quick=args.quick,
        device=args.device,
        extra={
            "data": str(args.data),
            "split": "val: every 5th image sorted by path",
            "seeds": {"haze": RESTORATION_TASKS["dehaze"], "rain": RESTORATION_TASKS["derain"]},
            "weights": {"dehaze": str(args.dehaze_weights), "derain": str(args.derain_weights)},
            "per_image_psnr": per_image,
        },
        out_dir=args.out,
    )
    for c in checks:
        print(f"{c.peer}: {c.ratio:+.2f} dB ({'met' if c.met else 'MISSED'}, target {c.target})")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
