"""The paper's experiment: normalised GD on random datasets, against the theory.

Li, Huang, Ildiz, Rawat, Oymak, *Mechanics of Next Token Prediction with
Self-Attention*, AISTATS 2024, its experiments (THEORY.md sections 7-8): vocabularies
``K in {6, 8}``, embedding dimension ``d = 8``, ``n in {4, 6, 10}`` sequences of
``T in {4, 6}`` tokens, random unit-norm embeddings, labels drawn from the sequence;
normalised GD ``W <- W - lr grad L / ||grad L||_F`` with ``lr = 0.01`` for 4000 steps
from ``W = 0`` in fp64; 10 trials per configuration, on datasets whose token-priority
graphs are *cyclic* or *acyclic*.  The paper reports that ``corr(W(tau), W_svm)`` tends
to 1 and ``||P_fin W(tau) - W_fin||`` to 0.

Datasets (one per trial, seeded by ``SeedSequence([seed, kind, K, n, T, trial])``):

* ``"cyclic"`` - the paper's draw as is (:func:`ntp_mechanics.generators.seeded.paper_dataset`:
  tokens uniform on ``[K]``, label uniform among the sequence's positions), redrawn
  until the graphs have at least one cyclic edge (``S_fin != {0}``) and one acyclic
  edge (``W_svm != 0``, so the correlation is defined);
* ``"acyclic"`` - the same tokens, but the label is the sequence's highest-priority
  token under a random total order of ``[K]`` drawn per dataset, so every edge
  ``y -> x`` points down that order: no cycles, ``S_fin = {0}``, ``W_fin = 0``
  (claim E); redrawn until there is an acyclic edge.

Beyond the paper, a trial may draw orthonormal or equicorrelated embeddings
(:func:`~ntp_mechanics.app.experiment.trial.draw_embeddings`), the ``"any"`` kind
(the paper's draw, redrawn only when ``W_svm = 0``), a random ``W(0)`` and plain GD:
``ntp-mechanics sweep`` runs these trials over any grid (:mod:`ntp_mechanics.app.sweep`);
the paper's grid is one of its grids (:attr:`PaperPlan.grid`) and runs on its engine's
local process pool.

One trial - its draw, its training and its measurements - is
:mod:`ntp_mechanics.app.experiment.trial`.  A draw whose predictions cannot be
certified (``InconclusiveError``) is redrawn too; redraws are counted and reported.  Per
trial and recorded step ``tau`` (every
``record_every`` steps) we measure ``corr(W(tau), W_svm)`` (Frobenius cosine),
``||P_fin W(tau) - W_fin||``, the mean attention mass on the label's SCC, and on some
trials ``corr(W(tau), W_R)`` with the certified regularization path at matched norm
``R = ||W(tau)||`` and the path's directional error ``||W_R/R - W_svm/||W_svm||| |``
on a ladder of radii (claim A).

Example
-------
>>> plan = PaperPlan.tiny()
>>> [t.kind for t in plan.trials()]
['cyclic', 'cyclic', 'acyclic', 'acyclic']
>>> sorted(plan.grid.values["kind"]), plan.grid.values["optimizer"]
(['acyclic', 'cyclic'], ('ngd',))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ntp_mechanics.app.experiment.engine import run_tasks
from ntp_mechanics.app.experiment.grid import Grid
from ntp_mechanics.app.experiment.protocol import KINDS
from ntp_mechanics.app.experiment.trial import Trial, TrialResult, jsonable, run_trials
from ntp_mechanics.solvers.training import PAPER_PROTOCOL

if TYPE_CHECKING:
    pass

__all__ = [
    "CORR_REACHED",
    "FIN_REACHED",
    "PaperPlan",
    "band",
    "chunks",
    "conclusions",
    "run_paper",
    "summarise_paper",
]

CORR_REACHED = 0.99
"""A mean final correlation at least this counts as having reached the paper's "-> 1"."""
FIN_REACHED = 0.05
"""A mean final ``||P_fin W - W_fin||`` at most this counts as having reached "-> 0"
(normalised GD oscillates around W_fin with steps of size lr, so it cannot go far below
a few lr; the ``check`` command uses the same tolerance)."""


