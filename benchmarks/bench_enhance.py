"""Speed and memory of enhancement, and where a PIE training step spends its time.

Six measurements (issues 5, 12 and 13):

1. **Per-image time**, the bundled enhancer (``--weights``, default ``pie-physics``; a randomly
   initialised :class:`~pyisp_contrast.models.FastCurveEstimator` when the weights cannot be loaded)
   against the full-resolution DCE-Net (:class:`~pyisp_contrast.models.CurveEstimator`, random
   weights: the cost does not depend on them), both through ``enhance()`` on the photos of ``--data``
   (default ``../shared/data/lowlight/DICM``) resized to at most 1200 px. Target: >= 20x faster.
2. **Budget against Zero-DCE++**: one 1200 x 900 photo in process, the bundled enhancer against
   Zero-DCE++ at its test-time scale 12 written with its released code's arithmetic
   (``benchmarks/_peers.py``, random weights), interleaved in one run, the fastest call of each
   compared (other jobs on a shared machine only add time). Target (issue 12): at most 1.5x
   Zero-DCE++'s time.
3. **Peak memory** of ``pyisp-contrast enhance`` on a synthetic 12-megapixel photo (4000 x 3000),
   measured as the peak resident set size of the child process (``resource.getrusage``), so it
   includes Python, torch and the image I/O. Target (issue 12): <= 1.5 GB.
4. **pie-default** (issue 13, item 5), the fast curve-estimator weights: one 1200 x 900 photo in
   process against 15 ms (Zero-DCE++ timed in the same run for scale), and the 12-MP peak memory
   of the command line with ``--weights pie-default`` against 1 GB (``--pie-weights`` names them).
5. **Stages** of the bundled enhancer on the budget photo, each beside the way it was done
   before its speed change (input check, block statistics, the guided filter's window means,
   widening the maps, the sharpening, the tone curve), so each change's gain stays measured in one run; no
   target, a table.
6. **One training step** of the full PIE objective (batch 2, 384 x 384, fast network, the offline
   exposure encoder) with its time split from the objective's ``torch.profiler.record_function``
   ranges: segmentation (SLIC labels), BoC negatives, feature terms (contrastive + preservation),
   the other terms, backward. Target: segmentation + BoC <= 10 % of the step.

Both sides of each ratio are timed back to back in one run. Run
``python benchmarks/bench_enhance.py [--quick] [--data DIR] [--weights NAME|PATH]
[--skip speed budget memory pie-budget pie-memory stages train]``; writes
``benchmarks/results/enhance.json``, where the rows of skipped parts are carried over from the
file's previous contents (marked so in their notes).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import _common as common
from pyisp_contrast.core.io import find_images, read_image
from pyisp_contrast.models import (
    CurveEstimator,
    FastCurveEstimator,
    load_pretrained,
    save_pretrained,
)

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "lowlight" / "DICM"


def _resize(img: torch.Tensor, max_side: int) -> torch.Tensor:
    h, w = img.shape[-2:]
    s = max_side / max(h, w)
    if s >= 1:
        return img
    size = (round(h * s), round(w * s))
    return F.interpolate(img[None], size=size, mode="bicubic", antialias=True)[0].clamp(0, 1)


def _fast_model(weights: str, device: torch.device) -> tuple[torch.nn.Module, str]:
    try:
        return load_pretrained(weights, device=device), str(weights)
    except (OSError, ValueError) as exc:
        torch.manual_seed(0)
        note = f"random FastCurveEstimator (no {weights!r}: {str(exc).splitlines()[0][:80]})"
        return FastCurveEstimator().to(device).eval(), note


def bench_speed(paths, fast, device, max_side: int, repeat: int) -> dict:
    torch.manual_seed(0)
    full = CurveEstimator().to(device).eval()
    sync = torch.cuda.synchronize if device.type == "cuda" else None
    rows, t_full, t_fast = [], [], []
    for p in paths:
        x = _resize(read_image(p), max_side)[None].to(device)
        tf = common.time_call(lambda x=x: full.enhance(x), repeat=repeat, warmup=1, sync=sync)[
            "median"
        ]
        tq = common.time_call(lambda x=x: fast.enhance(x), repeat=repeat, warmup=1, sync=sync)[
            "median"
        ]
        t_full.append(tf)
        t_fast.append(tq)
        rows.append([Path(p).name, f"{x.shape[-1]}x{x.shape[-2]}", tf, tq, tf / tq])
    return {
        "rows": rows,
        "full_mean_s": statistics.fmean(t_full),
        "fast_mean_s": statistics.fmean(t_fast),
        "ratio": sum(t_full) / sum(t_fast),
    }


def _budget_photo(device: torch.device) -> torch.Tensor:
    """The budgets' photo-like input: 1200 x 900, smooth dark light with texture."""
    g = torch.Generator().manual_seed(0)
    h, w = 900, 1200
    yy, xx = torch.meshgrid(torch.linspace(0, 6, h), torch.linspace(0, 8, w), indexing="ij")
    base = 0.12 + 0.08 * torch.sin(xx)[None] * torch.cos(yy)[None]
    return (base + 0.02 * torch.rand(3, h, w, generator=g)).clamp(0, 1)[None].to(device)


