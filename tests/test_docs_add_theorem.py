"""The "Adding a theorem" page runs: its module is a working claim, its examples pass.

The page's first fenced ``python`` block (the claim module) is written to a temporary
folder; every ``>>>`` example of the page then runs, in order, in one namespace, as
the README's are (``tests/test_readme.py``).
"""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[1] / "docs" / "how-to" / "add-a-theorem.md"
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def run_examples(source: str, globs: dict) -> doctest.TestResults:
    test = doctest.DocTestParser().get_doctest(source, globs, "page", str(PAGE), 0)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    runner.run(test, out=lambda _: None)
    return runner.summarize(verbose=False)


def test_the_walk_through_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    module, *rest = blocks(PAGE.read_text(encoding="utf-8"))
    assert ">>>" not in module and "CLAIM = dict(" in module
    examples = "\n".join(b for b in rest if ">>>" in b)
    (tmp_path / "my_claims").mkdir()
    (tmp_path / "out").mkdir()
    globs = {"MODULE": module, "folder": tmp_path / "my_claims", "out": tmp_path / "out"}
    result = run_examples(examples, globs)
    assert result.attempted >= 10 and result.failed == 0


def test_a_wrong_expectation_fails(tmp_path: Path) -> None:
    """Control: the same runner catches a wrong expected output."""
    result = run_examples(">>> 1 + 1\n3\n", {})
    assert result.failed == 1
