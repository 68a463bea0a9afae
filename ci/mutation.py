#!/usr/bin/env python3
"""Mutation testing of the verification suite: would the tests catch a realistic bug?

A *mutant* is one realistic bug (a reversed edge, a wrong margin, a dropped term, a
flipped verdict rule, a loosened tolerance, a generator that widens its range...)
written as an exact snippet of a source file and its replacement.  The catalogue
(``ci/mutants.py``) lists each with its area, a short description and the targeted
pytest selection that should fail under it.  This script applies the mutants one at a
time *in place* (the original bytes are restored in a ``finally`` block, and a backup
under ``.mutation-backup/`` restores a file left mutated by a killed run), runs the
selection with the ``mutation`` Hypothesis profile (``ci`` without shrinking) and a
per-mutant timeout, and reports:

* KILLED - the selection failed (a timeout or a collection error counts as killed);
* SURVIVED - the selection passed: a hole in the suite, unless the catalogue explains
  the mutant as ``equivalent`` (it cannot change any observable result);
* STALE - the snippet is not found exactly once: the catalogue is out of date.

It prints the kill rate per area (killed / all mutants) and the mutation score
(killed / mutants not explained as equivalent), lists every survivor, and exits
non-zero on a stale mutant, an unexplained survivor or a failing baseline.  Only the
standard library and the project's own virtual environment are used.

Usage::

    .venv/bin/python ci/mutation.py                 # the whole catalogue
    .venv/bin/python ci/mutation.py --area kernel   # one area
    .venv/bin/python ci/mutation.py --only fw-gap-sign conic-log-m
    .venv/bin/python ci/mutation.py --list          # the catalogue, nothing run
    .venv/bin/python ci/mutation.py --check         # snippets present exactly once
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BACKUP = ROOT / ".mutation-backup"
DEFAULT_TIMEOUT = 300  # seconds per mutant (the slowest selection takes about a minute)
PYTEST = ["-q", "-x", "-p", "no:cacheprovider", "--hypothesis-profile=mutation", "--no-header"]


@dataclass(frozen=True)
class Mutant:
    """One realistic bug: replace ``original`` (exactly once in ``file``) by ``replacement``."""

    id: str
    area: str
    file: str
    original: str
    replacement: str
    description: str
    tests: tuple[str, ...]
    equivalent: str = ""


@dataclass(frozen=True)
class Outcome:
    mutant: Mutant
    status: str  # KILLED, SURVIVED, STALE
    seconds: float
    detail: str = ""


def load_catalogue(path: Path = ROOT / "ci" / "mutants.py") -> list[Mutant]:
    """The mutants of ``ci/mutants.py`` (a list of dicts named ``MUTANTS``)."""
    spec = importlib.util.spec_from_file_location("ntp_mutants", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = []
    for entry in module.MUTANTS:
        entry = dict(entry)
        entry["tests"] = tuple(entry["tests"])
        out.append(Mutant(**entry))
    ids = Counter(m.id for m in out)
    dup = [i for i, n in ids.items() if n > 1]
    if dup:
        raise ValueError(f"duplicate mutant ids: {dup}")
    return out


def occurrences(m: Mutant) -> int:
    path = ROOT / m.file
    return path.read_text(encoding="utf-8").count(m.original) if path.exists() else 0


# -- applying a mutant safely -------------------------------------------------------------
def restore_leftovers() -> list[str]:
    """Restore files a previous, interrupted run left mutated (from ``.mutation-backup``)."""
    restored = []
    if BACKUP.exists():
        for saved in BACKUP.rglob("*"):
            if saved.is_file():
                target = ROOT / saved.relative_to(BACKUP)
                target.write_bytes(saved.read_bytes())
                restored.append(str(target.relative_to(ROOT)))
        shutil.rmtree(BACKUP)
    return restored


class Applied:
    """Context manager: the mutant is in the file inside the block, never after it."""

    def __init__(self, m: Mutant) -> None:
        self.path = ROOT / m.file
        self.mutant = m
        self.saved = BACKUP / m.file

    def __enter__(self) -> Applied:
        self.original = self.path.read_bytes()
        self.saved.parent.mkdir(parents=True, exist_ok=True)
        self.saved.write_bytes(self.original)
        text = self.original.decode("utf-8")
        self.path.write_text(text.replace(self.mutant.original, self.mutant.replacement, 1),
                             encoding="utf-8")
        return self

    def __exit__(self, *exc: object) -> None:
        self.path.write_bytes(self.original)
        shutil.rmtree(BACKUP, ignore_errors=True)


def _run_pytest(tests: tuple[str, ...], timeout: float) -> tuple[int | None, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONDONTWRITEBYTECODE="1", NTP_HYPOTHESIS_PROFILE="mutation")
    env.pop("NTP_VERDICT_LOG", None)
    cmd = [sys.executable, "-m", "pytest", *PYTEST, *tests]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        return proc.returncode, out
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the whole pytest process group we started
        out, _ = proc.communicate()
        return None, out


def _summary(out: str) -> str:
    lines = [ln for ln in out.strip().splitlines() if ln.strip()]
    failed = [ln for ln in lines if ln.startswith(("FAILED", "ERROR"))]
    return (failed[0] if failed else (lines[-1] if lines else ""))[:160]


def run_mutant(m: Mutant, timeout: float) -> Outcome:
    t0 = time.perf_counter()
    n = occurrences(m)
    if n != 1:
        return Outcome(m, "STALE", 0.0, f"snippet found {n} times in {m.file}")
    with Applied(m):
        rc, out = _run_pytest(m.tests, timeout)
    dt = time.perf_counter() - t0
    if rc is None:
        return Outcome(m, "KILLED", dt, f"timeout after {timeout:.0f} s")
    if rc == 0:
        return Outcome(m, "SURVIVED", dt, _summary(out))
    if rc == 5:
        return Outcome(m, "STALE", dt, "the test selection collected no test")
    return Outcome(m, "KILLED", dt, _summary(out))


def baseline(mutants: list[Mutant], timeout: float) -> tuple[bool, str]:
    """The union of the selections must pass on the unmutated checkout."""
    tests = tuple(dict.fromkeys(t for m in mutants for t in m.tests))
    rc, out = _run_pytest(tests, timeout * 4)
    return rc == 0, _summary(out)


# -- reporting ---------------------------------------------------------------------------
def report(outcomes: list[Outcome], elapsed: float) -> tuple[str, bool]:
    by_area: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by_area[o.mutant.area].append(o)
    lines = ["", f"{'area':<12}{'mutants':>8}{'killed':>8}{'equiv.':>8}{'survived':>9}"
             f"{'stale':>7}{'kill rate':>11}{'score':>8}"]
    for area in [*sorted(by_area), "all"]:
        os_ = outcomes if area == "all" else by_area[area]
        c = Counter(o.status for o in os_)
        eq = sum(o.status == "SURVIVED" and bool(o.mutant.equivalent) for o in os_)
        killable = len(os_) - eq  # equivalent mutants cannot be killed
        score = f"{c['KILLED'] / killable:.0%}" if killable else "-"
        lines.append(f"{area:<12}{len(os_):>8}{c['KILLED']:>8}{eq:>8}"
                     f"{c['SURVIVED'] - eq:>9}{c['STALE']:>7}{c['KILLED'] / len(os_):>10.0%}"
                     f"{score:>8}")
    lines.append(f"elapsed {elapsed:.0f} s")
    survivors = [o for o in outcomes if o.status == "SURVIVED"]
    if survivors:
        lines.append("\nsurvivors:")
        for o in survivors:
            why = (f"equivalent: {o.mutant.equivalent}" if o.mutant.equivalent
                   else "NOT EXPLAINED: add a test that kills it, or explain it as equivalent")
            lines.append(f"  {o.mutant.id} ({o.mutant.file}): {o.mutant.description}\n    {why}")
    stale = [o for o in outcomes if o.status == "STALE"]
    for o in stale:
        lines.append(f"STALE {o.mutant.id}: {o.detail} - update ci/mutants.py")
    killed_equiv = [o for o in outcomes if o.status == "KILLED" and o.mutant.equivalent]
    for o in killed_equiv:
        lines.append(f"note: {o.mutant.id} is marked equivalent but was killed ({o.detail})")
    ok = not stale and all(o.mutant.equivalent for o in survivors)
    return "\n".join(lines), ok


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--area", action="append", help="only these areas (repeatable)")
    ap.add_argument("--only", nargs="+", help="only these mutant ids")
    ap.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per mutant")
    ap.add_argument("--no-baseline", action="store_true", help="skip the unmutated run")
    ap.add_argument("--list", action="store_true", help="print the catalogue and exit")
    ap.add_argument("--check", action="store_true",
                    help="check that every snippet occurs exactly once, run nothing")
    ap.add_argument("--json", type=Path, help="also write the outcomes to this file")
    args = ap.parse_args(argv)

    signal.signal(signal.SIGTERM, _interrupt)  # restore the file on `kill` as on Ctrl-C
    for path in restore_leftovers():
        print(f"restored {path} from an interrupted run", file=sys.stderr)
    mutants = load_catalogue()
    if args.area:
        mutants = [m for m in mutants if m.area in args.area]
    if args.only:
        unknown = set(args.only) - {m.id for m in mutants}
        if unknown:
            ap.error(f"unknown mutant ids: {sorted(unknown)}")
        mutants = [m for m in mutants if m.id in args.only]
    if args.list:
        for m in mutants:
            eq = "  [equivalent]" if m.equivalent else ""
            print(f"{m.id:<32} {m.area:<11} {m.file}: {m.description}{eq}")
        return 0
    if args.check:
        bad = [(m.id, occurrences(m)) for m in mutants if occurrences(m) != 1]
        for mid, n in bad:
            print(f"STALE {mid}: snippet found {n} times")
        print(f"{len(mutants) - len(bad)}/{len(mutants)} snippets present exactly once")
        return 1 if bad else 0

    t0 = time.perf_counter()
    if not args.no_baseline:
        ok, why = baseline(mutants, args.timeout)
        print(f"baseline: {'passed' if ok else 'FAILED'} ({time.perf_counter() - t0:.0f} s)",
              flush=True)
        if not ok:
            print(f"the unmutated selections fail, so no mutant can be judged: {why}")
            return 2
    outcomes = []
    for i, m in enumerate(mutants, 1):
        o = run_mutant(m, args.timeout)
        outcomes.append(o)
        print(f"[{i}/{len(mutants)}] {o.status:<8} {m.id:<32} {o.seconds:6.1f} s  {o.detail}",
              flush=True)
    text, ok = report(outcomes, time.perf_counter() - t0)
    print(text)
    if args.json:
        args.json.write_text(json.dumps([
            {"id": o.mutant.id, "area": o.mutant.area, "status": o.status,
             "seconds": round(o.seconds, 1), "detail": o.detail,
             "equivalent": o.mutant.equivalent} for o in outcomes], indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
