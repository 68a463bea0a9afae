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

The pytest hooks that count, record and report these outcomes live in the application
layer (:mod:`ntp_mechanics.app.conjecture_plugin`), loaded by the package's pytest
plugin (:mod:`ntp_mechanics.app.plugin`, the ``pytest11`` entry point) wherever the
package is installed; they work under pytest-xdist (records travel in the reports'
``user_properties``).

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
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import pytest

from ntp_mechanics.kernel.environment import DIR_ENV, GATE_ENV

if TYPE_CHECKING:
    from ntp_mechanics.kernel.verdict import ClaimResult

__all__ = [
    "DIR_ENV",
    "GATE_ENV",
    "Counterexample",
    "Inconclusive",
    "Vacuous",
    "active",
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


@contextlib.contextmanager
def active(run: ConjectureRun) -> Iterator[ConjectureRun]:
    """Make ``run`` the test whose cases :func:`conjecture`'s wrapper counts."""
    global _ACTIVE
    _ACTIVE = run
    try:
        yield run
    finally:
        _ACTIVE = None


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
