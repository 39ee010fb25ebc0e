"""The benchmarks, scripts, examples and docs helpers name only things the package has.

They live outside the package and some of them time or reach its internals (a benchmark's stage
table times private helpers against the way they replaced), so a rename inside the package can
break one of them without any test of the package failing: ``bench_enhance.py`` once called
``isp.denoise._box`` after it had become ``box_mean``. Each file is parsed (``ast``; the files are
not run) and every ``from pyisp_contrast... import name`` and every ``module.name`` read off an
imported package module is looked up in the package.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from types import ModuleType

import pytest
from package_source import ROOT  # tests/: shared with the import checks

PACKAGE = "pyisp_contrast"
FOLDERS = ("benchmarks", "scripts", "examples", "docs")


def _tool_files() -> list[Path]:
    return sorted(
        p
        for folder in FOLDERS
        for p in (ROOT / folder).rglob("*.py")
        if "_build" not in p.parts and "auto_examples" not in p.parts
    )


class _Unchecked(ModuleType):
    """A package module that needs an optional extra this environment lacks: not checked."""

    def __getattr__(self, name: str) -> object:
        return None


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name and err.name.split(".")[0] != PACKAGE:  # e.g. onnx without the export extra
            return _Unchecked(name)
        return None
    except ImportError:
        return None


def missing_names(source: str) -> list[str]:
    """``line: dotted.name`` for every name of the package that ``source`` uses and the package
    lacks."""
    tree = ast.parse(source)
    aliases: dict[str, ModuleType] = {}  # local name -> package module it is bound to
    missing = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] != PACKAGE:
                    continue
                module = _module(a.name)
                if module is None:
                    missing.append(f"{node.lineno}: {a.name}")
                elif a.asname:
                    aliases[a.asname] = module
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            if node.module.split(".")[0] != PACKAGE:
                continue
            module = _module(node.module)
            if module is None:
                missing.append(f"{node.lineno}: {node.module}")
                continue
            for a in node.names:
                if a.name == "*":
                    continue
                if isinstance(module, _Unchecked):
                    continue
                value = getattr(module, a.name, None)
                if value is None:
                    value = _module(f"{node.module}.{a.name}")
                if value is None and not hasattr(module, a.name):
                    missing.append(f"{node.lineno}: {node.module}.{a.name}")
                elif isinstance(value, ModuleType):
                    aliases[a.asname or a.name] = value
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and not isinstance(aliases[node.value.id], _Unchecked)
            and not hasattr(aliases[node.value.id], node.attr)
            and not isinstance(node.ctx, ast.Store)  # a benchmark may set a module's constant
        ):
            module = aliases[node.value.id]
            missing.append(f"{node.lineno}: {module.__name__}.{node.attr}")
    return missing


def test_the_check_finds_a_removed_helper() -> None:
    source = "from pyisp_contrast.isp import denoise\ndenoise._box(x, 1)\ndenoise.box_mean(x, 1)\n"
    assert missing_names(source) == ["2: pyisp_contrast.isp.denoise._box"]
    assert missing_names("from pyisp_contrast.models import no_such_thing\n") == [
        "1: pyisp_contrast.models.no_such_thing"
    ]


@pytest.mark.parametrize("path", _tool_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_tool_uses_only_names_the_package_has(path: Path) -> None:
    assert missing_names(path.read_text()) == [], f"{path.relative_to(ROOT)} names what is gone"
