"""PIE's contrastive term: embed-once InfoNCELoss vs. the naive per-pair way.

Workload (PIE's training step): anchor batch B = 2 (the enhanced output, needs a gradient), P = 2
positives and N = 2 negatives per anchor, 384 x 384, distance = summed MSE of Gram matrices.
Timed: forward and backward to the anchor.

- *ours*: :class:`~pyisp_contrast.contrastive.InfoNCELoss` embeds each of the 2 + 4 + 4 images
  once (the anchor in a batch that keeps a graph, the fixed images in one that does not) and
  compares all pairs by broadcasting;
- *naive*: every distance ``D(a, x)`` re-embeds both ``a`` and ``x`` (as the released PIE code
  does per pair), so the anchor goes through the network P + N times with a graph each time. The
  same InfoNCE value is then formed from those distances (checked equal to ours).

Embedders: VGG16 to relu3_3 with random weights (relu1_2/2_2/3_3, as PIE; random because the
ImageNet file cannot be downloaded here; the cost is the same) and the shipped ExposureEncoder.

Peak memory: each variant runs in a fresh subprocess; the figure is the rise of the process's peak
resident set size (``ru_maxrss``) over its level just before the first call.

Run ``python benchmarks/bench_contrastive.py [--quick]``; writes ``benchmarks/results/contrastive.json``.
Times are medians of one run, both variants in the same process family, so the ratio holds on a
busy machine better than the absolute times.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import resource
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import Check, base_parser, print_table, time_call, write_result
from pyisp_contrast.contrastive import ExposureEncoder, GramMSEDistance, InfoNCELoss, VGG16Features
from pyisp_contrast.core.checks import value_checks


def make_embedder(name: str):
    if name == "vgg16":
        return VGG16Features(weights=None, generator=torch.Generator().manual_seed(0))
    return ExposureEncoder.pretrained()


def make_inputs(b: int, p: int, n: int, size: int, device: str):
    g = torch.Generator().manual_seed(0)
    anchor = torch.rand(b, 3, size, size, generator=g).to(device).requires_grad_(True)
    pos = torch.rand(b, p, 3, size, size, generator=g).to(device)
    neg = torch.rand(b, n, 3, size, size, generator=g).to(device)
    return anchor, pos, neg


def naive_loss(embedder, dist: GramMSEDistance, anchor, pos, neg, temperature: float = 1.0):
    """Every distance re-embeds both of its images, one pair at a time (the released code's way)."""
    d_ap = torch.stack(
        [dist(embedder(anchor), embedder(pos[:, k])) for k in range(pos.shape[1])], dim=1
    )
    d_an = torch.stack(
        [dist(embedder(anchor), embedder(neg[:, k])) for k in range(neg.shape[1])], dim=1
    )
    pos_t, neg_t = d_ap / temperature, d_an / temperature
    denom = torch.logaddexp(-pos_t, torch.logsumexp(-neg_t, dim=1, keepdim=True))
    return (denom + pos_t).mean(1).mean()


def _step(kind: str, embedder, anchor, pos, neg):
    dist = GramMSEDistance()
    anchor.grad = None
    if kind == "ours":
        loss = InfoNCELoss(embedder, dist, temperature=1.0)(anchor, pos, neg)
    else:
        loss = naive_loss(embedder, dist, anchor, pos, neg)
    loss.backward()
    return loss.item()


def _worker(
    kind: str, emb_name: str, shape: tuple, repeat: int, device: str, threads: int, queue
) -> None:
    torch.set_num_threads(threads)
    embedder = make_embedder(emb_name).to(device)
    anchor, pos, neg = make_inputs(*shape, device)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sync = torch.cuda.synchronize if device.startswith("cuda") else None
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    with value_checks(False):  # as in a training loop whose data is already checked
        value = _step(kind, embedder, anchor, pos, neg)
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base  # after the first call
        t = time_call(
            lambda: _step(kind, embedder, anchor, pos, neg), repeat=repeat, warmup=0, sync=sync
        )
    # numpy, not a tensor: torch would pass a tensor through shared memory that dies with the child
    grad = anchor.grad.detach().cpu().numpy()
    result = {
        "median_s": t["median"],
        "times": t["times"],
        "peak_rss_mib": peak_kib / 1024,
        "loss": value,
    }
    if device.startswith("cuda"):
        result["peak_cuda_mib"] = torch.cuda.max_memory_allocated() / 2**20
    queue.put((result, grad))


def run_variant(kind: str, emb_name: str, shape: tuple, repeat: int, device: str, threads: int):
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_worker, args=(kind, emb_name, shape, repeat, device, threads, queue))
    proc.start()
    result, grad = queue.get()
    proc.join()
    return result, torch.from_numpy(grad)


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--size", type=int, default=None, help="image side (default 384, 128 with --quick)"
    )
    args = parser.parse_args(argv)
    size = args.size or (128 if args.quick else 384)
    repeat = args.repeat or (2 if args.quick else 5)
    shape = (2, 2, 2, size)
    workload = (
        f"B=2, P=2, N=2, 3x{size}x{size}, forward+backward, {args.device}, {args.threads} threads"
    )

    rows, checks, extra = [], [], {}
    for emb_name, label in (
        ("vgg16", "VGG16 relu1_2/2_2/3_3 (random)"),
        ("encoder", "ExposureEncoder"),
    ):
        res = {}
        grads = {}
        for kind in ("ours", "naive"):
            res[kind], grads[kind] = run_variant(
                kind, emb_name, shape, repeat, args.device, args.threads
            )
        same = torch.allclose(
            grads["ours"],
            grads["naive"],
            rtol=1e-3,
            atol=1e-8 + 1e-3 * grads["naive"].abs().max().item(),
        )
        if not same or abs(res["ours"]["loss"] - res["naive"]["loss"]) > 1e-4 * max(
            1.0, abs(res["naive"]["loss"])
        ):
            raise RuntimeError(
                f"{label}: ours and the naive way disagree ({res['ours']['loss']} vs {res['naive']['loss']})"
            )
        speed = res["naive"]["median_s"] / res["ours"]["median_s"]
        mem = res["naive"]["peak_rss_mib"] / max(res["ours"]["peak_rss_mib"], 1e-9)
        for kind in ("ours", "naive"):
            rows.append(
                [
                    label,
                    kind,
                    f"{res[kind]['median_s'] * 1000:.0f}",
                    f"{res[kind]['peak_rss_mib']:.0f}",
                ]
            )
        checks.append(
            Check.speedup(
                "naive per-pair re-embedding (released PIE code's way)",
                f"{label}: {workload}",
                ours_s=res["ours"]["median_s"],
                peer_s=res["naive"]["median_s"],
                target_ratio=2.0,
                note=f"peak RSS rise {res['ours']['peak_rss_mib']:.0f} vs {res['naive']['peak_rss_mib']:.0f} MiB ({mem:.2f}x less)",
            )
        )
        extra[emb_name] = {**res, "speedup": speed, "memory_ratio": mem}

    columns = ["embedder", "way", "median ms", "peak RSS rise MiB"]
    print_table(columns, rows, title=f"PIE contrastive term ({workload})")
    for c in checks:
        print(
            f"{c.workload.split(':')[0]}: {c.ratio:.2f}x faster (target >= 2x: {'met' if c.met else 'NOT met'}); {c.note}"
        )
    path = write_result(
        "contrastive",
        title="Contrastive term: embed once vs. per-pair re-embedding",
        checks=checks,
        tables=[{"title": f"PIE contrastive term ({workload})", "columns": columns, "rows": rows}],
        quick=args.quick,
        device=args.device,
        extra=json.loads(json.dumps(extra)),
        out_dir=args.out,
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
