"""The README, the front page: its examples run, its claim table and links hold.

Every ``>>>`` example inside the fenced code blocks of the README section
"Public API" runs, in order, in one namespace.  The claim table agrees with the claim
registry (``ntp-mechanics claims``), every local link points at a file, and the page
stays short (the details live in ``docs/``).
"""

from __future__ import annotations

import doctest
import functools
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SECTION = "## Public API"


def section_examples(text: str, heading: str = SECTION) -> str:
    """The fenced code blocks of the README section that starts with ``heading``."""
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    body = text[start:end if end >= 0 else len(text)]
    return "\n".join(re.findall(r"```python\n(.*?)```", body, flags=re.S))


def test_public_api_examples_run() -> None:
    source = section_examples(README.read_text(encoding="utf-8"))
    test = doctest.DocTestParser().get_doctest(source, {}, "README", str(README), 0)
    assert len(test.examples) >= 10
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


def test_a_wrong_example_fails() -> None:
    """Control: a README example with a wrong expected output is caught."""
    bad = section_examples("## Public API\n```python\n>>> 1 + 1\n3\n```\n")
    test = doctest.DocTestParser().get_doctest(bad, {}, "bad", "bad", 0)
    runner = doctest.DocTestRunner()
    runner.run(test, out=lambda _: None)
    assert runner.summarize(verbose=False).failed == 1


@functools.cache
def registered() -> dict[str, str]:
    """``id -> kind`` of every claim, as ``ntp-mechanics claims --json`` lists them."""
    out = subprocess.run([sys.executable, "-m", "ntp_mechanics", "claims", "--json"],
                         capture_output=True, text=True, check=True, timeout=120).stdout
    return {r["id"]: r["kind"] for r in json.loads(out)}


def claim_table(text: str) -> dict[str, str]:
    """``id -> kind`` of the rows of the README's claim table (section "Claims")."""
    start = text.index("\n## Claims")
    body = text[start:text.find("\n## ", start + 1)]
    rows = re.findall(r"^\| (\w+) \| (theorem|fact|conjecture) \|", body, flags=re.M)
    return dict(rows)


def test_claim_table_follows_the_registry() -> None:
    """Every row is a registered claim of that kind; every theorem and fact has a row."""
    table = claim_table(README.read_text(encoding="utf-8"))
    kinds = registered()
    assert {cid: kinds.get(cid) for cid in table} == table
    asserted = {cid for cid, kind in kinds.items() if kind in ("theorem", "fact")}
    assert asserted <= set(table)


def test_control_a_wrong_claim_row_is_caught() -> None:
    table = claim_table("\n## Claims\n| A | fact | x |\n| Z9 | theorem | y |\n")
    kinds = registered()
    assert {cid: kinds.get(cid) for cid in table} != table


def test_local_links_exist_and_page_is_short() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) < 250
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text)
    local = [link for link in links if "://" not in link]
    assert local, "the README links to the documentation"
    assert [link for link in local if not (ROOT / link).exists()] == []
