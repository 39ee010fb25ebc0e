"""Build-time page generation for the pyisp_contrast docs (a local Sphinx extension).

At ``builder-inited`` it writes, under ``docs/``, pages that must never be retyped by hand:

- ``api/<module>.rst``: one page per public subpackage listing every name of its ``__all__``
  (plus names of public submodules that the subpackage does not re-export), grouped by kind,
  for autosummary to document;
- ``_generated/cli.rst``: the ``--help`` of every ``pyisp-contrast`` sub-command;
- ``_generated/model_cards/*.md``: the Markdown model cards that ship beside the bundled weights;
- ``_generated/benchmarks.rst`` and ``_generated/evaluation.rst``: tables and figures rendered from
  ``benchmarks/results/*.json`` and ``*.png``.

The same functions are used by ``tests/docs`` (to check that the reference lists every public
name) so the test and the build agree.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import os
import pkgutil
import shutil
import signal
import sys
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

DOCS = Path(__file__).resolve().parents[1]
ROOT = DOCS.parent
PACKAGE = "pyisp_contrast"
GENERATED = "_generated"
#: Subpackages without a user-facing API page (the CLI has its own page).
NOT_IN_API = {"cli"}
#: Benchmarks whose results belong on the evaluation page (quality), not the speed page.
EVALUATION_BENCHMARKS = {"quality", "restoration", "exposure_encoder"}

KIND_TITLES = {
    "module": "Modules (``torch.nn.Module``)",
    "class": "Classes",
    "function": "Functions",
    "exception": "Exceptions",
    "data": "Constants",
}


# ----------------------------------------------------------------------------------------------
# Public API discovery
# ----------------------------------------------------------------------------------------------
@dataclass
class ApiName:
    """One public name: where it is documented and what kind of object it is."""

    module: str
    name: str
    kind: str
    obj: Any = field(repr=False)

    @property
    def fullname(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass
class ApiSection:
    """One module's block of the reference."""

    module: str
    names: list[ApiName]


def _kind(obj: Any) -> str:
    if inspect.isclass(obj):
        if issubclass(obj, BaseException):
            return "exception"
        try:
            import torch

            if issubclass(obj, torch.nn.Module):
                return "module"
        except ImportError:  # pragma: no cover - torch is a dependency
            pass
        return "class"
    if typing.get_origin(obj) is not None:
        return "data"  # a type alias such as Literal["mean", "sum"]: documented like a constant
    if callable(obj):
        return "function"
    return "data"


def public_subpackages() -> list[str]:
    """Dotted names of the public subpackages (every non-private one but the CLI).

    Found on disk rather than read from ``pyisp_contrast.__all__`` so that a subpackage missing
    from that list is still documented.
    """
    pkg = importlib.import_module(PACKAGE)
    out = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.ispkg and not info.name.startswith("_") and info.name not in NOT_IN_API:
            out.append(f"{PACKAGE}.{info.name}")
    return out


def _public_submodules(package: ModuleType) -> Iterator[str]:
    path = getattr(package, "__path__", None)
    if not path:
        return
    for info in sorted(
        pkgutil.walk_packages(path, prefix=package.__name__ + "."), key=lambda i: i.name
    ):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts) or "tests" in parts:
            continue
        yield info.name


def _identity(obj: Any, name: str) -> Any:
    # functions and classes are shared objects, so identity says "already documented";
    # constants (ints, tuples) are compared by name instead
    return id(obj) if (inspect.isclass(obj) or callable(obj)) else ("data", name)


def public_api() -> list[ApiSection]:
    """Every public name, in the order the reference shows them.

    For each public subpackage: the names in its ``__all__``, then, for each public submodule
    with an ``__all__``, the names the subpackage does not already expose. A name appears once.
    """
    sections: list[ApiSection] = []
    seen: set[Any] = set()
    for sub in public_subpackages():
        package = importlib.import_module(sub)
        modules = [sub, *_public_submodules(package)]
        for modname in modules:
            module = importlib.import_module(modname)
            names = []
            for name in getattr(module, "__all__", []):
                obj = getattr(module, name, None)
                if obj is None and not hasattr(module, name):
                    raise AttributeError(
                        f"{modname}.__all__ lists {name!r}, which it does not define"
                    )
                if isinstance(obj, ModuleType):
                    continue
                key = _identity(obj, name)
                if modname != sub and key in seen:
                    continue
                if modname != sub and not (inspect.isclass(obj) or callable(obj)):
                    # a constant of a submodule re-exported by its package has that package's page
                    if hasattr(package, name) and getattr(package, name) is obj:
                        continue
                seen.add(key)
                names.append(ApiName(modname, name, _kind(obj), obj))
            if names or modname == sub:
                sections.append(ApiSection(modname, names))
    return sections


