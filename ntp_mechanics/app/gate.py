"""The CI gate (``ntp-mechanics gate``): the claim modules under pytest, per-claim outcomes.

``ntp-mechanics gate [PATHS] [-- PYTEST ARGS]`` runs the paper's claims (the package's
own :mod:`ntp_mechanics.theorems`) plus any of the user's PATHS with the ``ci``
Hypothesis profile, writes JUnit XML (``--junitxml``) and a JSON summary of every claim
(``--summary``) and prints it as a Markdown table.  Exit status, what a CI job gates on:

* 0 - every theorem (A-E) and fact (F1-F8) test passed, and so did every other
  non-conjecture test; conjectures are reported, not gated, unless ``--gate-conjectures``;
* 1 - a theorem, fact or unit test failed or errored, a conjecture property crashed, or
  a theorem or fact ran no test at all (a gate that checks nothing must not pass);
* 2 - pytest itself could not run (usage error, collection error, nothing collected).

The pytest session itself - its options, the outcome and progress plugins - is
:mod:`ntp_mechanics.app.suite_run`, shared with ``test`` and ``report``.  Evidence
comes from two places, neither of which needs a conftest change: each test's outcome
with the verdicts its test recorded
(:class:`~ntp_mechanics.app.suite_run.OutcomePlugin`; claim ids such as
``"B-control"`` mark negative controls) and the conjecture plugin's records
(:mod:`ntp_mechanics.app.conjecture_plugin`).  Per claim, the status follows the one
rule ``report`` uses too (:func:`ntp_mechanics.kernel.ledger.claim_status`).

Example
-------
>>> summarise({"theorems/fact_F2_zero_iff_no_acyclic.py::test_x": {"outcome": "failed"}},
...           [], gate_conjectures=False)["failures"]
['theorems/fact_F2_zero_iff_no_acyclic.py::test_x']
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ntp_mechanics.app.suite_run import (
    OutcomePlugin,
    conjecture_dir,
    require_paths,
    session_args,
    suite_paths,
)
from ntp_mechanics.kernel.claims import all_claims
from ntp_mechanics.kernel.environment import GATE_ENV
from ntp_mechanics.kernel.ledger import judge_run
from ntp_mechanics.kernel.verdict_log import read_conjecture_records

__all__ = ["render", "summarise"]

def summarise(outcomes: dict[str, dict[str, Any]], verdict_lines: list[dict[str, Any]],
              gate_conjectures: bool, require_all: bool = True,
              conjectures: Sequence[dict[str, Any]] = (),
              extra: Sequence[str | Path] = ()) -> dict[str, Any]:
    """Per-claim outcomes, verdict counts and status (the ledger's
    :func:`~ntp_mechanics.kernel.ledger.judge_run`, the pass ``report`` uses too); the
    failures that fail the gate.  ``outcomes`` carry their tests' verdicts;
    ``verdict_lines`` are any carried by no test.  ``extra``: the user's claim modules or
    folders run beside the package's.

    With ``require_all`` a theorem or fact that ran no test (module missing, or all
    deselected) fails the gate too: a gate that checks nothing must not pass.
    """
    evidence, statuses = judge_run(outcomes, verdict_lines, conjectures, extra,
                                   required=require_all)
    per_claim: dict[str, dict[str, Any]] = {}
    failures: list[str] = []
    for cid, ev in evidence.claims.items():
        st = statuses[cid]
        # a conjecture's counterexample is an xfail unless gated, so a failed conjecture
        # test here is a crash or a failed negative control: always a failure
        failures += [n for n, e in ev.tests.items() if e["outcome"] in ("failed", "error")]
        per_claim[cid] = {
            "kind": ev.claim.kind, "module": ev.claim.module, "statement": ev.claim.statement,
            "tests": dict(st.tests),
            "seconds": round(sum(float(e.get("duration", 0.0)) for e in ev.tests.values()), 2),
            "verdicts": dict(Counter(v.get("verdict", "?") for v in ev.verdicts)),
            "control_verdicts": dict(Counter(v.get("verdict", "?") for v in ev.controls)),
            "status": st.outcome,
            "verdict": st.status,
            "gated": ev.claim.kind != "conjecture" or gate_conjectures,
        }
    other = [n for n, e in evidence.other_tests.items() if e["outcome"] in ("failed", "error")]
    empty = [cid for cid, row in per_claim.items() if require_all
             and row["kind"] in ("theorem", "fact") and not row["tests"].get("passed")]
    return {"claims": per_claim, "failures": sorted(failures) + other, "not_run": empty}


# -- the gate command ------------------------------------------------------------------------
HELP = ("the CI gate: the paper's claims (and PATHS) under pytest; JUnit XML, a JSON claim "
        "summary, a Markdown table; exit 1 on a theorem, fact or test failure")


def render(summary: dict[str, Any]) -> str:
    """A Markdown table of the summary (for ``$GITHUB_STEP_SUMMARY``)."""
    lines = [f"## Theory gate: {'PASS' if summary['passed'] else 'FAIL'} "
             f"(profile `{summary['profile']}`, {summary['seconds']:.0f} s)", "",
             "| claim | kind | status | tests | verdicts | negative controls |",
             "|---|---|---|---|---|---|"]
    for cid, row in summary["claims"].items():
        tests = ", ".join(f"{k} {v}" for k, v in sorted(row["tests"].items())) or "-"
        verdicts = ", ".join(f"{k} {v}" for k, v in sorted(row["verdicts"].items())) or "-"
        controls = ", ".join(f"{k} {v}" for k, v in sorted(row["control_verdicts"].items()))
        lines.append(f"| {cid} | {row['kind']} | {row['status']} | {tests} | {verdicts} | "
                     f"{controls or '-'} |")
    if summary["failures"]:
        lines += ["", "Failures:", *[f"- `{f}`" for f in summary["failures"]]]
    return "\n".join(lines)


def add_arguments(p: Any) -> None:
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="your own claim, conjecture or test files and folders, run beside "
                        "the paper's claims; pytest arguments go after --")
    p.add_argument("--profile", default="ci", help="Hypothesis profile (default ci)")
    p.add_argument("--junitxml", type=Path, default=Path("reports/theory-junit.xml"))
    p.add_argument("--summary", type=Path, default=Path("reports/theory-summary.json"))
    p.add_argument("--include-slow", action="store_true", help="also run @pytest.mark.slow")
    p.add_argument("--gate-conjectures", action="store_true",
                   help="a conjecture counterexample fails the gate too")
    p.add_argument("--render", type=Path, metavar="SUMMARY.json",
                   help="print a summary file as Markdown and exit")


def run(args: Any) -> int:
    if args.render:
        print(render(json.loads(args.render.read_text())))
        return 0
    import time

    import pytest

    require_paths(args.paths)
    all_claims(args.paths)  # a bad CLAIM declaration: exit 2 now, not after the run
    args.junitxml.parent.mkdir(parents=True, exist_ok=True)
    args.summary.parent.mkdir(parents=True, exist_ok=True)
    if args.gate_conjectures:
        os.environ[GATE_ENV] = "1"
    paths = suite_paths(args.paths)
    pytest_args = [*session_args(paths, args.profile, args.include_slow),
                   f"--junitxml={args.junitxml}"]
    plugin = OutcomePlugin()
    t0 = time.perf_counter()
    rc = int(pytest.main(pytest_args + list(args.pytest_args) + paths, plugins=[plugin]))
    seconds = time.perf_counter() - t0
    records = [r for r in read_conjecture_records(conjecture_dir(pytest_args))
               if r.get("nodeid") in plugin.outcomes]  # this run's, not older ones
    summary = summarise(plugin.outcomes, [], args.gate_conjectures,
                        conjectures=records, extra=args.paths)
    broken = rc in (2, 3, 4, 5)  # interrupted, internal error, usage error, nothing collected
    passed = not broken and not summary["failures"] and not summary["not_run"]
    summary |= {"profile": args.profile, "pytest_exit_code": rc, "passed": passed,
                "seconds": round(seconds, 1), "junitxml": str(args.junitxml)}
    args.summary.write_text(json.dumps(summary, indent=1) + "\n")
    print(render(summary))
    print(f"\ntheory gate: wrote {args.summary} and {args.junitxml}", file=sys.stderr)
    if broken:
        return 2
    return 0 if passed else 1
