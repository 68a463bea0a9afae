"""Train on a corpus and measure: the real-text curves, the controls and the verdicts.

:func:`run_realtext` trains the paper's one-layer model (combined W, full-batch GD or
normalised GD, fp64) on the training windows of a corpus for several seeds in one batch
(:func:`~ntp_mechanics.solvers.training.train_batch`), together with the first negative
control (the same model trained on redrawn labels), and measures at every recorded step
(:mod:`ntp_mechanics.kernel.realtext`, THEORY.md section 10), on the held-out windows:

* ``trained`` - the model;
* ``redrawn labels`` - weights trained on the training windows with every label
  redrawn from its own window (:func:`~ntp_mechanics.kernel.realtext.relabelled`);
* ``random`` - Gaussian weights with the trained model's norm at that step;
* ``other corpus`` - the Graph-SVM direction of the same text over a permuted
  vocabulary, scaled to the trained model's norm at that step.

Each control's premise is measured with it (:attr:`RealTextRun.premises`): labels
that differ, a norm that matches, priorities that differ.  The final step of every
(model, seed) gets claim C's held-out verdict
(:func:`~ntp_mechanics.kernel.realtext.judge_heldout`); the asymptotic regime is read
from the *training* loss gap ``(L(W) - L*) / (L(0) - L*)`` and the scale
``||W|| / ||W_svm||`` with the thresholds of ``check``.  An infeasible Graph-SVM or an
optimiser the theorems do not cover makes a row *outside the hypotheses*: measured and
counted, never judged.

:func:`embedded_corpus` cuts the datasets from the embedded corpus (seeded subsets of
the distinct windows, so a run fits a time budget).

Example
-------
>>> s = RealTextSetting(window=4, vocab=8, max_train=60, max_heldout=30, seeds=(0,),
...                     steps=20, record_every=10)
>>> run = run_realtext(*embedded_corpus(s)[:2], s)
>>> sorted({r["model"] for r in run.final}) == sorted(MODELS)
True
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from ntp_mechanics.kernel import realtext as rt
from ntp_mechanics.kernel.evidence.weights import MAX_LOSS_FRACTION, MIN_SCALE
from ntp_mechanics.kernel.realtext_setting import RealTextSetting
from ntp_mechanics.kernel.verdict import Verdict
from ntp_mechanics.model.dataset import Dataset, DatasetError
from ntp_mechanics.model.sparse_tpg import SparsePriorityGraphs
from ntp_mechanics.model.tpg import TokenPriorityGraphs

__all__ = ["CONTROLS", "MODELS", "RealTextRun", "RealTextSetting", "embedded_corpus",
           "run_realtext"]

CONTROLS = ("redrawn labels", "random", "other corpus")
MODELS = ("trained", *CONTROLS)
CURVE_KEYS = ("hard_retrieval_accuracy", "top_scc_mass", "soft_tv", "corr_W_svm",
              "corr_fin", "next_token_accuracy", "next_token_loss", "norm_W")
CLEAR_GAP = 0.1  # a control is clearly worse: top-SCC mass at least this much lower


@dataclass
class RealTextRun:
    """What :func:`run_realtext` measured.

    Attributes
    ----------
    curves : one row per (model, seed, step): ``model``, ``seed``, ``step`` and the
        measured values (:data:`CURVE_KEYS` and the baselines).
    final : one row per (model, seed) at the last step, with ``verdict``, ``reason``,
        ``outside_hypotheses`` and the windows judged / excluded.
    premises : each control's premise, measured (see the module docstring).
    weights : the final W of each (model, seed) (not serialised).
    """

    setting: RealTextSetting
    corpus: dict[str, Any]
    curves: list[dict[str, Any]]
    final: list[dict[str, Any]]
    premises: dict[str, Any]
    theory: dict[str, Any]
    timings: dict[str, float]
    train: Dataset  # the first seed's windows
    heldout: Dataset
    weights: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)
    vocabulary: tuple[str, ...] = ()

    def table(self) -> list[dict[str, Any]]:
        """Per model: the mean over seeds of the final values, the gap to the trained
        model's top-SCC mass, and the verdicts counted."""
        out = []
        base = _mean([r for r in self.final if r["model"] == "trained"], "top_scc_mass")
        for model in MODELS:
            rows = [r for r in self.final if r["model"] == model]
            row: dict[str, Any] = {"model": model, "seeds": len(rows)}
            for k in (*rt.KEYS, "soft_tv", "next_token_loss"):
                row[k] = _mean(rows, k)
            mass = row["top_scc_mass"]
            row["gap_top_scc_mass"] = (None if model == "trained" or mass is None or base is None
                                       else base - mass)
            for v in Verdict:
                row[v.value] = sum(1 for r in rows if r["verdict"] == v.value
                                   and not r["outside_hypotheses"])
            row["outside_hypotheses"] = sum(1 for r in rows if r["outside_hypotheses"])
            out.append(row)
        return out

    def controls_clearly_worse(self) -> dict[str, bool]:
        """Whether each control's mean top-SCC mass is at least :data:`CLEAR_GAP` below
        the trained model's."""
        return {r["model"]: r["gap_top_scc_mass"] is not None
                and r["gap_top_scc_mass"] >= CLEAR_GAP
                for r in self.table() if r["model"] != "trained"}

    def to_dict(self) -> dict[str, Any]:
        return {"setting": asdict(self.setting), "corpus": self.corpus, "theory": self.theory,
                "table": self.table(), "final": self.final, "curves": self.curves,
                "premises": self.premises, "controls_clearly_worse":
                self.controls_clearly_worse(), "timings": self.timings}