def _own_docstring(obj: Any) -> str:
    if inspect.isclass(obj):
        doc = obj.__dict__.get("__doc__")
    else:
        doc = getattr(obj, "__doc__", None)
    return inspect.cleandoc(doc) if isinstance(doc, str) else ""


def _attribute_doc(module: str, name: str) -> str:
    """The ``#:`` comment or string literal documenting a module-level constant."""
    from sphinx.pycode import ModuleAnalyzer

    candidates = [module]
    pkg = importlib.import_module(module)
    candidates += list(_public_submodules(pkg)) if hasattr(pkg, "__path__") else []
    # private modules too: constants are often defined in _impl modules and re-exported
    if hasattr(pkg, "__path__"):
        candidates += [i.name for i in pkgutil.walk_packages(pkg.__path__, prefix=module + ".")]
    for cand in candidates:
        try:
            docs = ModuleAnalyzer.for_module(cand).find_attr_docs()
        except Exception:  # a module without source simply has no attribute docs
            continue
        lines = docs.get(("", name))
        if lines:
            return "\n".join(lines).strip()
    return ""


def missing_docstrings(sections: list[ApiSection] | None = None) -> list[str]:
    """Full names of public objects without a docstring of their own."""
    missing = []
    for section in sections if sections is not None else public_api():
        for item in section.names:
            if item.kind == "data":
                doc = _attribute_doc(item.module, item.name)
            else:
                doc = _own_docstring(item.obj)
            if not doc.strip():
                missing.append(item.fullname)
    return missing


# ----------------------------------------------------------------------------------------------
# Page writers
# ----------------------------------------------------------------------------------------------
def _write_if_changed(path: Path, text: str) -> bool:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_text() == text:
        return False
    path.write_text(text)
    return True


def _heading(text: str, char: str, over: bool = False) -> str:
    line = char * len(text)
    return f"{line}\n{text}\n{line}\n" if over else f"{text}\n{line}\n"


def api_page(sections: list[ApiSection]) -> str:
    """RST of one subpackage's reference page (its first section is the package itself)."""
    package = sections[0].module
    out = [_heading(f"``{package}``", "="), "", f".. automodule:: {package}", "   :no-members:", ""]
    for section in sections:
        if section.module != package:
            out += [_heading(f"``{section.module}``", "-"), "", f".. automodule:: {section.module}"]
            out += ["   :no-members:"]
            parent, _, leaf = section.module.rpartition(".")
            if not isinstance(getattr(importlib.import_module(parent), leaf, None), ModuleType):
                # the package re-exports a function under the submodule's own name (e.g.
                # metrics.loe); indexing both would describe one name twice
                out.append("   :no-index:")
            out.append("")
        out += [f".. currentmodule:: {section.module}", ""]
        level = "~" if section.module != package else "-"
        for kind, title in KIND_TITLES.items():
            items = [n for n in section.names if n.kind == kind]
            if not items:
                continue
            out += [_heading(title, level), ""]
            if kind == "data":
                out += [_data_entry(section.module, n) for n in items]
                continue
            own = [n for n in items if not _other_home(n.obj, package)]
            if own:
                out += [".. autosummary::", "   :toctree: generated/", "   :nosignatures:", ""]
                out += [f"   {n.name}" for n in own] + [""]
            others = [n for n in items if _other_home(n.obj, package)]
            if others:  # listed here, their page is their home's (one class, one description)
                out += [".. autosummary::", "   :nosignatures:", ""]
                out += [f"   {n.name}" for n in others] + [""]
    return "\n".join(out)


def _other_home(obj: Any, package: str) -> bool:
    """A class that ``package`` re-exports from another subpackage (``models.WeightsError`` is
    ``core``'s): a second stub page would describe it twice."""
    home = getattr(obj, "__module__", "") or ""
    return inspect.isclass(obj) and home != package and not home.startswith(package + ".")