def _fastest_interleaved(cases: dict, repeat: int, device: torch.device) -> dict[str, list[float]]:
    """``{name: (call, threads)}`` timed one call at a time in turn, ``repeat`` rounds: the
    calls' times. On the shared machine other jobs only ever add time, so the fastest call of each
    is the one to compare, and interleaving gives every case the same spread of load."""
    sync = torch.cuda.synchronize if device.type == "cuda" else None
    threads = torch.get_num_threads()
    times: dict[str, list[float]] = {k: [] for k in cases}
    try:
        for _ in range(repeat):
            for key, (fn, n) in cases.items():
                torch.set_num_threads(n or threads)
                times[key] += common.time_call(fn, repeat=1, warmup=1, sync=sync)["times"]
    finally:
        torch.set_num_threads(threads)
    return times


def bench_budget(fast, device, repeat: int) -> dict:
    """The bundled enhancer against Zero-DCE++ (scale 12, as released) on one photo: fastest call
    of each, interleaved (:func:`_fastest_interleaved`)."""
    from benchmarks._peers import ZeroDCEPlusPlus

    torch.manual_seed(0)
    peer = ZeroDCEPlusPlus().to(device).eval()
    x = _budget_photo(device)
    times = _fastest_interleaved(
        {"peer": (lambda: peer.enhance(x), None), "ours": (lambda: fast.enhance(x), None)},
        max(3 * repeat, 9),
        device,
    )
    peer_s, ours_s = min(times["peer"]), min(times["ours"])
    return {"size": "1200x900", "peer_s": peer_s, "ours_s": ours_s, "ratio": ours_s / peer_s}


_MEM_CHILD = """
import resource, subprocess, sys
r = subprocess.run([sys.executable, "-m", "pyisp_contrast", "enhance", *sys.argv[1:]])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)  # KiB on Linux
sys.exit(r.returncode)
"""


def bench_memory(weights: str, device: str, size: tuple[int, int]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        h, w = size
        # A smooth scene with texture and noise, so the PNG is photo-like (not a flat file).
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        rng = np.random.default_rng(0)
        base = 0.15 + 0.1 * np.sin(xx / 150.0)[..., None] * np.cos(yy / 110.0)[..., None]
        img = np.clip(base + 0.03 * rng.standard_normal((h, w, 3), dtype=np.float32), 0, 1)
        from PIL import Image

        Image.fromarray((img * 255).astype(np.uint8)).save(tmp / "photo.png")
        del img, base, xx, yy
        try:
            load_pretrained(weights)
            wpath = weights
        except (OSError, ValueError):
            torch.manual_seed(0)
            wpath = str(tmp / "random_fast.pt")
            save_pretrained(FastCurveEstimator(), wpath)
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", _MEM_CHILD, str(tmp / "photo.png"), "-o", str(tmp / "out"),
             "--weights", wpath, "--device", device, "-q"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        seconds = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"enhance failed: {proc.stderr[-2000:]}")
        peak_kib = int(proc.stdout.strip().splitlines()[-1])
        return {"megapixels": h * w / 1e6, "peak_gb": peak_kib * 1024 / 1e9, "seconds": seconds}


