"""Installed use: the wheel, installed non-editable into a fresh virtual environment,
works from any folder with no checkout, conftest or configuration.

One module-scoped fixture builds the wheel from a copy of the package's sources (so no
``build/`` folder in the checkout can leak stale files into it), creates a virtual
environment in a temporary folder outside the checkout and installs the wheel, without
extras, with the pinned constraints (``ci/constraints.txt``; about a minute with pip's
cache).  Every
command then runs with that environment's executables, from an empty temporary folder,
in an environment without the checkout's variables:

* ``ntp-mechanics report --size quick`` exits 0 and decides every claim;
* ``ntp-mechanics gate`` exits 0 and writes JUnit XML;
* a user's conjecture module that imports only ``ntp_mechanics`` and
  ``ntp_mechanics.strategies`` and is false on purpose is reported "counterexample
  found" (exit 0) by ``pytest`` and by ``ntp-mechanics test``, and fails with
  ``--gate-conjectures`` (exit 1);
* ``pytest --pyargs ntp_mechanics.theorems`` collects the paper's claims and runs one;
* the wheel adds nothing but ``ntp_mechanics`` to site-packages, and the old top-level
  names ``generators``, ``corpora``, ``solvers``, ``theorems`` are not importable;
* the core install is lean: no dask, distributed or pyarrow; ``ntp-mechanics sweep``
  exits 2 with the one-line install hint before any work, while ``report`` (whose paper
  section runs on local processes) works; ``--version`` is the installed version;
* last, ``pip install 'WHEEL[dask]'`` into the same environment makes ``sweep`` work.

Slow (minutes: it runs the claim modules twice, on two pytest-xdist workers);
``.ci/run`` runs it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

# one worker builds the environment once (ci/test.sh runs pytest-xdist with loadgroup)
# and runs this module's tests in file order: the test that adds the dask extra is last
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("installed")]

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "ntp_mechanics", "generators", "corpora", "solvers",
           "theorems")
OLD_NAMES = ("generators", "corpora", "solvers", "theorems")
DASK_EXTRA = ("dask", "distributed", "pyarrow")  # the packages only the `dask` extra brings
SWEEP_HINT = "ntp-mechanics sweep needs the 'dask' extra: pip install 'ntp-mechanics[dask]'"
TINY_SWEEP = ("sweep", "--out", "s", "--grid", "K=3 d=3 n=3 T=3", "--trials", "2",
              "--steps", "60", "--record-every", "20", "--workers", "1")

USER_CONJECTURE = '''"""C99: the Graph-SVM is always zero.

False on purpose: any acyclic edge makes it nonzero.
"""

import numpy as np
from hypothesis import given, settings

from ntp_mechanics import conjecture, observe, predict
from ntp_mechanics.strategies import paper_datasets


@conjecture("C99")
@settings(max_examples=20, deadline=None)
@given(ds=paper_datasets(K=3, n=2, T=3))
def test_graph_svm_is_zero(ds):
    norm = float(np.linalg.norm(predict(ds).W_svm))
    observe(norm, "||W_svm||")
    assert norm < 1e-9
'''


@dataclass(frozen=True)
class Installed:
    bin: Path  # the fresh environment's bin/
    cwd: Path  # an empty working folder outside the checkout
    wheel: Path

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """``args[0]`` from the environment's bin/, in :attr:`cwd`, in a clean environment."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("NTP_", "PYTEST", "PYTHON", "VIRTUAL_ENV", "CI"))}
        env |= {"OMP_NUM_THREADS": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        cmd = [str(self.bin / args[0]), *args[1:]]
        return subprocess.run(cmd, cwd=self.cwd, env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)


def _check(proc: subprocess.CompletedProcess[str], rc: int = 0) -> str:
    out = proc.stdout + proc.stderr
    assert proc.returncode == rc, f"exit {proc.returncode} (want {rc}):\n{out[-4000:]}"
    return out


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("installed")
    assert ROOT not in base.parents, "the environment must live outside the checkout"
    src = base / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=ignore)
        else:
            shutil.copy2(path, src / name)
    dist = base / "dist"
    _check(subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                           "--no-build-isolation", "-w", str(dist), str(src)],
                          capture_output=True, text=True, check=False))
    wheel = next(dist.glob("ntp_mechanics-*.whl"))
    venv = base / "venv"
    _check(subprocess.run([sys.executable, "-m", "venv", str(venv)],
                          capture_output=True, text=True, check=False))
    cwd = base / "work"
    cwd.mkdir()
    inst = Installed(venv / "bin", cwd, wheel)
    # pytest-xdist (pinned like everything else) lets report and gate use both cores
    _check(inst.run("python", "-m", "pip", "install", "-q", "-c",
                    str(ROOT / "ci" / "constraints.txt"), str(wheel), "pytest-xdist"))
    return inst