def _mean(rows: Sequence[dict[str, Any]], key: str) -> float | None:
    vals = [r[key] for r in rows if isinstance(r.get(key), int | float)]
    return float(np.mean(vals)) if vals else None


# -- the corpus --------------------------------------------------------------------------------
def embedded_corpus(s: RealTextSetting) -> tuple[Dataset, Dataset, tuple[str, ...],
                                                 dict[str, Any]]:
    """``(train, heldout, vocabulary, stats)`` of the embedded corpus, one-hot (all the
    distinct windows: :func:`run_realtext` draws each seed's subset)."""
    from ntp_mechanics.corpora import build_corpus
    from ntp_mechanics.corpora.text import embedded_documents

    c = build_corpus(embedded_documents(), unit=s.unit, window=s.window, vocab=s.vocab,
                     held_out=s.held_out, seed=s.corpus_seed, oov="unk")
    if c.heldout is None:
        raise DatasetError("the corpus has no held-out windows (held_out = 0)")
    stats = {k: c.stats[k] for k in ("unit", "window", "K", "tokens", "windows_total",
                                      "windows", "kept_fraction", "distinct_windows",
                                      "train_windows", "heldout_windows")}
    return c.train, c.heldout, c.vocabulary, stats


def _subset(ds: Dataset, m: int | None, rng: np.random.Generator) -> Dataset:
    if m is None or ds.n <= m:
        return ds
    return ds.subset(np.sort(rng.choice(ds.n, size=m, replace=False)))


