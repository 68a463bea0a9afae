"""Conjectures are reported, not asserted: the ``@conjecture`` decorator and its pytest plugin.

THEORY.md section 6 lists statements beyond the paper (C1-C6).  The suite runs them as
Hypothesis properties but a failing property does not fail the build: it ends as

* ``held on N cases`` - every case decided was consistent (``M inconclusive`` cases,
  where the numerics could not decide, are counted apart and never count as held), or
* ``counterexample found`` - Hypothesis shrinks the falsifying example first; the
  shrunk dataset is saved as ``<dir>/counterexamples/<ID>.json`` (loadable with
  ``ntp_mechanics.model.dataset.load_dataset`` or any ``ntp-mechanics`` command) and printed as
  an ``@example(...)`` line to paste above the property.

Without gating a counterexample turns the test into an ``xfail`` (the run passes);
``pytest --gate-conjectures`` or ``NTP_GATE_CONJECTURES=1`` makes it a failure.
A crash of the property itself (any exception other than an ``AssertionError``) is a
bug and always fails.  Results are listed in a ``conjectures`` section of the terminal
summary and written to ``<dir>/conjectures.json``; ``<dir>`` is ``--conjecture-dir``,
else ``$NTP_CONJECTURE_DIR``, else ``.ntp-mechanics`` under the pytest root.

Writing a conjecture (see ``theorems/templates/conjecture_template.py.txt``)::

    @conjecture("C7")
    @given(ds=paper_datasets(K=3, n=3, T=3))
    def test_c4(ds):
        observe(error, "direction error")       # the worst value is reported
        if not solver_certified:
            inconclusive("solver not certified")  # decides nothing
        assert error < 0.1, "..."                # a counterexample

or build a :class:`~ntp_mechanics.kernel.verdict.ClaimResult` and call :func:`settle`, which
raises :class:`Counterexample` for CONTRADICTS and :class:`Inconclusive` for
INCONCLUSIVE.  ``ntp_mechanics.model.errors.InconclusiveError`` raised by a solver is an
inconclusive case automatically.

The hooks are loaded by the package's pytest plugin (:mod:`ntp_mechanics.app.plugin`,
the ``pytest11`` entry point) wherever the package is installed; they work under
pytest-xdist (records travel in the reports' ``user_properties``).

Example
-------
>>> from ntp_mechanics.model.dataset import Dataset
>>> ds = Dataset.from_arrays([[1.0]], [((0,), 0)])
>>> print(example_snippet({"ds": ds}))
@example(ds=Dataset.from_json('{"embeddings": [[1.0]], "samples": [{"tokens": [0], "label": 0}]}'))
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import pytest

from ntp_mechanics.kernel.claims import claim_of_file
from ntp_mechanics.kernel.environment import DIR_ENV, GATE_ENV

if TYPE_CHECKING:
    from ntp_mechanics.kernel.verdict import ClaimResult

__all__ = [
    "DIR_ENV",
    "GATE_ENV",
    "Counterexample",
    "Inconclusive",
    "Vacuous",
    "conjecture",
    "example_snippet",
    "inconclusive",
    "observe",
    "settle",
    "vacuous",
]

DEFAULT_DIR = ".ntp-mechanics"
PROPERTY_KEY = "ntp_conjecture"  # key of the record in a test report's user_properties
SUMMARY_FILE = "conjectures.json"
_TRUE = {"1", "true", "yes", "on"}

F = TypeVar("F", bound=Callable[..., Any])


# -- what a property may raise ------------------------------------------------------------
class Inconclusive(Exception):  # noqa: N818 - reads as the verdict it carries
    """This case decides nothing (an uncertified solve, a run not yet asymptotic)."""


class Vacuous(Inconclusive):
    """This case lies outside the conjecture's hypotheses (e.g. an infeasible Graph-SVM)."""


class Counterexample(AssertionError):  # noqa: N818 - reads as what was found
    """This case contradicts the conjecture (an ``AssertionError`` does the same)."""


def inconclusive(reason: str) -> NoReturn:
    """End the current case as inconclusive: it neither holds nor refutes."""
    raise Inconclusive(reason)


def vacuous(reason: str) -> NoReturn:
    """End the current case as out of scope (its hypotheses do not apply)."""
    raise Vacuous(reason)


def settle(result: ClaimResult) -> None:
    """Turn a verdict into the case's outcome: CONSISTENT returns, INCONCLUSIVE raises
    :class:`Inconclusive`, CONTRADICTS raises :class:`Counterexample` with the full
    evidence.  The verdict is also logged (:func:`ntp_mechanics.kernel.verdict.record`)."""
    from ntp_mechanics.kernel.verdict import Verdict, record

    record(result)
    if result.verdict is Verdict.CONTRADICTS:
        raise Counterexample(result.report())
    if result.verdict is Verdict.INCONCLUSIVE:
        raise Inconclusive(result.reason or "inconclusive")


