"""Running the claim modules under pytest and collecting per-claim outcomes.

Shared by the CI gate script (``ci/theory_gate.py``) and ``ntp-mechanics report``.
A *claim module* is a pytest module under ``theorems/`` named after its claim id
(``claim_A_*.py``, ``fact_F1_*.py``, ``conjecture_C1_*.py``; THEORY.md sections 4-6).
Evidence comes from three places, none of which needs a conftest change:

* test outcomes and markers, collected by :class:`OutcomePlugin` passed to
  ``pytest.main`` (it runs in the controlling process, so it sees every report under
  pytest-xdist too); each entry also keeps the number of decided Hypothesis examples
  (:func:`hypothesis_examples`) and, for a failure, the first line of its error;
* the verdict log: claim modules call :func:`ntp_mechanics.verdict.record`, which
  appends one JSON line per verdict to ``$NTP_VERDICT_LOG`` (:func:`read_verdicts`);
  claim ids such as ``"B-control"`` mark negative controls;
* the conjecture plugin's ``conjectures.json`` (:mod:`ntp_mechanics.conjectures`).

``python -m ntp_mechanics.gate OUTCOMES.json [PYTEST ARGS...]`` runs ``pytest.main``
with these plugins and writes ``{"exit_code", "outcomes"}`` to ``OUTCOMES.json``; it
prints ``NTP-PROGRESS <done> <total>`` lines on stderr as tests finish, so a parent
process can draw a progress bar (``ntp-mechanics report`` runs the suite this way, in
a subprocess, to keep pytest's module caches out of its own process).

Example
-------
>>> claim_of("theorems/fact_F3_transitive_priority.py::test_transitive_margins")
('F3', 'fact')
>>> claim_of("tests/test_tpg.py::test_sccs") is None
True
>>> hypothesis_examples("  - during generate phase (0.50 seconds):\\n"
...                     "    - 9 passing, 0 failing, and 2 invalid test cases")
9
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

__all__ = [
    "KINDS",
    "MODULE_ID",
    "OutcomePlugin",
    "ProgressPlugin",
    "claim_of",
    "hypothesis_examples",
    "read_verdicts",
    "run_pytest",
    "summarise",
]

MODULE_ID = re.compile(r"(?:^|[/.])(claim|fact|conjecture)_([A-Z][0-9]*)_")
KINDS = {"claim": "theorem", "fact": "fact", "conjecture": "conjecture"}
PROGRESS_PREFIX = "NTP-PROGRESS"
_HYPOTHESIS_STATS = "_hypothesis_stats"  # where Hypothesis's pytest plugin leaves statistics
_PHASE = re.compile(r"during (\w+) phase")
_CASES = re.compile(r"(\d+) passing, (\d+) failing, and (\d+) invalid test cases")


class OutcomePlugin:
    """Collects ``(nodeid, outcome, markers)`` for every test (controller side).

    Each entry: ``outcome`` (passed / failed / error / skipped), ``duration``,
    ``markers``, ``examples`` (decided Hypothesis examples, None for a plain test) and,
    for a failure, ``message`` (the first line of the error).
    """

    def __init__(self) -> None:
        self.outcomes: dict[str, dict[str, Any]] = {}

    def pytest_runtest_logreport(self, report: Any) -> None:
        entry = self.outcomes.setdefault(report.nodeid, {"outcome": "passed", "duration": 0.0})
        entry["duration"] += float(getattr(report, "duration", 0.0))
        entry["markers"] = sorted(k for k in ("theorem", "fact", "conjecture", "slow")
                                  if k in getattr(report, "keywords", {}))
        if report.failed:
            entry["outcome"] = "error" if report.when != "call" else "failed"
            entry.setdefault("message", _failure_message(report))
        elif report.skipped and entry["outcome"] == "passed":
            entry["outcome"] = "skipped"
        stats = getattr(report, "__dict__", {}).get(_HYPOTHESIS_STATS)
        if stats:
            entry["examples"] = hypothesis_examples(str(stats))
        else:
            entry.setdefault("examples", None)

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.outcomes[report.nodeid or "<collection>"] = {
                "outcome": "error", "duration": 0.0, "markers": [],
                "message": _failure_message(report)}


class ProgressPlugin:
    """Prints ``NTP-PROGRESS <done> <total>`` on stderr after every finished test."""

    def __init__(self) -> None:
        self.total = 0
        self.done = 0

    def pytest_collection_finish(self, session: Any) -> None:
        self.total = max(self.total, len(session.items))
        self._emit()

    def _emit(self) -> None:
        print(f"{PROGRESS_PREFIX} {self.done} {self.total}", file=sys.stderr, flush=True)

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.when == "teardown":
            self.done += 1
            self._emit()


def _xdist_collected(plugin: ProgressPlugin) -> object:
    """A hook object for pytest-xdist's controller: the number of tests collected."""
    import pytest

    class _Xdist:
        @pytest.hookimpl(optionalhook=True)
        def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
            plugin.total = max(plugin.total, len(ids))
            plugin._emit()

    return _Xdist()