_RANGES = {
    "segmentation": ("pie.segmentation",),
    "BoC negatives": ("pie.negatives",),
    "features (contrastive + preservation)": ("pie.contrastive", "pie.preservation"),
    "network forward": ("pie.network",),
    "regional + intensity": ("pie.regional", "pie.intensity"),
}


def bench_training_step(device: torch.device, steps: int, crop: int, embedder: str) -> dict:
    from skimage import data as skdata

    from pyisp_contrast.contrastive import ExposureEncoder
    from pyisp_contrast.isp.degrade import low_light
    from pyisp_contrast.models import PIE

    note = ""
    if embedder == "exposure":
        try:
            emb = ExposureEncoder.pretrained()
        except FileNotFoundError:
            emb = ExposureEncoder(generator=torch.Generator().manual_seed(0)).requires_grad_(False)
            note = "random ExposureEncoder (shipped weights missing; same cost)"
        model = PIE.fast(embedder=emb)
    else:
        model = PIE.fast(embedder="vgg16", vgg16_weights=None)
        note = "random VGG16 (same cost as ImageNet weights)"
    model.to(device).train()
    photos = [skdata.astronaut(), skdata.coffee(), skdata.chelsea(), skdata.rocket()]

    def square(photo):  # a crop x crop tensor from any photo (chelsea is only 300 px tall)
        side = min(photo.shape[:2])
        t = torch.from_numpy(photo[:side, :side].copy()).permute(2, 0, 1).float() / 255
        return torch.nn.functional.interpolate(t[None], size=(crop, crop), mode="area")[0]

    normal = torch.stack([square(p) for p in photos[:2]]).to(device)
    low, _ = low_light(
        torch.stack([square(p) for p in photos[2:]]), generator=torch.Generator().manual_seed(0)
    )
    low = low.to(device)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def step(profile: bool):
        opt.zero_grad(set_to_none=True)
        sync()
        t0 = time.perf_counter()
        terms = model.loss(low, normal)
        sync()
        t1 = time.perf_counter()
        terms["total"].backward()
        sync()
        t2 = time.perf_counter()
        opt.step()
        sync()
        return t1 - t0, t2 - t1, time.perf_counter() - t0

    step(False)  # warm-up: numba compilation, allocator
    from torch.profiler import ProfilerActivity, profile

    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    fwd, bwd, tot = [], [], []
    with profile(activities=acts) as prof:
        for _ in range(steps):
            f, b, t = step(True)
            fwd.append(f)
            bwd.append(b)
            tot.append(t)
    ranges = {
        e.key: e.cpu_time_total / 1e6 / steps
        for e in prof.key_averages()
        if e.key.startswith("pie.")
    }
    step_s = statistics.fmean(tot)
    split = {name: sum(ranges.get(k, 0.0) for k in keys) for name, keys in _RANGES.items()}
    split["backward"] = statistics.fmean(bwd)
    split["other (optimizer, small terms)"] = max(step_s - sum(split.values()), 0.0)
    seg_boc = split["segmentation"] + split["BoC negatives"]
    return {"step_s": step_s, "forward_s": statistics.fmean(fwd), "split": split,
            "seg_boc_fraction": seg_boc / step_s, "note": note, "ranges": ranges}  # fmt: skip


#: Parts of the benchmark (``--skip`` names), each with how its rows are recognised in the JSON.
SECTIONS = ("speed", "budget", "memory", "pie-budget", "pie-memory", "stages", "train")
_CHECK_PEERS = {
    "speed": "full-resolution DCE-Net",
    "budget": "Zero-DCE++ (scale 12",
    "memory": "1.5 GB budget",
    "pie-budget": "15 ms budget",
    "pie-memory": "1 GB budget",
    "train": "10 % of a training step",
    "stages": "(no check)",
}
_TABLE_TITLES = {
    "speed": "Per-image enhancement time (s)",
    "stages": "pie-physics stages on one 1200x900 photo (ms, fastest call)",
    "train": "Training step time split (s)",
}


