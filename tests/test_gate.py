"""The CI gate's per-claim summary (``ntp_mechanics.app.gate.summarise``).

The gate must fail on any theorem, fact or unit-test failure, on a theorem or fact
that ran no test, and on a crashed conjecture property or failed conjecture control;
a conjecture counterexample (an xfail, reported as skipped) passes unless gated.
"""

from __future__ import annotations

from typing import Any

from ntp_mechanics.app.gate import summarise
from ntp_mechanics.kernel.claims import CLAIMS, claim_of_file


def passing_run() -> dict[str, dict[str, Any]]:
    """One passing test in every registered claim's module."""
    return {f"{c.module}::test_x": {"outcome": "passed", "duration": 0.1, "markers": []}
            for c in CLAIMS if c.module}


def test_everything_passing_passes() -> None:
    s = summarise(passing_run(), [], gate_conjectures=False)
    assert s["failures"] == [] and s["not_run"] == []
    assert s["claims"]["A"]["status"] == "pass"


def test_theorem_failure_fails() -> None:
    run = passing_run()
    run["theorems/claim_B_gradient_descent.py::test_y"] = {"outcome": "failed", "duration": 0}
    assert summarise(run, [], False)["failures"] == [
        "theorems/claim_B_gradient_descent.py::test_y"]


def test_unit_test_failure_fails() -> None:
    run = passing_run() | {"tests/test_tpg.py::test_z": {"outcome": "error", "duration": 0}}
    assert summarise(run, [], False)["failures"] == ["tests/test_tpg.py::test_z"]


def test_missing_theorem_is_not_run() -> None:
    run = {k: v for k, v in passing_run().items() if claim_of_file(k) != ("theorem", "C")}
    assert summarise(run, [], False)["not_run"] == ["C"]
    assert summarise(run, [], False, require_all=False)["not_run"] == []


def test_conjecture_counterexample_passes_unless_gated_but_crash_always_fails() -> None:
    xfail = passing_run() | {
        "theorems/conjecture_C1_factorised.py::test_c": {"outcome": "skipped", "duration": 0}}
    assert summarise(xfail, [], False)["failures"] == []
    crash = passing_run() | {
        "theorems/conjecture_C1_factorised.py::test_c": {"outcome": "failed", "duration": 0}}
    assert summarise(crash, [], False)["failures"] == [
        "theorems/conjecture_C1_factorised.py::test_c"]


def test_verdicts_and_controls_are_counted_apart() -> None:
    lines = [{"claim": "A", "verdict": "consistent"}, {"claim": "A-control",
                                                        "verdict": "contradicts"}]
    row = summarise(passing_run(), lines, False)["claims"]["A"]
    assert row["verdicts"] == {"consistent": 1}
    assert row["control_verdicts"] == {"contradicts": 1}
