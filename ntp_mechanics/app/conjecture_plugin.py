"""The conjecture plugin's pytest hooks: count, record and report conjecture tests.

The conjecture API (``@conjecture``, ``observe``, ``inconclusive``, ``vacuous``,
``settle``) is :mod:`ntp_mechanics.kernel.conjectures`; this module is the pytest side:
``--gate-conjectures`` and ``--conjecture-dir``, the xfail of a counterexample (unless
gated), counterexample files, ``<dir>/conjectures.json`` and the ``conjectures``
section of the terminal summary.  :mod:`ntp_mechanics.app.plugin` loads it.

Example
-------
>>> print(describe({"id": "C7", "nodeid": "t.py::test_c7", "status": "held", "cases": 9,
...                 "inconclusive": 1, "vacuous": 0}))
C7 [t.py::test_c7]: held on 9 cases (1 inconclusive)
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from ntp_mechanics.kernel.claims import claim_of_file
from ntp_mechanics.kernel.conjectures import (
    DEFAULT_DIR,
    PROPERTY_KEY,
    SUMMARY_FILE,
    ConjectureRun,
    active,
    example_snippet,
)
from ntp_mechanics.kernel.environment import DIR_ENV, GATE_ENV

__all__ = ["describe", "gating"]

_TRUE = {"1", "true", "yes", "on"}


def _save_datasets(arguments: Mapping[str, Any], stem: Path) -> list[str]:
    """Save every Dataset argument: ``stem.json`` for one, ``stem-<arg>.json`` for more."""
    from ntp_mechanics.model.dataset import Dataset

    found = [(k, v) for k, v in arguments.items() if isinstance(v, Dataset)]
    paths = []
    for name, ds in found:
        single = len(found) == 1
        path = stem.with_suffix(".json") if single else stem.parent / f"{stem.name}-{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        ds.save(path)
        paths.append(str(path))
    return paths


def _file_stem(config: pytest.Config, cid: str, test: str) -> Path:
    counts: Counter[str] = config.stash.get(_COUNTS, Counter())
    name = cid if counts.get(cid, 0) <= 1 else f"{cid}-{test}"
    return _out_dir(config) / "counterexamples" / re.sub(r"[^\w.-]", "_", name)


def _out_dir(config: pytest.Config) -> Path:
    opt = config.getoption("conjecture_dir", default=None) or os.environ.get(DIR_ENV)
    return Path(opt) if opt else Path(config.rootpath) / DEFAULT_DIR


def gating(config: pytest.Config) -> bool:
    """Whether counterexamples fail the run (option or environment)."""
    env = os.environ.get(GATE_ENV, "").strip().lower() in _TRUE
    return bool(config.getoption("gate_conjectures", default=False)) or env


def _record(run: ConjectureRun, item: pytest.Item, status: str, **extra: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "id": run.cid,
        "nodeid": run.nodeid,
        "test": item.name,
        "status": status,
        "cases": run.held,
        "inconclusive": run.inconclusive,
        "vacuous": run.vacuous,
        "failed_cases": run.failed,
        "held_before_failure": run.held_before_failure,
        "reasons": dict(run.reasons.most_common(5)),
        "worst": dict(run.worst),
        "seconds": round(time.perf_counter() - run.started, 3),
        "gated": gating(item.config),
    }
    rec.update(extra)
    item.user_properties.append((PROPERTY_KEY, rec))
    return rec


def _conjecture_id(item: pytest.Item) -> str | None:
    fn = getattr(item, "obj", None)
    cid = getattr(fn, "_ntp_conjecture_id", None)
    if cid:
        return str(cid)
    mark = item.get_closest_marker("conjecture")
    if mark is None:
        return None
    if mark.args:
        return str(mark.args[0])
    found = claim_of_file(str(item.path))
    return found[1] if found else item.name


def _falsifying_assertions(run: ConjectureRun, exc: BaseException) -> bool:
    """The test failed because the property was falsified (not because it crashed)."""
    if run.falsifying:
        return all(isinstance(e, AssertionError) for _, e in run.falsifying)
    leaves = list(_leaf_exceptions(exc))
    return bool(leaves) and all(isinstance(e, AssertionError) for e in leaves)


def _leaf_exceptions(exc: BaseException) -> Iterable[BaseException]:
    subs = getattr(exc, "exceptions", None)  # an ExceptionGroup (Hypothesis, Python >= 3.11)
    if isinstance(subs, tuple):
        for sub in subs:
            yield from _leaf_exceptions(sub)
    else:
        yield exc


def _report_counterexample(item: pytest.Item, run: ConjectureRun, exc: BaseException
                           ) -> dict[str, Any]:
    stem = _file_stem(item.config, run.cid, item.name)
    args, first = run.falsifying[0] if run.falsifying else ({}, exc)
    paths = _save_datasets(args, stem) if args else []
    snippet = example_snippet(args) if args else ""
    message = str(first).strip() or type(first).__name__
    return _record(
        run, item, "counterexample",
        counterexample={
            "files": paths,
            "example": snippet,
            "message": message[:2000],
            "arguments": {k: _short_repr(v) for k, v in args.items()},
            "n_falsifying": len(run.falsifying),
        },
    )


def _short_repr(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 500 else text[:497] + "..."


def _clear_stale(item: pytest.Item, cid: str) -> None:
    stem = _file_stem(item.config, cid, item.name)
    for path in [stem.with_suffix(".json"), *stem.parent.glob(f"{stem.name}-*.json")]:
        with contextlib.suppress(OSError):
            path.unlink()


# -- pytest hooks ------------------------------------------------------------------------------
_COUNTS = pytest.StashKey[Counter]()
_RECORDS = pytest.StashKey[list]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ntp-mechanics conjectures")
    group.addoption(
        "--gate-conjectures", action="store_true", default=False, dest="gate_conjectures",
        help=f"a conjecture counterexample fails the run (also: {GATE_ENV}=1)",
    )
    group.addoption(
        "--conjecture-dir", default=None, dest="conjecture_dir", metavar="DIR",
        help=f"where counterexamples and {SUMMARY_FILE} go (default ${DIR_ENV} or "
             f"<rootdir>/{DEFAULT_DIR})",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "conjecture(id): reported, not asserted, unless --gate-conjectures"
    )
    config.stash[_RECORDS] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    counts: Counter[str] = Counter()
    for item in items:
        cid = _conjecture_id(item)
        if cid is not None:
            counts[cid] += 1
    config.stash[_COUNTS] = counts


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Any:
    cid = _conjecture_id(pyfuncitem)
    if cid is None:
        return (yield)
    run = ConjectureRun(cid, pyfuncitem.nodeid)
    try:
        with active(run):
            result = yield
    except (pytest.skip.Exception, pytest.xfail.Exception, KeyboardInterrupt):
        raise
    except BaseException as exc:
        _on_failure(pyfuncitem, run, exc)
        raise
    status = "held" if run.held else "inconclusive"
    _record(run, pyfuncitem, status)
    if not run.failed:
        _clear_stale(pyfuncitem, cid)
    return result


def _on_failure(item: pytest.Function, run: ConjectureRun, exc: BaseException) -> None:
    """Record the failure; unless gating, turn a falsified conjecture into an xfail."""
    if not _falsifying_assertions(run, exc):
        _record(run, item, "error", error=f"{type(exc).__name__}: {str(exc)[:500]}")
        return
    rec = _report_counterexample(item, run, exc)
    ce = rec["counterexample"]
    where = ", ".join(ce["files"]) or "no dataset argument to save"
    note = f"conjecture {run.cid}: counterexample found (shrunk) -> {where}"
    if ce["example"]:
        note += f"\nreproduce with:\n{ce['example']}"
    if gating(item.config):
        with contextlib.suppress(Exception):
            exc.add_note(note)
        return
    pytest.xfail(f"conjecture {run.cid}: counterexample found -> {where}")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call":
        return
    for key, value in report.user_properties:
        if key == PROPERTY_KEY:
            _STATE.append(dict(value))


# Records seen by this process's reports (the controller's, under xdist).
_STATE: list[dict[str, Any]] = []


def pytest_sessionstart(session: pytest.Session) -> None:
    _STATE.clear()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config
                            ) -> None:
    if not _STATE:
        return
    tr = terminalreporter
    tr.section("conjectures")
    for rec in _STATE:
        for line in describe(rec).splitlines():
            tr.write_line(line)
    if not any(r["gated"] for r in _STATE):
        tr.write_line(f"(reported, not asserted: use --gate-conjectures or {GATE_ENV}=1 to gate)")


def describe(rec: Mapping[str, Any]) -> str:
    """One conjecture record in words (the terminal summary's lines)."""
    extra = []
    if rec["inconclusive"]:
        extra.append(f"{rec['inconclusive']} inconclusive")
    if rec["vacuous"]:
        extra.append(f"{rec['vacuous']} out of scope")
    tail = f" ({', '.join(extra)})" if extra else ""
    head = f"{rec['id']} [{rec['nodeid']}]"
    if rec["status"] == "held":
        return f"{head}: held on {rec['cases']} cases{tail}"
    if rec["status"] == "inconclusive":
        return f"{head}: inconclusive - no case decided{tail}"
    if rec["status"] == "error":
        return f"{head}: ERROR in the property - {rec.get('error', '')}"
    ce = rec["counterexample"]
    before = rec.get("held_before_failure")
    found = f"after {before} cases held" if before is not None else "shrunk"
    lines = [f"{head}: counterexample found ({found}; shrunk){tail}"]
    lines += [f"    saved to {p}" for p in ce["files"]]
    lines.append("    " + ce["message"].splitlines()[0][:300])
    if ce["example"]:
        lines.append("    reproduce with:")
        lines.append("    " + ce["example"])
    return "\n".join(lines)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if hasattr(config, "workerinput") or not _STATE:  # xdist workers: the controller writes
        return
    path = _out_dir(config) / SUMMARY_FILE
    try:
        old = json.loads(path.read_text()) if path.exists() else {}
    except (OSError, ValueError):
        old = {}
    merged = dict(old.get("conjectures", {}))
    merged.update({r["nodeid"]: r for r in _STATE})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"conjectures": merged}, indent=1, default=str) + "\n")
