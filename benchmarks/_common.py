"""Shared helpers for the ``bench_*.py`` scripts, the runner and the documentation.

Every benchmark script may use these (none has to). What they agree on is the JSON a script
writes to ``benchmarks/results/<name>.json``; :func:`write_result` writes it in this shape::

    {
      "schema": 1,
      "name": "curves",                      # file stem, without the "bench_" prefix
      "title": "Bag of Curves negatives",
      "quick": false, "device": "cpu",
      "machine": {...},                      # machine_info(): python, torch, cpu, threads, gpu
      "created": "2025-01-01T12:00:00+00:00",
      "checks": [                            # one line each in the runner's summary table
        {"peer": "PIE code's way (numpy HSV + skimage.adjust_gamma loop)",
         "workload": "8 x 3 x 384 x 384, CPU",
         "metric": "speed-up",               # what the ratio is of
         "target": ">= 10x", "target_ratio": 10.0,
         "ratio": 23.4,                      # measured in one run, > 1 means ours is better
         "met": true, "note": ""}
      ],
      "tables": [{"title": "...", "columns": ["...", ...], "rows": [[...], ...]}],
      "figures": ["curves.png"],             # PNGs written next to the JSON
      "extra": {...}                         # anything else the script wants to keep
    }

The runner (``python -m benchmarks``) and the docs also read JSON of other shapes; see
:func:`normalise`, which maps the shapes the scripts in this folder use onto the one above.

Paths in a result (a data folder, a weights file, a command line) are written relative to the
repository root (:func:`relative_paths`), so the committed JSON does not record the layout of
the machine that ran it, and PNG figures larger than :data:`MAX_FIGURE_BYTES` are re-saved
smaller (:func:`shrink_png`), so the repository does not grow by megabytes a run.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import io
import json
import math
import os
import platform
import re
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
#: The repository root: paths in results are written relative to it.
REPO_ROOT = RESULTS_DIR.parent.parent
#: Largest PNG figure a result keeps, in bytes (:func:`write_result` shrinks larger ones).
MAX_FIGURE_BYTES = 300_000
SCHEMA = 1

__all__ = [
    "CHECK_COLUMNS",
    "MAX_FIGURE_BYTES",
    "REPO_ROOT",
    "RESULTS_DIR",
    "SCHEMA",
    "Check",
    "base_parser",
    "check_rows",
    "format_table",
    "load_result",
    "machine_info",
    "normalise",
    "plot_checks",
    "print_table",
    "relative_paths",
    "result_stem",
    "result_to_rst",
    "rst_table",
    "shrink_png",
    "time_call",
    "write_result",
]


# --------------------------------------------------------------------------------------------
# Writing results
# --------------------------------------------------------------------------------------------
@dataclass
class Check:
    """One comparison against a peer: a line of the runner's summary table.

    ``ratio`` is oriented so that larger is better for this library (a speed-up, or
    ``peer_error / our_error``); ``met`` says whether the target was reached.
    """

    peer: str
    workload: str
    target: str
    ratio: float | None
    met: bool | None
    metric: str = "speed-up"
    target_ratio: float | None = None
    note: str = ""

    @classmethod
    def speedup(
        cls,
        peer: str,
        workload: str,
        *,
        ours_s: float,
        peer_s: float,
        target_ratio: float,
        note: str = "",
    ) -> Check:
        """A speed comparison: ratio = peer time / our time, met when >= ``target_ratio``."""
        ratio = peer_s / ours_s if ours_s > 0 else math.inf
        return cls(
            peer=peer,
            workload=workload,
            target=f">= {target_ratio:g}x faster",
            ratio=ratio,
            met=bool(ratio >= target_ratio),
            metric="speed-up",
            target_ratio=target_ratio,
            note=note,
        )


def base_parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the options every benchmark script shares.

    ``--quick`` (small workload, for CI and smoke runs), ``--device`` (``cpu`` or ``cuda``),
    ``--out`` (results folder, default ``benchmarks/results``) and ``--repeat``.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="small workload, a few seconds")
    parser.add_argument("--device", default="cpu", help="torch device (cpu, cuda)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="results folder")
    parser.add_argument("--repeat", type=int, default=None, help="timed repetitions")
    return parser


def machine_info(device: str = "cpu") -> dict[str, Any]:
    """Facts about the machine a measurement was taken on (kept in the JSON)."""
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "device": device,
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        if str(device).startswith("cuda") and torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    try:
        import numpy

        info["numpy"] = numpy.__version__
    except ImportError:  # pragma: no cover
        pass
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def time_call(
    fn: Callable[[], Any],
    *,
    repeat: int = 5,
    warmup: int = 1,
    sync: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Time ``fn()``: ``warmup`` untimed calls, then ``repeat`` timed ones.

    ``sync`` (e.g. ``torch.cuda.synchronize``) is called before each clock read so that
    asynchronous device work is counted. Returns ``median``, ``min``, ``mean`` (seconds) and
    the list of ``times``; compare medians taken in one run.
    """
    if repeat < 1:
        raise ValueError(f"repeat must be >= 1, got {repeat}")
    for _ in range(warmup):
        fn()
    if sync is not None:
        sync()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        if sync is not None:
            sync()
        times.append(time.perf_counter() - t0)
    return {
        "median": statistics.median(times),
        "min": min(times),
        "mean": statistics.fmean(times),
        "times": times,
    }


