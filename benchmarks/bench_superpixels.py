"""Superpixels: batched SLIC (numba CPU / torch GPU) vs scikit-image's ``slic`` (and fast-slic).

Same images, same ``n_segments`` (400) and iterations (10) on both sides, timed back to back in one
process; each figure is the fastest of the repeats (on shared cores the median mostly measures the
other jobs, the minimum what the code costs), so ratios are fair on a busy machine while absolute
times are not.

Sections:

- single image at 512, 1024, 2048 px (a Kodak24 photo from ``--data``, upscaled; skimage's
  astronaut without ``--data``): ours vs ``skimage.segmentation.slic``; target >= 20x at >= 1024 px.
  fast-slic (C++; ``pip install fast-slic``, an optional peer) is timed in the same run when it is
  installed, both its plain ``Slic`` and its ``avx2.SlicAvx2`` (on uint8 input prepared outside
  the timing, on all cores as ours); the run says when it is not. Target at 1024 px: 1.25x
  fast-slic AVX2 (issue 13: <= 12 ms where it took 15 ms).
- numba compile: the first call in a fresh process with an empty cache (compiles) and with the
  on-disk cache (``cache=True``), against a warm call.
- a training batch of 8 x 384 x 384: ours (one call) vs skimage in a loop, target 21.3x (issue 13:
  <= 25 ms where skimage took 532 ms), and vs fast-slic AVX2 in a loop, target >= 1x.
- quality: boundary recall, undersegmentation error and achievable segmentation accuracy on a
  synthetic set with ground truth (piecewise-smooth regions + texture + noise), explained
  variation on photos; target: ours no worse than skimage by more than 0.01. A column gives ours
  with ``subsample_stride=1`` (every pixel re-assigned at every iteration, as before issue 13).
- ``--device cuda``: the torch path on a GPU, 1024 x 1024 single image and 16 x 384 x 384 batch
  (issue 13's goals: <= 2 ms and <= 5 ms on one H200).

Run ``python benchmarks/bench_superpixels.py [--quick] [--data DIR] [--device cuda]``; writes
``benchmarks/results/superpixels.json`` (``--device cuda`` writes ``superpixels_cuda.json``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numba
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import Check, base_parser, print_table, time_call, write_result
from pyisp_contrast.segmentation import metrics, slic
from pyisp_contrast.segmentation.slic import SUBSAMPLE_STRIDE

N_SEGMENTS = 400
MAX_ITER = 10
COMPACTNESS = 10.0


# ------------------------------------------------------------------------------ data
def load_photos(data: Path | None, limit: int) -> list[torch.Tensor]:
    """(3, H, W) float photos: the first ``limit`` images of ``data``, else skimage.data ones."""
    if data is not None:
        from pyisp_contrast.core.io import find_images, read_image

        paths = sorted(find_images([str(data)]))[:limit]
        if not paths:
            raise SystemExit(f"no images found in {data}")
        return [read_image(p) for p in paths]
    import skimage.data

    imgs = [skimage.data.astronaut(), skimage.data.coffee(), skimage.data.chelsea()][:limit]
    return [torch.from_numpy(np.ascontiguousarray(i)).permute(2, 0, 1).float() / 255 for i in imgs]


def resize(img: torch.Tensor, size: int) -> torch.Tensor:
    out = torch.nn.functional.interpolate(
        img[None], size=(size, size), mode="bilinear", align_corners=False, antialias=True
    )
    return out[0].clamp(0, 1).contiguous()


def synthetic_set(n: int, size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Images with ground truth: Voronoi regions, each a colour ramp + texture, plus noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size].astype(np.float64) / size
    images, gts = [], []
    for _ in range(n):
        k = int(rng.integers(15, 40))
        pts = rng.random((k, 2))
        d = (yy[..., None] - pts[:, 0]) ** 2 + (xx[..., None] - pts[:, 1]) ** 2
        gt = d.argmin(-1)
        base = rng.random((k, 3)) * 0.8 + 0.1
        grad = (rng.random((k, 2, 3)) - 0.5) * 0.4
        freq = rng.random(k) * 40 + 10
        amp = rng.random(k) * 0.06
        img = base[gt] + grad[gt, 0] * yy[..., None] + grad[gt, 1] * xx[..., None]
        img += (amp[gt] * np.sin(freq[gt] * (xx + 0.7 * yy)))[..., None]
        img += rng.normal(0, 0.03, img.shape)
        images.append(torch.from_numpy(np.clip(img, 0, 1)).permute(2, 0, 1).float())
        gts.append(torch.from_numpy(gt).long())
    return torch.stack(images), torch.stack(gts)


# ------------------------------------------------------------------------------ peers
def skimage_slic(img: torch.Tensor) -> np.ndarray:
    from skimage.segmentation import slic as sk_slic

    arr = img.permute(1, 2, 0).numpy()
    return sk_slic(
        arr, n_segments=N_SEGMENTS, compactness=COMPACTNESS, max_num_iter=MAX_ITER, start_label=0
    )


def fast_slic_fns() -> tuple[dict, str]:
    """fast-slic's plain and AVX2 classes as ``{name: fn(uint8 HxWx3 array) -> labels}``, and a
    note saying which are missing and why (fast-slic is an optional peer, never a dependency)."""
    fns, missing = {}, []
    for name, module, cls in (
        ("fast-slic", "fast_slic", "Slic"),
        ("fast-slic AVX2", "fast_slic.avx2", "SlicAvx2"),
    ):
        try:
            slic_cls = getattr(__import__(module, fromlist=[cls]), cls)
        except (ImportError, AttributeError) as exc:  # not installed, or built without AVX2
            missing.append(f"{module}.{cls} not importable ({exc})")
            continue

        def run(arr: np.ndarray, slic_cls=slic_cls) -> np.ndarray:
            return slic_cls(num_components=N_SEGMENTS, compactness=COMPACTNESS).iterate(arr)

        fns[name] = run
    return fns, "; ".join(missing)


def to_uint8(img: torch.Tensor) -> np.ndarray:
    """(3, H, W) float -> (H, W, 3) uint8, fast-slic's input (converted outside the timing)."""
    return np.ascontiguousarray((img.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))