def _data_entry(module: str, item: ApiName) -> str:
    # Constants are written out here rather than through autodoc: autodoc looks for the ``#:``
    # comment only in the module that re-exports the name and otherwise shows the docstring of
    # the value's type (dict's, tuple's), which is wrong and not valid RST.
    doc = _attribute_doc(module, item.name) or "(undocumented)"
    value = repr(item.obj)
    lines = [f".. py:data:: {item.name}"]
    if len(value) <= 80 and "\n" not in value:
        lines.append(f"   :value: {value}")
    lines.append("")
    lines += [f"   {line}".rstrip() for line in doc.splitlines()]
    return "\n".join(lines) + "\n"


def write_api_pages(docs: Path = DOCS) -> list[str]:
    """Write ``api/<package>.rst`` for every public subpackage; return their docnames."""
    sections = public_api()
    by_package: dict[str, list[ApiSection]] = {}
    for s in sections:
        pkg = ".".join(s.module.split(".")[:2])
        by_package.setdefault(pkg, []).append(s)
    docnames = []
    for pkg, secs in by_package.items():
        _write_if_changed(docs / "api" / f"{pkg}.rst", api_page(secs))
        docnames.append(f"api/{pkg}")
    index = [
        ".. This file is generated by docs/_ext/pyisp_docs.py; edit that, not this.",
        "",
        ".. toctree::",
        "   :maxdepth: 1",
        "",
        *[f"   {d}" for d in docnames],
        "",
    ]
    _write_if_changed(docs / "api" / "toc.rst.inc", "\n".join(index))
    # remove autosummary stubs of names that moved or went away (they would be orphan pages)
    expected = {f"{n.fullname}.rst" for sec in sections for n in sec.names if n.kind != "data"}
    for stub in (docs / "api" / "generated").glob("*.rst"):
        if stub.name not in expected:
            stub.unlink()
    # remove pages of subpackages that no longer exist
    for stale in (docs / "api").glob("pyisp_contrast.*.rst"):
        if f"api/{stale.stem}" not in docnames:
            stale.unlink()
    return docnames


def write_cli_page(docs: Path = DOCS) -> list[str]:
    """``_generated/cli.rst``: the help of ``pyisp-contrast`` and each sub-command.

    Returns a message for each sub-command whose module could not be loaded (the page then
    says so in place of its help).
    """
    import argparse

    from pyisp_contrast import cli

    problems: list[str] = []
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "96"  # argparse wraps help to the terminal; keep it stable
    try:
        parser = argparse.ArgumentParser(
            prog="pyisp-contrast",
            description="Differentiable ISP primitives for contrastive low-level vision.",
        )
        sub = parser.add_subparsers(dest="command", metavar="COMMAND")
        pages = []
        for name, module in cli.COMMANDS.items():
            try:
                mod = importlib.import_module(f"{cli.__name__}.{module}")
                sub_parser = mod.add_parser(sub)
            except Exception as exc:
                problems.append(f"sub-command {name!r} (module {cli.__name__}.{module}): {exc}")
                pages.append((name, None))
                continue
            pages.append((name, sub_parser.format_help()))
        out = [_code_block(parser.format_help())]
        for name, text in pages:
            out += [_heading(f"``pyisp-contrast {name}``", "-"), ""]
            out.append(_code_block(text) if text else "*(this sub-command failed to load)*\n")
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old
    _write_if_changed(docs / GENERATED / "cli.rst", "\n".join(out))
    return problems


def _code_block(text: str) -> str:
    body = "\n".join(("   " + line).rstrip() for line in text.rstrip().splitlines())
    return f".. code-block:: text\n\n{body}\n"


def model_card_sources(root: Path = ROOT) -> list[Path]:
    """The Markdown model cards shipped beside bundled weights, in a stable order."""
    base = root / PACKAGE
    return sorted(p for p in base.glob("*/weights/*.md")) + sorted(base.glob("*/*/weights/*.md"))


def write_model_cards(docs: Path = DOCS) -> list[str]:
    """Copy the model cards into ``_generated/model_cards``; return their docnames."""
    out_dir = docs / GENERATED / "model_cards"
    out_dir.mkdir(parents=True, exist_ok=True)
    names = []
    for src in model_card_sources():
        sub = src.relative_to(ROOT / PACKAGE).parts[0]
        dst = out_dir / f"{sub}-{src.name}"
        _write_if_changed(dst, src.read_text())
        names.append(f"{GENERATED}/model_cards/{dst.stem}")
    for stale in out_dir.glob("*.md"):
        if f"{GENERATED}/model_cards/{stale.stem}" not in names:
            stale.unlink()
    toc = [".. toctree::", "   :maxdepth: 1", ""] + [f"   /{n}" for n in names]
    if not names:
        toc = ["No weight files with a model card are bundled yet."]
    _write_if_changed(docs / GENERATED / "model_cards.rst.inc", "\n".join(toc) + "\n")
    return names