def _failure_message(report: Any) -> str:
    crash = getattr(getattr(report, "longrepr", None), "reprcrash", None)
    text = getattr(crash, "message", None) or str(getattr(report, "longrepr", "") or "")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[0][:300] if lines else ""


def hypothesis_examples(stats: str) -> int:
    """Decided examples (passing + failing) in Hypothesis's statistics text, summed over
    every phase but shrinking; invalid (rejected or filtered) examples are not counted."""
    total, phase = 0, ""
    for line in stats.splitlines():
        m = _PHASE.search(line)
        if m:
            phase = m.group(1)
            continue
        m = _CASES.search(line)
        if m and phase != "shrink":
            total += int(m.group(1)) + int(m.group(2))
    return total


def claim_of(nodeid: str) -> tuple[str, str] | None:
    """``(claim id, kind)`` of a test from its module name, e.g. ``claim_A_...``."""
    m = MODULE_ID.search(nodeid.split("::")[0])
    return (m.group(2), KINDS[m.group(1)]) if m else None


def summarise(outcomes: dict[str, dict[str, Any]], verdict_lines: list[dict[str, Any]],
              gate_conjectures: bool, require_all: bool = True) -> dict[str, Any]:
    """Per-claim outcomes and verdict counts; the failures that fail the gate.

    With ``require_all`` a theorem or fact that ran no test (module missing, or all
    deselected) fails the gate too: a gate that checks nothing must not pass.
    """
    from ntp_mechanics.claims import all_claims

    per_claim: dict[str, dict[str, Any]] = {
        c.id: {"kind": c.kind, "module": c.module, "statement": c.statement,
               "tests": Counter(), "seconds": 0.0, "verdicts": Counter(),
               "control_verdicts": Counter()}
        for c in all_claims()
    }
    failures, other_failures = [], []
    for nodeid, entry in sorted(outcomes.items()):
        owner = claim_of(nodeid)
        bad = entry["outcome"] in ("failed", "error")
        if owner is None:
            if bad:
                other_failures.append(nodeid)
            continue
        cid, kind = owner
        row = per_claim.setdefault(cid, {"kind": kind, "module": None, "statement": "",
                                         "tests": Counter(), "seconds": 0.0,
                                         "verdicts": Counter(), "control_verdicts": Counter()})
        row["tests"][entry["outcome"]] += 1
        row["seconds"] += entry["duration"]
        # a conjecture's counterexample is an xfail unless gated, so a failed conjecture
        # test here is a crash or a failed negative control: always a failure
        if bad:
            failures.append(nodeid)
    for line in verdict_lines:
        base, _, control = str(line.get("claim", "")).partition("-")
        if base in per_claim:
            key = "control_verdicts" if control else "verdicts"
            per_claim[base][key][line.get("verdict", "?")] += 1
    empty = [cid for cid, row in per_claim.items()
             if require_all and row["kind"] in ("theorem", "fact") and not row["tests"]["passed"]]
    for row in per_claim.values():
        t = row["tests"]
        row["status"] = ("not run" if not t else "fail" if t["failed"] + t["error"]
                         else "pass" if t["passed"] else "skipped")
        row["gated"] = row["kind"] != "conjecture" or gate_conjectures
        for key in ("tests", "verdicts", "control_verdicts"):
            row[key] = dict(row[key])
        row["seconds"] = round(row["seconds"], 2)
    return {"claims": per_claim, "failures": failures + other_failures,
            "not_run": empty}


def read_verdicts(path: Path) -> list[dict[str, Any]]:
    """The verdict log's JSON lines (a torn line from a killed worker is skipped)."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a torn line from a killed worker: skip, never crash the gate
    return out


def run_pytest(outcomes_path: Path, pytest_args: list[str]) -> int:
    """``pytest.main(pytest_args)`` with :class:`OutcomePlugin` and progress lines;
    writes ``{"exit_code", "outcomes"}`` to ``outcomes_path``; returns the exit code."""
    import pytest

    outcomes, progress = OutcomePlugin(), ProgressPlugin()
    plugins = [outcomes, progress, _xdist_collected(progress)]
    rc = int(pytest.main(pytest_args, plugins=plugins))
    outcomes_path.write_text(json.dumps({"exit_code": rc, "outcomes": outcomes.outcomes},
                                        default=str) + "\n", encoding="utf-8")
    return rc


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print("usage: python -m ntp_mechanics.gate OUTCOMES.json [PYTEST ARGS...]",
              file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(run_pytest(Path(sys.argv[1]), sys.argv[2:]))