def first_call_seconds(cold: bool) -> float | None:
    """Seconds for import + first slic call in a fresh process (cold: empty numba cache)."""
    code = (
        "import time; t = time.perf_counter(); import torch; "
        "from pyisp_contrast.segmentation import slic; slic(torch.rand(3, 64, 64)); "
        "print(time.perf_counter() - t)"
    )
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        if cold:
            env["NUMBA_CACHE_DIR"] = tmp
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if res.returncode != 0:
        return None
    return float(res.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------ sections
#: Issue 13's CPU goals, from one quiet run on the 2-core machine: <= 12 ms at 1024x1024 where
#: fast-slic AVX2 took 15 ms, <= 25 ms for 8 x 384 x 384 where skimage in a loop took 532 ms.
#: The targets are those ratios, measured against the peer in the same run.
TARGET_VS_FAST_SLIC_AVX2_1024 = 15.0 / 12.0
TARGET_VS_SKIMAGE_BATCH = 532.0 / 25.0


def bench_single(photo: torch.Tensor, sizes, repeat, fast, checks, rows):
    for size in sizes:
        img = resize(photo, size)
        ours = time_call(
            lambda img=img: slic(img, N_SEGMENTS, COMPACTNESS, MAX_ITER), repeat=repeat
        )
        peer = time_call(lambda img=img: skimage_slic(img), repeat=max(1, repeat // 2), warmup=0)
        k_ours = int(slic(img, N_SEGMENTS, COMPACTNESS, MAX_ITER).num_segments)
        k_peer = int(skimage_slic(img).max()) + 1
        row = [
            f"{size}x{size}",
            ours["min"] * 1e3,
            peer["min"] * 1e3,
            peer["min"] / ours["min"],
        ]
        arr = to_uint8(img)
        for name in ("fast-slic", "fast-slic AVX2"):
            if name not in fast:
                row += [None, None]
                continue
            fs = time_call(lambda fn=fast[name], arr=arr: fn(arr), repeat=repeat)
            row += [fs["min"] * 1e3, fs["min"] / ours["min"]]
            if size == 1024 and name == "fast-slic AVX2":
                checks.append(
                    Check.speedup(
                        "fast_slic.avx2.SlicAvx2 (same run, both on all cores)",
                        "1 x 3 x 1024 x 1024, n_segments=400, 10 iterations, CPU",
                        ours_s=ours["min"],
                        peer_s=fs["min"],
                        target_ratio=TARGET_VS_FAST_SLIC_AVX2_1024,
                        note="issue 13: <= 12 ms where fast-slic AVX2 took 15 ms; "
                        f"ours {ours['median'] * 1e3:.1f} ms, "
                        f"fast-slic AVX2 {fs['median'] * 1e3:.1f} ms",
                    )
                )
        row += [k_ours, k_peer]
        rows.append(row)
        if size >= 1024:
            checks.append(
                Check.speedup(
                    "skimage.segmentation.slic",
                    f"1 x 3 x {size} x {size}, n_segments=400, 10 iterations, CPU",
                    ours_s=ours["min"],
                    peer_s=peer["min"],
                    target_ratio=20.0,
                )
            )


def bench_batch(photos, size, batch, repeat, fast, checks):
    imgs = torch.stack([resize(photos[i % len(photos)], size) for i in range(batch)])
    ours = time_call(lambda: slic(imgs, N_SEGMENTS, COMPACTNESS, MAX_ITER), repeat=repeat)
    peer = time_call(lambda: [skimage_slic(i) for i in imgs], repeat=max(1, repeat // 2), warmup=0)
    checks.append(
        Check.speedup(
            "skimage.segmentation.slic in a loop",
            f"{batch} x 3 x {size} x {size}, n_segments=400, 10 iterations, CPU",
            ours_s=ours["min"],
            peer_s=peer["min"],
            target_ratio=TARGET_VS_SKIMAGE_BATCH,
            note="issue 13: <= 25 ms where skimage in a loop took 532 ms; "
            f"ours {ours['median'] * 1e3:.1f} ms",
        )
    )
    fs_ms = None
    if "fast-slic AVX2" in fast:
        arrs = [to_uint8(i) for i in imgs]
        fn = fast["fast-slic AVX2"]
        fs = time_call(lambda: [fn(a) for a in arrs], repeat=repeat)
        fs_ms = fs["min"] * 1e3
        checks.append(
            Check.speedup(
                "fast_slic.avx2.SlicAvx2 in a loop (same run, both on all cores)",
                f"{batch} x 3 x {size} x {size}, n_segments=400, 10 iterations, CPU",
                ours_s=ours["min"],
                peer_s=fs["min"],
                target_ratio=1.0,
                note="issue 13: ahead of fast-slic AVX2",
            )
        )
    return ours["min"], peer["min"], fs_ms


def bench_quality(photos, n_synth, synth_size, checks):
    """Quality metrics: ours (default), ours with ``subsample_stride=1`` (every pixel re-assigned
    at every iteration, the algorithm before issue 13) and skimage."""
    images, gts = synthetic_set(n_synth, synth_size)
    ours = slic(images, N_SEGMENTS, COMPACTNESS, MAX_ITER).labels
    full = slic(images, N_SEGMENTS, COMPACTNESS, MAX_ITER, subsample_stride=1).labels
    peer = torch.stack([torch.from_numpy(skimage_slic(i)).long() for i in images])
    res = {}
    for name, fn, higher in (
        ("boundary recall", lambda s: metrics.boundary_recall(s, gts, tolerance=2), True),
        ("undersegmentation error", lambda s: metrics.undersegmentation_error(s, gts), False),
        (
            "achievable segmentation accuracy",
            lambda s: metrics.achievable_segmentation_accuracy(s, gts),
            True,
        ),
        ("compactness", lambda s: metrics.compactness(s), True),
    ):
        a, b = fn(ours).mean().item(), fn(peer).mean().item()
        res[name] = (a, fn(full).mean().item(), b)
        if name != "compactness":  # reported, not a target
            diff = (a - b) if higher else (b - a)
            checks.append(
                {
                    "peer": "skimage.segmentation.slic",
                    "workload": f"{name}, {n_synth} synthetic {synth_size}px images with ground truth",
                    "metric": "quality difference (ours better > 0)",
                    "target": ">= -0.01",
                    "target_ratio": -0.01,
                    "ratio": diff,
                    "met": bool(diff >= -0.01),
                    "note": f"ours {a:.4f}, skimage {b:.4f}",
                }
            )
    ev_ours, ev_full, ev_peer = [], [], []
    for p in photos:
        ev_ours.append(
            metrics.explained_variation(p[None], slic(p, N_SEGMENTS).labels[None]).item()
        )
        lab_full = slic(p, N_SEGMENTS, subsample_stride=1).labels[None]
        ev_full.append(metrics.explained_variation(p[None], lab_full).item())
        peer_lab = torch.from_numpy(skimage_slic(p)).long()[None]
        ev_peer.append(metrics.explained_variation(p[None], peer_lab).item())
    a, b = float(np.mean(ev_ours)), float(np.mean(ev_peer))
    res["explained variation (photos)"] = (a, float(np.mean(ev_full)), b)
    checks.append(
        {
            "peer": "skimage.segmentation.slic",
            "workload": f"explained variation, {len(photos)} photos at native size",
            "metric": "quality difference (ours better > 0)",
            "target": ">= -0.01",
            "target_ratio": -0.01,
            "ratio": a - b,
            "met": bool(a - b >= -0.01),
            "note": f"ours {a:.4f}, skimage {b:.4f}",
        }
    )
    return res


def bench_cuda(photo, device, repeat, checks):
    sync = torch.cuda.synchronize
    rows = []
    img = resize(photo, 1024).to(device)
    t1 = time_call(
        lambda: slic(img, N_SEGMENTS, COMPACTNESS, MAX_ITER), repeat=repeat, warmup=2, sync=sync
    )
    batch = torch.stack([resize(photo, 384)] * 16).to(device)
    t2 = time_call(
        lambda: slic(batch, N_SEGMENTS, COMPACTNESS, MAX_ITER), repeat=repeat, warmup=2, sync=sync
    )
    cpu = slic(img.cpu(), N_SEGMENTS).labels
    agree = (slic(img, N_SEGMENTS).labels.cpu() == cpu).float().mean().item()
    # issue 13's goals on one H200
    for work, t, goal in (("1 x 3 x 1024 x 1024", t1, 2e-3), ("16 x 3 x 384 x 384", t2, 5e-3)):
        rows.append([work, t["min"] * 1e3, goal * 1e3])
        checks.append(
            {
                "peer": "goal time",
                "workload": f"{work}, {torch.cuda.get_device_name(device)}",
                "metric": "goal / measured time",
                "target": f"<= {goal * 1e3:g} ms",
                "target_ratio": 1.0,
                "ratio": goal / t["min"],
                "met": bool(t["min"] <= goal),
            }
        )
    return rows, agree


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="folder of photos (e.g. Kodak24)")
    args = parser.parse_args()
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    quick = args.quick
    repeat = args.repeat or (2 if quick else 5)
    photos = load_photos(args.data, 3 if quick else 6)
    checks: list = []
    tables: list = []
    extra: dict = {
        "n_segments": N_SEGMENTS,
        "max_iter": MAX_ITER,
        "compactness": COMPACTNESS,
        "subsample_stride": SUBSAMPLE_STRIDE,
        "numba_threads": numba.get_num_threads(),
        # other jobs on the same cores inflate wall times, ours (two threads, a barrier per
        # iteration) more than single-threaded skimage's: keep the 1-minute load with the figures
        "load_average_at_start": os.getloadavg()[0],
    }

    if args.device.startswith("cuda"):
        rows, agree = bench_cuda(photos[0], torch.device(args.device), repeat, checks)
        tables.append(
            {
                "title": "GPU (torch path)",
                "columns": ["workload", "ours ms", "goal ms"],
                "rows": rows,
            }
        )
        extra["cuda_cpu_label_agreement"] = agree
        print_table(["workload", "ours ms", "goal ms"], rows, "GPU (torch path)")
        print(f"labels equal to the CPU path on {agree:.4%} of pixels")
        write_result(
            "superpixels_cuda",
            title="Superpixels on GPU",
            checks=checks,
            tables=tables,
            quick=quick,
            device=args.device,
            extra=extra,
            out_dir=args.out,
        )
        return

    cold = first_call_seconds(cold=True)
    cached = first_call_seconds(cold=False)
    fast, fast_note = fast_slic_fns()
    extra["fast_slic"] = fast_note or "installed (fast_slic.Slic and fast_slic.avx2.SlicAvx2)"
    if fast_note:
        print(f"fast-slic peer skipped: {fast_note}; install it with `pip install fast-slic`")
    rows: list = []
    bench_single(photos[0], [512] if quick else [512, 1024, 2048], repeat, fast, checks, rows)
    cols = [
        "size",
        "ours ms",
        "skimage ms",
        "speed-up",
        "fast-slic ms",
        "fast-slic/ours",
        "fast-slic AVX2 ms",
        "AVX2/ours",
        "K ours",
        "K skimage",
    ]
    tables.append(
        {
            "title": "Single image, n_segments=400, 10 iterations (CPU)",
            "columns": cols,
            "rows": rows,
        }
    )
    print_table(cols, rows, tables[-1]["title"])

    warm = time_call(lambda: slic(torch.rand(3, 64, 64)), repeat=5)["min"]
    comp_rows = [
        ["first call, empty numba cache (compiles)", cold],
        ["first call, on-disk cache", cached],
        ["warm call (64x64)", warm],
    ]
    tables.append(
        {
            "title": "numba compile (seconds, fresh process incl. imports)",
            "columns": ["case", "s"],
            "rows": comp_rows,
        }
    )
    print_table(["case", "s"], comp_rows, tables[-1]["title"])

    size, b = (192, 4) if quick else (384, 8)
    ours_b, peer_b, fs_b = bench_batch(photos, size, b, repeat, fast, checks)
    bcols = ["batch", "ours ms", "skimage loop ms", "speed-up", "fast-slic AVX2 loop ms"]
    brow = [[f"{b} x {size} x {size}", ours_b * 1e3, peer_b * 1e3, peer_b / ours_b, fs_b]]
    tables.append({"title": "Training batch (CPU)", "columns": bcols, "rows": brow})
    print_table(bcols, brow, tables[-1]["title"])

    qual = bench_quality(photos, 3 if quick else 8, 192 if quick else 384, checks)
    qrows = [[k, a, f, b2, a - b2] for k, (a, f, b2) in qual.items()]
    qcols = ["metric", "ours", "ours, subsample_stride=1", "skimage", "ours - skimage"]
    tables.append({"title": "Quality", "columns": qcols, "rows": qrows})
    print_table(qcols, qrows, "Quality")

    print_table(
        ["peer", "workload", "target", "ratio", "met"],
        [
            [
                c["peer"] if isinstance(c, dict) else c.peer,
                c["workload"] if isinstance(c, dict) else c.workload,
                c["target"] if isinstance(c, dict) else c.target,
                c["ratio"] if isinstance(c, dict) else c.ratio,
                c["met"] if isinstance(c, dict) else c.met,
            ]
            for c in checks
        ],
        "Checks",
    )
    extra["load_average_at_end"] = os.getloadavg()[0]
    path = write_result(
        "superpixels",
        title="Superpixels (SLIC)",
        checks=checks,
        tables=tables,
        quick=quick,
        device="cpu",
        extra=extra,
        out_dir=args.out,
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