def _bench_common():
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("benchmarks._common")


def write_benchmark_pages(docs: Path = DOCS) -> None:
    """Render ``benchmarks/results`` into ``_generated/benchmarks.rst`` and ``evaluation.rst``."""
    common = _bench_common()
    # PYISP_DOCS_RESULTS points the docs at another results folder (e.g. a GPU run's)
    results_dir = Path(os.environ.get("PYISP_DOCS_RESULTS", ROOT / "benchmarks" / "results"))
    img_dir = docs / GENERATED / "bench_img"
    img_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for path in sorted(results_dir.glob("*.json")):
        if path.stem == "summary":
            continue
        res = common.load_result(path)
        for png in res["figures"]:
            src = results_dir / png
            if src.is_file():
                shutil.copy2(src, img_dir / src.name)
        res["figures"] = [f for f in res["figures"] if (results_dir / f).is_file()]
        results.append(res)
    speed = [r for r in results if r["name"] not in EVALUATION_BENCHMARKS]
    quality = [r for r in results if r["name"] in EVALUATION_BENCHMARKS]

    def render(items, with_summary: bool) -> str:
        if not items:
            return (
                ".. note::\n\n   No results in ``benchmarks/results/`` yet: run "
                "``python -m benchmarks`` (see ``benchmarks/README.md``) and rebuild.\n"
            )
        parts = []
        if with_summary:
            rows = common.check_rows(items)
            if rows:
                parts.append(common.rst_table(common.CHECK_COLUMNS, rows, "Summary of targets"))
            summary_png = results_dir / "summary.png"
            if summary_png.is_file():
                shutil.copy2(summary_png, img_dir / "summary.png")
                parts += ["", ".. image:: /_generated/bench_img/summary.png", "   :width: 100%", ""]
        for r in items:
            parts.append(common.result_to_rst(r, image_dir="/_generated/bench_img", heading="-"))
        return "\n".join(parts)

    _write_if_changed(docs / GENERATED / "benchmarks.rst.inc", render(speed, True))
    _write_if_changed(docs / GENERATED / "evaluation.rst.inc", render(quality, False))


# ----------------------------------------------------------------------------------------------
# sphinx-gallery: a wall-clock limit per example
# ----------------------------------------------------------------------------------------------
class ExampleTimeout(TimeoutError):
    """Raised inside a gallery example that ran past its time limit."""


#: Default limits per gallery example: CPU seconds of the whole process (all threads), which
#: other load on the machine does not inflate, and wall-clock seconds, a guard against hangs.
CPU_LIMIT_S = 90.0
WALL_LIMIT_S = 300.0


def _limits() -> tuple[float, float]:
    cpu = float(os.environ.get("PYISP_DOCS_EXAMPLE_CPU_LIMIT", CPU_LIMIT_S))
    wall = float(os.environ.get("PYISP_DOCS_EXAMPLE_TIMEOUT", WALL_LIMIT_S))
    return cpu, wall


def _on_cpu_limit(signum, frame):  # pragma: no cover - exercised by a slow example only
    raise ExampleTimeout(
        f"gallery example used more than {_limits()[0]:g} s of CPU time "
        "(PYISP_DOCS_EXAMPLE_CPU_LIMIT); examples must run well under a minute on 2 cores"
    )


def _on_wall_limit(signum, frame):  # pragma: no cover - exercised by a hanging example only
    raise ExampleTimeout(
        f"gallery example ran longer than {_limits()[1]:g} s (PYISP_DOCS_EXAMPLE_TIMEOUT)"
    )


