"""No module of the package reaches into another module's private names (issue 15, item 5).

Every module under ``pyisp_contrast/`` is parsed (``ast``, nothing is imported). A name that
starts with ``_`` (but is not a dunder such as ``__version__``) is private to the module that
defines it, so another module may neither import it (``from pyisp_contrast.x import _helper``,
also relative and inside functions) nor read it off an imported module
(``from pyisp_contrast.x import y; y._CONSTANT``). What two modules share is made public in the
module that owns it, or moved to :mod:`pyisp_contrast.core`.

Private *modules* (``_slic_numba``, ``_boc_kernel``, ``_haze``, ...) are implementation parts of
their package: modules of that package may import them and their public names; modules elsewhere
may not.

The exceptions are listed, with their reason, in :data:`ALLOWED`; an entry that no longer matches
anything fails the test so that it is removed.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from package_source import (  # tests/: shared with the other import check
    ROOT,
    import_origin,
    module_name,
)

PACKAGE = "pyisp_contrast"

#: (importing module, "imported.module.name") -> why it is allowed.
ALLOWED: dict[tuple[str, str], str] = {
    ("pyisp_contrast.export", "pyisp_contrast.isp.order._order_preserving_gain"): (
        "the public function's argument checks do not compile to TorchScript; the exported "
        "module must run the very same arithmetic as GuidedGainEnhancer.order_gain"
    ),
}


@dataclass(frozen=True)
class Reach:
    module: str  # the importing module
    target: str  # the full dotted name reached, e.g. "pyisp_contrast.models.dehaze._helper"
    line: int

    def __str__(self) -> str:
        return f"{self.module}:{self.line} uses {self.target}"


def _is_private(part: str) -> bool:
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))


def _modules() -> list[str]:
    return sorted(module_name(p) for p in (ROOT / PACKAGE).rglob("*.py"))


def reaches(source: str, module: str, is_package: bool, modules: set[str]) -> list[Reach]:
    """Every dotted name inside the package that ``module`` imports or reads off an import."""
    found: list[Reach] = []
    aliases: dict[str, str] = {}  # local name -> imported module (for attribute reads)
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PACKAGE):
                    found.append(Reach(module, alias.name, node.lineno))
                    if alias.asname:
                        aliases[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom):
            source_module = import_origin(node, module, is_package)
            if not source_module.startswith(PACKAGE):
                continue
            for alias in node.names:
                target = f"{source_module}.{alias.name}"
                found.append(Reach(module, target, node.lineno))
                if target in modules:
                    aliases[alias.asname or alias.name] = target
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
        ):
            found.append(Reach(module, f"{aliases[node.value.id]}.{node.attr}", node.lineno))
    return found


def violates(reach: Reach, modules: set[str]) -> bool:
    """Whether ``reach`` uses a private name of another module, or a private module from outside
    the package that holds it."""
    parts = reach.target.split(".")
    private = [i for i, part in enumerate(parts) if _is_private(part)]
    if not private:
        return False
    first = private[0]
    if len(private) == 1 and ".".join(parts[: first + 1]) in modules:
        # a private module (or a public name of it): its own package may use it
        owner = ".".join(parts[:first])
        return not (reach.module == owner or reach.module.startswith(owner + "."))
    return True


def all_violations() -> list[Reach]:
    modules = set(_modules())
    out = []
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        module = module_name(path)
        for reach in reaches(path.read_text(), module, path.name == "__init__.py", modules):
            if violates(reach, modules):
                out.append(reach)
    return out


def test_no_private_name_is_used_across_modules() -> None:
    found = [r for r in all_violations() if (r.module, r.target) not in ALLOWED]
    assert found == [], "private names used across modules:\n" + "\n".join(map(str, found))


def test_every_allowed_exception_is_still_needed() -> None:
    used = {(r.module, r.target) for r in all_violations()}
    stale = sorted(set(ALLOWED) - used)
    assert stale == [], f"remove these entries from ALLOWED: {stale}"


def test_the_check_catches_each_form() -> None:
    modules = {"pyisp_contrast.a", "pyisp_contrast.b", "pyisp_contrast.b._impl", "pyisp_contrast.c"}
    src = (
        "from pyisp_contrast.a import _helper, public\n"
        "from . import _impl\n"  # pyisp_contrast.b's own private module: fine inside b
        "from pyisp_contrast.b._impl import thing\n"
        "from pyisp_contrast import a\n"
        "x = a._CONSTANT + a.PUBLIC\n"
        "from pyisp_contrast import __version__\n"
    )
    inside_b = [
        str(r) for r in reaches(src, "pyisp_contrast.b.mod", False, modules) if violates(r, modules)
    ]
    assert inside_b == [
        "pyisp_contrast.b.mod:1 uses pyisp_contrast.a._helper",
        "pyisp_contrast.b.mod:5 uses pyisp_contrast.a._CONSTANT",
    ]
    outside = [
        str(r)
        for r in reaches(
            src.replace("from . import _impl\n", ""), "pyisp_contrast.c", False, modules
        )
        if violates(r, modules)
    ]
    assert "pyisp_contrast.c:2 uses pyisp_contrast.b._impl.thing" in outside