def _carry_over(skipped, checks, tables, extra, out_dir) -> None:
    """Append the previous file's rows of the ``skipped`` parts, marked as not rerun."""
    import json

    path = Path(out_dir) / "enhance.json"
    if not path.is_file():
        return
    old = json.loads(path.read_text())
    for part in skipped:
        for c in old.get("checks", []):
            if str(c.get("peer", "")).startswith(_CHECK_PEERS[part]):
                note = str(c.get("note", ""))
                if "not rerun" not in note:
                    note = f"{note} (not rerun: from {old.get('created', 'the previous run')})"
                checks.append(dict(c, note=note.strip()))
        title = _TABLE_TITLES.get(part)
        tables.extend(t for t in old.get("tables", []) if t.get("title") == title)
        if part in old.get("extra", {}):
            extra[part] = old["extra"][part]


def bench_stages(weights: str, device: torch.device, repeat: int) -> list[list]:
    """Where the bundled enhancer's time goes on the budget photo, stage by stage, each next to
    the way it was done before its speed change (the same arithmetic, within float rounding), so
    the gain of each change stays measured: rows ``[stage, ours_ms, earlier way, earlier_ms]``.
    All timed interleaved in one run, fastest call of each."""
    import pyisp_contrast.isp.denoise as denoise
    from pyisp_contrast.core.checks import check_image
    from pyisp_contrast.core.resize import linear_resize_indices
    from pyisp_contrast.isp.sharpen import cell_blur, luma, luma_unsharp, luma_unsharp_
    from pyisp_contrast.isp.tone import s_curve_about_mean, s_curve_about_mean_
    from pyisp_contrast.models.gain_net import _widen

    model, _ = _fast_model(weights, device)
    x = _budget_photo(device)
    guide = x.mean(1, keepdim=True).contiguous()
    with torch.no_grad():
        maps = model.low_res_maps(x)
    stats = maps[0]
    ab = torch.cat(model._coefficients(stats, maps[2]), 1)
    c0, c1, cw = linear_resize_indices(1200, ab.shape[-1], device, ab.dtype)
    amount = torch.tensor([0.25], device=device)
    contrast = torch.tensor([model.contrast or 0.2], device=device)
    tone = torch.tensor([0.25], device=device)
    taps, wide = model._taps, model._contrast_taps
    out = model.enhance(x)

    def old_check():  # before: a separate isfinite pass beside the min and max
        torch.stack([x.amin(), x.amax(), torch.isfinite(x).all().to(x.dtype)]).tolist()

    def torch_statistics():
        limit = denoise.KERNEL_MIN_PIXELS
        denoise.KERNEL_MIN_PIXELS = 1 << 62
        try:
            denoise.block_statistics(x, guide, model.block)
        finally:
            denoise.KERNEL_MIN_PIXELS = limit

    def old_box():
        F.avg_pool2d(stats, 2 * model.radius + 1, stride=1, padding=model.radius,
                     count_include_pad=False)  # fmt: skip

    def torch_sharpen():
        luma_unsharp(out, amount, taps, contrast, cell_blur(luma(out), wide))

    stages = [  # (stage, ours, the earlier way, how it was done)
        ("input check", lambda: check_image(x, "images"), "isfinite pass", old_check),
        ("block statistics", lambda: denoise.block_statistics(x, guide, model.block),
         "torch pooling", torch_statistics),
        ("window means (guided filter)", lambda: denoise.box_mean(stats, model.radius),
         "avg_pool2d", old_box),
        ("maps widened to the photo", lambda: _widen(ab, 1200), "column gather",
         lambda: torch.lerp(ab[..., c0], ab[..., c1], cw)),
        ("sharpening + local contrast", lambda: luma_unsharp_(out.clone(), amount, taps,
                                                               contrast, wide),
         "torch", torch_sharpen),
        ("tone curve", lambda: s_curve_about_mean_(out.clone(), 3.0, tone), "torch",
         lambda: s_curve_about_mean(out, 3.0, tone)),
        ("map network (low_res_maps)", lambda: model.low_res_maps(x), "", None),
        ("whole enhance", lambda: model.enhance(x), "", None),
    ]  # fmt: skip
    cases = {name: (fn, None) for name, fn, _, _ in stages}
    cases.update({f"{name} / {way}": (fn, None) for name, _, way, fn in stages if fn})
    with torch.no_grad():
        times = _fastest_interleaved(cases, repeat, device)
    best = {k: 1000 * min(v) for k, v in times.items()}
    return [
        [name, best[name], way, best[f"{name} / {way}"] if fn else ""]
        for name, _, way, fn in stages
    ]


