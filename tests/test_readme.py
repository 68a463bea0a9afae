"""The README's public-API examples run as doctests (kept in step with the code).

Every ``>>>`` example inside the fenced code blocks of the README section
"Public API" runs, in order, in one namespace.
"""

from __future__ import annotations

import doctest
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
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
