"""No-reference quality of the bundled enhancer and baselines on real low-light photos.

Recipe (issue 5, "Evaluation and targets"): every photo of ``DICM`` (64) and ``LIME`` (9) under
``--data`` (default ``../shared/data/lowlight``) is resized so its long side is at most 1200 px (PIL
bicubic on 8-bit values), enhanced, and the result quantised to 8 bits. Scores per method and set:

- NIQE with the library's pristine model (:func:`pyisp_contrast.metrics.niqe`, lower is better);
- NIQE with scikit-video's ``niqe()`` and its shipped pristine model, computed by the project's
  reference script (``--nr-quality``, default ``../shared/tools/nr_quality.py``, imported by path;
  the column is left out when the script or scikit-video is missing): the number the targets use;
- LOE (:func:`pyisp_contrast.metrics.loe`, 50 x 50 grid of max(R, G, B)) and mean brightness.

Methods: the unenhanced input; a global gamma curve (``x ** (1 / 2.2)``); CLAHE on the HSV value
channel (``skimage.exposure.equalize_adapthist``, clip limit 0.01); the bundled weights
(``--weights``, default ``pie-default``); the same network trained on the same data with
zero-reference losses only (``benchmarks/weights/zero_reference.pt``, made by
``configs/zero_reference.toml``); any further ``--compare NAME=WEIGHTS`` (e.g. the authors'
released PIE weights if you have them).

Targets for the bundled weights: NIQE (scikit-video) lower than the released PIE weights' (DICM
11.11, LIME 13.48, measured with this recipe) and LOE <= 150 on both sets.

Run ``python benchmarks/bench_quality.py [--quick]``; writes ``benchmarks/results/quality.json``
and ``quality.png``.
"""

from __future__ import annotations

import importlib.util
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import _common as common
from pyisp_contrast.cli.evaluate import load_resized
from pyisp_contrast.core.io import find_images
from pyisp_contrast.metrics import NIQEModel, loe, niqe

SHARED = Path(__file__).resolve().parents[2] / "shared"
DEFAULT_DATA = SHARED / "data" / "lowlight"
DEFAULT_NR = SHARED / "tools" / "nr_quality.py"
#: Baseline: the same fast network trained with zero-reference losses only
#: (configs/zero_reference.toml).
ZERO_REFERENCE = Path(__file__).resolve().parent / "weights" / "zero_reference.pt"
#: The released PIE weights measured with this recipe (issue 5).
RELEASED_PIE = {
    "DICM": {"niqe_skvideo": 11.11, "loe": 154.0},
    "LIME": {"niqe_skvideo": 13.48, "loe": 96.0},
}


def gamma_baseline(x: torch.Tensor) -> torch.Tensor:
    return x.clamp_min(0) ** (1 / 2.2)


def clahe_baseline(x: torch.Tensor) -> torch.Tensor:
    from skimage.color import hsv2rgb, rgb2hsv
    from skimage.exposure import equalize_adapthist

    hsv = rgb2hsv(x[0].permute(1, 2, 0).numpy().astype(np.float64))
    hsv[..., 2] = equalize_adapthist(hsv[..., 2], clip_limit=0.01)
    return torch.from_numpy(hsv2rgb(hsv)).permute(2, 0, 1)[None].float()


