"""A claim declares itself once, in its own module, and every command takes it from there.

A throwaway theorem module written to a temporary folder - and no other file - shows up
in ``claims --json``, in the report's rows (with the metric it declares) and in the
gate's summary; ``gate`` and ``report`` give every claim of one run the same status
(one rule, :func:`ntp_mechanics.kernel.ledger.claim_status`).  The negative control is
a second throwaway theorem whose test records a contradicting verdict: both commands
must call it contradicts, failed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from ntp_mechanics.app.cli import main
from ntp_mechanics.app.gate import summarise
from ntp_mechanics.app.report import ReportPlan, claim_rows
from ntp_mechanics.app.suite_run import pytest_command, run_claims
from ntp_mechanics.kernel import claims
from ntp_mechanics.kernel.claims import DeclarationError, claims_in, declaration_of

TOY = '''"""Claim G: the trace of the d x d identity is d (a toy theorem)."""
import numpy as np

from ntp_mechanics.kernel.verdict import ClaimResult, Verdict, record

CLAIM = dict(
    id="G",
    kind="theorem",
    statement="trace(I_d) = d for every d",
    report_metric="trace_err",
    metric_doc="|trace(I_d) - d|",
)


def trace_claim(d, shift=0.0):
    err = abs(float(np.trace(np.eye(d))) + shift - d)
    return ClaimResult("G", Verdict.CONSISTENT if err < 1e-12 else Verdict.CONTRADICTS,
                       {"trace_err": err})


def test_trace_is_the_dimension():
    for d in (1, 2, 3):
        result = trace_claim(d)
        record(result, "test_trace_is_the_dimension")
        assert result.verdict is not Verdict.CONTRADICTS


def test_control_shifted_trace_is_rejected():
    control = trace_claim(2, shift=1.0)
    record(ClaimResult("G-control", control.verdict), "control")
    assert control.verdict is Verdict.CONTRADICTS
'''

WRONG = '''"""Claim H: a wrong toy theorem (trace(I_d) = d + 1)."""
from ntp_mechanics.kernel.verdict import ClaimResult, Verdict, record

CLAIM = dict(id="H", kind="theorem", statement="trace(I_d) = d + 1",
             report_metric="trace_err")


def test_trace_is_one_more():
    record(ClaimResult("H", Verdict.CONTRADICTS, {"trace_err": 1.0}), "wrong")
    assert False, "AssertionError: trace(I_2) = 2, not 3"
'''


@pytest.fixture(scope="module")
def mine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("my_claims")
    (folder / "claim_G_toy_trace.py").write_text(TOY)
    (folder / "claim_H_wrong_trace.py").write_text(WRONG)
    return folder


def test_the_package_claims_declare_themselves() -> None:
    """Every theorem and fact module holds a CLAIM literal; B-E apply to check and the
    trainer hook, and only the theorems name a report metric."""
    own = claims_in(claims.theorems_dir())
    assert all(c.declared for c in own if c.kind in ("theorem", "fact"))
    assert {c.id for c in own if c.check} == {c.id for c in own if c.trainer} == set("BCDE")
    assert {c.id for c in own if c.report_metric} == set("ABCDE")


def test_claims_lists_a_new_module_from_its_declaration(
        mine: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["claims", str(mine), "--json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["G"]["statement"] == "trace(I_d) = d for every d"
    assert rows["G"]["kind"] == "theorem" and rows["G"]["report_metric"] == "trace_err"
    assert rows["G"]["module"] == f"{mine.name}/claim_G_toy_trace.py"
    assert list(rows)[:5] == ["A", "B", "C", "D", "E"]  # the package's claims first
    assert main(["claims", "--json"]) == 0
    assert "G" not in {r["id"] for r in json.loads(capsys.readouterr().out)}


@pytest.mark.parametrize("source, message", [
    ('CLAIM = dict(id="X", kind="theorem")\n', "file name says theorem G"),
    ('CLAIM = dict(id="G", kind="fact")\n', "file name says theorem G"),
    ("CLAIM = dict(id=some_name)\n", "literals only"),
    ("CLAIM = 3\n", "dict(...) literal"),
    ('CLAIM = dict(metric="x")\n', "unknown CLAIM key"),
    ("CLAIM = dict(check=1)\n", "wrong type"),
])
def test_a_bad_declaration_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        source: str, message: str) -> None:
    (tmp_path / "claim_G_bad.py").write_text(source)
    for command in (["claims", str(tmp_path)], ["gate", str(tmp_path), "--summary",
                                                 str(tmp_path / "s.json")]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "s.json").exists()  # refused before any test ran
    with pytest.raises(DeclarationError):
        claims_in(tmp_path)


def test_declaration_is_read_without_importing() -> None:
    assert declaration_of("import nonexistent_module\nCLAIM = {'id': 'G'}\n") == {"id": "G"}
    assert declaration_of("x = 1\n") is None


def test_report_and_gate_agree_on_every_claim_of_one_run(mine: Path, tmp_path: Path) -> None:
    plan = replace(ReportPlan.tiny(("G", "H", "F2")), claim_paths=(str(mine),))
    assert {Path(m).name for m in pytest_command(plan, tmp_path / "o.json", tmp_path)
            if m.endswith(".py")} >= {"claim_G_toy_trace.py", "claim_H_wrong_trace.py"}
    run = run_claims(plan, tmp_path, progress=False)
    rows = {r.id: r for r in claim_rows(run, plan.claim_ids, plan.claim_paths)}
    gate = summarise(run.outcomes, run.verdicts, False, conjectures=run.conjectures,
                     extra=plan.claim_paths)["claims"]
    assert set(rows) == set(gate) >= {"A", "F2", "C1", "G", "H"}
    for cid, row in rows.items():
        assert gate[cid]["verdict"] == row.status, cid
        if cid in plan.claim_ids:
            assert (gate[cid]["status"] == "fail") == row.failed, cid
    # the new claim, with the metric it declares and its control apart
    assert rows["G"].status == "consistent" and not rows["G"].failed
    assert rows["G"].worst == "|trace(I_d) - d|: max 0 over 3 case(s)"
    assert gate["G"]["control_verdicts"] == {"contradicts": 1}
    assert rows["F2"].status == "consistent" and gate["F2"]["status"] == "pass"
    # the negative control: a contradicting claim is contradicts, failed, in both
    assert rows["H"].status == "contradicts" and rows["H"].failed
    assert gate["H"]["status"] == "fail" and gate["H"]["verdict"] == "contradicts"


def test_gate_summary_lists_a_new_module(mine: Path, tmp_path: Path) -> None:
    summary = tmp_path / "summary.json"
    cmd = [sys.executable, "-m", "ntp_mechanics", "gate", str(mine / "claim_G_toy_trace.py"),
           "--summary", str(summary), "--junitxml", str(tmp_path / "j.xml"),
           "--", "-k", "toy_trace", "-p", "no:xdist"]
    rc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True,
                        env=dict(os.environ, OMP_NUM_THREADS="1")).returncode
    data = json.loads(summary.read_text())
    row = data["claims"]["G"]
    assert row["statement"] == "trace(I_d) = d for every d"
    assert row["status"] == "pass" and row["verdict"] == "consistent"
    assert row["tests"] == {"passed": 2}
    assert rc == 1 and "A" in data["not_run"]  # the package's theorems were deselected


def test_verdicts_travel_with_their_tests_under_xdist(mine: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's verdicts come back in its own outcome entry, from pytest-xdist's
    workers too; a verdict log the user names still receives every line, and the
    report's rows do not depend on it."""
    pytest.importorskip("xdist")
    log = tmp_path / "mine.jsonl"
    monkeypatch.setenv("NTP_VERDICT_LOG", str(log))
    plan = replace(ReportPlan.tiny(("G", "H")), claim_paths=(str(mine),), jobs=2)
    run = run_claims(plan, tmp_path, progress=False)
    assert "-n" in run.command and run.verdicts == []  # premise: two workers, no side list
    carried = {n.split("::")[-1]: [v["claim"] for v in e.get("verdicts", [])]
               for n, e in run.outcomes.items()}
    assert carried["test_trace_is_the_dimension"] == ["G"] * 3
    assert carried["test_control_shifted_trace_is_rejected"] == ["G-control"]
    assert carried["test_trace_is_one_more"] == ["H"]
    rows = {r.id: r for r in claim_rows(run, plan.claim_ids, plan.claim_paths)}
    assert rows["G"].cases == 3 and rows["G"].status == "consistent"
    assert rows["H"].status == "contradicts" and rows["H"].failed
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert sorted(x["claim"] for x in lines) == ["G", "G", "G", "G-control", "H"]
    log.unlink()  # the rows come from the outcomes, not from the log
    assert claim_rows(run, plan.claim_ids, plan.claim_paths) == list(rows.values())