# -- the plan -----------------------------------------------------------------------------
@dataclass(frozen=True)
class PaperPlan:
    """The grid, the protocol and how much of the (costly) path to solve.

    ``path_trials`` trials per configuration get the matched-norm path at
    ``path_steps``; ``ladder_trials`` trials of the largest configuration get the
    path's directional error on ``ladder`` (margin scales ``R/||W_svm||``).
    """

    Ks: tuple[int, ...] = (6, 8)
    d: int = 8
    ns: tuple[int, ...] = (4, 6, 10)
    Ts: tuple[int, ...] = (4, 6)
    kinds: tuple[str, ...] = KINDS
    trials_per_config: int = 10
    steps: int = PAPER_PROTOCOL.steps
    lr: float = float(PAPER_PROTOCOL.lr or 0.0)
    record_every: int = 50
    attention_every: int = 100
    seed: int = 0
    path_trials: int = 3
    path_steps: tuple[int, ...] = (100, 250, 500, 1000, 1500, 2000, 3000, PAPER_PROTOCOL.steps)
    ladder_trials: int = 3
    ladder: tuple[float, ...] = tuple(float(x) for x in np.geomspace(1, 32, 11))
    device: str = "cpu"
    workers: int = 2

    @classmethod
    def quick(cls) -> PaperPlan:
        """The paper's grid and protocol in full (10 trials each); the path on 3."""
        return cls()

    @classmethod
    def full(cls) -> PaperPlan:
        """As quick, with the matched-norm path on every trial and a denser ladder."""
        return cls(path_trials=10, ladder_trials=10,
                   path_steps=(50, 100, 250, 500, 750, 1000, 1500, 2000, 2500, 3000, 3500,
                               PAPER_PROTOCOL.steps),
                   ladder=tuple(float(x) for x in np.geomspace(1, 32, 16)))

    @classmethod
    def tiny(cls) -> PaperPlan:
        """A seconds-long plan for tests: one configuration, 2 trials per kind."""
        return cls(Ks=(4,), d=4, ns=(4,), Ts=(4,), trials_per_config=2, steps=300,
                   record_every=50, path_trials=1, path_steps=(100, 300), ladder_trials=1,
                   ladder=(1.0, 2.0, 4.0, 8.0), workers=1)

    @property
    def grid(self) -> Grid:
        """The plan's configurations as a grid of ``ntp-mechanics sweep``
        (:class:`~ntp_mechanics.app.experiment.grid.Grid`): the paper's draw, unit-norm
        embeddings, zero init, normalised GD at ``lr``."""
        return Grid({"kind": self.kinds, "K": self.Ks, "d": (self.d,), "n": self.ns,
                     "T": self.Ts, "embeddings": ("unit-norm",), "init": ("zero",),
                     "optimizer": ("ngd",), "lr": (self.lr,)})

    def trials(self) -> list[Trial]:
        """Every trial of :attr:`grid`, configuration by configuration (kind, K, n, T),
        then by index; seeds ``(seed, kind, K, n, T, index)`` (the report's since its
        first version, so its numbers do not move)."""
        top = (max(self.Ks), max(self.ns), max(self.Ts))
        points = sorted(self.grid.points(),
                        key=lambda p: (KINDS.index(p["kind"]), p["K"], p["n"], p["T"]))
        out = []
        for kind, K, n, T in ((p["kind"], p["K"], p["n"], p["T"]) for p in points):
            for i in range(self.trials_per_config):
                seed = (self.seed, KINDS.index(kind), K, n, T, i)
                path = tuple(s for s in self.path_steps if s <= self.steps)
                out.append(Trial(
                    kind, K, self.d, n, T, i, seed, self.steps, self.lr, self.record_every,
                    attention_every=self.attention_every,
                    path_steps=path if i < self.path_trials else (),
                    ladder=self.ladder if (K, n, T) == top and i < self.ladder_trials else (),
                    device=self.device,
                ))
        return out

    def describe(self) -> dict[str, Any]:
        return asdict(self)