def result_stem(name: str, device: Any = "cpu") -> str:
    """The result file's name without ``.json``: ``name`` for the CPU, ``name_<kind>`` for
    another device (``superpixels_cuda``), so a GPU run sits beside the CPU one instead of
    replacing it and the summary shows both."""
    kind = str(device).split(":", 1)[0]
    return name if kind == "cpu" else f"{name}_{kind}"


def write_result(
    name: str,
    *,
    title: str,
    checks: Iterable[Check | Mapping[str, Any]] = (),
    tables: Iterable[Mapping[str, Any]] = (),
    figures: Iterable[str] = (),
    quick: bool = False,
    device: str = "cpu",
    extra: Mapping[str, Any] | None = None,
    out_dir: Path | str = RESULTS_DIR,
) -> Path:
    """Write ``<out_dir>/<name>.json`` in the shared shape and return its path.

    Each table is ``{"title": str, "columns": [...], "rows": [[...], ...]}``; figures are file
    names relative to ``out_dir``, written before this call (PNGs above
    :data:`MAX_FIGURE_BYTES` are shrunk here). Paths anywhere in the payload are written relative
    to the repository root (:func:`relative_paths`).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    payload = {
        "schema": SCHEMA,
        "name": name,
        "title": title,
        "quick": bool(quick),
        "device": str(device),
        "machine": machine_info(str(device)),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "checks": [asdict(c) if isinstance(c, Check) else dict(c) for c in checks],
        "tables": [dict(t) for t in tables],
        "figures": list(figures),
        "extra": dict(extra or {}),
    }
    for fig in payload["figures"]:
        if (out / fig).is_file():
            shrink_png(out / fig)
    path = out / f"{result_stem(name, device)}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(relative_paths(payload), indent=2, default=_json_default) + "\n")
    tmp.replace(path)
    return path


def shrink_png(path: Path | str, max_bytes: int = MAX_FIGURE_BYTES) -> bool:
    """Re-save a PNG larger than ``max_bytes`` smaller; returns whether it was rewritten.

    The image is reduced to a 256-colour palette (Pillow's fast octree) and, while still too
    large, scaled down by 0.9 at a time (Lanczos). An opaque alpha channel is dropped first.
    Other files, and PNGs within the limit, are left alone.
    """
    from PIL import Image

    path = Path(path)
    if path.suffix.lower() != ".png" or path.stat().st_size <= max_bytes:
        return False
    with Image.open(path) as src:
        im = src.convert("RGBA")
    if im.getextrema()[3][0] == 255:  # opaque: the alpha channel only costs bytes
        im = im.convert("RGB")
    scale = 1.0
    while True:
        size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
        small = im if size == im.size else im.resize(size, Image.Resampling.LANCZOS)
        data = io.BytesIO()
        small.quantize(256, method=Image.Quantize.FASTOCTREE).save(data, "PNG", optimize=True)
        if data.tell() <= max_bytes or min(size) <= 64:
            break
        scale *= 0.9
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data.getvalue())
    tmp.replace(path)
    return True


def _json_default(obj: Any) -> Any:
    # numpy scalars show up in results; store them as plain values (paths: relative_paths)
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"cannot store {type(obj).__name__} in benchmark JSON")


# an absolute path of at least two parts standing as a word (not "/s" of a unit like "img /s")
_ABS_PATH_IN_TEXT = re.compile(r"(?<!\S)/[^\s/]+(?:/[^\s/]+)+")


def _relative(path: str, root: Path) -> str:
    return Path(os.path.relpath(path, root)).as_posix()


def relative_paths(value: Any, root: Path | str = REPO_ROOT) -> Any:
    """``value`` with every absolute path written relative to ``root`` (the repository root).

    Walks dicts, lists and tuples; rewrites absolute :class:`~pathlib.Path` objects and, in
    strings, every absolute path of two or more parts that stands as a word (the whole string,
    or a word of a command line; a path with spaces in it is not recognised). Other values are
    returned as they are.

    Example:
        >>> relative_paths({"data": "/w/shared/data", "cmd": "python /w/repo/b.py --quick"}, "/w/repo")
        {'data': '../shared/data', 'cmd': 'python b.py --quick'}
    """
    root = Path(root)
    if isinstance(value, Mapping):
        return {k: relative_paths(v, root) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [relative_paths(v, root) for v in value]
    if isinstance(value, Path):
        return _relative(str(value), root) if value.is_absolute() else value.as_posix()
    if isinstance(value, str):
        return _ABS_PATH_IN_TEXT.sub(lambda m: _relative(m.group(0), root), value)
    return value


# --------------------------------------------------------------------------------------------
# Reading results of any shape
# --------------------------------------------------------------------------------------------
def load_result(path: Path | str) -> dict[str, Any]:
    """Read a result JSON and :func:`normalise` it."""
    path = Path(path)
    payload = json.loads(path.read_text())
    return normalise(payload, default_name=path.stem)


_RATIO_KEYS = ("ratio", "speedup", "speed_up", "ratio_measured", "measured_ratio", "x")
_TARGET_KEYS = ("target", "target_text", "goal")
_TARGET_RATIO_KEYS = ("target_ratio", "target_x", "min_ratio", "required_ratio")
_MET_KEYS = ("met", "passed", "ok", "target_met", "meets_target")


def _first(d: Mapping[str, Any], keys: Sequence[str]) -> Any:
    for k in keys:
        if k in d and d[k] is not None:
            return d[k]
    return None


def _as_check(d: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any] | None:
    ratio = _first(d, _RATIO_KEYS)
    target = _first(d, _TARGET_KEYS)
    met = _first(d, _MET_KEYS)
    if ratio is None and met is None:
        return None
    target_ratio = _first(d, _TARGET_RATIO_KEYS)
    if target_ratio is None and isinstance(target, int | float) and not isinstance(target, bool):
        target_ratio = float(target)
    if isinstance(target, int | float) and not isinstance(target, bool):
        target = f">= {target:g}x"
    if met is None and ratio is not None and target_ratio is not None:
        met = float(ratio) >= float(target_ratio)
    return {
        "peer": str(_first(d, ("peer", "baseline", "against", "vs")) or defaults.get("peer", "")),
        "workload": str(
            _first(d, ("workload", "case", "size", "setting", "label"))
            or defaults.get("workload", "")
        ),
        "metric": str(_first(d, ("metric", "quantity")) or defaults.get("metric", "")),
        "target": str(target if target is not None else defaults.get("target", "")),
        "target_ratio": None if target_ratio is None else float(target_ratio),
        "ratio": None if ratio is None else float(ratio),
        "met": None if met is None else bool(met),
        "note": str(d.get("note", "") or ""),
    }


def _dict_rows_to_table(title: str, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    columns: list[str] = []
    for r in rows:
        for k in r:
            if k not in columns:
                columns.append(k)
    return {
        "title": title,
        "columns": columns,
        "rows": [[r.get(c, "") for c in columns] for r in rows],
    }


def _scalar(v: Any) -> bool:
    return v is None or isinstance(v, str | int | float | bool)


def _dict_of_rows(node: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """``{"a": {"x": 1}, "b": {"x": 2}}`` -> rows ``[{"": "a", "x": 1}, ...]``, else None."""
    if len(node) < 2 or not all(isinstance(v, Mapping) for v in node.values()):
        return None
    rows = []
    for name, values in node.items():
        scalars = {k: v for k, v in values.items() if _scalar(v)}
        if not scalars:
            return None
        rows.append({"": name, **scalars})
    return rows


def _is_dict_list(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, Mapping) for x in v)


def normalise(payload: Mapping[str, Any], *, default_name: str = "") -> dict[str, Any]:
    """Map a benchmark JSON of any of the shapes used here onto the shared one.

    Understands: the shared shape; a top-level dict with ``peer``/``target``/``ratio``; lists of
    row dicts under any key (each becomes a table; rows holding a ratio or a ``met`` flag also
    become checks); ``{"columns": [...], "rows": [[...]]}`` tables.
    """
    name = str(payload.get("name") or default_name).removeprefix("bench_")
    out: dict[str, Any] = {
        "schema": payload.get("schema", 0),
        "name": name,
        "title": str(payload.get("title") or name.replace("_", " ").capitalize()),
        "quick": bool(payload.get("quick", False)),
        "device": str(payload.get("device", (payload.get("machine") or {}).get("device", "cpu"))),
        "machine": payload.get("machine") or payload.get("env") or {},
        "created": payload.get("created") or payload.get("timestamp") or "",
        "checks": [],
        "tables": [],
        "figures": [str(f) for f in payload.get("figures", payload.get("plots", [])) or []],
        "extra": payload.get("extra", {}),
    }
    defaults = {
        k: payload[k]
        for k in ("peer", "workload", "metric", "target")
        if isinstance(payload.get(k), str)
    }

    for c in payload.get("checks", []) or []:
        chk = _as_check(c, defaults) if isinstance(c, Mapping) else None
        if chk is not None:
            out["checks"].append(chk)
    top = _as_check(payload, defaults) if "checks" not in payload else None
    if top is not None:
        out["checks"].append(top)

    for t in payload.get("tables", []) or []:
        if isinstance(t, Mapping) and "rows" in t:
            rows = t["rows"]
            if _is_dict_list(rows):
                out["tables"].append(_dict_rows_to_table(str(t.get("title", "")), rows))
            else:
                out["tables"].append(
                    {
                        "title": str(t.get("title", "")),
                        "columns": list(t.get("columns", [])),
                        "rows": rows,
                    }
                )
    if "checks" not in payload and "tables" not in payload:
        _collect_tables(payload, "", out, defaults)
    return out


def _collect_tables(node: Any, path: str, out: dict[str, Any], defaults: Mapping[str, Any]) -> None:
    skip = {"machine", "env", "figures", "plots", "extra"}
    if isinstance(node, Mapping):
        if isinstance(node.get("columns"), list) and isinstance(node.get("rows"), list):
            out["tables"].append(
                {
                    "title": str(node.get("title", path)),
                    "columns": node["columns"],
                    "rows": node["rows"],
                }
            )
            return
        rows = _dict_of_rows(node)
        if rows is not None:
            # {"name": {"metric": value, ...}, ...}: one row per name
            out["tables"].append(_dict_rows_to_table(path, rows))
            return
        for k, v in node.items():
            if k in skip:
                continue
            _collect_tables(v, f"{path}.{k}" if path else str(k), out, defaults)
    elif _is_dict_list(node):
        table = _dict_rows_to_table(path, node)
        out["tables"].append(table)
        for row in node:
            chk = _as_check(row, defaults)
            if chk is not None:
                out["checks"].append(chk)


# --------------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------------
def _fmt(v: Any, floatfmt: str = ".4g") -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        return format(v, floatfmt)
    return str(v)


def format_table(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], floatfmt: str = ".4g"
) -> str:
    """A plain-text table with aligned columns (for printing)."""
    cells = [[_fmt(v, floatfmt) for v in row] for row in rows]
    header = [str(c) for c in columns]
    widths = [len(h) for h in header]
    for row in cells:
        for i, v in enumerate(row[: len(widths)]):
            widths[i] = max(widths[i], len(v))
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
    lines.append("  ".join("-" * w for w in widths))
    for row in cells:
        lines.append("  ".join(v.ljust(w) for v, w in zip(row, widths)))
    return "\n".join(lines)


def print_table(columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str = "") -> None:
    """Print :func:`format_table`, with an optional title line."""
    if title:
        print(title)
    print(format_table(columns, rows))


def _rst_cell(v: Any) -> str:
    text = _fmt(v).replace("\n", " ")
    # keep the list-table valid whatever the text holds
    return text.replace("|", "\\|").replace("*", "\\*").replace("`", "\\`") or " "


def rst_table(columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str = "") -> str:
    """An RST ``list-table`` (used by the docs so that numbers are never retyped)."""
    lines = [f".. list-table:: {title}".rstrip(), "   :header-rows: 1", ""]
    lines.append("   * - " + _rst_cell(columns[0]) if columns else "   * - ")
    lines.extend(f"     - {_rst_cell(c)}" for c in columns[1:])
    for row in rows:
        row = list(row) + [""] * (len(columns) - len(row))
        lines.append(f"   * - {_rst_cell(row[0])}")
        lines.extend(f"     - {_rst_cell(v)}" for v in row[1 : len(columns)])
    return "\n".join(lines) + "\n"


CHECK_COLUMNS = ("benchmark", "peer", "workload", "target", "ratio", "met")


def _is_ratio_metric(metric: str) -> bool:
    # speed-ups and "x times" comparisons are ratios (log scale, target like 10x); metrics such
    # as "PSNR gain (dB)" are differences (linear scale, target like +3)
    m = metric.lower()
    return m in ("", "speed-up", "speedup", "x") or "ratio" in m


def _fmt_ratio(ratio: float | None, metric: str) -> str | None:
    if ratio is None:
        return None
    if metric in ("speed-up", "speedup"):
        return f"{ratio:.3g}x"
    if "(db)" in metric.lower():
        return f"{ratio:+.2f} dB"
    return f"{ratio:.3g}"


def check_rows(results: Iterable[Mapping[str, Any]]) -> list[list[Any]]:
    """Rows of the summary table (:data:`CHECK_COLUMNS`) from normalised results."""
    rows = []
    for res in results:
        device = str(res.get("device", "cpu")).split(":", 1)[0]
        label = res["name"] if device == "cpu" else f"{res['name']} ({device})"
        for c in res["checks"]:
            ratio = c.get("ratio")
            rows.append(
                [
                    label,
                    c.get("peer", ""),
                    c.get("workload", ""),
                    c.get("target", ""),
                    _fmt_ratio(ratio, c.get("metric", "")),
                    c.get("met"),
                ]
            )
    return rows


def result_to_rst(result: Mapping[str, Any], image_dir: str = "", heading: str = "-") -> str:
    """RST for one normalised result: title, machine line, checks, tables and figures.

    ``image_dir`` is the path (relative to the including document) where the result's PNG
    figures were copied.
    """
    title = result["title"]
    parts = [title, heading * len(title), ""]
    m = result.get("machine") or {}
    facts = [
        f"device {result.get('device', 'cpu')}",
        f"{m['processor']}" if m.get("processor") else "",
        f"{m['cpu_count']} CPUs" if m.get("cpu_count") else "",
        f"torch {m['torch']}" if m.get("torch") else "",
        f"GPU {m['gpu']}" if m.get("gpu") else "",
        "quick workload" if result.get("quick") else "",
        f"measured {result['created']}" if result.get("created") else "",
    ]
    parts += ["*" + "; ".join(f for f in facts if f) + ".*", ""]
    if result["checks"]:
        parts.append(rst_table(CHECK_COLUMNS[1:], [r[1:] for r in check_rows([result])], "Targets"))
    for t in result["tables"]:
        if t.get("columns"):
            parts.append(rst_table(t["columns"], t["rows"], t.get("title", "")))
    for fig in result["figures"]:
        src = f"{image_dir.rstrip('/')}/{Path(fig).name}" if image_dir else fig
        parts += [f".. image:: {src}", "   :width: 100%", ""]
    return "\n".join(parts) + "\n"


def plot_checks(results: Sequence[Mapping[str, Any]], path: Path | str) -> Path | None:
    """Bar charts of every check's measured value against its target.

    Ratios (speed-ups) on a log scale; differences such as "PSNR gain (dB)" on a linear one.
    Green: target met; red: missed; the black tick marks the target.
    """
    ratio_items, diff_items = [], []
    for r in results:
        for c in r["checks"]:
            v = c.get("ratio")
            if v is None or not math.isfinite(v):
                continue
            label = f"{r['name']}: {c.get('workload', '')}"
            label = label if len(label) <= 60 else label[:57] + "..."
            item = (label, v, c.get("target_ratio"), c.get("met"), c.get("metric", ""))
            if _is_ratio_metric(str(c.get("metric", ""))):
                if v > 0:
                    ratio_items.append(item)
            else:
                diff_items.append(item)
    groups = [g for g in (ratio_items, diff_items) if g]
    if not groups:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    heights = [0.42 * len(g) + 1.1 for g in groups]
    fig, axes = plt.subplots(
        len(groups), 1, figsize=(9, sum(heights)), gridspec_kw={"height_ratios": heights}
    )
    axes = [axes] if len(groups) == 1 else list(axes)
    for ax, items in zip(axes, groups):
        is_ratio = items is ratio_items
        ys = list(range(len(items)))
        colors = [
            "tab:green" if it[3] else "tab:red" if it[3] is False else "tab:gray" for it in items
        ]
        ax.barh(ys, [it[1] for it in items], color=colors)
        for y, it in zip(ys, items):
            if it[2] is not None:
                ax.plot([it[2], it[2]], [y - 0.4, y + 0.4], color="black", lw=2)
        ax.set_yticks(ys, [it[0] for it in items], fontsize=8)
        ax.invert_yaxis()
        if is_ratio:
            ax.set_xscale("log")
            ax.axvline(1.0, color="gray", lw=0.8, ls="--")
            ax.set_xlabel("measured ratio, ours vs peer (> 1: ours better; black tick: target)")
        else:
            ax.axvline(0.0, color="gray", lw=0.8, ls="--")
            metrics = sorted({str(it[4]) for it in items})
            ax.set_xlabel(f"{', '.join(metrics)} (black tick: target)")
    axes[0].set_title("Benchmarks: measured against target")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    shrink_png(path)
    return path