def _model_method(weights: str, device: torch.device) -> Callable | None:
    from pyisp_contrast.models import load_pretrained

    try:
        model = load_pretrained(weights, device=device)
    except (OSError, ValueError) as exc:
        print(f"skipping {weights!r}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return None
    return lambda x: model.enhance(x.to(device)).cpu()


def _load_nr_quality(path: Path | None):
    if path is None or not Path(path).is_file():
        return None
    spec = importlib.util.spec_from_file_location("nr_quality", path)
    mod = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(mod)
        # A probe that needs scikit-video (and the shims) to work; 300 px clears its size limit.
        mod.niqe(np.random.default_rng(0).integers(0, 255, (300, 300, 3)).astype(np.uint8))
    except Exception as exc:  # scikit-video missing or broken: leave the column out
        print(
            f"scikit-video NIQE unavailable ({exc}); reporting the library's NIQE only",
            file=sys.stderr,
        )
        return None
    return mod


def main() -> None:
    ap = common.base_parser(__doc__.splitlines()[0])
    ap.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="folder holding DICM/ and LIME/"
    )
    ap.add_argument("--sets", nargs="+", default=["DICM", "LIME"])
    ap.add_argument("--weights", default="pie-default")
    ap.add_argument(
        "--compare",
        nargs="*",
        default=[f"zero-reference only={ZERO_REFERENCE}"],
        metavar="NAME=WEIGHTS",
        help="further models (default: the zero-reference baseline; pass nothing to drop it)",
    )
    ap.add_argument("--max-side", type=int, default=1200)
    ap.add_argument(
        "--nr-quality", type=Path, default=DEFAULT_NR, help="the reference script (optional)"
    )
    ap.add_argument("--figure-images", type=int, default=3)
    a = ap.parse_args()
    device = torch.device(a.device)
    nr = _load_nr_quality(a.nr_quality)
    niqe_model = NIQEModel.default()

    methods: dict[str, Callable] = {
        "input": lambda x: x,
        "gamma 1/2.2": gamma_baseline,
        "CLAHE (HSV V)": clahe_baseline,
    }
    ours = _model_method(a.weights, device)
    if ours is not None:
        methods[f"ours ({a.weights})"] = ours
    for item in a.compare:
        name, _, w = item.partition("=")
        fn = _model_method(w or name, device)
        if fn is not None:
            methods[name] = fn

    results: dict[str, dict[str, dict[str, float]]] = {}
    per_image: list[dict] = []
    examples: dict[str, list] = {}
    for set_name in a.sets:
        paths = find_images([a.data / set_name])[: 3 if a.quick else None]
        scores = {
            m: {"niqe": [], "niqe_skvideo": [], "loe": [], "brightness": [], "seconds": []}
            for m in methods
        }
        for i, p in enumerate(paths):
            x = load_resized(p, a.max_side)[None]
            row = {"set": set_name, "image": p.name}
            for m, fn in methods.items():
                t0 = time.perf_counter()
                with torch.no_grad():
                    y = fn(x).float().clamp(0, 1)
                dt = time.perf_counter() - t0
                y = torch.round(y * 255) / 255
                s = scores[m]
                s["seconds"].append(dt)
                s["niqe"].append(float(niqe(y, model=niqe_model)))
                s["loe"].append(float(loe(x, y)))
                s["brightness"].append(float(y.mean()))
                if nr is not None:
                    u8 = (y[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
                    s["niqe_skvideo"].append(float(nr.niqe(u8)))
                row[m] = {k: v[-1] for k, v in s.items() if v}
                if i < a.figure_images:
                    examples.setdefault(set_name, []).append((m, y[0]))
            per_image.append(row)
            print(f"{set_name} {i + 1}/{len(paths)} {p.name}", file=sys.stderr)
        results[set_name] = {
            m: {k: statistics.fmean(v) for k, v in s.items() if v} | {"images": len(paths)}
            for m, s in scores.items()
        }

    columns = ["set", "method", "NIQE (skvideo)", "NIQE (ours)", "LOE", "brightness", "s/image"]
    rows = []
    for set_name, by_method in results.items():
        for m, r in by_method.items():
            rows.append(
                [
                    set_name,
                    m,
                    r.get("niqe_skvideo"),
                    r["niqe"],
                    r["loe"],
                    r["brightness"],
                    r["seconds"],
                ]
            )
        if set_name in RELEASED_PIE:
            ref = RELEASED_PIE[set_name]
            rows.append(
                [
                    set_name,
                    "released PIE weights (issue 5)",
                    ref["niqe_skvideo"],
                    None,
                    ref["loe"],
                    None,
                    None,
                ]
            )
    print(common.format_table(columns, rows))

    checks = []
    key = f"ours ({a.weights})"
    for set_name, by_method in results.items():
        if key not in by_method or set_name not in RELEASED_PIE:
            continue
        r, ref = by_method[key], RELEASED_PIE[set_name]
        if "niqe_skvideo" in r:
            checks.append({"peer": "released PIE weights", "workload": f"{set_name}, <= {a.max_side} px",
                           "metric": "NIQE (scikit-video), ratio ref/ours", "target": "lower NIQE",
                           "target_ratio": 1.0, "ratio": ref["niqe_skvideo"] / r["niqe_skvideo"],
                           "met": r["niqe_skvideo"] < ref["niqe_skvideo"],
                           "note": f"ours {r['niqe_skvideo']:.2f} vs {ref['niqe_skvideo']:.2f}"})  # fmt: skip
        checks.append({"peer": "LOE budget 150", "workload": f"{set_name}, <= {a.max_side} px",
                       "metric": "LOE, ratio 150/ours", "target": "<= 150", "target_ratio": 1.0,
                       "ratio": 150.0 / max(r["loe"], 1e-9), "met": r["loe"] <= 150.0,
                       "note": f"ours {r['loe']:.1f}"})  # fmt: skip

    figures = []
    if examples:
        figures.append(_figure(examples, list(methods), a.out / "quality.png"))
    path = common.write_result(
        "quality", title="No-reference quality on DICM and LIME", checks=checks,
        tables=[{"title": f"Mean scores (<= {a.max_side} px)", "columns": columns, "rows": rows}],
        figures=figures, quick=a.quick, device=a.device, out_dir=a.out,
        extra={"results": results, "per_image": per_image, "skvideo": nr is not None,
               "niqe_model_blocks": niqe_model.num_blocks},
    )  # fmt: skip
    print(f"wrote {path}")


def _figure(examples: dict[str, list], methods: list[str], path: Path) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = []
    for set_name, items in examples.items():
        for j in range(0, len(items), len(methods)):
            cols.append((set_name, items[j : j + len(methods)]))
    fig, axes = plt.subplots(
        len(methods), len(cols), figsize=(2.6 * len(cols), 2.1 * len(methods)), squeeze=False
    )
    for c, (set_name, items) in enumerate(cols):
        for r, (m, img) in enumerate(items):
            ax = axes[r][c]
            ax.imshow(img.permute(1, 2, 0).numpy())
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(m, fontsize=8)
            if r == 0:
                ax.set_title(set_name, fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path.name


if __name__ == "__main__":
    main()