def run_paper(plan: PaperPlan, progress: bool | None = None,
              on_done: Callable[[TrialResult], None] | None = None) -> list[TrialResult]:
    """Run every trial of ``plan`` on the sweep engine's local processes
    (``plan.workers`` spawned processes when > 1), with a tqdm bar (``progress=None``:
    shown when stderr is a terminal)."""
    trials = plan.trials()
    results: list[TrialResult] = []

    def done(_: list[Trial], rs: list[TrialResult]) -> None:
        for r in rs:
            results.append(r)
            if on_done is not None:
                on_done(r)

    run_tasks(run_trials, chunks(trials, plan.workers), workers=plan.workers, on_done=done,
              progress=progress, desc="paper experiment (chunks)")
    order = {t.seed: i for i, t in enumerate(trials)}
    return sorted(results, key=lambda r: order[r.trial.seed])


def chunks(trials: Sequence[Trial], workers: int, per_worker: int = 4) -> list[list[Trial]]:
    """Trials in consecutive chunks, about ``per_worker`` per worker process: each chunk
    trains its grid points' datasets in batches, and several chunks per worker keep
    the load balanced.

    >>> [len(c) for c in chunks(list(range(10)), workers=1, per_worker=4)]
    [3, 3, 3, 1]
    """
    size = max(1, math.ceil(len(trials) / (max(1, workers) * per_worker)))
    return [list(trials[i:i + size]) for i in range(0, len(trials), size)]


# -- summary and conclusions --------------------------------------------------------------
def _stack(rows: Iterable[Sequence[float]]) -> np.ndarray:
    return np.array([list(r) for r in rows], dtype=np.float64)


