"""The package's imports follow its layers: no cycle between subpackages, no upward import.

Every module under ``pyisp_contrast/`` is parsed (``ast``, nothing is imported) and each import
is mapped to the *unit* it comes from: a subpackage (``isp``, ``train``, ...), a top-level module
(``__main__``), or the root package itself (``pyisp_contrast``, which holds only the version).
Imports inside functions count like module-level ones: a lazy import still ties the two units
together. ``importlib.import_module("pyisp_contrast....")`` with a literal name counts too.

A module may import from its own layer and the layers below it (:data:`LAYERS`, lowest first).
The exceptions are listed, with their reason, in :data:`ALLOWED`; the list must stay short, and
an entry that no longer matches any import fails the test so that it is removed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pytest
from package_source import (  # tests/: shared with the other import check
    ROOT,
    import_origin,
    module_name,
)

PACKAGE = "pyisp_contrast"

#: The layers, lowest first. A unit may import from its own layer and the ones below.
LAYERS: list[set[str]] = [
    {PACKAGE, "core", "data"},  # the root package (version, lazy subpackage access), basics
    {"isp", "segmentation", "contrastive", "classical", "metrics"},  # primitives and measures
    {"losses"},
    {"models"},
    # training; model export (export.py) and video enhancement (video.py), which use models
    {"train", "export", "video"},
    {"evaluation"},  # harnesses: held-out data and baselines (uses train's split)
    {"cli"},
    {"__main__"},
]

#: Imports exempt from both checks: (importing module, imported unit) -> why.
ALLOWED: dict[tuple[str, str], str] = {
    ("pyisp_contrast.metrics.restoration", "evaluation"): (
        "deprecated alias: the restoration harness moved from metrics to evaluation, and its old "
        "import path forwards there (with a DeprecationWarning) for one release; remove both then"
    ),
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, e.g. "pyisp_contrast.metrics.restoration"
    target: str  # the imported module or name, e.g. "pyisp_contrast.evaluation"
    line: int

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.target}"


def unit_of(name: str, units: set[str]) -> str:
    """The unit a dotted name inside the package belongs to."""
    parts = name.split(".")
    if len(parts) > 1 and parts[1] in units:
        return parts[1]
    return PACKAGE


def imports_of(source: str, module: str, is_package: bool) -> Iterator[Import]:
    """Every import of a name inside the package by ``module``, wherever it appears."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            origin = import_origin(node, module, is_package)
            # `from pkg import sub` imports the submodule `pkg.sub` when there is one: keep both
            # spellings and let the unit mapping decide (a name that is no unit maps to `pkg`)
            targets = [f"{origin}.{alias.name}" for alias in node.names]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (getattr(node.func, "attr", None) or getattr(node.func, "id", None))
            == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            targets = [node.args[0].value]
        else:
            continue
        for target in targets:
            if target == PACKAGE or target.startswith(PACKAGE + "."):
                yield Import(module, target, node.lineno)


def package_imports(root: Path = ROOT) -> list[Import]:
    found = []
    for path in sorted((root / PACKAGE).rglob("*.py")):
        found += imports_of(path.read_text(), module_name(path, root), path.name == "__init__.py")
    return found


def package_units(root: Path = ROOT) -> set[str]:
    base = root / PACKAGE
    subpackages = {p.parent.name for p in base.glob("*/__init__.py")}
    modules = {p.stem for p in base.glob("*.py") if p.stem != "__init__"}
    return subpackages | modules | {PACKAGE}


def layer_of(unit: str, layers: list[set[str]] = LAYERS) -> int | None:
    for i, layer in enumerate(layers):
        if unit in layer:
            return i
    return None


