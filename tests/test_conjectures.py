"""Conjectures are reported, not asserted (:mod:`ntp_mechanics.kernel.conjectures`), and new
ones are discovered without a registry entry (:mod:`ntp_mechanics.kernel.claims`).

The plugin is exercised end to end on fixtures, each run in a fresh pytest subprocess
(the plugin keeps per-process state, so it is not nested in this session):

* ``tests/fixtures/false_conjecture.py`` - CX "W_fin is always zero" (false by
  construction) and CY (true);
* ``tests/fixtures/outcome_conjectures.py`` - CZ crashes, CW is only inconclusive, CV
  only out of scope.

Neither file matches ``python_files``, so each is passed explicitly.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from ntp_mechanics.app import claims as claims_command
from ntp_mechanics.kernel import claims
from ntp_mechanics.kernel.conjectures import DIR_ENV, GATE_ENV, SUMMARY_FILE, example_snippet
from ntp_mechanics.model.dataset import Dataset, load_dataset
from ntp_mechanics.solvers.finite import finite_component

ROOT = Path(__file__).resolve().parent.parent
FALSE_FIXTURE = "tests/fixtures/false_conjecture.py"
OUTCOME_FIXTURE = "tests/fixtures/outcome_conjectures.py"
TEMPLATE = ROOT / "theorems" / "templates" / "conjecture_template.py.txt"
CX_NODE = f"{FALSE_FIXTURE}::test_w_fin_is_always_zero"
CY_NODE = f"{FALSE_FIXTURE}::test_true_conjecture"
EXAMPLE_LINE = re.compile(r"^\s*(@example\(.*\))\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Run:
    """One pytest subprocess: exit code, combined output, its conjecture directory."""

    rc: int
    out: str
    dir: Path

    def records(self) -> dict[str, dict]:
        return json.loads((self.dir / SUMMARY_FILE).read_text())["conjectures"]


def run_pytest(out_dir: Path, *args: str, gate_env: bool = False, cwd: Path = ROOT) -> Run:
    """``python -m pytest ARGS --conjecture-dir OUT_DIR`` in a clean environment."""
    env = {k: v for k, v in os.environ.items()
           if k not in (GATE_ENV, DIR_ENV, "PYTEST_ADDOPTS") and not k.startswith("PYTEST_XDIST")}
    if gate_env:
        env[GATE_ENV] = "1"
    cmd = [sys.executable, "-m", "pytest", *args, "-p", "no:cacheprovider", "-q",
           "--conjecture-dir", str(out_dir)]
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    return Run(proc.returncode, proc.stdout + proc.stderr, out_dir)


def summary_line(out: str, cid: str) -> str:
    """The first line of the ``conjectures`` summary section about ``cid``."""
    section = out.split(" conjectures ", 1)[-1]
    lines = [ln for ln in section.splitlines() if ln.startswith(f"{cid} [")]
    assert lines, f"no summary line for {cid} in:\n{out}"
    return lines[0]


@pytest.fixture(scope="module")
def ungated(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return run_pytest(tmp_path_factory.mktemp("ungated"), FALSE_FIXTURE)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return run_pytest(tmp_path_factory.mktemp("outcomes"), OUTCOME_FIXTURE)


# -- a false-by-construction conjecture: reported, shrunk, saved; the build passes ----------
def test_false_conjecture_does_not_fail_the_build(ungated: Run) -> None:
    assert ungated.rc == 0, ungated.out
    assert "1 passed, 1 xfailed" in ungated.out
    assert "(reported, not asserted: use --gate-conjectures" in ungated.out


def test_summary_reports_counterexample_and_held_cases(ungated: Run) -> None:
    assert "counterexample found" in summary_line(ungated.out, "CX")
    assert summary_line(ungated.out, "CY").endswith("held on 5 cases")


def test_counterexample_is_saved_real_and_shrunk(ungated: Run) -> None:
    path = ungated.dir / "counterexamples" / "CX.json"
    assert path.is_file(), ungated.out
    ds = load_dataset(path)
    assert np.linalg.norm(finite_component(ds).W) > 1e-9  # it does refute "W_fin = 0"
    # the strategy draws K in 2..3 and n in 1..4; shrinking reaches the smallest K
    assert ds.K == 2 and ds.n <= 3, ds
    assert f"saved to {path}" in ungated.out


def test_printed_example_rebuilds_the_saved_counterexample(ungated: Run) -> None:
    snippets = EXAMPLE_LINE.findall(ungated.out)
    assert len(snippets) == 1, ungated.out
    arguments = eval(snippets[0][1:], {"example": lambda **kw: kw, "Dataset": Dataset})
    assert arguments["ds"] == load_dataset(ungated.dir / "counterexamples" / "CX.json")


def test_summary_file_has_the_records(ungated: Run) -> None:
    recs = ungated.records()
    cx, cy = recs[CX_NODE], recs[CY_NODE]
    assert cx["id"] == "CX" and cx["status"] == "counterexample" and not cx["gated"]
    assert cx["counterexample"]["files"] == [str(ungated.dir / "counterexamples" / "CX.json")]
    assert cx["counterexample"]["example"] == EXAMPLE_LINE.findall(ungated.out)[0]
    assert cx["worst"]["||W_fin||"] > 1e-9
    assert cy["id"] == "CY" and cy["status"] == "held" and cy["cases"] == 5


# -- gating: the option and the environment variable ---------------------------------------
def test_gate_option_fails_the_build(tmp_path: Path) -> None:
    run = run_pytest(tmp_path, FALSE_FIXTURE, "--gate-conjectures")
    assert run.rc == 1, run.out
    assert "1 failed, 1 passed" in run.out
    assert "conjecture CX: counterexample found (shrunk)" in run.out  # note on the failure
    assert "reported, not asserted" not in run.out
    assert run.records()[CX_NODE]["gated"] is True
    assert (tmp_path / "counterexamples" / "CX.json").is_file()


def test_gate_environment_variable_fails_the_build(tmp_path: Path) -> None:
    run = run_pytest(tmp_path, FALSE_FIXTURE, "-k", "w_fin", gate_env=True)
    assert run.rc == 1, run.out
    assert run.records()[CX_NODE]["status"] == "counterexample"


# -- a crash is a bug; a property that decides nothing passes --------------------------------
def test_crashing_property_fails_without_gating(outcomes: Run) -> None:
    assert outcomes.rc == 1, outcomes.out
    assert "FAILED tests/fixtures/outcome_conjectures.py::test_crashing_property" in outcomes.out
    assert "ERROR in the property - ValueError" in summary_line(outcomes.out, "CZ")
    rec = outcomes.records()[f"{OUTCOME_FIXTURE}::test_crashing_property"]
    assert rec["status"] == "error"
    assert not (outcomes.dir / "counterexamples").exists()  # a crash is no counterexample


def test_inconclusive_and_vacuous_properties_pass(outcomes: Run) -> None:
    assert "1 failed, 2 passed" in outcomes.out, outcomes.out
    cw, cv = summary_line(outcomes.out, "CW"), summary_line(outcomes.out, "CV")
    assert cw.endswith("inconclusive - no case decided (5 inconclusive)"), cw
    assert cv.endswith("inconclusive - no case decided (5 out of scope)"), cv
    rec = outcomes.records()[f"{OUTCOME_FIXTURE}::test_inconclusive_property"]
    assert rec["status"] == "inconclusive" and rec["cases"] == 0
    assert rec["reasons"] == {"solver not certified (by construction)": 5}


# -- example_snippet ---------------------------------------------------------------------------
def test_example_snippet_round_trips() -> None:
    ds = Dataset.from_arrays([[1.0, 0.5], [0.0, 1 / 3]], [((0, 1), 1), ((1,), 1)])
    snippet = example_snippet({"ds": ds, "seed": 7})
    assert snippet.startswith("@example(ds=Dataset.from_json('") and snippet.endswith(", seed=7)")
    args = eval(snippet[1:], {"example": lambda **kw: kw, "Dataset": Dataset})
    assert args == {"ds": ds, "seed": 7}
    assert example_snippet({}) == "@example()"


# -- automatic discovery of new conjecture modules ----------------------------------------
def write_theorems(base: Path) -> Path:
    base.mkdir()
    (base / "conjecture_C9_new_claim.py").write_text(
        '"""C9: every foo of W_svm is a bar.\n\nDetails.\n"""\nimport nonexistent_module\n')
    (base / "conjecture_C9_second.py").write_text('"""C9: a duplicate id (ignored)."""\n')
    (base / "conjecture_C10_bare.py").write_text("x = 1\n")
    (base / "conjecture_C11_broken.py").write_text('"""C11: not python\n')
    (base / "conjecture_C1_listed.py").write_text('"""C1: listed in CLAIMS already."""\n')
    (base / "conjecture_lowercase_x.py").write_text('"""no id."""\n')
    (base / "claim_Z_theorem.py").write_text('"""Z: not a conjecture."""\n')
    return base


