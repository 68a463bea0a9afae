"""The layers are one-way: each module imports only the layers below it.

Read with :mod:`ast` (nothing is imported), every ``import`` and ``from ... import``
of the package's own modules, wherever it appears (module top, a function body, an
``if TYPE_CHECKING`` block), is checked against :data:`ALLOWED`:

* ``model`` (datasets, token-priority graphs, errors) imports no other layer;
* ``solvers``, ``generators`` and ``corpora`` import only ``model`` (and themselves; not
  each other);
* ``kernel`` (verdicts, evidence, the claim ledger, the gallery, the conjecture API)
  imports those three, never the application;
* ``api`` (``ntp_mechanics/__init__.py``, ``ntp_mechanics/strategies.py``) re-exports
  from the layers below the application;
* ``theorems`` import the kernel and below (and the public API);
* ``app`` (CLI commands, report, gate, plugin) may import everything; only it and the
  ``python -m ntp_mechanics`` entry point import it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# folder of the checkout -> layer of its modules
FOLDERS = {
    "ntp_mechanics/model": "model",
    "solvers": "solvers",
    "generators": "generators",
    "corpora": "corpora",
    "ntp_mechanics/kernel": "kernel",
    "theorems": "theorems",
    "ntp_mechanics/app": "app",
}
FILES = {
    "ntp_mechanics/__init__.py": "api",
    "ntp_mechanics/strategies.py": "api",
    "ntp_mechanics/__main__.py": "entry",
}
LOWER = {"model", "solvers", "generators", "corpora"}
ALLOWED = {
    "model": {"model"},
    "solvers": {"model", "solvers"},
    "generators": {"model", "generators"},
    "corpora": {"model", "corpora"},
    "kernel": LOWER | {"kernel"},
    "api": LOWER | {"kernel", "api"},
    "theorems": LOWER | {"kernel", "api", "theorems"},
    "app": LOWER | {"kernel", "api", "theorems", "app"},
    "entry": {"app"},
}


def layer_of_module(name: str) -> str | None:
    """The layer of an imported module name, None if it is not the package's."""
    parts = name.split(".")
    if parts[0] != "ntp_mechanics":
        return None
    if len(parts) == 1 or parts[1] == "strategies":
        return "api"
    return {"model": "model", "solvers": "solvers", "generators": "generators",
            "corpora": "corpora", "kernel": "kernel", "theorems": "theorems", "app": "app",
            "__main__": "entry"}.get(parts[1], "api")


def imported_modules(source: str, package: str) -> list[str]:
    """Every module ``source`` imports (relative imports resolved against ``package``);
    ``from a import b`` counts as ``a.b`` too, since ``b`` may be a submodule."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            out.append(base)
            out += [f"{base}.{a.name}" for a in node.names]
    return out


def violations(source: str, layer: str, package: str) -> list[str]:
    """The imports in ``source`` (a module of ``layer``) that break the one-way rule."""
    bad = []
    for name in imported_modules(source, package):
        target = layer_of_module(name)
        if target is not None and target not in ALLOWED[layer]:
            bad.append(f"{layer} imports {name} ({target})")
    return sorted(set(bad))


def package_files() -> list[tuple[Path, str, str]]:
    """``(path, layer, package)`` for every module of the installed package."""
    out = []
    for rel, layer in FILES.items():
        out.append((ROOT / rel, layer, "ntp_mechanics"))
    for folder, layer in FOLDERS.items():
        dotted = "ntp_mechanics." + Path(folder).name
        for path in sorted((ROOT / folder).rglob("*.py")):
            sub = path.relative_to(ROOT / folder).parent.parts
            out.append((path, layer, ".".join([dotted, *sub])))
    return out


def test_every_package_module_has_a_layer() -> None:
    classified = {p for p, _, _ in package_files()}
    every = set((ROOT / "ntp_mechanics").rglob("*.py"))
    assert every <= classified, sorted(str(p) for p in every - classified)


@pytest.mark.parametrize("path, layer, package", package_files(),
                         ids=lambda v: str(v.relative_to(ROOT)) if isinstance(v, Path) else "")
def test_imports_go_down(path: Path, layer: str, package: str) -> None:
    assert violations(path.read_text(encoding="utf-8"), layer, package) == []


# -- negative controls: the checker must flag these --------------------------------------------
@pytest.mark.parametrize("source, layer", [
    ("from ntp_mechanics.app.gate import summarise", "kernel"),
    ("import ntp_mechanics.app.report", "theorems"),
    ("def f():\n    from ntp_mechanics.kernel import claims", "model"),
    ("from ntp_mechanics.generators.seeded import paper_dataset", "solvers"),
    ("from ntp_mechanics.solvers import predictions", "generators"),
    ("from ntp_mechanics import strategies", "kernel"),
    ("from ntp_mechanics.solvers import predictions", "corpora"),
    ("from ntp_mechanics.generators.seeded import paper_dataset", "corpora"),
    ("from ntp_mechanics.corpora import build_corpus", "model"),
])
def test_checker_flags_upward_imports(source: str, layer: str) -> None:
    assert violations(source, layer, "ntp_mechanics." + layer) != []


def test_checker_resolves_relative_imports() -> None:
    src = "from ..app import gate"
    assert violations(src, "kernel", "ntp_mechanics.kernel") == [
        "kernel imports ntp_mechanics.app (app)", "kernel imports ntp_mechanics.app.gate (app)"]
    assert violations("from . import verdict", "kernel", "ntp_mechanics.kernel") == []


def test_every_package_folder_is_installed() -> None:
    """Each folder with an ``__init__.py`` is listed in pyproject's packages (a subpackage
    missing there works in the checkout and breaks only the wheel)."""
    import tomllib

    tool = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {Path(v): k for k, v in tool["package-dir"].items()} | {
        Path("ntp_mechanics"): "ntp_mechanics"}
    found = set()
    for top, dotted in folders.items():
        for init in (ROOT / top).rglob("__init__.py"):
            sub = init.parent.relative_to(ROOT / top).parts
            found.add(".".join([dotted, *sub]))
    assert found == set(tool["packages"])
