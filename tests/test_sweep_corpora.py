"""``ntp-mechanics sweep`` over corpus grids: rows, controls, resume, figures, Dask, bad input.

A 2-point grid (window length 4 and 6) of the embedded corpus at character level, with
a 12-token vocabulary and 60 + 30 windows per trial, trained 40 steps: seconds.  The
cluster test runs the same grid on a local scheduler and one worker and asks for the
local rows back, to fp64 round-off.
"""

from __future__ import annotations

import json
import math
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_sweep import _dask, _wait_for_workers

from ntp_mechanics.app.cli import main
from ntp_mechanics.app.experiment import corpus_tasks
from ntp_mechanics.app.experiment.corpus_tasks import CONTROL_PREFIX, MEASURED
from ntp_mechanics.app.experiment.engine import Cluster
from ntp_mechanics.app.experiment.grid import parse_grid, point_of_row, task_seed
from ntp_mechanics.app.experiment.store import Store
from ntp_mechanics.app.experiment.tasks import run_chunk
from ntp_mechanics.app.sweep import run_sweep
from ntp_mechanics.corpora import text
from ntp_mechanics.kernel.realtext import KEYS
from ntp_mechanics.kernel.verdict import Verdict
from ntp_mechanics.solvers.training import NGD_LR

SPEC = "source=corpus unit=char T=4,6 vocab=12 windows=60 heldout=30"
PROTOCOL = {"trials": 2, "steps": 40, "record_every": 20}


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("corpus")
    return out, run_sweep(SPEC, out, workers=1, progress=False, **PROTOCOL)


def test_rows_hold_the_values_used_and_every_model(local: tuple[Path, dict]) -> None:
    out, res = local
    assert (res["tasks"], res["computed"], res["rows"], res["failed"]) == (4, 4, 4, 0)
    rows = Store(out).rows()
    assert sorted(r["T"] for r in rows) == [4, 4, 6, 6]
    for r in rows:
        assert r["seed"] == task_seed(point_of_row(r), r["trial"])
        assert point_of_row(r)["lr"] == "auto" and r["lr"] == NGD_LR  # resolved, recorded
        assert (r["K"], r["d"], r["vocab"]) == (12, 12, 12)
        assert r["windows"] == min(60, r["train_windows_available"])
        assert r["heldout"] == min(30, r["heldout_windows_available"])
        assert 0 < r["kept_fraction"] <= 1
        assert set(KEYS) <= set(MEASURED)
        for prefix in CONTROL_PREFIX.values():
            assert all(prefix + k in r for k in MEASURED)
            assert r[prefix + "verdict"] in {v.value for v in Verdict}
            assert 0 <= r[prefix + "top_scc_mass"] <= 1
            split = [r[prefix + k] for k in ("norm_along_svm", "norm_fin", "norm_rest")]
            assert math.hypot(*split) == pytest.approx(r[prefix + "norm_W"], rel=1e-9)
        # the controls' premises: labels redrawn, the random W of the model's norm
        assert r["redrawn_labels_changed"] > 0
        assert r["random_norm_W"] == pytest.approx(r["norm_W"], rel=1e-12)
        assert r["random_norm_ratio"] == pytest.approx(1.0, rel=1e-12)
        assert not r["outside_hypotheses"] and r["svm_reason"] == ""


def test_curves_over_steps_and_figures(local: tuple[Path, dict]) -> None:
    out, _ = local
    rows, curves = Store(out).rows(), {c["task_id"]: c for c in Store(out).curves_of()}
    for r in rows:
        c = curves[r["task_id"]]
        assert c["steps"] == [0, 20, 40]
        for prefix in CONTROL_PREFIX.values():
            assert c[prefix + "top_scc_mass"][-1] == pytest.approx(r[prefix + "top_scc_mass"])
        assert c["norm_W"][0] == 0 < c["norm_W"][-1]  # trained from W = 0
    lines = (out / "summary.md").read_text().splitlines()
    assert lines[0].startswith("| T | trials | top_scc_mass |") and len(lines) >= 4
    for name in ("results.parquet", "curves.parquet", "final_T.png", "curves.png"):
        assert (out / name).stat().st_size > 0


def test_a_row_recomputed_alone_is_the_same(local: tuple[Path, dict]) -> None:
    out, _ = local
    task = parse_grid(SPEC).tasks(**PROTOCOL)[3]
    (row, _), = run_chunk([task])  # alone, not in its point's batch of two
    stored = Store(out).rows([task.id])[0]
    for k in ("seed", "windows", "heldout", *MEASURED, "redrawn_top_scc_mass",
              "random_top_scc_mass", "other_top_scc_mass"):
        assert row[k] == pytest.approx(stored[k], rel=1e-9, abs=1e-12), k


def test_resume_computes_nothing(local: tuple[Path, dict]) -> None:
    out, _ = local
    res = run_sweep(SPEC, out, workers=1, progress=False, **PROTOCOL)
    assert (res["computed"], res["skipped"], res["rows"]) == (0, 4, 4)