def test_discovered_reads_new_conjecture_modules_without_importing(tmp_path: Path) -> None:
    found = claims.discovered(write_theorems(tmp_path / "theorems"))
    assert [(c.id, c.kind, c.statement) for c in found] == [
        ("C9", "conjecture", "every foo of W_svm is a bar."),
        ("C10", "conjecture", "(no module docstring)"),
        ("C11", "conjecture", "(no module docstring)"),
    ]


def test_registry_and_cli_list_discovered_conjectures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    base = write_theorems(tmp_path / "theorems")
    monkeypatch.setattr(claims, "theorems_dir", lambda: base)
    rows = {r["id"]: r for r in claims.registry()}
    assert rows["C9"].items() >= {"id": "C9", "kind": "conjecture", "section": "",
                                  "statement": "every foo of W_svm is a bar.",
                                  "module": "theorems/conjecture_C9_new_claim.py"}.items()
    assert rows["C1"]["module"] == "theorems/conjecture_C1_listed.py"
    assert list(rows)[: len(claims.CLAIMS)] == [c.id for c in claims.CLAIMS]
    assert claims.claim("C9").statement == "every foo of W_svm is a bar."
    assert [c.id for c in claims.all_claims()][-3:] == ["C9", "C10", "C11"]
    assert claims_command.run(argparse.Namespace(json=False)) == 0
    out = capsys.readouterr().out
    assert "C9  conjecture theorems/conjecture_C9_new_claim.py\n    every foo of W_svm is a bar." \
        in out


def test_real_registry_has_no_undeclared_conjectures() -> None:
    """C1-C6 are in CLAIMS; nothing else in theorems/ is picked up by accident."""
    listed = {c.id for c in claims.CLAIMS}
    assert {c.id for c in claims.all_claims()} == listed | {c.id for c in claims.discovered()}
    assert all(c.module for c in claims.CLAIMS if c.kind == "conjecture")


# -- the template: discovered, and held once copied --------------------------------------------
def test_template_copied_is_discovered_and_holds(tmp_path: Path) -> None:
    base = tmp_path / "theorems"
    base.mkdir()
    module = base / "conjecture_C99_orthogonal.py"
    shutil.copy(TEMPLATE, module)
    (found,) = claims.discovered(base)
    assert found.id == "C99" and found.statement.startswith("<W_svm, W_fin> = 0")
    # no conftest: the installed plugin brings the profiles, markers and collection
    run = run_pytest(tmp_path / "out", str(module), "--hypothesis-profile=ci", cwd=tmp_path)
    assert run.rc == 0, run.out
    assert re.search(r"^C99 \[.*\]: held on \d+ cases", run.out, re.MULTILINE), run.out
    assert "2 passed" in run.out
