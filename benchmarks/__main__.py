"""Run every benchmark and print one summary table.

Usage (from the repository root)::

    python -m benchmarks                      # every bench_*.py, full workloads
    python -m benchmarks --quick              # small workloads (a smoke run)
    python -m benchmarks --only curves superpixels
    python -m benchmarks --device cuda        # passed to the scripts that take --device
    python -m benchmarks --list               # what would run
    python -m benchmarks --summarise-only     # rebuild the summary from existing JSON

Each ``benchmarks/bench_<name>.py`` runs in its own process (so one crash or one numba compile
does not affect another's timings) and writes ``benchmarks/results/<name>.json``. The runner
then reads every JSON (whatever its shape; see ``benchmarks/_common.py``), prints each check's
peer, workload, target, measured ratio and whether the target was met, and writes
``benchmarks/results/summary.json`` and ``summary.png``. The docs include all of them. With
``--only``, the summary also holds the other benchmarks' last results, as they stand.

Exit status: 1 if a script failed or wrote no result, 2 with ``--strict`` if a target was missed,
else 0.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: python benchmarks/__main__.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import _common as common

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def discover(bench_dir: Path = HERE) -> dict[str, Path]:
    """``{name: script}`` for every ``bench_<name>.py``, sorted by name."""
    return {p.stem.removeprefix("bench_"): p for p in sorted(bench_dir.glob("bench_*.py"))}


def _accepts(script: Path, option: str) -> bool:
    # the scripts are argparse programs; a cheap look at the source says which options exist
    # (_common.base_parser gives --quick, --device, --out and --repeat)
    text = script.read_text()
    if option in ("--quick", "--device") and "base_parser(" in text:
        return True
    return f'"{option}"' in text or f"'{option}'" in text


def command(
    script: Path, *, quick: bool, device: str, out: Path | None = None
) -> tuple[list[str], str]:
    """The command line for one script and the device it will actually use."""
    cmd = [sys.executable, str(script)]
    if out is not None and out.resolve() != common.RESULTS_DIR.resolve():
        if "base_parser(" in script.read_text() or _accepts(script, "--out"):
            cmd += ["--out", str(out)]
    if quick and _accepts(script, "--quick"):
        cmd.append("--quick")
    used = "cpu"
    if _accepts(script, "--device"):
        cmd += ["--device", device]
        used = device
    return cmd, used


def find_result(
    name: str, results_dir: Path, since: float, device: str = "cpu"
) -> tuple[Path | None, bool]:
    """The JSON a benchmark wrote on ``device`` (:func:`benchmarks._common.result_stem`), and
    whether it is fresh (written after ``since``)."""
    path = results_dir / f"{common.result_stem(name, device)}.json"
    if not path.is_file():
        return None, False
    return path, path.stat().st_mtime >= since - 1.0


def _other_devices(name: str, results_dir: Path, device: str) -> list[tuple[str, Path]]:
    """``(device, result file)`` of ``name`` on devices other than ``device`` in ``results_dir``
    (for the summary's side-by-side rows: a GPU run's ``<name>_cuda.json`` beside the CPU's)."""
    found = {p.stem.removeprefix(f"{name}_"): p for p in results_dir.glob(f"{name}_*.json")}
    if (results_dir / f"{name}.json").is_file():
        found["cpu"] = results_dir / f"{name}.json"
    found.pop(device.split(":", 1)[0], None)
    return sorted(found.items())


def run_all(
    names: list[str],
    scripts: dict[str, Path],
    *,
    quick: bool,
    device: str,
    timeout: float | None,
    results_dir: Path,
    execute: bool = True,
) -> list[dict[str, Any]]:
    """Run the named scripts (or only collect their last results) and gather what they wrote."""
    runs = []
    env = dict(os.environ)
    env.setdefault("MPLBACKEND", "Agg")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    for name in names:
        script = scripts[name]
        cmd, used_device = command(script, quick=quick, device=device, out=results_dir)
        info: dict[str, Any] = {
            "name": name,
            "script": _rel(script),
            "command": " ".join([Path(cmd[0]).name, *common.relative_paths(cmd[1:], ROOT)]),
            "device": used_device,
            "returncode": None,
            "seconds": None,
        }
        start = time.time()
        if execute:
            print(f"\n=== {name}: {info['command']}", flush=True)
            try:
                proc = subprocess.run(cmd, cwd=ROOT, env=env, timeout=timeout, check=False)
                info["returncode"] = proc.returncode
            except subprocess.TimeoutExpired:
                info["returncode"] = "timeout"
            info["seconds"] = round(time.time() - start, 1)
        path, fresh = find_result(name, results_dir, start if execute else 0.0, used_device)
        runs.append(_with_result(info, path, fresh))
        # Results of the same benchmark on other devices: shown beside, never rerun here.
        for other, path in _other_devices(name, results_dir, used_device):
            extra = info | {"device": other, "returncode": None, "seconds": None}
            runs.append(_with_result(extra, path, True) | {"earlier": True})
    return runs


def _with_result(info: dict[str, Any], path: Path | None, fresh: bool) -> dict[str, Any]:
    """``info`` with the result read from ``path`` (``None`` and an error when unreadable)."""
    info = dict(info)
    info["result_file"] = None if path is None else _rel(path)
    info["fresh"] = fresh
    info["result"] = None
    if path is not None:
        try:
            info["result"] = common.load_result(path)
        except (ValueError, OSError) as exc:
            info["error"] = f"unreadable result {path.name}: {exc}"
    return info


def summarise(runs: list[dict[str, Any]]) -> tuple[list[list[Any]], list[str]]:
    """Rows of the summary table and a list of problems (failed scripts, missing results)."""
    rows: list[list[Any]] = []
    problems = []
    for run in runs:
        res = run["result"]
        if run["returncode"] not in (None, 0):
            problems.append(f"{run['name']}: script exited with {run['returncode']}")
        if res is None:
            problems.append(f"{run['name']}: no result JSON in benchmarks/results/")
            continue
        if not run["fresh"]:
            problems.append(f"{run['name']}: {run['result_file']} is older than this run")
        if not res["checks"]:
            rows.append([run["name"], "-", "(no target reported)", "-", None, None])
            continue
        rows.extend(common.check_rows([res]))
    return rows, problems


def write_summary(
    runs: list[dict[str, Any]], rows: list[list[Any]], problems: list[str], args, results_dir: Path
) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    payload = {
        "schema": common.SCHEMA,
        "name": "summary",
        "title": "Benchmark summary",
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": bool(args.quick),
        "device": args.device,
        "machine": common.machine_info(args.device),
        "columns": list(common.CHECK_COLUMNS),
        "rows": rows,
        "problems": problems,
        "benchmarks": [
            {k: v for k, v in run.items() if k != "result"}
            | {"checks": (run["result"] or {}).get("checks", [])}
            for run in runs
        ],
    }
    path = results_dir / "summary.json"
    path.write_text(json.dumps(common.relative_paths(payload), indent=2, default=str) + "\n")
    common.plot_checks(
        [run["result"] for run in runs if run["result"] is not None], results_dir / "summary.png"
    )
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="small workloads (smoke run)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these benchmarks")
    parser.add_argument("--device", default="cpu", help="torch device passed to the scripts")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per script")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument(
        "--summarise-only",
        action="store_true",
        help="run nothing; summarise the JSON already in benchmarks/results",
    )
    parser.add_argument("--strict", action="store_true", help="exit 2 when a target is missed")
    parser.add_argument("--results", type=Path, default=common.RESULTS_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--bench-dir", type=Path, default=HERE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    scripts = discover(args.bench_dir)
    if args.list:
        for name, script in scripts.items():
            cmd, _ = command(script, quick=args.quick, device=args.device)
            print(f"{name:16s} {' '.join([Path(cmd[0]).name, *cmd[1:]])}")
        return 0
    if not scripts:
        print("no benchmarks/bench_*.py found", file=sys.stderr)
        return 1
    names = list(scripts)
    if args.only:
        unknown = [
            n.removeprefix("bench_") for n in args.only if n.removeprefix("bench_") not in scripts
        ]
        if unknown:
            parser.error(f"unknown benchmark(s) {unknown}; available: {', '.join(scripts)}")
        names = [n.removeprefix("bench_") for n in args.only]

    options = dict(
        quick=args.quick, device=args.device, timeout=args.timeout, results_dir=args.results
    )
    runs = run_all(names, scripts, execute=not args.summarise_only, **options)
    # the exit status speaks for what this call was asked to run
    named_rows, _ = summarise(runs)
    if args.only and not args.summarise_only:
        # The summary covers every benchmark: the others' last results, as they stand, so that
        # rerunning one benchmark does not drop the rest from summary.json and summary.png.
        rest = [n for n in scripts if n not in names]
        earlier = run_all(rest, scripts, execute=False, **options)
        runs += [run | {"earlier": True} for run in earlier if run["result"] is not None]
        runs.sort(key=lambda run: list(scripts).index(run["name"]))  # stable: devices stay paired
    rows, problems = summarise(runs)
    path = write_summary(runs, rows, problems, args, args.results)

    print()
    common.print_table(
        common.CHECK_COLUMNS,
        rows,
        title=f"Benchmark summary ({'quick' if args.quick else 'full'} workloads, {args.device}; "
        "ratio > 1 means this library is better)",
    )
    for p in problems:
        print(f"! {p}")
    print(f"\nwrote {_rel(path)} and summary.png")
    if any(run["returncode"] not in (None, 0) or run["result"] is None for run in runs):
        return 1
    if args.strict and any(r[5] is False for r in named_rows):
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
