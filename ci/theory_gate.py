#!/usr/bin/env python
"""The theory gate: run the verification suite and fail on any theorem or fact failure.

Runs pytest in-process with the ``ci`` Hypothesis profile (10 derandomised examples
per property), writes JUnit XML (``--junitxml``) and a JSON summary of every claim
(``--summary``): its kind and module (from :mod:`ntp_mechanics.claims`), the
outcomes of its tests, and the counts of verdicts (consistent / inconclusive /
contradicts) that its property tests recorded - plus, separately, the verdicts of its
negative controls, which must be *contradicts*.

Exit status (what a CI job gates on):

* 0 - every theorem (A-E) and fact (F1-F8) test passed, and so did every other
  non-conjecture test; conjectures (C1-C3) are reported, not gated, unless
  ``--gate-conjectures``;
* 1 - a theorem, fact or unit test failed or errored, or (on a full run) a
  theorem/fact claim passed no test at all (a gate that checks nothing must not pass);
* 2 - pytest itself could not run (usage error, collection error, nothing collected).

Verdicts are collected without touching any conftest: the claim modules call
:func:`ntp_mechanics.verdict.record`, which appends one JSON line per verdict to the
file named by ``$NTP_VERDICT_LOG`` (set here; safe under pytest-xdist), and a small
plugin object passed to ``pytest.main`` records each test's outcome and markers.

Usage::

    python ci/theory_gate.py                       # whole suite, ci profile, not slow
    python ci/theory_gate.py -- -n 2 theorems/     # extra pytest arguments after --
    python ci/theory_gate.py --render reports/theory-summary.json   # Markdown table
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# The reusable parts (outcome plugin, claim ids, per-claim summary, the verdict log)
# live in ntp_mechanics.gate, shared with `ntp-mechanics report`.
from ntp_mechanics.gate import (
    KINDS,
    MODULE_ID,
    OutcomePlugin,
    claim_of,
    read_verdicts,
    summarise,
)

ROOT = Path(__file__).resolve().parent.parent
__all__ = ["KINDS", "MODULE_ID", "OutcomePlugin", "claim_of", "main", "read_verdicts",
           "render", "summarise"]


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


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="ci", help="Hypothesis profile (default ci)")
    p.add_argument("--junitxml", type=Path, default=Path("reports/theory-junit.xml"))
    p.add_argument("--summary", type=Path, default=Path("reports/theory-summary.json"))
    p.add_argument("--include-slow", action="store_true", help="also run @pytest.mark.slow")
    p.add_argument("--gate-conjectures", action="store_true",
                   help="fail on conjecture (C1-C3) failures too")
    p.add_argument("--render", type=Path, metavar="SUMMARY.json",
                   help="print a summary file as Markdown and exit")
    args = p.parse_args(argv)
    if args.render:
        print(render(json.loads(args.render.read_text())))
        return 0

    import pytest

    args.junitxml.parent.mkdir(parents=True, exist_ok=True)
    args.summary.parent.mkdir(parents=True, exist_ok=True)
    log = Path(tempfile.mkstemp(prefix="ntp-verdicts-", suffix=".jsonl")[1])
    os.environ["NTP_VERDICT_LOG"] = str(log)
    os.environ["NTP_HYPOTHESIS_PROFILE"] = args.profile
    pytest_args = [f"--hypothesis-profile={args.profile}", f"--junitxml={args.junitxml}",
                   "-p", "no:cacheprovider", "--rootdir", str(ROOT), "-c",
                   str(ROOT / "pyproject.toml")]
    if not args.include_slow:
        pytest_args += ["-m", "not slow"]
    if args.gate_conjectures:  # read by ntp_mechanics.conjectures (no option to register)
        os.environ["NTP_GATE_CONJECTURES"] = "1"
    plugin = OutcomePlugin()
    t0 = time.perf_counter()
    rc = int(pytest.main(pytest_args + extra, plugins=[plugin]))
    seconds = time.perf_counter() - t0
    # restricting the run to some paths (extra positional arguments) is deliberate
    require_all = not any(not a.startswith("-") for a in extra)
    summary = summarise(plugin.outcomes, read_verdicts(log), args.gate_conjectures, require_all)
    log.unlink(missing_ok=True)
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


if __name__ == "__main__":
    raise SystemExit(main())
