"""The documentation: its examples run, and its build fails on a broken reference.

* Every ``>>>`` example of a page under ``docs/`` runs as a doctest, the page's blocks
  in order in one namespace (the pages' own examples, kept cheap).
* ``mkdocs build --strict`` (run by ``ci/test.sh``) fails on a link to a missing page
  and on a page missing from the nav: checked here by building a copy of the site with
  one such defect (slow: two builds of a few seconds each).
"""

from __future__ import annotations

import doctest
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.md") if "scripts" not in p.parts)
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE | doctest.IGNORE_EXCEPTION_DETAIL


def page_examples(text: str) -> str:
    """The ``>>>`` examples of a page's fenced ``python`` blocks, in order."""
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    return "\n".join(b for b in blocks if ">>>" in b)


def run_examples(source: str, name: str) -> doctest.TestResults:
    test = doctest.DocTestParser().get_doctest(source, {}, name, name, 0)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    runner.run(test, out=sys.stdout.write)
    return runner.summarize(verbose=False)


# pages whose examples need a harness of their own run in their own test module
OWN_HARNESS = {"how-to/add-a-theorem.md": "tests/test_docs_add_theorem.py"}
DOCTESTED = [p for p in PAGES if page_examples(p.read_text(encoding="utf-8"))
             and p.relative_to(DOCS).as_posix() not in OWN_HARNESS]


def test_own_harnesses_exist() -> None:
    for page, harness in OWN_HARNESS.items():
        assert (DOCS / page).is_file() and (ROOT / harness).is_file()


def test_some_pages_have_examples() -> None:
    names = {p.relative_to(DOCS).as_posix() for p in DOCTESTED}
    assert {"tutorial.md", "reference/formats.md", "explanation/verdicts.md"} <= names


@pytest.mark.parametrize("page", DOCTESTED, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_page_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # an example that writes files writes them here
    result = run_examples(page_examples(page.read_text(encoding="utf-8")), page.name)
    assert result.attempted > 0 and result.failed == 0


def test_control_a_wrong_example_fails() -> None:
    bad = page_examples("text\n```python\n>>> 1 + 1\n3\n```\n")
    runner = doctest.DocTestRunner()
    runner.run(doctest.DocTestParser().get_doctest(bad, {}, "bad", "bad", 0),
               out=lambda _: None)
    assert runner.summarize(verbose=False).failed == 1


def _build(site: Path) -> subprocess.CompletedProcess[str]:
    """``mkdocs build --strict`` of the copy of the documentation in ``site``.

    Never ``-q``: it raises the log level above WARNING, and strict mode then counts no
    warnings at all.
    """
    env = os.environ | {"NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"}
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict",
                           "-f", str(site / "mkdocs.yml"), "-d", str(site / "site")],
                          cwd=site, env=env, capture_output=True, text=True, timeout=600,
                          check=False)


def _copy(dest: Path) -> Path:
    dest.mkdir(parents=True)
    shutil.copy2(ROOT / "mkdocs.yml", dest / "mkdocs.yml")
    shutil.copy2(ROOT / "CHANGELOG.md", dest / "CHANGELOG.md")
    shutil.copy2(ROOT / "pyproject.toml", dest / "pyproject.toml")  # the package-dir map
    shutil.copytree(DOCS, dest / "docs")
    return dest


@pytest.mark.slow
def test_strict_build_fails_on_a_broken_link_or_an_orphan_page(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs", reason="the docs extra is part of the dev extra")
    good = _copy(tmp_path / "good")
    out = _build(good)
    assert out.returncode == 0, out.stdout + out.stderr
    assert (good / "site" / "reference" / "claims" / "index.html").exists()
    # a page added under how-to/ joins the nav by itself: still a clean build
    (good / "docs" / "how-to" / "zz-new-guide.md").write_text("# A new guide\n")
    assert _build(good).returncode == 0
    assert "zz-new-guide" in (good / "site" / "index.html").read_text(encoding="utf-8")

    broken = _copy(tmp_path / "broken")
    page = broken / "docs" / "tutorial.md"
    page.write_text(page.read_text() + "\nSee [nowhere](no-such-page.md).\n")
    out = _build(broken)
    assert out.returncode != 0 and "no-such-page.md" in out.stdout + out.stderr

    orphan = _copy(tmp_path / "orphan")
    (orphan / "docs" / "reference" / "orphan.md").write_text("# Not in the nav\n")
    assert _build(orphan).returncode != 0
