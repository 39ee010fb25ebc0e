"""The benchmark runner and the JSON -> RST step the docs use.

The docs' Benchmarks and Evaluation pages are rendered from ``benchmarks/results/*.json``; these
tests check that results of the shapes the scripts write are read alike, that the RST is valid,
and that ``python -m benchmarks`` runs scripts, summarises and reports failures.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from benchmarks import _common as common

# docutils comes with the docs extra (Sphinx), not the dev one.
publish_doctree = pytest.importorskip(
    "docutils.core",
    reason="the RST checks need docutils: install with pip install -e '.[docs]'",
).publish_doctree

ROOT = Path(__file__).resolve().parents[2]


def _rst_problems(text: str) -> list[str]:
    messages = []

    class Sink:
        def write(self, s: str) -> None:
            messages.append(s)

    publish_doctree(text, settings_overrides={"warning_stream": Sink(), "report_level": 2})
    return messages


def test_shared_shape_round_trips(tmp_path: Path) -> None:
    check = common.Check.speedup("peer", "8 x 384 x 384", ours_s=0.5, peer_s=6.0, target_ratio=10)
    path = common.write_result(
        "demo",
        title="Demo",
        checks=[check],
        tables=[{"title": "times", "columns": ["what", "s"], "rows": [["ours", 0.5]]}],
        out_dir=tmp_path,
    )
    res = common.load_result(path)
    assert res["name"] == "demo"
    assert res["checks"][0]["ratio"] == pytest.approx(12.0)
    assert res["checks"][0]["met"] is True
    assert res["tables"][0]["rows"] == [["ours", 0.5]]
    assert res["machine"]["cpu_count"] >= 1


def test_other_shapes_become_checks_and_tables() -> None:
    payload = {
        "benchmark": "superpixels",
        "results": [
            {"case": "1024x1024", "peer": "skimage.slic", "speedup": 25.0, "target": 20},
            {"case": "2048x2048", "peer": "skimage.slic", "speedup": 18.0, "target": 20},
        ],
    }
    res = common.normalise(payload, default_name="bench_superpixels")
    assert res["name"] == "superpixels"
    assert [c["met"] for c in res["checks"]] == [True, False]
    assert res["checks"][0]["workload"] == "1024x1024"
    assert res["tables"][0]["columns"] == ["case", "peer", "speedup", "target"]


def test_rendered_rst_is_valid() -> None:
    res = common.normalise(
        {
            "name": "x",
            "checks": [
                {"peer": "a|b *c*", "workload": "w", "target": ">= 2x", "ratio": 3.0, "met": True}
            ],
            "tables": [{"title": "t", "columns": ["k", "v"], "rows": [["`odd`", None], ["y"]]}],
        }
    )
    text = common.result_to_rst(res)
    assert ".. list-table:: Targets" in text
    assert _rst_problems(text) == []


def _script(folder: Path, name: str, body: str) -> None:
    (folder / f"bench_{name}.py").write_text(textwrap.dedent(body))


def test_runner_runs_summarises_and_reports_failures(tmp_path: Path) -> None:
    bench, results = tmp_path / "bench", tmp_path / "results"
    bench.mkdir()
    _script(
        bench,
        "good",
        f"""
        import json, sys
        quick = "--quick" in sys.argv
        json.dump({{"name": "good", "quick": quick, "checks": [{{"peer": "p", "workload": "w",
                   "target": ">= 2x", "target_ratio": 2, "ratio": 5.0, "met": True}}]}},
                  open({str(results / "good.json")!r}, "w"))
        """,
    )
    _script(bench, "broken", "raise SystemExit(3)\n")
    results.mkdir()
    cmd = [sys.executable, "-m", "benchmarks", "--quick", "--bench-dir", str(bench)]
    cmd += ["--results", str(results)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # "broken" failed and wrote nothing
    assert "broken: script exited with 3" in proc.stdout
    summary = json.loads((results / "summary.json").read_text())
    assert summary["rows"] == [["good", "p", "w", ">= 2x", "5", True]]
    good = json.loads((results / "good.json").read_text())
    assert good["quick"] is True  # --quick reached the script
    assert (results / "summary.png").is_file()


def test_runner_rejects_unknown_names(tmp_path: Path) -> None:
    (tmp_path / "bench_a.py").write_text("")
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--bench-dir", str(tmp_path), "--only", "zzz"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "unknown benchmark(s) ['zzz']; available: a" in proc.stderr


def test_named_rows_become_a_table() -> None:
    payload = {
        "held_out_images": 22,
        "embedders": {
            "trained": {"spearman": 0.93, "per_class": {"under": 0.9}},
            "random": {"spearman": 0.88, "per_class": {"under": 0.8}},
        },
    }
    res = common.normalise(payload, default_name="exposure_encoder")
    assert res["tables"] == [
        {
            "title": "embedders",
            "columns": ["", "spearman"],
            "rows": [["trained", 0.93], ["random", 0.88]],
        }
    ]
    assert _rst_problems(common.result_to_rst(res)) == []