def bench_pie_budget(weights: str, device: torch.device, repeat: int) -> dict:
    """``weights`` (pie-default) on one 1200 x 900 photo in process, Zero-DCE++ in the same run.

    Both interleaved, each call timed alone, the fastest call kept: on the shared machine the
    other jobs only ever add time. Ours also with one thread, which is what the command line
    picks when another program keeps one of the two cores busy.
    """
    from benchmarks._peers import ZeroDCEPlusPlus

    fast, label = _fast_model(weights, device)
    torch.manual_seed(0)
    peer = ZeroDCEPlusPlus().to(device).eval()
    x = _budget_photo(device)
    threads = torch.get_num_threads()
    cases = {
        "ours": (lambda: fast.enhance(x), threads),
        "ours, 1 thread": (lambda: fast.enhance(x), 1),
        "peer": (lambda: peer.enhance(x), threads),
    }
    times = _fastest_interleaved(cases, repeat, device)
    best = {k: min(v) for k, v in times.items()}
    return {"size": "1200x900", "ours_s": best["ours"], "ours_1thread_s": best["ours, 1 thread"],
            "peer_s": best["peer"], "threads": threads, "model": label,
            "times_s": times}  # fmt: skip


def main() -> None:
    ap = common.base_parser(__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="low-light photos to time")
    ap.add_argument("--weights", default="pie-physics", help="bundled enhancer (name or path)")
    ap.add_argument("--max-side", type=int, default=1200)
    ap.add_argument("--embedder", choices=("exposure", "vgg16"), default="exposure")
    ap.add_argument("--pie-weights", default="pie-default", help="weights of the pie-* rows")
    ap.add_argument("--skip", nargs="*", default=[], choices=SECTIONS)
    a = ap.parse_args()
    device = torch.device(a.device)
    checks, tables, extra = [], [], {}

    if "speed" not in a.skip:
        paths = find_images([a.data])[: 3 if a.quick else None]
        fast, label = _fast_model(a.weights, device)
        speed = bench_speed(
            paths, fast, device, 600 if a.quick else a.max_side, a.repeat or (1 if a.quick else 3)
        )
        checks.append(common.Check.speedup(
            "full-resolution DCE-Net (CurveEstimator.enhance)",
            f"{len(paths)} photos of {a.data.name}, <= {600 if a.quick else a.max_side} px, {device}",
            ours_s=speed["fast_mean_s"], peer_s=speed["full_mean_s"], target_ratio=20.0, note=label,
        ))  # fmt: skip
        tables.append({"title": "Per-image enhancement time (s)",
                       "columns": ["image", "size", "DCE-Net full-res", "bundled", "speed-up"],
                       "rows": speed["rows"]})  # fmt: skip
        extra["speed"] = {k: v for k, v in speed.items() if k != "rows"} | {"model": label}

    if "budget" not in a.skip:
        fast, label = _fast_model(a.weights, device)
        bud = bench_budget(fast, device, a.repeat or (3 if a.quick else 10))
        checks.append({
            "peer": "Zero-DCE++ (scale 12, released code's arithmetic)",
            "workload": f"one {bud['size']} photo, in process, {device}",
            "metric": "time, 1.5 x peer / ours", "target": "<= 1.5x Zero-DCE++", "target_ratio": 1.0,
            "ratio": 1.5 / bud["ratio"], "met": bud["ratio"] <= 1.5,
            "note": f"{label}: {1000 * bud['ours_s']:.1f} ms vs {1000 * bud['peer_s']:.1f} ms",
        })  # fmt: skip
        extra["budget"] = bud | {"model": label}

    if "memory" not in a.skip:
        size = (1500, 2000) if a.quick else (3000, 4000)
        mem = bench_memory(a.weights, a.device, size)
        checks.append({
            "peer": "1.5 GB budget", "workload": f"pyisp-contrast enhance, {mem['megapixels']:.0f}-MP PNG",
            "metric": "peak RSS (GB)", "target": "<= 1.5 GB", "target_ratio": 1.0,
            "ratio": 1.5 / mem["peak_gb"], "met": mem["peak_gb"] <= 1.5,
            "note": f"peak {mem['peak_gb']:.2f} GB, {mem['seconds']:.1f} s including start-up",
        })  # fmt: skip
        extra["memory"] = mem

    if "pie-budget" not in a.skip:
        pb = bench_pie_budget(a.pie_weights, device, a.repeat or (5 if a.quick else 20))
        checks.append({
            "peer": "15 ms budget (Zero-DCE++ in the same run for scale)",
            "workload": f"{pb['model']}, one {pb['size']} photo, in process, {device}, "
                        f"{pb['threads']} threads",
            "metric": "time, 15 ms / ours", "target": "<= 15 ms", "target_ratio": 1.0,
            "ratio": 0.015 / pb["ours_s"], "met": pb["ours_s"] <= 0.015,
            "note": f"{1000 * pb['ours_s']:.1f} ms ({1000 * pb['ours_1thread_s']:.1f} ms on 1 thread); "
                    f"Zero-DCE++ (scale 12) {1000 * pb['peer_s']:.1f} ms, {pb['peer_s'] / pb['ours_s']:.2f}x "
                    "ours; fastest call of each, interleaved",
        })  # fmt: skip
        extra["pie-budget"] = pb

    if "pie-memory" not in a.skip:
        size = (1500, 2000) if a.quick else (3000, 4000)
        pm = bench_memory(a.pie_weights, a.device, size)
        checks.append({
            "peer": "1 GB budget", "workload": f"pyisp-contrast enhance --weights {a.pie_weights}, "
                                               f"{pm['megapixels']:.0f}-MP PNG",
            "metric": "peak RSS (GB)", "target": "<= 1 GB", "target_ratio": 1.0,
            "ratio": 1.0 / pm["peak_gb"], "met": pm["peak_gb"] <= 1.0,
            "note": f"peak {pm['peak_gb']:.2f} GB, {pm['seconds']:.1f} s including start-up",
        })  # fmt: skip
        extra["pie-memory"] = pm | {"weights": a.pie_weights}

    if "stages" not in a.skip:
        rows = bench_stages(a.weights, device, a.repeat or (5 if a.quick else 20))
        tables.append({"title": _TABLE_TITLES["stages"],
                       "columns": ["stage", "ours", "earlier way", "earlier"], "rows": rows})  # fmt: skip

    _carry_over([p for p in SECTIONS if p in a.skip], checks, tables, extra, a.out)

    if "train" not in a.skip:
        tr = bench_training_step(device, 1 if a.quick else 3, 128 if a.quick else 384, a.embedder)
        checks.append({
            "peer": "10 % of a training step", "workload": f"PIE step, batch 2, {128 if a.quick else 384} px, {device}",
            "metric": "segmentation + BoC share", "target": "<= 10 %", "target_ratio": 1.0,
            "ratio": 0.10 / tr["seg_boc_fraction"] if tr["seg_boc_fraction"] > 0 else None,
            "met": tr["seg_boc_fraction"] <= 0.10,
            "note": f"{100 * tr['seg_boc_fraction']:.1f} % of {tr['step_s']:.3f} s. {tr['note']}".strip(),
        })  # fmt: skip
        tables.append({"title": "Training step time split (s)", "columns": ["part", "seconds", "share"],
                       "rows": [[k, v, v / tr["step_s"]] for k, v in tr["split"].items()]})  # fmt: skip
        extra["train"] = tr

    for t in tables:
        print(f"\n{t['title']}")
        print(common.format_table(t["columns"], t["rows"]))
    print()
    print(common.format_table(
        ["check", "workload", "target", "ratio", "met", "note"],
        [[c["peer"] if isinstance(c, dict) else c.peer, c["workload"] if isinstance(c, dict) else c.workload,
          c["target"] if isinstance(c, dict) else c.target, c["ratio"] if isinstance(c, dict) else c.ratio,
          c["met"] if isinstance(c, dict) else c.met, c["note"] if isinstance(c, dict) else c.note]
         for c in checks],
    ))  # fmt: skip
    path = common.write_result("enhance", title="Enhancement speed, memory and training-step split",
                               checks=checks, tables=tables, quick=a.quick, device=a.device,
                               extra=extra, out_dir=a.out)  # fmt: skip
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