# -- the run -------------------------------------------------------------------------------------
def run_realtext(train: Dataset, heldout: Dataset, s: RealTextSetting,
                 vocabulary: Sequence[str] = (),
                 corpus: dict[str, Any] | None = None) -> RealTextRun:
    """Train, measure the curves of the model and of each control, judge the final step.

    Raises
    ------
    DatasetError
        Held-out windows over another vocabulary or embedding.
    ConfigError
        A training setting the batch trainer does not take.
    """
    from ntp_mechanics.solvers.training import TrainConfig, loss, train_batch

    rt.check_shapes(train, heldout, np.zeros((train.d, train.d)))
    timings: dict[str, float] = {}
    seeds = list(s.seeds)
    if not seeds:
        raise DatasetError("run_realtext needs at least one seed")
    t = time.perf_counter()
    pairs = [_seed_windows(train, heldout, s, sd) for sd in seeds]
    preds = [rt.safe_predict(tr) for tr, _ in pairs]
    objs = [_objects(tr, p, why) for (tr, _), (p, why) in zip(pairs, preds, strict=True)]
    timings["predict"] = time.perf_counter() - t
    t = time.perf_counter()
    redrawn = [rt.relabelled(tr, seed=sd) for (tr, _), sd in zip(pairs, seeds, strict=True)]
    cfg = TrainConfig(optimizer=s.optimizer, lr=s.lr, steps=s.steps, device=s.device,
                      record_every=s.record_every)
    res = train_batch([tr for tr, _ in pairs] + redrawn, cfg, seeds=seeds + seeds)
    timings["train"] = time.perf_counter() - t
    t = time.perf_counter()
    other = [_other_direction(tr, sd) for (tr, _), sd in zip(pairs, seeds, strict=True)]
    timings["other corpus"] = time.perf_counter() - t
    t = time.perf_counter()
    curves, final, weights = [], [], {}
    steps = sorted(res[0].iterates)
    for i, sd in enumerate(seeds):
        tr, he = pairs[i]
        for step in steps:
            W = res[i].iterates[step]
            models = {"trained": W, "redrawn labels": res[len(seeds) + i].iterates[step],
                      "random": rt.random_like(W, seed=sd),
                      "other corpus": (None if other[i][0] is None else
                                       other[i][0] * float(np.linalg.norm(W)))}
            for name, Wm in models.items():
                if Wm is None:
                    continue
                m = rt.measure(tr, he, Wm, **objs[i])
                row = {"model": name, "seed": sd, "step": step, **_plain(m.values)}
                curves.append(row)
                if step == steps[-1]:
                    weights[(name, sd)] = Wm
                    final.append(row | _verdict(tr, Wm, m, *preds[i], cfg, loss))
    timings["measure"] = time.perf_counter() - t
    premises = _premises(pairs, redrawn, res, seeds, other)
    theory = _theory(preds[0][0], preds[0][1], pairs[0][0])
    corpus = dict(corpus or {})
    corpus |= {"train_used": [tr.n for tr, _ in pairs], "heldout_used": [he.n for _, he in pairs]}
    return RealTextRun(s, corpus, curves, final, premises, theory,
                       {k: round(v, 3) for k, v in timings.items()}, pairs[0][0], pairs[0][1],
                       weights, tuple(vocabulary))


def _seed_windows(train: Dataset, heldout: Dataset, s: RealTextSetting,
                  seed: int) -> tuple[Dataset, Dataset]:
    rng = np.random.default_rng([s.corpus_seed, seed])
    return _subset(train, s.max_train, rng), _subset(heldout, s.max_heldout, rng)


def _objects(train: Dataset, pred: Any, why: str) -> dict[str, Any]:
    objs = rt.training_objects(pred) if pred is not None else {"svm_reason": why}
    objs["tpg"] = objs.get("tpg") or TokenPriorityGraphs.from_dataset(train)
    return objs


def _plain(values: Any) -> dict[str, Any]:
    return {k: rt._plain(v) for k, v in values.items()}


def _other_direction(train: Dataset, seed: int) -> tuple[np.ndarray | None, float]:
    """The unit Graph-SVM direction of ``train`` over a permuted vocabulary, and the
    share of its priority edges that ``train`` has too (the control's premise)."""
    perm = rt.permuted_vocabulary(train, seed)
    pred, _ = rt.safe_predict(perm)
    own = SparsePriorityGraphs.from_dataset(train)
    theirs = SparsePriorityGraphs.from_dataset(perm)
    shared = _shared_edges(own, theirs)
    if pred is None or np.linalg.norm(pred.W_svm) == 0:
        return None, shared
    return pred.W_svm / np.linalg.norm(pred.W_svm), shared