def observe(value: float, label: str = "metric") -> None:
    """Record a per-case error measure; the report shows its worst (largest) value."""
    run = _ACTIVE
    if run is None or value is None:
        return
    v = float(value)
    if v == v:  # not NaN
        run.worst[label] = max(run.worst.get(label, v), v)


# -- the record of one conjecture test ------------------------------------------------------
@dataclass
class ConjectureRun:
    """Counts and falsifying cases of one conjecture test while it runs."""

    cid: str
    nodeid: str
    held: int = 0
    inconclusive: int = 0
    vacuous: int = 0
    failed: int = 0
    held_before_failure: int | None = None  # cases held before the first failure
    reasons: Counter[str] = field(default_factory=Counter)
    worst: dict[str, float] = field(default_factory=dict)
    falsifying: list[tuple[dict[str, Any], BaseException]] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    def note_reason(self, exc: BaseException) -> None:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        self.reasons[text[:160]] += 1


_ACTIVE: ConjectureRun | None = None


def _is_final_replay() -> bool:
    """True while Hypothesis replays the shrunk falsifying example (or an @example)."""
    try:
        from hypothesis.control import current_build_context

        return bool(current_build_context().is_final)
    except Exception:
        return False


def _event(text: str) -> None:
    with contextlib.suppress(Exception):
        from hypothesis import event

        event(text)


def _recording(inner: Callable[..., Any], cid: str) -> Callable[..., None]:
    """Wrap Hypothesis's inner test: count outcomes, keep the final falsifying case."""
    from hypothesis.errors import UnsatisfiedAssumption

    from ntp_mechanics.model.errors import InconclusiveError

    @functools.wraps(inner)
    def case(*args: Any, **kwargs: Any) -> None:
        run = _ACTIVE
        try:
            inner(*args, **kwargs)
        except UnsatisfiedAssumption:
            raise
        except Vacuous as exc:
            _count(run, "vacuous", exc)
            _event(f"{cid}: vacuous")
        except (Inconclusive, InconclusiveError) as exc:
            _count(run, "inconclusive", exc)
            _event(f"{cid}: inconclusive")
        except Exception as exc:
            if run is not None:
                run.failed += 1
                if run.held_before_failure is None:
                    run.held_before_failure = run.held
                if _is_final_replay():
                    run.falsifying.append((dict(kwargs), exc))
            raise
        else:
            _count(run, "held", None)
            _event(f"{cid}: consistent")

    return case


def _count(run: ConjectureRun | None, what: str, exc: BaseException | None) -> None:
    if run is None:
        return
    setattr(run, what, getattr(run, what) + 1)
    if exc is not None:
        run.note_reason(exc)


def conjecture(cid: str) -> Callable[[F], F]:
    """Mark a Hypothesis property as conjecture ``cid`` (reported, not asserted).

    Put it *above* ``@given``.  The property may ``assert``, call :func:`observe`,
    :func:`inconclusive`, :func:`vacuous` or :func:`settle`; see the module docstring.
    """

    def decorate(test: F) -> F:
        handle = getattr(test, "hypothesis", None)
        if handle is None or not hasattr(handle, "inner_test"):
            raise TypeError(f"@conjecture({cid!r}) must be placed above @given on {test!r}")
        handle.inner_test = _recording(handle.inner_test, cid)
        test._ntp_conjecture_id = cid  # type: ignore[attr-defined]
        return pytest.mark.conjecture(cid)(test)

    return decorate


# -- counterexample files and snippets -------------------------------------------------------
def example_snippet(arguments: Mapping[str, Any]) -> str:
    """``@example(...)`` reproducing ``arguments`` (datasets via ``Dataset.from_json``)."""
    from ntp_mechanics.model.dataset import Dataset

    parts = []
    for name, value in arguments.items():
        if isinstance(value, Dataset):
            from ntp_mechanics.generators.datasets import to_example

            parts.append(f"{name}={to_example(value)}")
        else:
            parts.append(f"{name}={value!r}")
    return f"@example({', '.join(parts)})"


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
    global _ACTIVE
    cid = _conjecture_id(pyfuncitem)
    if cid is None:
        return (yield)
    run = ConjectureRun(cid, pyfuncitem.nodeid)
    _ACTIVE = run
    try:
        result = yield
    except (pytest.skip.Exception, pytest.xfail.Exception, KeyboardInterrupt):
        raise
    except BaseException as exc:
        _ACTIVE = None
        _on_failure(pyfuncitem, run, exc)
        raise
    finally:
        _ACTIVE = None
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
