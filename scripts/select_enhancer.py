"""Score low-light enhancer checkpoints on the development sets (how pie-physics was chosen).

Only validation data is used to choose (DICM and LIME are never read here):

- ``--lol DIR`` (default ``../shared/data/lowlight_paired/LOL_train50``): real low/normal pairs,
  PSNR / SSIM of the enhanced ``low/`` against ``high/``, the mean output brightness and the
  lightness-order error against the input (:func:`pyisp_contrast.metrics.loe`);
- held-out synthetic pairs: every 5th image (sorted by path) of ``--normal`` folders, at most 384 px,
  darkened by :func:`pyisp_contrast.isp.degrade.low_light` with the training synthesis of
  ``configs/pie_physics.toml`` (seed ``9000 + i``), PSNR / SSIM against the clean image; and the
  same images at EV 0 without noise, where the enhancer should change little (PSNR to itself).
- ``--niqe-proxy``: also the held-out photos whose long side is at least 700 px, at most 1200 px
  (as the real-photo sets are measured), darkened four times, by the training synthesis, by a
  mild one with little noise (:data:`MILD`), by uneven light (:data:`UNEVEN`) and by backlit
  metering (:data:`BACKLIT`: lit parts about right, the rest under-exposed); PSNR / SSIM
  against the clean photo and NIQE (scikit-video's, through ``../shared/tools/nr_quality.py``,
  loaded as ``benchmarks/bench_quality.py`` loads it) of the outputs, with the clean photos' NIQE
  for scale. NIQE needs photos this large:
  at 384 px it ranks the clean photos below their enhanced dark copies. Also ``--lol``'s
  reference photos darkened by :data:`MILD` (a real camera's texture, which a denoiser should
  leave alone; NIQE at 600 x 400).

Usage::

    python scripts/select_enhancer.py pie-default runs/pie_physics/checkpoints/step_00*.pt \\
        --normal ../shared/data/normal ../shared/data/normal_more --json scores.json
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import tomllib
from pathlib import Path

import torch

# scripts/ is on sys.path when this file runs as a script
from eval_lowlight_checkpoints import SIDE
from eval_lowlight_checkpoints import held_out as _held_out_one

from pyisp_contrast.core.checks import value_checks
from pyisp_contrast.core.io import find_images, read_image
from pyisp_contrast.isp.degrade import low_light
from pyisp_contrast.metrics import loe, psnr, ssim
from pyisp_contrast.models import load_pretrained

ROOT = Path(__file__).resolve().parents[1]
SEED = 9000
#: ``--niqe-proxy``'s second darkening: a camera with little noise, mildly under-exposed.
MILD = {
    "ev_range": (-4.0, -1.0),
    "shot_noise": (1e-5, 1e-4),
    "read_noise": (1e-4, 5e-4),
    "color_cast": (0.95, 1.05),
    "tone": ["srgb", "gamma", "s-curve"],
    "jpeg_quality": (85.0, 100.0),
}
#: ``--niqe-proxy``'s third: :data:`MILD` light 1-3 stops short, spread unevenly (a smooth field of
#: 1.5-2.5 stops' deviation, so parts of the photo are over-exposed, as in backlit scenes).
UNEVEN = {**MILD, "ev_range": (-3.0, -1.0), "illumination_spread": (1.5, 2.5)}
#: ``--niqe-proxy``'s fourth: backlit, a camera that metered the lit part of the scene (at most 1
#: stop short) and left the rest 1-2 stops' spread darker (``metering="highlights"``).
BACKLIT = {
    **MILD,
    "ev_range": (-1.0, 0.0),
    "illumination_spread": (1.0, 2.0),
    "metering": "highlights",
}
#: Settings of :class:`~pyisp_contrast.models.GuidedGainEnhancer` that act at inference only
#: (no retraining): ``--inference-from`` copies them from a shipped model onto each checkpoint.
INFERENCE_SETTINGS = (
    "radius",
    "denoise_scale",
    "order_preserving",
    "denoise_nsr",
    "denoise_knee",
    "detail",
    "detail_nsr",
    "contrast",
    "contrast_sigma",
    "contrast_nsr",
    "contrast_lift",
    "tone",
    "tone_gain",
)


def lol_pairs(folder: Path) -> list[tuple[torch.Tensor, torch.Tensor]]:
    lows = find_images([folder / "low"])
    if not lows:
        raise SystemExit(f"no images in {folder / 'low'}")
    return [(read_image(p)[None], read_image(folder / "high" / p.name)[None]) for p in lows]


def held_out(folders: list[Path], holdout_every: int = 5, side: int = SIDE) -> list[torch.Tensor]:
    """The held-out photos of each folder, as ``scripts/eval_lowlight_checkpoints.py`` takes them."""
    return [x for folder in folders for x in _held_out_one(folder, holdout_every, side)]


def _setting(text: str) -> tuple[str, object]:
    """``--set NAME=VALUE``: the name (one of :data:`INFERENCE_SETTINGS`) and the value."""
    name, sep, value = text.partition("=")
    if not sep or name not in INFERENCE_SETTINGS:
        raise argparse.ArgumentTypeError(
            f"give NAME=VALUE with NAME one of {', '.join(INFERENCE_SETTINGS)}; got {text!r}"
        )
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError) as err:
        raise argparse.ArgumentTypeError(f"{value!r} is not a Python literal") from err


def _u8_niqe(nr, x: torch.Tensor) -> float:
    """``nr_quality.niqe`` of a ``(1, 3, H, W)`` image in [0, 1], on its 8-bit version."""
    return nr.niqe((x[0].permute(1, 2, 0).clamp(0, 1).numpy() * 255 + 0.5).astype("uint8"))


@torch.no_grad()
def niqe_proxy(model, photos, kwargs_by_name, nr, seed: int = SEED) -> dict[str, float]:
    """PSNR / SSIM / NIQE of ``model`` on ``photos`` darkened by each synthesis of
    ``kwargs_by_name`` (seed ``seed + i``); ``model=None`` scores the dark inputs."""
    out = {}
    for name, kwargs in kwargs_by_name.items():
        p = s = q = 0.0
        for i, x in enumerate(photos):
            g = torch.Generator().manual_seed(seed + i)
            with value_checks(False):
                low, _ = low_light(x, generator=g, **kwargs)
            y = low if model is None else model.enhance(low)
            y = torch.round(y * 255) / 255  # as the saved outputs are measured
            p += psnr(y, x).item()
            s += ssim(y, x).item()
            q += _u8_niqe(nr, y)
        n = len(photos)
        out.update({f"{name}_psnr": p / n, f"{name}_ssim": s / n, f"{name}_niqe": q / n})
    return out


@torch.no_grad()
def score(model, lol, clean, synth_kwargs, seed: int = SEED) -> dict[str, float]:
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
        g = torch.Generator().manual_seed(seed + i)
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
    ap.add_argument("--niqe-proxy", action="store_true", help="also the large-photo NIQE proxy")
    ap.add_argument(
        "--inference-from",
        metavar="NAME",
        help="score checkpoints with this shipped model's inference-only settings "
        f"({', '.join(INFERENCE_SETTINGS)})",
    )
    ap.add_argument(
        "--set",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        type=_setting,
        help="an inference-only setting to give every model (one of INFERENCE_SETTINGS, a Python "
        "literal: --set detail=0.25 --set detail_nsr=None); after --inference-from; repeatable",
    )
    ap.add_argument("--nr-quality", type=Path, default=ROOT.parent / "shared/tools/nr_quality.py")
    ap.add_argument(
        "--seed",
        type=int,
        default=SEED,
        help="pair i of every synthesis is darkened with seed SEED + i (default: %(default)s); "
        "another seed draws fresh pairs from the same photos, to confirm a choice",
    )
    a = ap.parse_args()
    synth = tomllib.loads(a.config.read_text()).get("synthesize_kwargs", {})
    lol, clean = lol_pairs(a.lol), held_out(a.normal)
    print(f"{len(lol)} LOL pairs, {len(clean)} held-out synthetic pairs", file=sys.stderr)
    cols = ["lol_psnr", "lol_ssim", "lol_brightness", "lol_loe", "synth_psnr", "synth_ssim"]
    cols.append("ev0_psnr")
    print(f"{'weights':60s} " + " ".join(f"{c:>14s}" for c in cols))
    results = {}
    shipped = None if a.inference_from is None else load_pretrained(a.inference_from).config

    def load(w: str):
        model = load_pretrained(w)
        if shipped is not None and set(INFERENCE_SETTINGS) <= set(model.config):
            for key in INFERENCE_SETTINGS:
                setattr(model, key, shipped[key])
        for key, value in a.set:
            if key not in model.config:
                raise SystemExit(f"--set {key}: {w} has no such setting")
            setattr(model, key, value)
        return model

    for w in a.weights:
        r = score(load(w), lol, clean, synth, a.seed)
        results[w] = r
        print(f"{w[-60:]:60s} " + " ".join(f"{r[c]:14.3f}" for c in cols), flush=True)
    if a.niqe_proxy:
        sys.path.insert(0, str(ROOT))  # the benchmarks package, for its loader of nr_quality.py
        from benchmarks.bench_quality import load_nr_quality

        nr = load_nr_quality(a.nr_quality)
        if nr is None:
            raise SystemExit(
                f"--niqe-proxy needs {a.nr_quality} and scikit-video (pip install -e '.[bench]')"
            )
        photos = [x for x in held_out(a.normal, side=1200) if max(x.shape[-2:]) >= 700]
        if not photos:
            raise SystemExit(f"--niqe-proxy: no held-out photo of 700 px or more in {a.normal}")
        ref = sum(_u8_niqe(nr, x) for x in photos) / len(photos)
        print(f"\nNIQE proxy: {len(photos)} held-out photos of 700-1200 px; clean NIQE {ref:.3f}")
        synths = {"train": synth, "mild": MILD, "uneven": UNEVEN, "backlit": BACKLIT}
        cols = [f"{k}_{m}" for k in synths for m in ("psnr", "ssim", "niqe")]
        # LOL's reference photos (a real camera's, with its own mild texture and noise) darkened by
        # MILD: what a denoiser removes from them is mostly texture it should have left.
        references = [high for _, high in lol]
        ref_lol = sum(_u8_niqe(nr, x) for x in references) / len(references)
        print(f"LOL references darkened by MILD ({len(references)}): clean NIQE {ref_lol:.3f}")
        cols += [f"lol_mild_{m}" for m in ("psnr", "ssim", "niqe")]
        print(f"{'weights':60s} " + " ".join(f"{c:>12s}" for c in cols))
        for w in ["(dark input)", *a.weights]:
            model = None if w == "(dark input)" else load(w)
            r = niqe_proxy(model, photos, synths, nr, a.seed)
            r.update(niqe_proxy(model, references, {"lol_mild": MILD}, nr, a.seed))
            results.setdefault(w, {}).update(
                r, proxy_reference_niqe=ref, lol_reference_niqe=ref_lol
            )
            print(f"{w[-60:]:60s} " + " ".join(f"{r[c]:12.3f}" for c in cols), flush=True)
    if a.json is not None:
        a.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