def band(rows: Iterable[Sequence[float]], lo: float = 0.1, hi: float = 0.9
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and the ``lo``-``hi`` quantile band across trials, per step (NaNs ignored)."""
    import warnings

    A = _stack(rows)
    with warnings.catch_warnings():  # an all-NaN column (no certified path point) stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(A, 0), np.nanquantile(A, lo, 0), np.nanquantile(A, hi, 0)


def _at(r: TrialResult, values: list[float], step: int) -> float:
    """The value at the recorded step closest to ``step``."""
    i = int(np.argmin([abs(s - step) for s in r.steps]))
    return values[i]


def summarise_paper(results: Sequence[TrialResult]) -> dict[str, Any]:
    """Per kind and per configuration: final values (mean and 10-90% band), the
    change over the second half of training, and the matched-norm path correlation."""
    out: dict[str, Any] = {"kinds": {}, "configs": []}
    for kind in KINDS:
        rs = [r for r in results if r.trial.kind == kind]
        if rs:
            out["kinds"][kind] = _kind_summary(rs)
    configs = sorted({r.trial.config for r in results}, key=lambda c: (KINDS.index(c[0]), c[1:]))
    for cfg in configs:
        rs = [r for r in results if r.trial.config == cfg]
        corr = [r.corr_svm[-1] for r in rs]
        fin = [r.fin_err[-1] for r in rs]
        out["configs"].append({
            "kind": cfg[0], "K": cfg[1], "d": cfg[2], "n": cfg[3], "T": cfg[4],
            "trials": len(rs), "corr_svm_final_mean": float(np.mean(corr)),
            "corr_svm_final_min": float(np.min(corr)),
            "fin_err_final_mean": float(np.mean(fin)), "fin_err_final_max": float(np.max(fin)),
            "norm_final_mean": float(np.mean([r.norms[-1] for r in rs])),
            "norm_W_svm_mean": float(np.mean([r.svm_norm for r in rs])),
        })
    return jsonable(out)


def _kind_summary(rs: Sequence[TrialResult]) -> dict[str, Any]:
    last = rs[0].steps[-1]
    half = last // 2
    corr_end = np.array([r.corr_svm[-1] for r in rs])
    corr_half = np.array([_at(r, r.corr_svm, half) for r in rs])
    fin = np.array([r.fin_err for r in rs])
    on_end = np.array([r.on_scc[-1] for r in rs])
    path_end = [r.corr_path[-1] for r in rs if r.corr_path]
    path_end = [v for v in path_end if math.isfinite(v)]
    fin_mean = fin.mean(0)
    return {
        "trials": len(rs), "steps": last,
        "redraws": int(sum(r.redraws for r in rs)),
        "corr_svm_final_mean": float(corr_end.mean()),
        "corr_svm_final_q10": float(np.quantile(corr_end, 0.1)),
        "corr_svm_final_q90": float(np.quantile(corr_end, 0.9)),
        "corr_svm_half_mean": float(corr_half.mean()),
        "corr_svm_gain_second_half": float((corr_end - corr_half).mean()),
        "corr_svm_increasing_fraction": float(np.mean(corr_end > corr_half)),
        "corr_path_final_mean": float(np.mean(path_end)) if path_end else math.nan,
        "corr_path_trials": len(path_end),
        "fin_err_final_mean": float(fin[:, -1].mean()),
        "fin_err_final_max": float(fin[:, -1].max()),
        "fin_err_peak_mean": float(fin_mean.max()),
        "fin_err_half_mean": float(np.mean([_at(r, r.fin_err, half) for r in rs])),
        "dim_S_fin_mean": float(np.mean([r.fin_dim for r in rs])),
        "on_scc_final_mean": float(on_end.mean()),
        "on_scc_final_min": float(on_end.min()),
        "norm_final_mean": float(np.mean([r.norms[-1] for r in rs])),
    }


def conclusions(summary: dict[str, Any]) -> list[str]:
    """Sentences comparing the measured curves with what the paper reports, computed
    from the summary (thresholds :data:`CORR_REACHED`, :data:`FIN_REACHED`)."""
    lines = []
    for kind, s in summary["kinds"].items():
        c, gain, steps = s["corr_svm_final_mean"], s["corr_svm_gain_second_half"], s["steps"]
        rising = gain > 0 and s["corr_svm_increasing_fraction"] >= 0.5
        if c >= CORR_REACHED:
            verdict = f"reaches the paper's corr -> 1 (mean >= {CORR_REACHED})"
        elif rising:
            verdict = (f"does not reach {CORR_REACHED} within {steps} steps but is still "
                       "increasing: consistent with the paper's corr -> 1 at the slow "
                       "(log R)/R rate of the theory, not yet there")
        else:
            verdict = (f"does not reach {CORR_REACHED} and is not increasing: it does not "
                       "reproduce the paper's corr -> 1")
        text = (f"**{kind}** ({s['trials']} trials): mean corr(W(tau), W_svm) at tau = "
                f"{steps} is {c:.4f} (10-90%: {s['corr_svm_final_q10']:.4f}-"
                f"{s['corr_svm_final_q90']:.4f}), {gain:+.4f} over the second half "
                f"(higher at the end in {100 * s['corr_svm_increasing_fraction']:.0f}% of "
                f"trials); it {verdict}.")
        if math.isfinite(s["corr_path_final_mean"]):
            text += (f" Against the regularization path at matched norm the mean correlation "
                     f"is {s['corr_path_final_mean']:.4f} ({s['corr_path_trials']} trial(s)).")
        lines.append(text)
        lines.append(_fin_sentence(kind, s))
        lines.append(f"**{kind}**: mean attention mass on the label's SCC at the end "
                     f"{s['on_scc_final_mean']:.4f} (lowest trial {s['on_scc_final_min']:.4f}): "
                     + ("hard retrieval has happened (claim C)." if s["on_scc_final_mean"] >= 0.99
                        else "hard retrieval is not complete within the run."))
    return lines


def _fin_sentence(kind: str, s: dict[str, Any]) -> str:
    if s["dim_S_fin_mean"] == 0:
        return (f"**{kind}**: S_fin = {{0}} in every trial, so P_fin W(tau) = W_fin = 0 "
                "exactly (claim E); the S_fin error is identically 0.")
    f, peak = s["fin_err_final_mean"], s["fin_err_peak_mean"]
    falling = f <= 0.1 * peak and f <= s["fin_err_half_mean"]
    if f <= FIN_REACHED and falling:
        verdict = f"reaches the paper's error -> 0 (mean <= {FIN_REACHED})"
    elif falling:
        verdict = f"is decreasing towards 0 but is still above {FIN_REACHED}"
    else:
        verdict = "does not decrease towards 0: it does not reproduce the paper"
    return (f"**{kind}**: mean ||P_fin W(tau) - W_fin|| falls from a peak of {peak:.3g} to "
            f"{s['fin_err_half_mean']:.3g} at mid-training and {f:.3g} at the end (worst trial "
            f"{s['fin_err_final_max']:.3g}); it {verdict}.")
