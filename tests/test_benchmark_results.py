"""The committed benchmark results stay portable and small, and the helpers that keep them so.

``benchmarks/_common.py`` writes paths relative to the repository root and shrinks large PNG
figures; these tests check both helpers and the files in ``benchmarks/results/``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks import _common as common

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
ABSOLUTE = common._ABS_PATH_IN_TEXT  # what relative_paths rewrites


def _strings(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, str):
        yield value


def test_relative_paths():
    root = Path("/w/repo")
    payload = {
        "data": "/w/shared/data/normal",
        "weights": Path("/w/repo/benchmarks/weights/z.pt"),
        "command": "python /w/repo/benchmarks/bench_curves.py --out /w/repo/out --quick",
        "rows": [["img /s", "1/2.2", "https://example.org/a/b", "models/x.pt", 3.5]],
        "nested": ("/w/repo/a/b",),
    }
    assert common.relative_paths(payload, root) == {
        "data": "../shared/data/normal",
        "weights": "benchmarks/weights/z.pt",
        "command": "python benchmarks/bench_curves.py --out out --quick",
        "rows": [["img /s", "1/2.2", "https://example.org/a/b", "models/x.pt", 3.5]],
        "nested": ["a/b"],
    }


def test_write_result_writes_relative_paths_and_shrinks_figures(tmp_path):
    noise = np.random.default_rng(0).integers(0, 256, (700, 700, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "fig.png")
    assert (tmp_path / "fig.png").stat().st_size > common.MAX_FIGURE_BYTES
    path = common.write_result(
        "demo",
        title="Demo",
        figures=["fig.png"],
        extra={"data": str(common.REPO_ROOT.parent / "shared" / "data")},
        out_dir=tmp_path,
    )
    payload = json.loads(path.read_text())
    assert payload["extra"]["data"] == "../shared/data"
    assert (tmp_path / "fig.png").stat().st_size <= common.MAX_FIGURE_BYTES
    with Image.open(tmp_path / "fig.png") as im:
        assert im.mode == "P" and im.width < 700  # palette, and scaled down to fit


def test_shrink_png_leaves_small_files_alone(tmp_path):
    Image.new("RGB", (40, 30), "white").save(tmp_path / "small.png")
    before = (tmp_path / "small.png").read_bytes()
    assert common.shrink_png(tmp_path / "small.png") is False
    assert (tmp_path / "small.png").read_bytes() == before


def test_committed_results_hold_no_absolute_paths():
    found = [
        f"{p.name}: {s!r}"
        for p in sorted(RESULTS.glob("*.json"))
        for s in _strings(json.loads(p.read_text()))
        if ABSOLUTE.search(s)
    ]
    assert found == [], "absolute paths in benchmarks/results (write them relative):\n" + "\n".join(
        found
    )


def test_committed_figures_are_small():
    big = [
        f"{p.name}: {p.stat().st_size // 1000} KB"
        for p in sorted(RESULTS.glob("*.png"))
        if p.stat().st_size > common.MAX_FIGURE_BYTES
    ]
    assert big == [], (
        f"figures over {common.MAX_FIGURE_BYTES // 1000} KB: {big} (common.shrink_png)"
    )


def test_a_gpu_result_sits_beside_the_cpu_one_in_the_summary(tmp_path):
    from benchmarks import __main__ as runner

    check = {"peer": "p", "workload": "w", "metric": "m", "target": "t", "ratio": 2.0, "met": True}
    for device in ("cpu", "cuda:0"):
        path = common.write_result(
            "demo", title="Demo", checks=[check], device=device, out_dir=tmp_path
        )
        assert path.name == ("demo.json" if device == "cpu" else "demo_cuda.json")
    scripts = {"demo": tmp_path / "bench_demo.py"}
    scripts["demo"].write_text("from benchmarks._common import base_parser\n")
    runs = runner.run_all(
        ["demo"], scripts, quick=False, device="cpu", timeout=None, results_dir=tmp_path,
        execute=False,
    )  # fmt: skip
    rows, problems = runner.summarise(runs)
    assert problems == []
    assert [r[0] for r in rows] == ["demo", "demo (cuda)"]
    assert [run["result_file"].endswith(n) for run, n in zip(runs, ("demo.json", "demo_cuda.json"), strict=True)] == [True, True]  # fmt: skip


def test_rerunning_one_benchmark_keeps_the_others_in_the_summary(tmp_path):
    """``--only a`` runs ``a`` and summarises ``b``'s last result beside it (the summary files
    used to hold only what the call ran); ``--strict`` still answers for ``a`` alone."""
    from benchmarks import __main__ as runner

    def check(met: bool) -> dict:
        return {
            "peer": "p",
            "workload": "w",
            "metric": "m",
            "target": "t",
            "ratio": 2.0,
            "met": met,
        }

    bench, results = tmp_path / "bench", tmp_path / "results"
    bench.mkdir()
    (bench / "bench_a.py").write_text(
        "from benchmarks._common import base_parser, write_result\n"
        "args = base_parser('a').parse_args()\n"
        "write_result('a', title='A', checks=[{'peer': 'p', 'workload': 'w', 'metric': 'm',"
        " 'target': 't', 'ratio': 2.0, 'met': True}], out_dir=args.out)\n"
    )
    (bench / "bench_b.py").write_text("raise SystemExit('not run by --only a')\n")
    common.write_result("b", title="B", checks=[check(False)], out_dir=results)
    argv = ["--only", "a", "--bench-dir", str(bench), "--results", str(results)]
    assert runner.main([*argv, "--strict"]) == 0  # b's missed target is not this call's
    summary = json.loads((results / "summary.json").read_text())
    assert [r[0] for r in summary["rows"]] == ["a", "b"]
    assert summary["problems"] == []
    assert [run.get("earlier", False) for run in summary["benchmarks"]] == [False, True]
