"""The corpus kind of sweep task: train on windows of the embedded corpus, measure on held-out ones.

The grid's parameters and the checking of its points are
:mod:`~ntp_mechanics.app.experiment.corpus_grid`.

A task is one trial (its seed from the point and the trial index, as for drawn
grids); the trials of a chunk that share a point run as one
:func:`~ntp_mechanics.kernel.realtext_run.run_realtext` (one training batch).  Its row
holds the values used (``K``, ``d``, ``windows``, ``heldout``, ``kept_fraction``,
``lr``), the held-out measurements of the trained model (THEORY.md section 10: the
keys of :data:`MEASURED`, unprefixed) and of each negative control (prefixed
``redrawn_``, ``random_``, ``other_``), claim C's held-out verdict of each, and
``outside_hypotheses`` with its ``reason`` where the training set breaks an
assumption (an infeasible Graph-SVM when ``d < K``, say): counted, never judged.  Its
curves hold the same measurements against ``steps``.

"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from typing import Any

from ntp_mechanics.app.experiment.corpus_grid import HELD_OUT, corpus, vocab_of
from ntp_mechanics.app.experiment.grid import Task

__all__ = ["CONTROL_PREFIX", "CORPUS_METRICS", "MEASURED", "run_corpus_chunk"]

MEASURED = ("hard_retrieval_accuracy", "top_scc_mass", "corr_W_svm", "corr_fin",
            "next_token_accuracy", "unigram_accuracy", "bigram_accuracy", "soft_tv",
            "next_token_loss", "unigram_loss", "bigram_loss", "norm_W", "norm_along_svm",
            "norm_fin", "norm_rest")
"""Held-out measurements in a row (None where undefined; see ``svm_reason``)."""
JUDGED = ("verdict", "reason", "outside_hypotheses", "loss_fraction", "scale",
          "windows_judged", "windows_excluded")
"""Claim C's held-out verdict and what it read, per model."""
CONTROL_PREFIX = {"trained": "", "redrawn labels": "redrawn_", "random": "random_",
                  "other corpus": "other_"}
"""Column prefix of each model of :data:`ntp_mechanics.kernel.realtext_run.MODELS`."""
CORPUS_METRICS = ("top_scc_mass", "hard_retrieval_accuracy", "corr_W_svm", "corr_fin",
                  "next_token_accuracy", "redrawn_top_scc_mass", "random_top_scc_mass")
"""Final values in the summary and figures of a corpus sweep."""



# -- the tasks -----------------------------------------------------------------------------------
def run_corpus_chunk(tasks: Sequence[Task], worker: str = ""
                     ) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """``(row, curves)`` of every corpus task of a chunk, in order (one training batch
    per grid point)."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, t in enumerate(tasks):
        groups.setdefault(t.point, []).append(i)
    out: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}
    for idx in groups.values():
        for i, pair in zip(idx, _run_point([tasks[i] for i in idx], worker), strict=True):
            out[i] = pair
    return [out[i] for i in range(len(tasks))]


def _run_point(tasks: list[Task], worker: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    from ntp_mechanics.kernel.realtext_run import _seed_windows, run_realtext
    from ntp_mechanics.kernel.realtext_setting import RealTextSetting
    from ntp_mechanics.solvers.training import TrainConfig

    t0 = time.perf_counter()
    p, first = tasks[0].params, tasks[0]
    emb = "onehot" if p["embeddings"] == "onehot" else f"gaussian:{p['d']}"
    c = corpus(p["unit"], p["T"], vocab_of(p), p["corpus_seed"], emb)
    s = RealTextSetting(
        unit=p["unit"], window=p["T"], vocab=vocab_of(p),
        max_train=None if p["windows"] == "all" else p["windows"],
        max_heldout=None if p["heldout"] == "all" else p["heldout"], held_out=HELD_OUT,
        corpus_seed=p["corpus_seed"], seeds=tuple(t.seed for t in tasks),
        optimizer=p["optimizer"], lr=None if p["lr"] == "auto" else float(p["lr"]),
        steps=first.steps, record_every=first.record_every, device="cpu")
    run = run_realtext(c.train, c.heldout, s, c.vocabulary, corpus=dict(c.stats))
    share = (time.perf_counter() - t0) / len(tasks)
    cfg = TrainConfig(optimizer=s.optimizer, lr=s.lr)
    out = []
    for i, t in enumerate(tasks):
        tr, he = _seed_windows(c.train, c.heldout, s, t.seed)
        row: dict[str, Any] = {"task_id": t.id, "trial": t.trial, "seed": t.seed, **p}
        row.update({  # the values used, not the grid's; the grid point kept whole
            "K": int(c.stats["K"]), "d": int(tr.d), "vocab": vocab_of(p), "windows": tr.n,
            "heldout": he.n, "lr": float(cfg.resolve(tr).lr),
            "grid_point": json.dumps(p, sort_keys=True, separators=(",", ":")),
            "kept_fraction": float(c.stats["kept_fraction"]),
            "windows_total": int(c.stats["windows_total"]),
            "distinct_windows": int(c.stats["distinct_windows"]),
            "train_windows_available": int(c.stats["train_windows"]),
            "heldout_windows_available": int(c.stats["heldout_windows"]),
            "steps": t.steps, "record_every": t.record_every,
            "svm_reason": run.theory.get("reason") or "",
            "redrawn_labels_changed": run.premises["redrawn labels"]["labels_changed"][i],
            "random_norm_ratio": run.premises["random"]["norm_ratio"],
            "other_shared_edges": run.premises["other corpus"]["shared_edges"][i],
            "other_defined": bool(run.premises["other corpus"]["defined"][i]),
        })
        row.update(_final(run.final, t.seed))
        row.update({"seconds": share, "worker": worker})
        out.append((row, _curves(run.curves, t)))
    return out


def _final(final: list[dict[str, Any]], seed: int) -> dict[str, Any]:
    """Every model's final measurements and verdict, prefixed; None for a model not
    measured (the other corpus's control without a Graph-SVM)."""
    out: dict[str, Any] = {}
    by_model = {r["model"]: r for r in final if r["seed"] == seed}
    for model, prefix in CONTROL_PREFIX.items():
        r = by_model.get(model, {})
        for k in (*MEASURED, *JUDGED):
            v = r.get(k)
            if k == "windows_excluded":
                v = json.dumps(v or {}, sort_keys=True)
            elif k == "outside_hypotheses":
                v = bool(v)
            elif k in ("verdict", "reason"):
                v = v or ("" if r else "not measured")
            else:
                v = _number(v)
            out[prefix + k] = v
    return out


def _number(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and math.isfinite(v) else None


def _curves(curves: list[dict[str, Any]], task: Task) -> dict[str, Any]:
    """The task's measurements against steps, one list per (model, key)."""
    from ntp_mechanics.kernel.realtext_run import CURVE_KEYS

    mine = [r for r in curves if r["seed"] == task.seed]
    steps = sorted({int(r["step"]) for r in mine})
    at = {(r["model"], int(r["step"])): r for r in mine}
    out: dict[str, Any] = {"task_id": task.id, "steps": steps}
    for model, prefix in CONTROL_PREFIX.items():
        for k in CURVE_KEYS:
            out[prefix + k] = [_number(at.get((model, s), {}).get(k)) for s in steps]
    return out