def unit_edges(
    imports: list[Import], units: set[str], allowed: dict[tuple[str, str], str]
) -> dict[tuple[str, str], list[Import]]:
    """``{(from unit, to unit): [imports]}`` between different units, allowed ones left out."""
    edges: dict[tuple[str, str], list[Import]] = {}
    for imp in imports:
        src, dst = unit_of(imp.module, units), unit_of(imp.target, units)
        if src != dst and (imp.module, dst) not in allowed:
            edges.setdefault((src, dst), []).append(imp)
    return edges


def upward_imports(
    edges: dict[tuple[str, str], list[Import]], layers: list[set[str]] = LAYERS
) -> list[str]:
    problems = []
    for (src, dst), found in sorted(edges.items()):
        if layer_of(dst, layers) > layer_of(src, layers):
            problems += [f"{imp} ({src} is below {dst})" for imp in found]
    return problems


def find_cycle(edges: dict[tuple[str, str], list[Import]]) -> list[str] | None:
    """One cycle of units (first unit repeated at the end), or None."""
    graph: dict[str, list[str]] = {}
    for src, dst in sorted(edges):
        graph.setdefault(src, []).append(dst)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(unit: str) -> list[str] | None:
        state[unit] = 1
        path.append(unit)
        for nxt in graph.get(unit, []):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[unit] = 2
        return None

    for unit in sorted(graph):
        if unit not in state and (cycle := visit(unit)):
            return cycle
    return None


# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def imports() -> list[Import]:
    return package_imports()


def test_every_unit_has_a_layer() -> None:
    missing = sorted(u for u in package_units() if layer_of(u) is None)
    assert missing == [], f"add these to LAYERS in {Path(__file__).name}: {missing}"


def test_no_import_from_a_lower_layer_to_a_higher_one(imports: list[Import]) -> None:
    edges = unit_edges(imports, package_units(), ALLOWED)
    problems = upward_imports(edges)
    assert problems == [], "upward imports:\n" + "\n".join(problems)


def test_no_cycle_between_subpackages(imports: list[Import]) -> None:
    edges = unit_edges(imports, package_units(), ALLOWED)
    cycle = find_cycle(edges)
    if cycle is not None:
        sites = [str(imp) for a, b in pairwise(cycle) for imp in edges[(a, b)]]
        pytest.fail(f"import cycle {' -> '.join(cycle)}:\n" + "\n".join(sites))


def test_allowed_exceptions_are_still_needed(imports: list[Import]) -> None:
    units = package_units()
    used = {(imp.module, unit_of(imp.target, units)) for imp in imports}
    stale = sorted(set(ALLOWED) - used)
    assert stale == [], f"ALLOWED entries that no import needs any more: {stale}"


def test_the_checks_can_fail(tmp_path: Path) -> None:
    # a small package with an upward lazy import that closes a cycle, and a relative import
    pkg = tmp_path / PACKAGE
    for sub in ("core", "train"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "train" / "loop.py").write_text("from ..core import io\n")
    (pkg / "core" / "io.py").write_text(
        "import importlib\n\ndef f():\n    from pyisp_contrast.train import loop\n"
        "    importlib.import_module('pyisp_contrast.train.loop')\n"
    )
    found = package_imports(tmp_path)
    units = package_units(tmp_path)
    assert units == {PACKAGE, "core", "train"}
    assert {(i.module, i.target) for i in found} == {
        ("pyisp_contrast.train.loop", "pyisp_contrast.core.io"),
        ("pyisp_contrast.core.io", "pyisp_contrast.train.loop"),
        ("pyisp_contrast.core.io", "pyisp_contrast.train.loop"),
    }
    edges = unit_edges(found, units, {})
    layers = [{PACKAGE, "core"}, {"train"}]
    assert len(upward_imports(edges, layers)) == 2
    assert find_cycle(edges) in (["core", "train", "core"], ["train", "core", "train"])
    allowed = {("pyisp_contrast.core.io", "train"): "test"}
    edges = unit_edges(found, units, allowed)
    assert upward_imports(edges, layers) == [] and find_cycle(edges) is None