def test_wheel_adds_only_ntp_mechanics(installed: Installed) -> None:
    code = ("import importlib.util, json, sysconfig; print(json.dumps("
            f"[[n, importlib.util.find_spec(n) is not None] for n in {OLD_NAMES!r}]"
            " + [sysconfig.get_paths()['purelib']]))")
    *found, site = json.loads(_check(installed.run("python", "-c", code)).strip().splitlines()[-1])
    assert [n for n, ok in found if ok] == []
    record = next(Path(site).glob("ntp_mechanics-*.dist-info")) / "RECORD"
    tops = {row.split(",")[0].split("/")[0] for row in record.read_text().splitlines()}
    tops = {t for t in tops if t != ".."}  # the ntp-mechanics script, in bin/
    assert {t for t in tops if not t.endswith(".dist-info")} == {"ntp_mechanics"}
    assert not (Path(site) / "conftest.py").exists()


def _found(installed: Installed, names: tuple[str, ...]) -> list[str]:
    code = (f"import importlib.util, json; print(json.dumps([n for n in {names!r} "
            "if importlib.util.find_spec(n) is not None]))")
    return json.loads(_check(installed.run("python", "-c", code)).strip().splitlines()[-1])


def test_core_install_is_lean_and_sweep_names_its_extra(installed: Installed) -> None:
    assert _found(installed, DASK_EXTRA) == []
    out = _check(installed.run("ntp-mechanics", *TINY_SWEEP), rc=2)
    assert out.strip().splitlines() == [f"ntp-mechanics: error: {SWEEP_HINT}"]
    assert not (installed.cwd / "s").exists()
    version = _check(installed.run("python", "-c", "import importlib.metadata as m; "
                                   "print(m.version('ntp-mechanics'))")).strip()
    assert _check(installed.run("ntp-mechanics", "--version")).strip() == (
        f"ntp-mechanics {version}")


def test_gate_passes_and_writes_junit(installed: Installed) -> None:
    out = _check(installed.run("ntp-mechanics", "gate", "--", "-n", "2", timeout=1200))
    assert "Theory gate: PASS" in out
    junit = ET.parse(installed.cwd / "reports" / "theory-junit.xml").getroot()
    suites = [junit] if junit.tag == "testsuite" else list(junit)
    assert sum(int(s.get("tests", 0)) for s in suites) > 0
    summary = json.loads((installed.cwd / "reports" / "theory-summary.json").read_text())
    assert summary["passed"] and summary["not_run"] == []


def test_user_conjecture_counterexample(installed: Installed) -> None:
    (installed.cwd / "conjecture_C99_zero.py").write_text(USER_CONJECTURE)
    out = _check(installed.run("pytest", "conjecture_C99_zero.py"))
    assert "counterexample found" in out
    records = json.loads((installed.cwd / ".ntp-mechanics" / "conjectures.json").read_text())
    assert [r["status"] for r in records["conjectures"].values() if r["id"] == "C99"] == [
        "counterexample"]
    assert (installed.cwd / ".ntp-mechanics" / "counterexamples" / "C99.json").exists()
    _check(installed.run("pytest", "conjecture_C99_zero.py", "--gate-conjectures"), rc=1)
    # the package's command: the paper's claims collected beside it, only C99 selected
    cmd = ("ntp-mechanics", "test", "conjecture_C99_zero.py", "--profile", "ci")
    out = _check(installed.run(*cmd, "--", "-k", "C99"))
    assert "counterexample found" in out
    _check(installed.run(*cmd, "--gate-conjectures", "--", "-k", "C99"), rc=1)


def test_pytest_pyargs_runs_the_paper_claims(installed: Installed) -> None:
    out = _check(installed.run("pytest", "--pyargs", "ntp_mechanics.theorems", "-q",
                               "--collect-only"))
    assert "fact_F2_zero_iff_no_acyclic.py" in out and "claim_A_" in out
    # no profile named: the package's modules run under its dev profile (no deadline)
    out = _check(installed.run("pytest", "--pyargs",
                               "ntp_mechanics.theorems.fact_F2_zero_iff_no_acyclic", "-q", "-x"))
    assert " passed" in out and "DeadlineExceeded" not in out


def test_report_decides_every_claim(installed: Installed) -> None:
    _check(installed.run("ntp-mechanics", "report", "--out", "r", "--size", "quick",
                         timeout=1500))
    rows = json.loads((installed.cwd / "r" / "report.json").read_text())["claims"]
    assert {r["id"] for r in rows} >= {"A", "B", "C", "D", "E", "F1", "F8", "C1"}
    undecided = [(r["id"], r["verdict"], r["tests"]) for r in rows
                 if r["tests"] == "none run" or r["verdict"] == "inconclusive"
                 or r["failed"]]
    assert undecided == []


def test_sweep_works_with_the_dask_extra(installed: Installed) -> None:
    """Last in the module: it adds the extra to the environment the others share."""
    assert _found(installed, DASK_EXTRA) == []  # still the core install
    _check(installed.run("python", "-m", "pip", "install", "-q", "-c",
                         str(ROOT / "ci" / "constraints.txt"), f"{installed.wheel}[dask]"))
    assert _found(installed, DASK_EXTRA) == list(DASK_EXTRA)
    _check(installed.run("ntp-mechanics", *TINY_SWEEP))
    assert (installed.cwd / "s" / "results.parquet").exists()
    assert (installed.cwd / "s" / "summary.md").exists()
