"""The corpus kind of sweep task: train on windows of the embedded corpus, measure on held-out ones.

A grid with ``source=corpus`` sweeps the parameters of :data:`CORPUS_PARAMETERS`: how the
embedded corpus is cut (``unit``, window length ``T``, vocabulary cap ``vocab``, the
split seed ``corpus_seed``), its embeddings (``onehot``, ``d = K``; or ``gaussian`` with
``d``, which may be written ``K``, ``2K``, ...), how many distinct training and
held-out windows each trial draws (``windows``, ``heldout``: seeded subsets, ``all``
for every one) and the training (``optimizer`` gd or ngd, ``lr``).  Every point is
checked when the grid is parsed: its corpus is cut then (a fraction of a second), so a
unit, window or vocabulary that yields no window is refused before any work.

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

Example
-------
>>> p = resolve_point({"unit": "char", "T": 4, "vocab": 6, "embeddings": "onehot",
...                    "d": "K", "windows": 40, "heldout": 20, "corpus_seed": 0,
...                    "optimizer": "ngd", "lr": "auto"})
>>> p["source"], p["d"]
('corpus', 6)
"""

from __future__ import annotations

import functools
import json
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from ntp_mechanics.app.experiment.grid import SweepError, Task, _int_or_k, _positive_float
from ntp_mechanics.corpora.build import MAX_VOCAB, MAX_WINDOW
from ntp_mechanics.corpora.text import UNITS
from ntp_mechanics.model.errors import BadInputError

__all__ = ["CONTROL_PREFIX", "CORPUS_METRICS", "CORPUS_PARAMETERS", "HELD_OUT", "MEASURED",
           "resolve_point", "run_corpus_chunk"]

HELD_OUT = 0.25
"""Fraction of the corpus's distinct windows held out (before each trial's subset)."""
EMBEDDINGS = ("onehot", "gaussian")


def _count_or_all(text: str) -> int | str:
    """A positive integer, or ``all``."""
    if text == "all":
        return text
    if text.isdigit() and int(text) >= 1:
        return int(text)
    raise ValueError("a positive integer or all")


def _choice(allowed: tuple[str, ...], hint: str = "") -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in allowed:
            raise ValueError(f"one of {', '.join(allowed)}{hint}")
        return text

    return parse


def _seed(text: str) -> int:
    if not text.isdigit():
        raise ValueError("a non-negative integer")
    return int(text)


CORPUS_PARAMETERS: dict[str, tuple[Callable[[str], Any], Any]] = {
    "unit": (_choice(UNITS), "char"),
    "T": (int, 8),
    "vocab": (_count_or_all, "all"),
    "embeddings": (_choice(EMBEDDINGS, " (gaussian takes its dimension from d)"), "onehot"),
    "d": (_int_or_k, "K"),
    "windows": (_count_or_all, 1200),
    "heldout": (_count_or_all, 400),
    "corpus_seed": (_seed, 0),
    "optimizer": (_choice(("gd", "ngd")), "ngd"),
    "lr": (_positive_float, "auto"),
}
"""Parameter -> (parser of one value, default) of a ``source=corpus`` grid.  ``vocab``:
the most frequent tokens kept (the rest map to one unknown token, so ``K = vocab``);
``lr=auto``: 0.01 for ngd (the paper's), ``1/smoothness bound`` for gd."""

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


# -- the grid ------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=8)
def corpus(unit: str, T: int, vocab: int | None, corpus_seed: int, embeddings: str) -> Any:
    """The embedded corpus cut so (:func:`ntp_mechanics.corpora.build_corpus`), cached."""
    from ntp_mechanics.corpora import build_corpus
    from ntp_mechanics.corpora.text import embedded_documents

    return build_corpus(embedded_documents(), unit=unit, window=T, vocab=vocab,
                        embeddings=embeddings, held_out=HELD_OUT, seed=corpus_seed,
                        oov="unk")


def _vocab(p: dict[str, Any]) -> int | None:
    return None if p["vocab"] == "all" else int(p["vocab"])


def resolve_point(point: dict[str, Any]) -> dict[str, Any]:
    """A corpus grid point checked and made concrete (``d`` a number); its corpus is cut.

    Raises
    ------
    SweepError
        ``T`` or ``vocab`` out of range, a cut without a training or held-out window,
        ``onehot`` with ``d`` other than ``K``.
    """
    where = " ".join(f"{k}={v}" for k, v in point.items())
    if not 2 <= point["T"] <= MAX_WINDOW:
        raise SweepError(f"T must be in [2, {MAX_WINDOW}] at {where}")
    vocab = _vocab(point)
    if vocab is not None and not 2 <= vocab <= MAX_VOCAB:
        raise SweepError(f"vocab must be in [2, {MAX_VOCAB}] or all at {where}")
    try:  # embeddings of width 1: only the cut is checked here, cheaply
        c = corpus(point["unit"], point["T"], vocab, point["corpus_seed"], "gaussian:1")
    except BadInputError as exc:
        raise SweepError(f"{exc} at {where}") from None
    if c.heldout is None or c.heldout.n == 0:
        raise SweepError(f"the cut leaves no held-out window at {where}")
    K = int(c.stats["K"])
    d = point["d"]
    d = K * int(d[:-1] or 1) if isinstance(d, str) else d
    if d < 1:
        raise SweepError(f"need d >= 1 at {where}")
    if point["embeddings"] == "onehot" and d != K:
        raise SweepError(f"onehot embeddings have d = K = {K}, not {d}; "
                         f"use embeddings=gaussian for another d at {where}")
    return {"source": "corpus", **point, "d": d}


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
    c = corpus(p["unit"], p["T"], _vocab(p), p["corpus_seed"], emb)
    s = RealTextSetting(
        unit=p["unit"], window=p["T"], vocab=_vocab(p),
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
            "K": int(c.stats["K"]), "d": int(tr.d), "vocab": _vocab(p), "windows": tr.n,
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
