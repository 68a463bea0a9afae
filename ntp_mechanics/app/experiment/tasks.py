"""One sweep task, computed: draw, predict, train, measure; a row and its curves.

A task (:class:`ntp_mechanics.app.experiment.grid.Task`) becomes a trial of the paper's
experiment (:class:`ntp_mechanics.app.experiment.trial.Trial`, THEORY.md sections 7-8)
with the task's embeddings, initialisation, optimiser and seed, and the certified
regularization path solved at the final norm (claim A).  The row holds the final
values: the loss gap ``L(W) - L*``, ``||W||``, ``corr(W, W_svm)``, ``corr(W, W_R)`` at
``R = ||W||``, ``||P_fin W - W_fin||`` and the attention off the label's SCC; the curves
hold the same against steps.

Tasks come in *chunks* (a list of tasks per call), the unit the engine schedules and the
store writes; the trials of a chunk that share a training configuration (the trials of
a zero-start grid point, say) train as one batch
(:func:`ntp_mechanics.app.experiment.trial.run_trials`).

Example
-------
>>> from ntp_mechanics.app.experiment.grid import parse_grid
>>> task = parse_grid("K=3 d=3 n=3 T=3").tasks(1, steps=20, record_every=10)[0]
>>> row, curves = run_chunk([task])[0]
>>> row["task_id"] == task.id == curves["task_id"], curves["steps"]
(True, [0, 10, 20])
"""

from __future__ import annotations

import math
import os
import socket
import sys
from collections.abc import Sequence
from typing import Any

from ntp_mechanics.app.experiment.engine import worker_init
from ntp_mechanics.app.experiment.grid import Task, canonical
from ntp_mechanics.app.experiment.trial import Trial, TrialResult, run_trials

__all__ = ["CURVES", "METRICS", "run_chunk", "to_trial"]

METRICS = ("loss_gap", "norm", "corr_svm", "corr_path", "fin_err", "off_scc")
"""Final values in a row, in figure order."""
CURVES = ("norm", "corr_svm", "fin_err", "loss_gap")
"""Curves stored against ``steps`` (``on_scc`` against ``attention_steps``)."""


def to_trial(task: Task, device: str = "cpu") -> Trial:
    """The paper-experiment trial that computes ``task`` (path at the final step)."""
    p = task.params
    return Trial(p["kind"], p["K"], p["d"], p["n"], p["T"], task.trial, (task.seed,),
                 task.steps, None if p["lr"] == "auto" else float(p["lr"]),
                 task.record_every, attention_every=task.record_every,
                 path_steps=(task.steps,), device=device, embeddings=p["embeddings"],
                 init=p["init"], init_scale=float(p["init_scale"]),
                 optimizer=p["optimizer"])


def run_chunk(tasks: Sequence[Task]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """``(row, curves)`` of every task of a chunk, in order (corpus tasks:
    :func:`~ntp_mechanics.app.experiment.corpus_tasks.run_corpus_chunk`)."""
    worker_init()  # on a Dask worker too: one intra-op thread per task
    worker = _worker_name()
    if tasks and tasks[0].params.get("source") == "corpus":  # one source per grid
        from ntp_mechanics.app.experiment.corpus_tasks import run_corpus_chunk

        return run_corpus_chunk(tasks, worker)
    results = run_trials([to_trial(task) for task in tasks])
    return [_outcome(task, r, worker) for task, r in zip(tasks, results, strict=True)]


def _outcome(task: Task, r: TrialResult, worker: str) -> tuple[dict[str, Any], dict[str, Any]]:
    p = task.params
    row: dict[str, Any] = {"task_id": task.id, "trial": task.trial, "seed": task.seed}
    row.update(p)
    # the values training used, not the grid's (``lr=auto``, ``init=zero`` resolved);
    # the grid point itself is kept whole so that the row's seed can be recomputed
    row.update({"lr": r.lr, "init_scale": r.init_scale, "grid_point": canonical(p)})
    row.update({
        "steps": task.steps, "record_every": task.record_every, "redraws": r.redraws,
        "dim_S_fin": r.fin_dim, "n_cyclic_edges": r.n_cyclic_edges,
        "n_acyclic_edges": r.n_acyclic_edges, "norm_W_svm": r.svm_norm,
        "norm_W_fin": r.fin_norm,
        "loss_gap": r.loss_gap[-1], "norm": r.norms[-1], "corr_svm": r.corr_svm[-1],
        "corr_path": r.corr_path[-1] if r.corr_path else math.nan,
        "fin_err": r.fin_err[-1], "off_scc": 1.0 - r.on_scc[-1],
        "seconds": r.seconds, "worker": worker,
    })
    curves: dict[str, Any] = {"task_id": task.id, "steps": r.steps}
    curves.update({"norm": r.norms, "corr_svm": r.corr_svm, "fin_err": r.fin_err,
                   "loss_gap": r.loss_gap, "attention_steps": r.attention_steps,
                   "on_scc": r.on_scc})
    return row, curves


def _worker_name() -> str:
    """The Dask worker's address, else ``host:pid`` (dask is never imported for this)."""
    if "distributed" in sys.modules:
        from distributed import get_worker

        try:
            return str(get_worker().address)
        except ValueError:
            pass
    return f"{socket.gethostname()}:{os.getpid()}"