def _shared_edges(a: SparsePriorityGraphs, b: SparsePriorityGraphs) -> float:
    ea = {tuple(e) for e in _edges(a)}
    eb = _edges(b)
    return float(np.mean([tuple(e) in ea for e in eb])) if len(eb) else 0.0


def _edges(g: SparsePriorityGraphs) -> list[tuple[int, ...]]:
    from ntp_mechanics.solvers.priority_arrays import PriorityArrays

    return [tuple(e) for e in PriorityArrays.from_graphs(g).edges.tolist()]


def _verdict(train: Dataset, W: np.ndarray, m: rt.RealTextMeasures, pred: Any, why: str,
             cfg: Any, loss: Any) -> dict[str, Any]:
    """Claim C on the held-out windows at the final step (see the module docstring)."""
    outside = "" if cfg.within_theory else f"trained by {cfg.optimizer}"
    if pred is None and "Infeasible" in why:
        outside = f"the Graph-SVM of the training set is infeasible ({why})"
    frac = scale = None
    if pred is not None:
        L0, LW, Ls = loss(train, np.zeros_like(W)), loss(train, W), pred.fin.L_star
        frac = (LW - Ls) / (L0 - Ls) if L0 > Ls else None
        ns = float(np.linalg.norm(pred.W_svm))
        scale = float(np.linalg.norm(W)) / ns if ns > 0 else None
    asymptotic = frac is not None and frac <= MAX_LOSS_FRACTION and (
        scale is None or scale >= MIN_SCALE)
    regime = (f"||W|| = {scale:.3g} ||W_svm||, " if scale is not None else "") + (
        f"training loss gap {frac:.2g} of L(0) - L*" if frac is not None else
        f"no certified L* ({why})")
    r = rt.judge_heldout(m, asymptotic, regime, outside)
    return {"verdict": r.verdict.value, "reason": r.reason,
            "outside_hypotheses": bool(outside), "loss_fraction": frac, "scale": scale,
            "windows_judged": m.judged, "windows_excluded": dict(m.excluded)}


def _premises(pairs: list[tuple[Dataset, Dataset]], redrawn: list[Dataset], res: list[Any],
              seeds: list[int], other: list[tuple[np.ndarray | None, float]]) -> dict[str, Any]:
    changed = [float(np.mean([a.label != b.label for a, b in
                              zip(tr.samples, r.samples, strict=True)]))
               for (tr, _), r in zip(pairs, redrawn, strict=True)]
    W = res[0].W
    norm_ratio = float(np.linalg.norm(rt.random_like(W, seeds[0])) / np.linalg.norm(W)) \
        if np.linalg.norm(W) > 0 else None
    return {"redrawn labels": {"labels_changed": changed},
            "random": {"norm_ratio": norm_ratio},
            "other corpus": {"shared_edges": [o[1] for o in other],
                             "defined": [o[0] is not None for o in other]}}


def _theory(pred: Any, why: str, train: Dataset) -> dict[str, Any]:
    g = SparsePriorityGraphs.from_dataset(train)
    out: dict[str, Any] = {"graphs": g.summary(), "scc_sizes": g.scc_sizes.tolist(),
                           "predicted": pred is not None, "reason": why or None}
    if pred is not None:
        out |= {"norm_W_svm": float(np.linalg.norm(pred.W_svm)),
                "norm_W_fin": float(np.linalg.norm(pred.W_fin)), "L_star": pred.fin.L_star,
                "solver": type(pred).__name__}
    return out


def with_seeds(s: RealTextSetting, seeds: Sequence[int]) -> RealTextSetting:
    """``s`` with other training seeds."""
    return replace(s, seeds=tuple(int(x) for x in seeds))
