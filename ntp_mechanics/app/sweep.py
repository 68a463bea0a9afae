"""``ntp-mechanics sweep``: the paper's experiment over any grid, resumable, on a cluster.

The paper (Li, Huang, Ildiz, Rawat, Oymak, AISTATS 2024) checked its theory with
normalised GD at ``K in {6, 8}``, ``d = 8``, ``n <= 10``, ``T <= 6``, 10 trials
(THEORY.md sections 7-8).  A sweep runs the same per-trial measurement
(:mod:`ntp_mechanics.app.experiment.tasks`) over the grid of a SPEC
(:mod:`ntp_mechanics.app.experiment.grid`), on local processes or an existing Dask cluster
(:mod:`ntp_mechanics.app.experiment.engine`), writes one Parquet row per trial as it
finishes (:mod:`ntp_mechanics.app.experiment.store`) and draws the figures
(:mod:`ntp_mechanics.app.experiment.grid_figures`) and ``DIR/summary.md`` (mean ± std of each
final metric per value of each swept parameter).  Re-running with the same ``--out`` and grid
computes only the missing rows.

Exit codes: 0 every row present; 1 some tasks raised (listed in ``DIR/errors.jsonl``;
a re-run retries them); 2 bad SPEC or option, a grid or protocol other than the one
``DIR`` holds, unreachable scheduler, a cluster without workers for
``--worker-timeout`` seconds (finished rows kept).

A grid with ``source=corpus`` trains on windows of the embedded corpus instead and
measures the trained model and its negative controls on held-out windows
(:mod:`ntp_mechanics.app.experiment.corpus_tasks`), with the same engine and store.

Example
-------
``ntp-mechanics sweep --out runs/k --grid "K=8,16,32 d=K n=2K T=8" --trials 10``

``ntp-mechanics sweep --out runs/c --grid "source=corpus T=8,16 vocab=32" --trials 3``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from ntp_mechanics.app.experiment.engine import WORKER_TIMEOUT
from ntp_mechanics.app.experiment.grid import Grid, SweepError, Task, canonical, parse_grid
from ntp_mechanics.solvers.training import PAPER_PROTOCOL

HELP = "run the paper's experiment over a grid (local processes or a Dask cluster); Parquet rows"

__all__ = ["SweepOutcome", "run_sweep"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="results directory (re-use it to resume)")
    p.add_argument("--grid", required=True, metavar="SPEC",
                   help="space-separated name=v1,v2,... over K, d, n, T (d, n, T may be "
                        "K, 2K, ...), kind (cyclic, acyclic, any), embeddings (unit-norm, "
                        "orthonormal, equicorrelated), init (zero, default, scale), "
                        "init_scale, optimizer (gd, ngd), lr (auto or a number); or, with "
                        "source=corpus, windows of the embedded corpus over unit (char, "
                        "word, bpe), T, vocab, embeddings (onehot, gaussian), d, windows, "
                        "heldout (numbers or all), corpus_seed, optimizer, lr")
    p.add_argument("--trials", type=int, default=10, help="trials per grid point (10)")
    p.add_argument("--steps", type=int, default=PAPER_PROTOCOL.steps,
                   help=f"training steps ({PAPER_PROTOCOL.steps})")
    p.add_argument("--record-every", type=int, default=50, metavar="N",
                   help="curve resolution in steps (50)")
    p.add_argument("--chunk", type=int, default=None, metavar="N",
                   help="trials per task (default: --trials, one grid point per task): the "
                        "unit scheduled, retried and written; the trials of a task that "
                        "share a training configuration train as one batch")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on the Dask cluster at this address (tcp://host:port)")
    where.add_argument("--scheduler-file", metavar="FILE",
                       help="run on the Dask cluster described by this scheduler file")
    p.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                   help="how long to wait for the scheduler before giving up (10)")
    p.add_argument("--worker-timeout", type=float, default=WORKER_TIMEOUT, metavar="SECONDS",
                   help="give up (exit 2, finished rows kept) when the cluster has had no "
                        f"worker for this long ({WORKER_TIMEOUT:g})")
    p.add_argument("--workers", type=int, default=2,
                   help="local processes when no scheduler is given (2)")
    p.add_argument("--retries", type=int, default=2,
                   help="extra attempts of a task that raised (Dask) or whose local "
                        "process pool broke (2)")


class SweepOutcome(dict):
    """``computed``, ``skipped``, ``failed``, ``rows`` counts and the files written."""


def run_sweep(spec: str, out: Path, *, trials: int = 10, steps: int = PAPER_PROTOCOL.steps,
              record_every: int = 50, chunk: int = 1, workers: int = 2,
              cluster: Any = None, retries: int = 2,
              progress: bool | None = None) -> SweepOutcome:
    """Run the missing tasks of the grid into ``out``; consolidate; draw the figures.

    Parameters
    ----------
    spec : str
        The grid (see :func:`ntp_mechanics.app.experiment.grid.parse_grid`).
    out : Path
        The results directory.
    trials, steps, record_every, chunk, workers, retries : int
        Trials per point, training steps, curve resolution, trials per task, local
        processes, extra attempts.
    cluster : ntp_mechanics.app.experiment.engine.Cluster, optional
        Run on a Dask cluster.
    progress : bool or None
        A progress bar (None: on a terminal).

    Returns
    -------
    SweepOutcome

    Raises
    ------
    SweepError
        Bad SPEC or option, unreachable scheduler.
    """
    from ntp_mechanics.app.experiment.engine import connect, run_tasks
    from ntp_mechanics.app.experiment.store import Store
    from ntp_mechanics.app.experiment.tasks import run_chunk

    _check_options(out, trials, steps, record_every, chunk, workers, retries)
    grid = parse_grid(spec)
    tasks = grid.tasks(trials, steps, record_every)
    _check_same_grid(out / "sweep.json", spec, grid, steps, record_every)
    if cluster is not None:
        connect(cluster).close()  # unreachable: exit 2 before touching DIR
    store = Store(out)
    (out / "sweep.json").write_text(json.dumps(
        {"grid": spec, "trials": trials, "steps": steps, "record_every": record_every},
        indent=1) + "\n", encoding="utf-8")
    done = store.done_ids()
    todo = [t for t in tasks if t.id not in done]
    chunks = [todo[i:i + chunk] for i in range(0, len(todo), chunk)]

    n_failed = 0

    def failed(c: list[Task], exc: BaseException) -> None:
        nonlocal n_failed
        n_failed += len(c)
        for t in c:
            store.error(t.id, t.params, exc)

    t0 = time.perf_counter()
    run_tasks(run_chunk, chunks, workers=workers, cluster=cluster,
                         retries=retries, on_done=lambda c, res: store.write(res),
                         on_error=failed, progress=progress, desc="sweep")
    ids = [t.id for t in tasks]
    files = [*store.consolidate(ids), *_figures(store, grid, ids, out)]
    return SweepOutcome(computed=len(todo) - n_failed, skipped=len(tasks) - len(todo),
                        failed=n_failed, rows=len(store.rows(ids)), tasks=len(tasks),
                        seconds=time.perf_counter() - t0, files=[str(f) for f in files])


def _check_options(out: Path, *counts: int) -> None:
    if out.exists() and not out.is_dir():
        raise SweepError(f"--out {out} exists and is not a directory")
    names = ("--trials", "--steps", "--record-every", "--chunk", "--workers")
    for name, value in zip(names, counts, strict=False):
        if value < 1:
            raise SweepError(f"{name} must be >= 1, got {value}")
    if counts[-1] < 0:
        raise SweepError(f"--retries must be >= 0, got {counts[-1]}")


def _check_same_grid(path: Path, spec: str, grid: Grid, steps: int, record_every: int
                     ) -> None:
    """Refuse a grid or protocol other than the one ``DIR`` already holds (one table holds
    one grid); the same grid, however written, and another ``--trials`` resume."""
    if not path.is_file():
        return
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
        old_points = parse_grid(old["grid"]).points()
        old_protocol = (int(old["steps"]), int(old["record_every"]))
    except (OSError, ValueError, KeyError, TypeError, SweepError):
        raise SweepError(f"{path} is not a sweep record this version can read; "
                         "use another --out") from None
    if sorted(map(canonical, old_points)) != sorted(map(canonical, grid.points())):
        raise SweepError(f"{path.parent} holds the grid {old['grid']!r}, not {spec!r}: "
                         "use another --out for another grid")
    if old_protocol != (steps, record_every):
        raise SweepError(f"{path.parent} holds --steps {old_protocol[0]} --record-every "
                         f"{old_protocol[1]}, not --steps {steps} --record-every "
                         f"{record_every}: use another --out")


def _figures(store: Any, grid: Grid, ids: list[str], out: Path) -> list[Path]:
    from ntp_mechanics.app.experiment.grid import point_of_row
    from ntp_mechanics.app.experiment.grid_figures import (
        corpus_curve_figure,
        curve_figure,
        final_figures,
    )
    from ntp_mechanics.app.experiment.tasks import METRICS

    # figures group by the grid's values (``lr=auto``), not the per-trial values used
    rows = [{**r, **point_of_row(r)} for r in store.rows(ids)]
    if not rows:
        return []
    swept, curves = grid.swept, store.curves_of(ids)
    if grid.source == "corpus":
        from ntp_mechanics.app.experiment.corpus_tasks import CORPUS_METRICS

        metrics, draw = CORPUS_METRICS, corpus_curve_figure
    else:
        metrics, draw = METRICS, curve_figure
    paths = [_summary(rows, swept, out / "summary.md", metrics)]
    paths += final_figures(rows, swept, out, metrics)
    paths.append(draw(rows, curves, swept, out / "curves.png"))
    return paths


def _summary(rows: list[dict[str, Any]], swept: list[str], path: Path,
             metrics: tuple[str, ...]) -> Path:
    """Mean +- std (finite values, their count) of each final metric per swept value."""
    from ntp_mechanics.app.experiment.grid_figures import summary_table

    lines = []
    for param in swept or ["K"]:
        lines += [f"| {param} | trials | " + " | ".join(metrics) + " |",
                  "|---" * (len(metrics) + 2) + "|"]
        for t in summary_table(rows, param, metrics):
            cells = [f"{t[f'{m}_mean']:.4g} ± {t[f'{m}_std']:.2g}"
                     + ("" if t[f"{m}_n"] == t["trials"] else f" (n={t[f'{m}_n']})")
                     for m in metrics]
            lines.append(f"| {t[param]} | {t['trials']} | " + " | ".join(cells) + " |")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def run(args: argparse.Namespace) -> int:
    from ntp_mechanics.app.experiment.engine import Cluster

    cluster = None
    if args.scheduler or args.scheduler_file:
        cluster = Cluster(args.scheduler, args.scheduler_file, timeout=args.timeout,
                          worker_timeout=args.worker_timeout)
    res = run_sweep(args.grid, args.out, trials=args.trials, steps=args.steps,
                    record_every=args.record_every,
                    chunk=args.chunk or args.trials, workers=args.workers,
                    cluster=cluster, retries=args.retries)
    print(f"ntp-mechanics sweep: {res['rows']}/{res['tasks']} rows in "
          f"{args.out / 'results.parquet'} ({res['computed']} computed, {res['skipped']} "
          f"already there, {res['failed']} failed; {res['seconds']:.0f} s)", file=sys.stderr)
    if res["failed"]:
        print(f"ntp-mechanics sweep: failed tasks are in {args.out / 'errors.jsonl'}; "
              "re-run the same command to retry them", file=sys.stderr)
        return 1
    return 0
