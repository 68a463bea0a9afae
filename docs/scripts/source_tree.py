"""MkDocs hook: the package laid out as installed, for mkdocstrings to read.

The checkout keeps ``generators/``, ``corpora/``, ``solvers/`` and ``theorems/`` at its top and
installs them under ``ntp_mechanics`` (a package-dir mapping that static analysis cannot
follow), so before anything else runs this copies the package, as Python imports it, to
``build/docs-src`` next to ``mkdocs.yml`` (mkdocstrings' ``paths``; links would not do:
griffe resolves them, and a path that does not exist yet is ignored).
"""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path
from typing import Any

import tomllib  # the docs build runs on Python >= 3.11
from mkdocs.plugins import event_priority


def mapped(pyproject: Path) -> tuple[str, ...]:
    """The subpackages pyproject's ``[tool.setuptools.package-dir]`` maps from the top."""
    table = tomllib.loads(pyproject.read_text())["tool"]["setuptools"]["package-dir"]
    return tuple(name.removeprefix("ntp_mechanics.") for name in table)


@event_priority(100)  # before mkdocstrings reads its paths
def on_config(config: Any) -> Any:
    root = Path(config.config_file_path).parent
    source_tree(root / "build" / "docs-src", mapped(root / "pyproject.toml"))
    return config


def source_tree(dest: Path, names: tuple[str, ...]) -> Path:
    """``dest/ntp_mechanics``: a copy of the package's files as the wheel installs them.

    The files come from wherever Python imports the package (a checkout's folders in an
    editable install, site-packages otherwise).
    """
    pkg = dest / "ntp_mechanics"
    shutil.rmtree(pkg, ignore_errors=True)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(_folder("ntp_mechanics"), pkg, ignore=skip)
    for name in names:
        shutil.rmtree(pkg / name, ignore_errors=True)  # installed: already inside
        shutil.copytree(_folder(f"ntp_mechanics.{name}"), pkg / name, ignore=skip)
    return dest


def _folder(package: str) -> Path:
    return Path(importlib.import_module(package).__file__).parent
