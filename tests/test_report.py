"""``ntp-mechanics report``: the claims table, the paper section, the figures, exit codes.

One tiny report is built for the whole module (two claim modules, a 300-step paper grid
of 4 datasets, one process); everything else tests the row rules and the paper's
conclusions on synthetic inputs, so the file runs in well under a minute on 2 cores.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ntp_mechanics.app.cli import main
from ntp_mechanics.app.experiment.paper import CORR_REACHED, FIN_REACHED, PaperPlan, conclusions
from ntp_mechanics.app.experiment.trial import draw_dataset
from ntp_mechanics.app.report import ReportPlan, build_report, claim_rows
from ntp_mechanics.app.suite_run import ClaimsRun
from ntp_mechanics.kernel.claims import all_claims

PNG = b"\x89PNG\r\n\x1a\n"
THEOREM_VERDICTS = {"consistent", "contradicts", "inconclusive"}
CONJECTURE_VERDICT = re.compile(r"^(held on \d+ cases|counterexample found|inconclusive)$")
TINY_CLAIMS = ("F2", "C3")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    base = tmp_path_factory.mktemp("report")
    here = Path.cwd()
    os.chdir(base)  # a relative --out, as users type it (pytest then runs with cwd=out)
    try:
        (base / "rep").mkdir()
        rep = build_report(ReportPlan.tiny(TINY_CLAIMS), Path("rep"), progress=False)
    finally:
        os.chdir(here)
    return base / "rep", rep


def table_rows(md: str) -> dict[str, list[str]]:
    """Claim id -> cells of the claims table in report.md."""
    section = md.split("## Claims", 1)[1].split("\n\n", 2)[1]
    rows = {}
    for line in section.splitlines()[2:]:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        rows[cells[0]] = cells
    return rows


# -- the tiny report ---------------------------------------------------------------------
def test_markdown_names_every_claim_with_a_verdict(tiny: tuple[Path, Any]) -> None:
    out, _ = tiny
    rows = table_rows((out / "report.md").read_text())
    claims = all_claims()  # declared, and discovered conjectures (C7, C8)
    assert list(rows) == [c.id for c in claims]
    for c in claims:
        verdict = rows[c.id][3].strip("*")
        if c.kind == "conjecture":
            assert CONJECTURE_VERDICT.match(verdict), (c.id, verdict)
        else:
            assert verdict in THEOREM_VERDICTS, (c.id, verdict)


def test_json_has_the_same_rows(tiny: tuple[Path, Any]) -> None:
    out, rep = tiny
    data = json.loads((out / "report.json").read_text())
    md = table_rows((out / "report.md").read_text())
    assert [r["id"] for r in data["claims"]] == list(md)
    for r in data["claims"]:
        assert md[r["id"]][3].strip("*") == r["verdict"]
        assert md[r["id"]][4].startswith(f"{r['cases']} (")
    assert data["exit_code"] == rep.exit_code == 0
    assert data["hypothesis_profile"] == "ci" and data["seed"] == 0


def test_selected_claims_ran_and_others_are_marked(tiny: tuple[Path, Any]) -> None:
    _, rep = tiny
    rows = {r.id: r for r in rep.rows}
    assert rows["F2"].verdict == "consistent" and rows["F2"].cases >= 5
    assert rows["C3"].status in ("held", "inconclusive", "counterexample")
    assert rows["C3"].cases > 0
    for cid in ("A", "F1", "C1"):
        assert rows[cid].verdict == "inconclusive" and "not selected" in rows[cid].notes[0]
        assert not rows[cid].failed


def test_figures_are_valid_pngs(tiny: tuple[Path, Any]) -> None:
    import matplotlib.image as mpimg

    out, rep = tiny
    assert len(rep.figures) >= 3
    for name in rep.figures.values():
        data = (out / name).read_bytes()
        assert data[:8] == PNG, name
        assert min(mpimg.imread(out / name).shape[:2]) > 100
        assert f"]({name})" in (out / "report.md").read_text()


def test_real_text_section(tiny: tuple[Path, Any]) -> None:
    """The real-text section: heading, table keys, figures, and the controls' premise
    (each control clearly worse than the trained model, each premise measured)."""
    import matplotlib.image as mpimg

    from ntp_mechanics.kernel import realtext as rt
    from ntp_mechanics.kernel.realtext_run import CLEAR_GAP, MODELS

    out, _ = tiny
    md = (out / "report.md").read_text()
    section = md.split("## Real text", 1)[1]
    data = json.loads((out / "report.json").read_text())["real_text"]
    table = {r["model"]: r for r in data["table"]}
    assert list(table) == list(MODELS)
    for row in table.values():
        assert set(rt.KEYS) <= set(row)
        assert row["seeds"] == len(data["setting"]["seeds"])
        assert sum(row[v] for v in ("consistent", "contradicts", "inconclusive",
                                    "outside_hypotheses")) == row["seeds"]
        assert f"| {row['model']} | {row['hard_retrieval_accuracy']:.3f} |" in section
    for name in data["figures"].values():
        assert (out / name).read_bytes()[:8] == PNG and f"]({name})" in section
        assert min(mpimg.imread(out / name).shape[:2]) > 100
    pre = data["premises"]  # the controls' premises, then the controls' gaps
    assert min(pre["redrawn labels"]["labels_changed"]) >= 0.4
    assert pre["random"]["norm_ratio"] == pytest.approx(1.0)
    assert max(pre["other corpus"]["shared_edges"]) <= 0.5
    good = table["trained"]
    assert good["consistent"] >= 1 and good["hard_retrieval_accuracy"] >= 0.95
    for model in MODELS[1:]:
        bad = table[model]
        assert good["top_scc_mass"] - bad["top_scc_mass"] >= CLEAR_GAP, model
        assert good["next_token_accuracy"] - bad["next_token_accuracy"] >= CLEAR_GAP, model
        assert bad["consistent"] == 0, model
    assert all(data["controls_clearly_worse"].values())
    # curves: every model at every recorded step of every seed
    steps = {r["step"] for r in data["curves"]}
    assert len(steps) >= 3 and len(data["curves"]) == len(steps) * len(MODELS) * len(
        data["setting"]["seeds"])


def test_paper_section_states_conclusions_computed_from_the_numbers(
        tiny: tuple[Path, Any]) -> None:
    out, _ = tiny
    data = json.loads((out / "report.json").read_text())
    summary, said = data["paper"]["summary"], data["paper"]["conclusions"]
    assert said == conclusions(summary)
    md = (out / "report.md").read_text()
    assert all(line in md for line in said)
    cyc = summary["kinds"]["cyclic"]
    assert f"{cyc['corr_svm_final_mean']:.4f}" in md
    trials = json.loads((out / "paper_trials.json").read_text())
    assert len(trials) == len(PaperPlan.tiny().trials())
    assert all(t["trial"]["seed"][0] == 0 for t in trials)


# -- conclusions follow the numbers -----------------------------------------------------------
def kind_summary(corr: float, gain: float, fin: float, peak: float, dim: float = 2.0
                 ) -> dict[str, Any]:
    return {"trials": 10, "steps": 4000, "corr_svm_final_mean": corr,
            "corr_svm_final_q10": corr - 0.01, "corr_svm_final_q90": min(corr + 0.01, 1.0),
            "corr_svm_gain_second_half": gain, "corr_svm_increasing_fraction": 1.0 if gain > 0
            else 0.0, "corr_path_final_mean": float("nan"), "corr_path_trials": 0,
            "fin_err_final_mean": fin, "fin_err_final_max": fin, "fin_err_peak_mean": peak,
            "fin_err_half_mean": max(fin, peak / 2), "dim_S_fin_mean": dim,
            "on_scc_final_mean": 0.999, "on_scc_final_min": 0.99}


@pytest.mark.parametrize(("corr", "gain", "expect"), [
    (CORR_REACHED + 0.004, 0.01, "reaches the paper's corr -> 1"),
    (CORR_REACHED - 0.01, 0.01, "still increasing"),
    (CORR_REACHED - 0.01, -0.01, "does not reproduce the paper's corr -> 1"),
])
def test_correlation_conclusion(corr: float, gain: float, expect: str) -> None:
    text = conclusions({"kinds": {"cyclic": kind_summary(corr, gain, 0.005, 0.3)}})
    assert expect in text[0] and f"{corr:.4f}" in text[0]


@pytest.mark.parametrize(("fin", "peak", "expect"), [
    (FIN_REACHED / 10, 0.3, "reaches the paper's error -> 0"),
    (FIN_REACHED * 2, 3.0, "decreasing towards 0 but is still above"),
    (0.3, 0.3, "does not decrease towards 0"),
])
def test_fin_conclusion(fin: float, peak: float, expect: str) -> None:
    text = conclusions({"kinds": {"cyclic": kind_summary(0.995, 0.01, fin, peak)}})
    assert expect in text[1]


def test_fin_conclusion_without_s_fin() -> None:
    text = conclusions({"kinds": {"acyclic": kind_summary(0.995, 0.01, 0.0, 0.0, dim=0.0)}})
    assert "S_fin = {0}" in text[1]


# -- row rules on synthetic runs -----------------------------------------------------------------
def entry(outcome: str, message: str = "", examples: int | None = 10) -> dict[str, Any]:
    return {"outcome": outcome, "duration": 0.1, "markers": [], "examples": examples,
            **({"message": message} if message else {})}


def verdict(claim: str, v: str, **metrics: Any) -> dict[str, Any]:
    return {"test": "t", "claim": claim, "verdict": v, "reason": "", "metrics": metrics}


def synthetic_run() -> ClaimsRun:
    a, b = "theorems/claim_A_x.py::", "theorems/claim_B_x.py::"
    f3, f4, f5 = ("theorems/fact_F3_x.py::", "theorems/fact_F4_x.py::",
                  "theorems/fact_F5_x.py::")
    outcomes = {
        a + "test_path": entry("passed"), a + "test_control_reversed": entry("failed", "x"),
        b + "test_gd": entry("failed", "AssertionError: expected not CONTRADICTS"),
        f3 + "test_margins": entry("failed", "AssertionError: assert 0.5 >= 1"),
        f3 + "test_negative_control": entry("passed"),
        f4 + "test_kkt": entry("failed", "hypothesis.errors.Unsatisfiable: no examples"),
        f5 + "test_identity": entry("passed", examples=7),
        f5 + "test_hand_case": entry("passed", examples=None),
        "theorems/conjecture_C1_x.py::test_c1": entry("skipped"),
    }
    verdicts = [verdict("A", "consistent", direction_errs=[0.5, 0.2], direction_limit=0.01),
                verdict("A", "consistent", direction_errs=[0.4, 0.3], direction_limit=0.02),
                verdict("A-control", "contradicts"),
                verdict("B", "consistent"), verdict("B", "contradicts")]
    conj = [{"id": "C1", "test": "test_c1", "status": "counterexample", "cases": 3,
             "inconclusive": 1, "vacuous": 0, "failed_cases": 2, "worst": {"deficit": 0.7},
             "counterexample": {"files": ["cx/C1.json"]}},
            {"id": "C2", "test": "test_c2", "status": "held", "cases": 9, "inconclusive": 1,
             "vacuous": 0, "failed_cases": 0, "worst": {"err": 0.1, "other": 0.05}}]
    return ClaimsRun(outcomes, verdicts, conj, 1, 1.0, [])


def test_row_rules() -> None:
    rows = {r.id: r for r in claim_rows(synthetic_run())}
    # a failed negative control: the check lost its power -> inconclusive, and failed
    assert rows["A"].verdict == "inconclusive" and rows["A"].failed and rows["A"].cases == 2
    assert "max 0.3 over 2 case(s)" in rows["A"].worst and "limit max 0.02" in rows["A"].worst
    assert rows["B"].verdict == "contradicts" and rows["B"].failed
    assert rows["F3"].verdict == "contradicts" and rows["F3"].failed  # assertion, no log
    assert rows["F4"].verdict == "inconclusive" and rows["F4"].failed  # Unsatisfiable
    assert rows["F5"].verdict == "consistent" and not rows["F5"].failed
    assert rows["F5"].cases == 7 + 1  # Hypothesis examples plus one hand case
    assert rows["F1"].verdict == "inconclusive" and rows["F1"].failed  # nothing ran
    assert rows["C1"].verdict == "counterexample found" and rows["C1"].cases == 6
    assert "cx/C1.json" in rows["C1"].notes[0] and not rows["C1"].failed
    assert rows["C2"].verdict == "held on 9 cases" and rows["C2"].worst == "err: 0.1"
    assert rows["C3"].verdict == "inconclusive"


# -- plans, datasets, command line --------------------------------------------------------------
def test_quick_plan_is_the_papers_protocol() -> None:
    plan = ReportPlan.quick()
    p = plan.paper
    assert plan.hypothesis_profile == "ci" and ReportPlan.full().hypothesis_profile == "thorough"
    assert (p.Ks, p.d, p.ns, p.Ts, p.trials_per_config) == ((6, 8), 8, (4, 6, 10), (4, 6), 10)
    assert (p.steps, p.lr) == (4000, 0.01)
    assert len(p.trials()) == 2 * 2 * 3 * 2 * 10
    assert len({t.seed for t in p.trials()}) == len(p.trials())


def test_dataset_kinds_and_determinism() -> None:
    trials = PaperPlan.tiny().trials()
    for t in trials[::2] + trials[1::2][:1]:
        ds, pred, _ = draw_dataset(t)
        assert pred.tpg.has_acyclic_edge
        assert pred.tpg.has_cyclic_edge == (t.kind == "cyclic")
        assert all(s.label in s.tokens for s in ds.samples)
        assert np.linalg.norm(ds.E, axis=1) == pytest.approx(1.0)
    assert draw_dataset(trials[0])[0] == draw_dataset(trials[0])[0]


def test_cuda_without_cuda_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    assert main(["report", "--out", str(tmp_path / "r"), "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert "CUDA is not available" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_out_that_is_a_file_is_bad_input(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["report", "--out", str(f)]) == 2


def test_size_and_its_old_spelling_profile(tmp_path: Path,
                                           capsys: pytest.CaptureFixture) -> None:
    from ntp_mechanics.app.cli import build_parser
    from ntp_mechanics.app.report import _size

    for argv, size in ((["--size", "full"], "full"), (["--profile", "full"], "full"),
                       ([], "quick"), (["--size", "quick", "--profile", "quick"], "quick")):
        args = build_parser().parse_args(["report", "--out", "r", *argv])
        assert _size(args) == size
    assert main(["report", "--out", str(tmp_path / "r"), "--size", "quick",
                 "--profile", "full"]) == 2
    assert "disagree" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
