"""MkDocs hook: every page of an automatic folder joins the nav, in its section.

``mkdocs.yml`` lists the pages it orders by hand; a page added later under one of the
folders of :data:`AUTO` (a how-to guide, a conjecture's write-up) is appended to that
folder's section, sorted by file name, with no edit of ``mkdocs.yml``.  A section whose
folder has pages but no entry yet is created after the how-to guides.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# nav section title -> folder under docs/
AUTO = {"How-to guides": "how-to", "Conjectures": "conjectures"}


def on_config(config: Any) -> Any:
    docs = Path(config["docs_dir"])
    nav: list[Any] = config["nav"]
    listed = set(_pages(nav))
    for title, folder in AUTO.items():
        pages = [p.relative_to(docs).as_posix() for p in sorted((docs / folder).glob("*.md"))]
        new = [p for p in pages if p not in listed]
        if not new:
            continue
        section = next((e for e in nav if isinstance(e, dict) and title in e), None)
        if section is None:
            at = next((i + 1 for i, e in enumerate(nav)
                       if isinstance(e, dict) and "How-to guides" in e), len(nav))
            section = {title: []}
            nav.insert(at, section)
        section[title].extend(new)
    return config


def _pages(nav: Any) -> list[str]:
    """Every page path named anywhere in ``nav``."""
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, dict):
        return [p for v in nav.values() for p in _pages(v)]
    if isinstance(nav, list):
        return [p for e in nav for p in _pages(e)]
    return []
