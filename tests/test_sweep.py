"""``ntp-mechanics sweep``: SPEC parsing, seeds, resume, and a real Dask cluster losing a worker.

The cluster test starts ``dask scheduler`` and two ``dask worker`` processes on
localhost, SIGKILLs one of them once the first row is on disk, and checks that every
row is still there and that a re-run computes nothing.  Everything it starts is killed
in a finaliser, also on failure; every wait is bounded.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ntp_mechanics.app.cli import main
from ntp_mechanics.app.experiment.engine import Cluster
from ntp_mechanics.app.experiment.grid import SweepError, parse_grid, point_of_row, task_seed
from ntp_mechanics.app.experiment.protocol import EQUICORRELATION
from ntp_mechanics.app.experiment.store import Store
from ntp_mechanics.app.experiment.tasks import run_chunk
from ntp_mechanics.app.experiment.trial import draw_embeddings
from ntp_mechanics.app.sweep import run_sweep

TINY = "K=3 d=3 n=3 T=3 kind=cyclic,any"
PROTOCOL = {"trials": 3, "steps": 60, "record_every": 20}


# -- SPEC ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("spec", "says"), [
    ("K=4 colour=red", "unknown parameter 'colour'"),
    ("K=4,x", "bad value 'x' for K"),
    ("K=4 kind=cyclic,loopy", "bad value 'loopy' for kind"),
    ("K", "malformed SPEC item 'K'"),
    ("K=4,", "malformed SPEC item"),
    ("K=4 K=5", "given twice"),
    ("K=4,4", "repeated value"),
    ("lr=-1", "bad value '-1' for lr"),
    ("K=8 d=4 embeddings=orthonormal", "need d >= K"),
    ("", "empty SPEC"),
])
def test_bad_spec_is_exit_2_with_one_line(spec: str, says: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "s"
    assert main(["sweep", "--out", str(out), "--grid", spec]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1
    assert not out.exists()  # refused before any work


def test_relative_sizes_and_defaults_resolve_to_one_point() -> None:
    a = parse_grid("K=4,6 d=K n=2K").points()
    assert [(p["K"], p["d"], p["n"]) for p in a] == [(4, 4, 8), (6, 6, 12)]
    b = parse_grid("n=8 d=4 K=4 kind=cyclic init=zero").points()
    assert task_seed(a[0], 0) == task_seed(b[0], 0)  # same point, however written
    assert task_seed(a[0], 0) != task_seed(a[0], 1) != task_seed(a[1], 1)
    with pytest.raises(SweepError):
        parse_grid("K=1")


@pytest.mark.parametrize("kind", ["orthonormal", "equicorrelated"])
def test_embedding_gram_matrices(kind: str) -> None:
    E = draw_embeddings(np.random.default_rng(0), kind, 5, 7)
    rho = 0.0 if kind == "orthonormal" else EQUICORRELATION
    assert E @ E.T == pytest.approx((1 - rho) * np.eye(5) + rho, abs=1e-12)


# -- local engine: rows, seeds, resume ------------------------------------------------------
@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("local")
    return out, run_sweep(TINY, out, workers=1, progress=False, **PROTOCOL)


def test_every_row_once_with_its_figures(local: tuple[Path, dict]) -> None:
    out, res = local
    assert (res["tasks"], res["computed"], res["rows"], res["failed"]) == (6, 6, 6, 0)
    rows = Store(out).rows()
    assert len({r["task_id"] for r in rows}) == 6
    for r in rows:
        assert -1 <= r["corr_svm"] <= 1 and r["norm"] > 0 and r["loss_gap"] > 0
        assert r["seed"] == task_seed(point_of_row(r), r["trial"])
    assert (out / "summary.md").read_text().splitlines()[0].startswith("| kind | trials |")
    for name in ("results.parquet", "curves.parquet", "final_kind.png", "curves.png"):
        assert (out / name).stat().st_size > 0


def test_a_row_recomputed_alone_is_the_same(local: tuple[Path, dict]) -> None:
    out, _ = local
    task = parse_grid(TINY).tasks(**PROTOCOL)[4]
    (row, _), = run_chunk([task])
    stored = Store(out).rows([task.id])[0]
    for k in ("seed", "corr_svm", "corr_path", "fin_err", "loss_gap", "norm"):
        assert row[k] == pytest.approx(stored[k], rel=1e-12, nan_ok=True), k


def test_resume_computes_only_missing_rows(local: tuple[Path, dict], tmp_path: Path) -> None:
    out, _ = local
    parts = sorted((out / "parts").glob("*.parquet"))
    parts[2].unlink()
    res = run_sweep(TINY, out, workers=1, progress=False, **PROTOCOL)
    assert (res["computed"], res["skipped"], res["rows"]) == (1, 5, 6)


# -- a real Dask cluster ----------------------------------------------------------------------
def _dask(*args: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with log.open("w") as fh:
        return subprocess.Popen([sys.executable, "-m", "dask", *args], stdout=fh,
                                stderr=subprocess.STDOUT, env=env)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[Path, list[subprocess.Popen]]]:
    """A scheduler and two single-threaded workers without nannies (so a SIGKILL is final)."""
    sched_file = tmp_path / "scheduler.json"
    procs: list[subprocess.Popen] = []
    try:
        procs.append(_dask("scheduler", "--host", "127.0.0.1", "--port", "0",
                           "--no-dashboard", "--scheduler-file", str(sched_file),
                           log=tmp_path / "scheduler.log"))
        for i in range(2):
            procs.append(_dask("worker", "--scheduler-file", str(sched_file), "--nthreads",
                               "1", "--no-nanny", "--no-dashboard", "--name", f"w{i}",
                               "--death-timeout", "60", log=tmp_path / f"worker{i}.log"))
        _wait_for_workers(sched_file, 2, timeout=60)
        yield sched_file, procs
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait(timeout=10)


def _wait_for_workers(sched_file: Path, n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not sched_file.exists():
        assert time.monotonic() < deadline, "scheduler did not start"
        time.sleep(0.1)
    from distributed import Client

    with Client(scheduler_file=str(sched_file), timeout=timeout) as client:
        client.wait_for_workers(n, timeout=max(deadline - time.monotonic(), 1))


def test_a_worker_killed_mid_sweep_costs_no_row(
        cluster: tuple[Path, list[subprocess.Popen]], tmp_path: Path) -> None:
    sched_file, procs = cluster
    out = tmp_path / "sweep"
    spec = "K=3,4 d=K n=4 T=3"
    protocol = {**PROTOCOL, "trials": 4, "steps": 100}
    killed_at: list[int] = []

    def kill_after_first_row() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            rows = list((out / "parts").glob("*.parquet")) if (out / "parts").exists() else []
            if rows:
                os.kill(procs[1].pid, signal.SIGKILL)
                killed_at.append(len(rows))
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_after_first_row, daemon=True)
    killer.start()
    res = run_sweep(spec, out, cluster=Cluster(scheduler_file=str(sched_file)),
                    progress=False, **protocol)
    killer.join(timeout=5)
    assert killed_at and killed_at[0] < 8, "the worker was not killed mid-sweep"
    assert procs[1].wait(timeout=10) == -signal.SIGKILL
    assert (res["tasks"], res["rows"], res["failed"]) == (8, 8, 0)
    rows = Store(out).rows()
    assert sorted(r["task_id"] for r in rows) == sorted(
        t.id for t in parse_grid(spec).tasks(**protocol))
    again = run_sweep(spec, out, cluster=Cluster(scheduler_file=str(sched_file)),
                      progress=False, **protocol)
    assert (again["computed"], again["skipped"], again["rows"]) == (0, 8, 8)


def test_unreachable_scheduler_is_exit_2_and_keeps_rows(
        local: tuple[Path, dict], capsys: pytest.CaptureFixture) -> None:
    out, _ = local
    before = sorted(p.name for p in (out / "parts").iterdir())
    code = main(["sweep", "--out", str(out), "--grid", TINY, "--steps", "60",
                 "--record-every", "20", "--scheduler", "tcp://127.0.0.1:9", "--timeout", "2"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot reach the Dask scheduler" in err
    assert len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in (out / "parts").iterdir()) == before


def test_a_task_that_raises_is_exit_1_and_listed(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    # one sequence of two tokens has no cycle: no cyclic dataset can be drawn
    out = tmp_path / "s"
    spec = "K=3 n=1 T=2 kind=cyclic,any"
    args = ["sweep", "--out", str(out), "--grid", spec, "--trials", "1", "--steps", "5",
            "--workers", "1"]
    assert main(args) == 1
    assert "errors.jsonl" in capsys.readouterr().err
    errors = (out / "errors.jsonl").read_text().splitlines()
    assert len(errors) == 1 and '"kind": "cyclic"' in errors[0]
    assert [r["kind"] for r in Store(out).rows()] == ["any"]


def _exit_once(marker: str) -> int:
    """Kill this worker process the first time it runs (a worker dying mid-task)."""
    path = Path(marker)
    if not path.exists():
        path.write_text("died")
        os._exit(1)
    return 7


def test_local_pool_reruns_what_a_dead_worker_took_down(tmp_path: Path) -> None:
    from ntp_mechanics.app.experiment.engine import run_tasks

    got: list[int] = []
    failures = run_tasks(_exit_once, [str(tmp_path / "m")] * 3, workers=2,
                         on_done=lambda _, r: got.append(r), on_error=lambda *_: None,
                         progress=False)
    assert failures == 0 and got == [7, 7, 7]


# -- rows record the values used; one grid per DIR; a cluster without workers ------------------
def test_a_row_records_the_step_size_and_init_scale_it_used() -> None:
    from ntp_mechanics.app.experiment.tasks import to_trial
    from ntp_mechanics.app.experiment.trial import draw_dataset
    from ntp_mechanics.solvers.training import NGD_LR, smoothness_bound

    spec = "K=3 d=3 n=3 T=3 optimizer=gd,ngd init=zero,default"
    tasks = parse_grid(spec).tasks(1, steps=5, record_every=5)
    for task, (row, _) in zip(tasks, run_chunk(tasks), strict=True):
        p = task.params
        assert p["lr"] == "auto"  # the default step applied
        ds = draw_dataset(to_trial(task))[0]
        lr = NGD_LR if p["optimizer"] == "ngd" else 1 / smoothness_bound(ds)
        assert row["lr"] == pytest.approx(lr, rel=1e-12), p
        scale = 0.0 if p["init"] == "zero" else 1 / np.sqrt(3 * p["d"])
        assert row["init_scale"] == pytest.approx(scale, rel=1e-12), p
        assert row["steps"] == 5
        assert point_of_row(row) == p and row["seed"] == task_seed(p, task.trial)


@pytest.mark.parametrize(("second", "says"), [
    (["--grid", "K=3 d=3 n=3 T=4 kind=cyclic,any"], "holds the grid"),
    (["--grid", TINY, "--steps", "80"], "--steps 60"),
])
def test_another_grid_into_the_same_dir_is_refused(
        local: tuple[Path, dict], second: list[str], says: str,
        capsys: pytest.CaptureFixture) -> None:
    out, _ = local
    before = sorted(p.name for p in (out / "parts").iterdir())
    argv = ["sweep", "--out", str(out), "--steps", "60", "--record-every", "20",
            "--trials", "3", "--workers", "1", *second]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in (out / "parts").iterdir()) == before


def test_the_same_grid_written_otherwise_resumes(local: tuple[Path, dict]) -> None:
    out, _ = local
    res = run_sweep("kind=any,cyclic T=3 n=3 d=K K=3", out, workers=1, progress=False,
                    **PROTOCOL)
    assert (res["computed"], res["skipped"], res["rows"]) == (0, 6, 6)


@pytest.fixture
def scheduler_only(tmp_path: Path) -> Iterator[Path]:
    """A Dask scheduler with no worker at all."""
    sched_file = tmp_path / "scheduler.json"
    proc = _dask("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                 "--scheduler-file", str(sched_file), log=tmp_path / "scheduler.log")
    try:
        deadline = time.monotonic() + 60
        while not sched_file.exists():
            assert time.monotonic() < deadline, "scheduler did not start"
            time.sleep(0.1)
        yield sched_file
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_a_cluster_without_workers_is_exit_2_after_the_worker_timeout(
        scheduler_only: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "s"
    t0 = time.monotonic()
    code = main(["sweep", "--out", str(out), "--grid", "K=3 d=3 n=3 T=3", "--trials", "1",
                 "--steps", "5", "--scheduler-file", str(scheduler_only),
                 "--worker-timeout", "2"])
    err = capsys.readouterr().err
    assert code == 2 and "no worker for 2 s" in err, err
    assert len(err.strip().splitlines()) == 1
    assert time.monotonic() - t0 < 30


def test_a_cluster_that_loses_every_worker_keeps_finished_rows(
        cluster: tuple[Path, list[subprocess.Popen]], tmp_path: Path) -> None:
    sched_file, procs = cluster
    out = tmp_path / "sweep"
    spec = "K=3,4 d=K n=4 T=3"
    protocol = {**PROTOCOL, "trials": 4, "steps": 100}

    def kill_all_after_first_row() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if (out / "parts").exists() and list((out / "parts").glob("*.parquet")):
                for p in procs[1:]:
                    os.kill(p.pid, signal.SIGKILL)
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_all_after_first_row, daemon=True)
    killer.start()
    with pytest.raises(SweepError, match="no worker for 2 s"):
        run_sweep(spec, out, cluster=Cluster(scheduler_file=str(sched_file), worker_timeout=2),
                  progress=False, chunk=1, **protocol)
    killer.join(timeout=5)
    rows = Store(out).rows()
    assert 1 <= len(rows) < 8  # what finished before the workers died is on disk
    assert {r["task_id"] for r in rows} <= {t.id for t in parse_grid(spec).tasks(**protocol)}
