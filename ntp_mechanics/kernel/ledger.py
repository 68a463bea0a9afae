"""What one run says about each claim: its evidence grouped (:func:`group_by_claim`) and
its status by one rule (:func:`claim_status`); :func:`judge_run` does both for every
claim of a run, the one pass ``gate`` and ``report`` share.

The rule:

* **Theorems** record one verdict per judged case (carried by the test's outcome
  entry, ``"verdicts"``).  The verdict is
  :meth:`~ntp_mechanics.kernel.verdict.Verdict.combine` of them (any contradicts wins,
  then any inconclusive).  A failed test adds *inconclusive* (its contradicting
  verdict, if any, is already in the log); cases tried = the number of verdicts.
* **Facts** (and any claim that records no verdict) assert directly: each non-control
  test contributes consistent (passed), contradicts (failed on an assertion) or
  inconclusive (any other failure, e.g. Hypothesis ``Unsatisfiable``); cases tried =
  decided Hypothesis examples (one per plain test).
* A failed **negative control** (a test named ``*control*``) adds inconclusive: the
  check lost its power to reject a wrong prediction.
* **Conjectures**: "counterexample found" if any record says so, else "held on N
  cases" (N decided cases), else "inconclusive"; cases tried = every case drawn.
* **Failed**: a theorem or fact whose verdict contradicts, whose test failed or
  errored, or - when required - that ran no test; a conjecture whose property crashed
  (a failed test: a counterexample is an xfail unless gated).

:attr:`ClaimStatus.outcome` is the gate's word for the same status (``pass``,
``fail``, ``skipped``, ``not run``).

Example
-------
>>> ev = group_by_claim({"theorems/fact_F2_zero.py::test_x": {"outcome": "passed",
...                          "verdicts": [{"claim": "F2", "verdict": "consistent"}]},
...                      "tests/test_tpg.py::test_y": {"outcome": "failed"}},
...                     [{"claim": "F2-control", "verdict": "contradicts"}])
>>> list(ev.claims["F2"].tests), len(ev.claims["F2"].verdicts), len(ev.claims["F2"].controls)
(['theorems/fact_F2_zero.py::test_x'], 1, 1)
>>> list(ev.other_tests)
['tests/test_tpg.py::test_y']
>>> s = claim_status(ev.claims["F2"])
>>> s.status, s.failed, s.outcome
('consistent', False, 'pass')
>>> _, statuses = judge_run({"theorems/fact_F2_zero.py::test_x": {"outcome": "passed"}})
>>> statuses["F2"].status, statuses["F1"].outcome, statuses["F1"].failed
('consistent', 'not run', True)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ntp_mechanics.kernel.claims import Claim, all_claims, claim_of_file
from ntp_mechanics.kernel.verdict import Verdict

__all__ = ["ClaimEvidence", "ClaimStatus", "Evidence", "claim_status", "group_by_claim",
           "is_control", "judge_run"]

CONSISTENT, CONTRADICTS, INCONCLUSIVE = "consistent", "contradicts", "inconclusive"


@dataclass
class ClaimEvidence:
    """Everything one run says about one claim.

    ``tests`` maps the node ids of its module's tests to their outcome entries;
    ``verdicts`` are its verdict lines, ``controls`` those of its negative controls
    (claim ``"<id>-control"``); ``conjectures`` its conjecture-plugin records.
    """

    claim: Claim
    tests: dict[str, dict[str, Any]] = field(default_factory=dict)
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    controls: list[dict[str, Any]] = field(default_factory=list)
    conjectures: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Evidence:
    """:func:`group_by_claim`'s result: per claim (registry order, then claims met only
    in the run) and the tests of no claim."""

    claims: dict[str, ClaimEvidence]
    other_tests: dict[str, dict[str, Any]]


def group_by_claim(outcomes: Mapping[str, dict[str, Any]],
                   verdicts: Iterable[Mapping[str, Any]] = (),
                   conjectures: Iterable[Mapping[str, Any]] = (),
                   extra: Iterable[str | Path] = ()) -> Evidence:
    """Sort a run's evidence by claim: test outcomes by their module's file name
    (:func:`~ntp_mechanics.kernel.claims.claim_of_file`), verdict lines - those the
    outcome entries carry (``"verdicts"``), then ``verdicts`` (lines carried by no
    entry) - by their ``claim`` field (``"B-control"`` is B's control), conjecture
    records by their ``id``.  ``extra``: the user's claim folders or files run beside
    the package's.  Lines and records of claims neither declared nor run are dropped."""
    claims = {c.id: ClaimEvidence(c) for c in all_claims(extra)}
    other: dict[str, dict[str, Any]] = {}
    for nodeid, entry in sorted(outcomes.items()):
        owner = claim_of_file(nodeid)
        if owner is None:
            other[nodeid] = entry
            continue
        kind, cid = owner
        if cid not in claims:
            claims[cid] = ClaimEvidence(Claim(cid, kind, ""))
        claims[cid].tests[nodeid] = entry
    carried = [v for _, e in sorted(outcomes.items()) for v in e.get("verdicts", ())]
    for line in [*carried, *verdicts]:
        base, _, control = str(line.get("claim", "")).partition("-")
        if base in claims:
            (claims[base].controls if control else claims[base].verdicts).append(dict(line))
    for rec in conjectures:
        if rec.get("id") in claims:
            claims[str(rec["id"])].conjectures.append(dict(rec))
    return Evidence(claims, other)


@dataclass(frozen=True)
class ClaimStatus:
    """One claim's status in one run (the rule: the module docstring).

    ``verdict`` is the text of the report's cell (``consistent``, ``held on 9 cases``,
    ``counterexample found``...), ``status`` its one word (consistent / contradicts /
    inconclusive / held / counterexample); ``tests`` counts the outcomes.
    """

    verdict: str
    status: str
    failed: bool
    cases: int
    cases_detail: str
    notes: tuple[str, ...]
    tests: Mapping[str, int]

    @property
    def outcome(self) -> str:
        """The gate's word: ``not run`` (no test), ``fail``, ``pass`` or ``skipped``."""
        if not self.tests:
            return "not run"
        if self.failed:
            return "fail"
        return "pass" if self.tests.get("passed") else "skipped"


def _test_name(nodeid: str) -> str:
    return nodeid.split("::")[-1]


def is_control(nodeid: str) -> bool:
    """A negative control: a test whose name contains ``control``."""
    return "control" in _test_name(nodeid)


def _is_assertion(message: str) -> bool:
    m = message.strip()
    return (m.startswith(("AssertionError", "assert ", "Counterexample"))
            or "AssertionError" in m.split(":")[0] or "distinct failures" in m)


def claim_status(ev: ClaimEvidence, required: bool = True) -> ClaimStatus:
    """The status of one claim in one run; ``required``: a theorem or fact that ran no
    test fails (a full selection)."""
    tests = dict(Counter(e["outcome"] for e in ev.tests.values()))
    if ev.claim.kind == "conjecture":
        return _conjecture_status(ev, tests)
    return _asserted_status(ev, tests, required)


def _asserted_status(ev: ClaimEvidence, tests: dict[str, int], required: bool) -> ClaimStatus:
    lines, entries = ev.verdicts, ev.tests
    parts = [Verdict(v["verdict"]) for v in lines if v.get("verdict") in
             {x.value for x in Verdict}]
    notes: list[str] = []
    for nodeid, e in sorted(entries.items()):
        outcome, msg = e["outcome"], e.get("message", "")
        if outcome == "passed" and not lines and not is_control(nodeid):
            parts.append(Verdict.CONSISTENT)
        if outcome not in ("failed", "error"):
            continue
        what = "negative control" if is_control(nodeid) else "test"
        notes.append(f"{what} {_test_name(nodeid)} {outcome}: {msg}")
        contradicts = (outcome == "failed" and not lines and not is_control(nodeid)
                       and _is_assertion(msg))
        parts.append(Verdict.CONTRADICTS if contradicts else Verdict.INCONCLUSIVE)
    if not entries:
        notes.append("no test ran")
    verdict = Verdict.combine(parts).value
    if lines:
        counts = Counter(v["verdict"] for v in lines)
        cases = len(lines)
        detail = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    else:
        ran = [e for n, e in entries.items() if not is_control(n)
               and e["outcome"] in ("passed", "failed")]
        cases = sum(1 if e.get("examples") is None else int(e["examples"]) for e in ran)
        detail = f"Hypothesis examples and hand cases of {len(ran)} test(s)"
    bad = bool(tests.get("failed") or tests.get("error"))
    failed = verdict == CONTRADICTS or bad or (required and not entries)
    return ClaimStatus(verdict, verdict, failed, cases, detail, tuple(notes), tests)


def judge_run(outcomes: Mapping[str, dict[str, Any]],
              verdicts: Iterable[Mapping[str, Any]] = (),
              conjectures: Iterable[Mapping[str, Any]] = (),
              extra: Iterable[str | Path] = (),
              required: bool | Collection[str] = True,
              ) -> tuple[Evidence, dict[str, ClaimStatus]]:
    """A run's evidence by claim (:func:`group_by_claim`) and every claim's status
    (:func:`claim_status`).  ``required``: True (every claim), False (none) or the ids
    of the claims that must have run (those selected)."""
    evidence = group_by_claim(outcomes, verdicts, conjectures, extra)
    statuses = {cid: claim_status(ev, required=required if isinstance(required, bool)
                                  else cid in required)
                for cid, ev in evidence.claims.items()}
    return evidence, statuses


def _conjecture_status(ev: ClaimEvidence, tests: dict[str, int]) -> ClaimStatus:
    recs = ev.conjectures
    held = sum(int(r.get("cases", 0)) for r in recs)
    incon = sum(int(r.get("inconclusive", 0)) for r in recs)
    vac = sum(int(r.get("vacuous", 0)) for r in recs)
    fails = sum(int(r.get("failed_cases", 0)) for r in recs)
    statuses = {r.get("status") for r in recs}
    notes = [f"{r['test']}: {r.get('error', '')}" for r in recs if r.get("status") == "error"]
    notes += [f"counterexample saved to {', '.join(r['counterexample']['files']) or '-'}"
              for r in recs if r.get("status") == "counterexample"]
    if "counterexample" in statuses:
        verdict, status = "counterexample found", "counterexample"
    elif held and "error" not in statuses:
        verdict, status = f"held on {held} cases", "held"
    else:
        verdict, status = INCONCLUSIVE, INCONCLUSIVE
    if not recs:
        notes.append("no conjecture record (not run)")
    detail = f"{held} held, {incon} inconclusive, {vac} out of scope, {fails} failing"
    crashed = bool(tests.get("failed") or tests.get("error"))
    return ClaimStatus(verdict, status, crashed, held + incon + vac + fails, detail,
                       tuple(notes), tests)