def example_time_limit(gallery_conf: dict, fname: str | None, when: str) -> None:
    """sphinx-gallery ``reset_modules`` hook: arm the limits before an example, disarm after.

    An example fails (and so the ``-W`` build) when it uses more than
    ``PYISP_DOCS_EXAMPLE_CPU_LIMIT`` CPU seconds (default 90: about 45 s of wall time on two busy
    cores) or runs longer than ``PYISP_DOCS_EXAMPLE_TIMEOUT`` wall seconds (default 300). CPU
    time is the main limit because it does not depend on what else the machine is doing. A
    no-op where the signals do not exist (Windows).
    """
    if not (hasattr(signal, "SIGALRM") and hasattr(signal, "setitimer")):
        return
    signal.setitimer(signal.ITIMER_PROF, 0)
    signal.setitimer(signal.ITIMER_REAL, 0)
    if when == "before" and fname is not None:
        import torch

        # examples are written for (and timed on) two cores
        torch.set_num_threads(min(2, os.cpu_count() or 1))
        cpu, wall = _limits()
        signal.signal(signal.SIGPROF, _on_cpu_limit)
        signal.signal(signal.SIGALRM, _on_wall_limit)
        signal.setitimer(signal.ITIMER_PROF, cpu)
        signal.setitimer(signal.ITIMER_REAL, wall)


# ----------------------------------------------------------------------------------------------
# Sphinx glue
# ----------------------------------------------------------------------------------------------
#: Guide pages written by other authors; the guide's toctree lists them once they exist.
OPTIONAL_GUIDE_PAGES = ("guide/contrastive", "guide/new_task")


def _generate(app, config) -> None:
    docs = Path(app.srcdir)
    from sphinx.util import logging

    logger = logging.getLogger(__name__)
    with contextlib.redirect_stdout(io.StringIO()):
        write_api_pages(docs)
        for problem in write_cli_page(docs):
            logger.warning("CLI page: %s", problem, type="pyisp_docs", subtype="cli")
        write_model_cards(docs)
        write_benchmark_pages(docs)


def _drop_missing_optional(app, docname: str, source: list[str]) -> None:
    """Leave out links to the optional guide pages while they do not exist yet."""
    if docname not in ("index", "guide/index"):
        return
    import re

    text = source[0]
    for page in OPTIONAL_GUIDE_PAGES:
        if (Path(app.srcdir) / f"{page}.rst").exists():
            continue
        short = page.removeprefix("guide/")
        # toctree entry of guide/index
        text = re.sub(rf"^   {short}\n", "", text, flags=re.M)
        # :doc:`Title <guide/page>` links become plain titles
        text = re.sub(rf":doc:`([^`<]+?)\s*<{page}>`", r"\1", text)
    source[0] = text


def _skip_namedtuple_aliases(app, what, name, obj, skip, options):
    # NamedTuple fields are described by the class's Attributes section; the generated
    # "Alias for field number N" members only add noise.
    doc = getattr(obj, "__doc__", None)
    if isinstance(doc, str) and doc.startswith("Alias for field number"):
        return True
    return None


def _patch_autosummary_summary() -> None:
    """Make autosummary's one-line summaries respect inline literals.

    Sphinx 9's ``extract_summary`` means to grow the first sentence until it parses cleanly, but
    re-parses the whole paragraph instead of the candidate, so a first sentence such as
    "Renumber labels as ``0 .. K - 1`` without gaps." is cut inside the literal and the build
    warns "Inline literal start-string without end-string". This wrapper checks the candidate.
    """
    from docutils import nodes
    from sphinx.ext import autosummary

    original = autosummary.extract_summary
    if getattr(original, "_pyisp_patched", False):
        return

    def extract_summary(doc, settings):
        summary = original(doc, settings)
        stanza = []
        for line in doc:
            if not line.strip():
                if stanza:
                    break
                continue
            stanza.append(line)
        text = " ".join(stanza)
        pieces = autosummary.periods_re.split(text)
        for i in range(len(pieces)):
            candidate = ". ".join(pieces[: i + 1]).rstrip(".") + "."
            if i + 1 < len(pieces) and candidate.endswith(autosummary.WELL_KNOWN_ABBREVIATIONS):
                continue
            node = autosummary._parse_summary([candidate], settings)
            if not any(node.findall(nodes.system_message)) or i + 1 == len(pieces):
                if candidate != summary and not summary.endswith("::"):
                    return candidate
                break
        return summary

    extract_summary._pyisp_patched = True
    autosummary.extract_summary = extract_summary


def setup(app) -> dict[str, Any]:
    _patch_autosummary_summary()
    # at config-inited, before Sphinx looks for source files, so the generated pages are found
    # (and autosummary writes stubs for them) on the first build too
    app.connect("config-inited", _generate)
    app.connect("source-read", _drop_missing_optional)
    app.connect("autodoc-skip-member", _skip_namedtuple_aliases)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
