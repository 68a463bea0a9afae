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

The same machinery serves ``ntp-mechanics report``.
A *claim module* is a pytest module under ``theorems/`` named after its claim id
(``claim_A_*.py``, ``fact_F1_*.py``, ``conjecture_C1_*.py``; THEORY.md sections 4-6).
Evidence comes from three places, none of which needs a conftest change:

* test outcomes and markers, collected by :class:`OutcomePlugin` passed to
  ``pytest.main`` (it runs in the controlling process, so it sees every report under
  pytest-xdist too); each entry also keeps the number of decided Hypothesis examples
  (:func:`hypothesis_examples`) and, for a failure, the first line of its error;
* the verdict log: claim modules call :func:`ntp_mechanics.kernel.verdict.record`, which
  appends one JSON line per verdict to ``$NTP_VERDICT_LOG`` (format and reader in
  :mod:`ntp_mechanics.kernel.verdict_log`); claim ids such as ``"B-control"``
  mark negative controls;
* the conjecture plugin's ``conjectures.json`` (:mod:`ntp_mechanics.app.conjecture_plugin`).

``python -m ntp_mechanics.app.gate OUTCOMES.json [PYTEST ARGS...]`` runs ``pytest.main``
with these plugins and writes ``{"exit_code", "outcomes"}`` to ``OUTCOMES.json``; it
prints ``NTP-PROGRESS <done> <total>`` lines on stderr as tests finish, so a parent
process can draw a progress bar (``ntp-mechanics report`` runs the suite this way, in
a subprocess, to keep pytest's module caches out of its own process).

Example
-------
>>> summarise({"theorems/fact_F2_zero_iff_no_acyclic.py::test_x": {"outcome": "failed"}},
...           [], gate_conjectures=False)["failures"]
['theorems/fact_F2_zero_iff_no_acyclic.py::test_x']
>>> hypothesis_examples("  - during generate phase (0.50 seconds):\\n"
...                     "    - 9 passing, 0 failing, and 2 invalid test cases")
9
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ntp_mechanics.kernel.claims import claim_modules
from ntp_mechanics.kernel.environment import DIR_ENV, GATE_ENV, VERDICT_LOG_ENV
from ntp_mechanics.kernel.ledger import claim_status, group_by_claim
from ntp_mechanics.kernel.verdict_log import read_conjecture_records, read_verdicts

__all__ = [
    "OutcomePlugin",
    "ProgressPlugin",
    "hypothesis_examples",
    "run_pytest",
    "summarise",
]

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


def summarise(outcomes: dict[str, dict[str, Any]], verdict_lines: list[dict[str, Any]],
              gate_conjectures: bool, require_all: bool = True,
              conjectures: Sequence[dict[str, Any]] = (),
              extra: Sequence[str | Path] = ()) -> dict[str, Any]:
    """Per-claim outcomes, verdict counts and status (the ledger's :func:`group_by_claim`
    and :func:`claim_status`, the rule ``report`` uses too); the failures that fail the
    gate.  ``extra``: the user's claim modules or folders run beside the package's.

    With ``require_all`` a theorem or fact that ran no test (module missing, or all
    deselected) fails the gate too: a gate that checks nothing must not pass.
    """
    evidence = group_by_claim(outcomes, verdict_lines, conjectures, extra)
    per_claim: dict[str, dict[str, Any]] = {}
    failures: list[str] = []
    for cid, ev in evidence.claims.items():
        st = claim_status(ev, required=require_all)
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


def isolated_pytest_args(paths: Sequence[Path]) -> list[str]:
    """pytest options that make a run of ``paths`` independent of the current folder's
    configuration: the package's own ``pytest.ini``, no cache, and as root the folder
    that holds them all (test ids are relative to it, so they name their modules).
    Conjecture records go to ``$NTP_CONJECTURE_DIR`` or ``./.ntp-mechanics``, never
    under that root (which may be far above the current folder)."""
    from ntp_mechanics.kernel.conjectures import DEFAULT_DIR

    ini = Path(__file__).with_name("pytest.ini")
    folders = [str(Path(p).resolve().parent if Path(p).is_file() else Path(p).resolve())
               for p in paths]
    root = os.path.commonpath(folders) if folders else os.getcwd()
    conj = os.environ.get(DIR_ENV) or str(Path.cwd() / DEFAULT_DIR)
    return ["-c", str(ini), "--rootdir", root, "-p", "no:cacheprovider", "--conjecture-dir", conj]


def session_args(paths: Sequence[str | Path], profile: str, include_slow: bool) -> list[str]:
    """The pytest options every command runs ``paths`` with: the isolated configuration
    (:func:`isolated_pytest_args`), the Hypothesis ``profile`` and, unless
    ``include_slow``, ``-m "not slow"``."""
    out = [*isolated_pytest_args([Path(p) for p in paths]), f"--hypothesis-profile={profile}"]
    return out if include_slow else [*out, "-m", "not slow"]


def _conjecture_dir(pytest_args: Sequence[str]) -> Path:
    """The ``--conjecture-dir`` of a command line built by :func:`session_args`."""
    return Path(pytest_args[list(pytest_args).index("--conjecture-dir") + 1])


def require_paths(paths: Sequence[str]) -> None:
    """Raise FileNotFoundError (exit 2 in the CLI) for a PATH that does not exist."""
    for path in paths:
        if not Path(path).exists():
            raise FileNotFoundError(f"no such file or folder: {path}")


def suite_paths(paths: Sequence[str] = ()) -> list[str]:
    """The package's claim modules (every declared claim,
    :func:`~ntp_mechanics.kernel.claims.claim_modules`, as ``report`` selects them)
    followed by ``paths``."""
    return [*(str(m) for m in claim_modules()), *paths]


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
    import tempfile
    import time

    import pytest

    require_paths(args.paths)
    args.junitxml.parent.mkdir(parents=True, exist_ok=True)
    args.summary.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="ntp-verdicts-", suffix=".jsonl")
    os.close(fd)
    log = Path(name)
    os.environ[VERDICT_LOG_ENV] = str(log)
    if args.gate_conjectures:
        os.environ[GATE_ENV] = "1"
    paths = suite_paths(args.paths)
    pytest_args = [*session_args(paths, args.profile, args.include_slow),
                   f"--junitxml={args.junitxml}"]
    plugin = OutcomePlugin()
    t0 = time.perf_counter()
    rc = int(pytest.main(pytest_args + list(args.pytest_args) + paths, plugins=[plugin]))
    seconds = time.perf_counter() - t0
    records = [r for r in read_conjecture_records(_conjecture_dir(pytest_args))
               if r.get("nodeid") in plugin.outcomes]  # this run's, not older ones
    summary = summarise(plugin.outcomes, read_verdicts(log), args.gate_conjectures,
                        conjectures=records, extra=args.paths)
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
    if len(sys.argv) < 2:
        print("usage: python -m ntp_mechanics.app.gate OUTCOMES.json [PYTEST ARGS...]",
              file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(run_pytest(Path(sys.argv[1]), sys.argv[2:]))