def test_an_infeasible_graph_svm_is_outside_the_hypotheses_not_an_error(tmp_path: Path
                                                                        ) -> None:
    spec = "source=corpus T=4 vocab=12 windows=60 heldout=30 embeddings=gaussian d=2"
    res = run_sweep(spec, tmp_path / "s", workers=1, progress=False, trials=1, steps=20,
                    record_every=20)
    assert (res["rows"], res["failed"]) == (1, 0)
    r, = Store(tmp_path / "s").rows()
    assert (r["K"], r["d"]) == (12, 2)
    assert "infeasible" in r["svm_reason"].lower()  # the premise: d < K breaks it
    assert r["outside_hypotheses"] and "outside the hypotheses" in r["reason"]
    assert r["corr_W_svm"] is None and r["top_scc_mass"] is not None  # measured, not judged
    assert r["other_verdict"] == "not measured"  # no Graph-SVM to borrow


def test_a_corpus_grid_is_not_a_drawn_grid() -> None:
    drawn = parse_grid("K=4 d=4").points()[0]
    assert "source" not in drawn  # drawn grids keep the seeds they had
    assert parse_grid("source=draw K=4 d=4").points()[0] == drawn
    corpus = parse_grid("source=corpus T=4 vocab=12").points()[0]
    assert corpus["source"] == "corpus" and task_seed(corpus, 0) != task_seed(drawn, 0)


# -- bad input: one line, exit 2, before any work ---------------------------------------------
@pytest.mark.parametrize(("spec", "says"), [
    ("source=corpus unit=morse", "bad value 'morse' for unit"),
    ("source=corpus T=1", "T must be in [2, 4096]"),
    ("source=corpus T=5000", "T must be in [2, 4096]"),
    ("source=corpus vocab=1", "vocab must be in [2,"),
    ("source=corpus vocab=0", "bad value '0' for vocab"),
    ("source=corpus windows=none", "bad value 'none' for windows"),
    ("source=corpus kind=cyclic", "unknown parameter 'kind' in SPEC with source=corpus"),
    ("source=corpus vocab=12 d=5", "onehot embeddings have d = K = 12"),
    ("source=corpus embeddings=gaussian:8", "gaussian takes its dimension from d"),
    ("source=corpus,draw", "bad value 'corpus,draw' for source"),
    ("source=corpus corpus_seed=-1", "bad value '-1' for corpus_seed"),
])
def test_bad_corpus_spec_is_exit_2_with_one_line(spec: str, says: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "s"
    assert main(["sweep", "--out", str(out), "--grid", spec]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


@pytest.fixture
def short_text(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An embedded corpus of eight characters."""
    corpus_tasks.corpus.cache_clear()
    monkeypatch.setattr(text, "embedded_documents", lambda: ("abcabcab",))
    yield
    corpus_tasks.corpus.cache_clear()


def test_a_cut_without_windows_is_exit_2_before_any_work(
        short_text: None, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "s"
    assert main(["sweep", "--out", str(out), "--grid", "source=corpus T=4,16"]) == 2
    err = capsys.readouterr().err
    assert "too few for one window" in err and "T=16" in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()


# -- a Dask cluster ---------------------------------------------------------------------------
@pytest.fixture
def one_worker(tmp_path: Path) -> Iterator[Path]:
    """A local scheduler and one single-threaded worker."""
    sched_file = tmp_path / "scheduler.json"
    procs: list[subprocess.Popen] = []
    try:
        procs.append(_dask("scheduler", "--host", "127.0.0.1", "--port", "0",
                           "--no-dashboard", "--scheduler-file", str(sched_file),
                           log=tmp_path / "scheduler.log"))
        procs.append(_dask("worker", "--scheduler-file", str(sched_file), "--nthreads", "1",
                           "--no-nanny", "--no-dashboard", "--death-timeout", "60",
                           log=tmp_path / "worker.log"))
        _wait_for_workers(sched_file, 1, timeout=60)
        yield sched_file
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait(timeout=10)


def test_dask_gives_the_local_rows(one_worker: Path, local: tuple[Path, dict],
                                   tmp_path: Path) -> None:
    out = tmp_path / "dask"
    res = run_sweep(SPEC, out, cluster=Cluster(scheduler_file=str(one_worker)),
                    progress=False, chunk=1, **PROTOCOL)
    assert (res["rows"], res["failed"]) == (4, 0)
    here = {r["task_id"]: r for r in Store(local[0]).rows()}
    for r in Store(out).rows():
        assert r["worker"].startswith("tcp://")
        for k in ("seed", *MEASURED, "random_top_scc_mass"):
            assert r[k] == pytest.approx(here[r["task_id"]][k], rel=1e-9, abs=1e-12), k
    assert json.loads((out / "sweep.json").read_text())["grid"] == SPEC
