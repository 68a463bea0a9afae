"""The claim modules under pytest: the session's options, its outcomes, its evidence.

One pytest session over claim modules, as ``gate``, ``test`` and ``report`` run it:

* :func:`session_args` - the options every command runs the modules with (the package's
  own configuration, the Hypothesis profile as ``--hypothesis-profile``, ``-m "not
  slow"``); :func:`suite_paths` - the package's claim modules
  (:func:`~ntp_mechanics.kernel.claims.claim_modules`) and the user's PATHS;
* :class:`OutcomePlugin` - every test's outcome, markers, decided Hypothesis examples
  (:func:`hypothesis_examples`), first error line and verdicts (those the package's
  plugin attached to its reports, :mod:`ntp_mechanics.app.plugin`), in the controlling
  process (so under pytest-xdist too); :class:`ProgressPlugin` - ``NTP-PROGRESS <done>
  <total>`` lines on stderr;
* :func:`run_claims` - ``report``'s run: ``python -m ntp_mechanics.app.suite_run
  OUTCOMES.json [PYTEST ARGS...]`` in a subprocess (keeping pytest's module caches out
  of the report's process), read back as a :class:`ClaimsRun`: outcomes (verdicts
  included) and conjecture records.

Example
-------
>>> hypothesis_examples("  - during generate phase (0.50 seconds):\\n"
...                     "    - 9 passing, 0 failing, and 2 invalid test cases")
9
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ntp_mechanics.kernel.claims import claim_modules
from ntp_mechanics.kernel.environment import DIR_ENV

__all__ = [
    "ClaimsRun",
    "OutcomePlugin",
    "ProgressPlugin",
    "conjecture_dir",
    "hypothesis_examples",
    "pytest_command",
    "require_paths",
    "run_claims",
    "run_pytest",
    "session_args",
    "suite_paths",
]


class Selection(Protocol):
    """What :func:`run_claims` runs (a :class:`~ntp_mechanics.app.report.ReportPlan`)."""

    hypothesis_profile: str
    claim_ids: tuple[str, ...] | None
    claim_paths: tuple[str, ...]
    include_slow: bool
    jobs: int


PROGRESS_PREFIX = "NTP-PROGRESS"
# the report attribute holding a test phase's verdicts, set by the package's plugin (not
# user_properties: those would also land in the JUnit XML file as <property> elements)
VERDICTS = "ntp_verdicts"
_HYPOTHESIS_STATS = "_hypothesis_stats"  # where Hypothesis's pytest plugin leaves statistics
_PHASE = re.compile(r"during (\w+) phase")
_CASES = re.compile(r"(\d+) passing, (\d+) failing, and (\d+) invalid test cases")


class OutcomePlugin:
    """Collects ``(nodeid, outcome, markers)`` for every test (controller side).

    Each entry: ``outcome`` (passed / failed / error / skipped), ``duration``,
    ``markers``, ``examples`` (decided Hypothesis examples, None for a plain test), for
    a failure ``message`` (the first line of the error) and, for a test that recorded
    any, ``verdicts`` (its verdict lines, :func:`ntp_mechanics.kernel.verdict.record`).
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
        verdicts = getattr(report, "__dict__", {}).get(VERDICTS)
        if verdicts:
            entry.setdefault("verdicts", []).extend(verdicts)

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


def conjecture_dir(pytest_args: Sequence[str]) -> Path:
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


# -- running the claim modules -------------------------------------------------------------
@dataclass(frozen=True)
class ClaimsRun:
    """Raw evidence of one pytest run over the claim modules: the tests' outcomes (their
    verdicts included, :class:`OutcomePlugin`) and the conjecture records.

    ``verdicts``: verdict lines carried by no test's entry (a log kept apart, a
    hand-made run); a run of :func:`run_claims` has none.
    """

    outcomes: dict[str, dict[str, Any]]
    verdicts: list[dict[str, Any]]
    conjectures: list[dict[str, Any]]
    exit_code: int
    seconds: float
    command: list[str]


def _has_xdist() -> bool:
    import importlib.util

    return importlib.util.find_spec("xdist") is not None


def pytest_command(plan: Selection, outcomes: Path, conj_dir: Path) -> list[str]:
    """``python -m ntp_mechanics.app.suite_run OUTCOMES pytest-args...`` for the selected claims
    (:func:`~ntp_mechanics.kernel.claims.claim_modules`, as the gate selects them)."""
    modules = claim_modules(plan.claim_ids, plan.claim_paths)
    cmd = [sys.executable, "-m", "ntp_mechanics.app.suite_run", str(outcomes), "-q",
           *session_args(modules, plan.hypothesis_profile, plan.include_slow),
           "--conjecture-dir", str(conj_dir)]
    if plan.jobs > 1 and _has_xdist() and len(modules) > 1:
        cmd += ["-n", str(plan.jobs)]
    return cmd + [str(m) for m in modules]


def run_claims(plan: Selection, out: Path, progress: bool | None = None) -> ClaimsRun:
    """Run the claim modules in a subprocess, with a progress bar over tests; pytest's
    output goes to ``out/pytest.log``, conjecture records to ``out/conjectures/``."""
    from tqdm import tqdm

    from ntp_mechanics.kernel.environment import GATE_ENV, PROFILE_ENV
    from ntp_mechanics.kernel.verdict_log import read_conjecture_records

    # absolute: pytest runs with cwd=out, where a relative --out would name out/out/...
    conj_dir = out.resolve() / "conjectures"
    (conj_dir / "conjectures.json").unlink(missing_ok=True)  # never merge stale records
    with tempfile.TemporaryDirectory(prefix="ntp-report-") as tmp:
        outcomes_path = Path(tmp) / "outcomes.json"
        cmd = pytest_command(plan, outcomes_path, conj_dir)
        # the Hypothesis profile travels as --hypothesis-profile (session_args) only
        env = dict(os.environ)
        env.pop(PROFILE_ENV, None)
        env.pop(GATE_ENV, None)  # the report records conjectures, never gates
        # tiny tensors: with one xdist worker per core, torch's intra-op threads only
        # oversubscribe the cores (the 100x slowdown once seen here was subnormal
        # arithmetic, fixed in ntp_mechanics.solvers.training)
        env.setdefault("OMP_NUM_THREADS", "1")
        t0 = time.perf_counter()
        with open(out / "pytest.log", "w", encoding="utf-8") as sink, \
                tqdm(desc="claims (pytest)", unit="test", disable=_disable(progress)) as bar:
            proc = subprocess.Popen(cmd, cwd=out, env=env, stdout=sink,
                                    stderr=subprocess.PIPE, text=True)
            assert proc.stderr is not None
            for line in proc.stderr:
                if line.startswith(PROGRESS_PREFIX):
                    done, total = (int(x) for x in line.split()[1:3])
                    bar.total = max(total, done)
                    bar.update(done - bar.n)
                else:
                    sink.write(line)
            rc = proc.wait()
        seconds = time.perf_counter() - t0
        raw = json.loads(outcomes_path.read_text()) if outcomes_path.exists() else {}
    conj = read_conjecture_records(conj_dir)
    return ClaimsRun(raw.get("outcomes", {}), [], conj, rc, seconds, cmd)


def _disable(progress: bool | None) -> bool | None:
    """tqdm's ``disable``: None (the default) hides the bar when stderr is not a terminal."""
    return None if progress is None else not progress



if __name__ == "__main__":
    if len(sys.argv) < 2:
        print("usage: python -m ntp_mechanics.app.suite_run OUTCOMES.json [PYTEST ARGS...]",
              file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(run_pytest(Path(sys.argv[1]), sys.argv[2:]))
