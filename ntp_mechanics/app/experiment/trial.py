"""One trial of the experiment: draw a dataset, train, measure against the theory.

A :class:`Trial` names one dataset of a grid (kind, sizes, seed) and the protocol it is
trained under; :func:`draw_dataset` draws it (redrawing until its graphs are of the
asked kind and its predictions are certified), :func:`run_trials` trains trials that
share a training configuration as one batch and measures each
(:class:`TrialResult`): ``corr(W(tau), W_svm)``, ``||P_fin W(tau) - W_fin||``, the
attention on the label's SCC, the loss gap and, on some trials, the matched-norm
regularization path.  The paper's plan (:mod:`~ntp_mechanics.app.experiment.paper`)
and a sweep's tasks (:mod:`~ntp_mechanics.app.experiment.tasks`) both run trials.

Example
-------
>>> from ntp_mechanics.app.experiment.paper import PaperPlan
>>> ds = draw_dataset(PaperPlan.tiny().trials()[-1])[0]
>>> from ntp_mechanics.model.tpg import TokenPriorityGraphs
>>> TokenPriorityGraphs.from_dataset(ds).has_cyclic_edge
False
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ntp_mechanics.app.experiment.protocol import EQUICORRELATION
from ntp_mechanics.generators.seeded import paper_dataset, unit_embeddings
from ntp_mechanics.model.dataset import Dataset

if TYPE_CHECKING:
    from ntp_mechanics.solvers.predictions import Predictions

__all__ = ["Trial", "TrialResult", "draw_dataset", "draw_embeddings", "jsonable",
           "run_trial", "run_trials"]

MAX_REDRAWS = 200


@dataclass(frozen=True)
class Trial:
    """One dataset of the grid and what to measure on it."""

    kind: str
    K: int
    d: int
    n: int
    T: int
    index: int
    seed: tuple[int, ...]
    steps: int
    lr: float | None  # None: 0.01 for ngd, 1/smoothness bound for gd
    record_every: int
    attention_every: int = 100  # attention is costlier to measure: a coarser grid
    path_steps: tuple[int, ...] = ()  # steps where the matched-norm path point is solved
    ladder: tuple[float, ...] = ()  # margin scales R/||W_svm|| for the path's error
    device: str = "cpu"
    embeddings: str = "unit-norm"  # see :data:`EMBEDDINGS`
    init: str = "zero"  # see :data:`INITS`
    init_scale: float = 1.0  # the standard deviation of ``init="scale"``
    optimizer: str = "ngd"  # "gd" | "ngd"

    @property
    def config(self) -> tuple[str, int, int, int, int]:
        return (self.kind, self.K, self.d, self.n, self.T)

    @property
    def name(self) -> str:
        return f"{self.kind} K={self.K} d={self.d} n={self.n} T={self.T} trial {self.index}"



# -- datasets -----------------------------------------------------------------------------
def draw_embeddings(rng: np.random.Generator, kind: str, K: int, d: int) -> np.ndarray:
    """A ``K x d`` embedding of kind ``kind`` (one of :data:`EMBEDDINGS`).

    Orthonormal and equicorrelated rows are ``L Q`` with ``L L^T`` the target Gram
    matrix and ``Q`` a random ``K x d`` matrix with orthonormal rows, so they need
    ``d >= K``.
    """
    if kind == "unit-norm":
        return unit_embeddings(rng, K, d)
    if d < K:
        raise ValueError(f"{kind} embeddings need d >= K, got K={K}, d={d}")
    Q = np.linalg.qr(rng.standard_normal((d, K)))[0].T  # K x d, orthonormal rows
    if kind == "orthonormal":
        return Q
    rho = EQUICORRELATION
    gram = (1 - rho) * np.eye(K) + rho * np.ones((K, K))
    return np.linalg.cholesky(gram) @ Q


def acyclic_draw(rng: np.random.Generator, K: int, d: int, n: int, T: int,
                 embeddings: str = "unit-norm") -> Dataset:
    """Uniform tokens; the label is the highest-priority token of its sequence under a
    random total order of ``[K]`` (so every graph is a DAG)."""
    E = draw_embeddings(rng, embeddings, K, d)
    priority = rng.permutation(K)  # priority[v]: rank of token v, larger wins
    samples = []
    for _ in range(n):
        tokens = [int(t) for t in rng.integers(0, K, T)]
        samples.append((tokens, max(tokens, key=lambda v: priority[v])))
    return Dataset.from_arrays(E, samples, name=f"acyclic-K{K}-d{d}-n{n}-T{T}")


def draw_dataset(trial: Trial) -> tuple[Dataset, Predictions, int]:
    """The trial's dataset, its certified predictions and the number of redraws it took
    (deterministic in the seed)."""
    from ntp_mechanics.model.errors import InconclusiveError, InfeasibleError
    from ntp_mechanics.model.tpg import TokenPriorityGraphs
    from ntp_mechanics.solvers.predictions import predict

    rng = np.random.default_rng(np.random.SeedSequence(list(trial.seed)))
    for redraws in range(MAX_REDRAWS):
        if trial.kind == "acyclic":
            ds = acyclic_draw(rng, trial.K, trial.d, trial.n, trial.T, trial.embeddings)
        else:
            E = draw_embeddings(rng, trial.embeddings, trial.K, trial.d)
            ds = paper_dataset(rng, trial.K, trial.d, trial.n, trial.T, E=E)
        tpg = TokenPriorityGraphs.from_dataset(ds)
        if not tpg.has_acyclic_edge or (trial.kind == "cyclic" and not tpg.has_cyclic_edge):
            continue
        ds = Dataset(ds.embeddings, ds.samples, name=trial.name)
        try:
            return ds, predict(ds), redraws
        except (InconclusiveError, InfeasibleError):
            continue
    raise RuntimeError(f"no {trial.kind} dataset in {MAX_REDRAWS} draws for {trial.config}")


# -- one trial ----------------------------------------------------------------------------
@dataclass(frozen=True)
class TrialResult:
    """Curves of one trial (lists of floats; NaN where a path point is not certified)."""

    trial: Trial
    redraws: int
    svm_norm: float  # ||W_svm||
    fin_norm: float  # ||W_fin||
    fin_dim: int  # dim S_fin
    n_cyclic_edges: int
    n_acyclic_edges: int
    steps: list[int]
    norms: list[float]
    corr_svm: list[float]
    fin_err: list[float]
    attention_steps: list[int]
    on_scc: list[float]
    path_steps: list[int] = field(default_factory=list)
    corr_path: list[float] = field(default_factory=list)
    ladder_radii: list[float] = field(default_factory=list)
    ladder_dir_err: list[float] = field(default_factory=list)
    seconds: float = 0.0
    loss_gap: list[float] = field(default_factory=list)  # L(W(tau)) - L*, on ``steps``
    lr: float = math.nan  # the step size used (``Trial.lr`` resolved for the dataset)
    init_scale: float = math.nan  # the standard deviation of W(0) used (0 from zero)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["trial"]["seed"] = list(self.trial.seed)
        return jsonable(d)


def jsonable(x: Any) -> Any:
    """``x`` made JSON-ready: non-finite floats become None, tuples lists."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    return x


def run_trial(trial: Trial) -> TrialResult:
    """Draw, predict, train (normalised GD) and measure one trial."""
    return run_trials([trial])[0]


def run_trials(trials: Sequence[Trial]) -> list[TrialResult]:
    """Run several trials; those with the same training configuration (every zero-start
    trial of a grid point, say) train as one batch
    (:func:`ntp_mechanics.solvers.training.train_batch`: the same iterates as one at a
    time, to fp64 round-off).  A trial's ``seconds`` counts its own draw, solves and
    measurements plus its share of the batch's training time."""
    import time

    from ntp_mechanics.solvers.training import TrainConfig

    prepared: list[tuple[Dataset, Predictions, int, TrainConfig, float]] = []
    used: list[TrainConfig] = []  # the values training actually uses, defaults resolved
    for trial in trials:
        t0 = time.perf_counter()
        ds, pred, redraws = draw_dataset(trial)
        every = math.gcd(trial.record_every, trial.attention_every)
        cfg = TrainConfig(optimizer=trial.optimizer, lr=trial.lr, steps=trial.steps,
                          device=trial.device, record_every=every,
                          record_at=trial.path_steps, progress=False, **_init_options(trial))
        prepared.append((ds, pred, redraws, cfg, time.perf_counter() - t0))
        used.append(cfg.resolve(ds))
    groups: dict[TrainConfig, list[int]] = {}
    for i, (*_, cfg, _) in enumerate(prepared):
        groups.setdefault(cfg, []).append(i)
    iterates: dict[int, dict[int, np.ndarray]] = {}
    shares: dict[int, float] = {}
    for cfg, idx in groups.items():
        t0 = time.perf_counter()
        for i, its in zip(idx, _train_group([prepared[i][0] for i in idx], cfg), strict=True):
            iterates[i] = its
        for i in idx:
            shares[i] = (time.perf_counter() - t0) / len(idx)
    out = []
    for i, (trial, (ds, pred, redraws, _, spent)) in enumerate(zip(trials, prepared,
                                                                   strict=True)):
        t0 = time.perf_counter()
        res = _measure(trial, ds, pred, redraws, iterates[i])
        scale = 0.0 if used[i].init == "zero" else used[i].init_scale
        out.append(replace(res, seconds=spent + shares[i] + time.perf_counter() - t0,
                           lr=float(used[i].lr), init_scale=float(scale)))
    return out


def _train_group(datasets: list[Dataset], cfg: Any) -> list[dict[int, np.ndarray]]:
    """Iterates of each dataset under ``cfg``: one batch when there are several (a batch
    that stops being finite is retrained one by one, so only the diverging trial fails)."""
    from ntp_mechanics.solvers.training import train, train_batch

    if len(datasets) > 1:
        try:
            return [r.iterates for r in train_batch(datasets, cfg)]
        except FloatingPointError:
            pass
    return [train(ds, cfg).iterates for ds in datasets]


def _measure(trial: Trial, ds: Dataset, pred: Predictions, redraws: int,
             its: dict[int, np.ndarray]) -> TrialResult:
    """The trial's curves from its recorded iterates."""
    from ntp_mechanics.kernel.evidence import attention_errors, cosine, training_inputs

    steps = _grid(trial.steps, trial.record_every)
    att_steps = _grid(trial.steps, trial.attention_every)
    inputs = training_inputs(pred)
    S = pred.fin.subspace
    on_scc = [1.0 - attention_errors(ds.E, its[s], pred.W_fin, inputs).mean_off
              for s in att_steps]
    res = TrialResult(
        trial, redraws, float(np.linalg.norm(pred.W_svm)), float(np.linalg.norm(pred.W_fin)),
        S.dim, len(pred.tpg.cyclic_edges()), len(pred.tpg.acyclic_edges()), steps,
        [float(np.linalg.norm(its[s])) for s in steps],
        [cosine(its[s], pred.W_svm) for s in steps],
        [float(np.linalg.norm(S.project(its[s]) - pred.W_fin)) for s in steps],
        att_steps, on_scc, loss_gap=_loss_gaps(ds, pred, [its[s] for s in steps]))
    if trial.path_steps:
        res = replace(res, path_steps=list(trial.path_steps),
                      corr_path=_matched_path(pred, [its[s] for s in trial.path_steps]))
    if trial.ladder:
        radii = [m * res.svm_norm for m in trial.ladder]
        res = replace(res, ladder_radii=radii, ladder_dir_err=_path_errors(pred, radii))
    return res


def _init_options(trial: Trial) -> dict[str, Any]:
    """:class:`TrainConfig` fields for the trial's ``W(0)`` (its seed from the trial's)."""
    if trial.init == "zero":
        return {"init": "zero"}
    scale = 1 / math.sqrt(3 * trial.d) if trial.init == "default" else trial.init_scale
    seed = int(np.random.SeedSequence(list(trial.seed)).generate_state(1)[0])
    return {"init": "random", "init_scale": scale, "seed": seed}


def _loss_gaps(ds: Dataset, pred: Predictions, Ws: Sequence[np.ndarray]) -> list[float]:
    """``L(W) - L*`` at full relative precision (``L*`` of the finite component)."""
    from ntp_mechanics.kernel.evidence.common import precise_loss
    from ntp_mechanics.solvers.loss import LogLoss

    loss = LogLoss(ds)
    return [precise_loss(loss, W) - pred.fin.L_star for W in Ws]


def _grid(steps: int, every: int) -> list[int]:
    """``0, every, 2 every, ...`` and the last step."""
    return sorted({*range(0, steps + 1, max(every, 1)), steps})


def _matched_path(pred: Predictions, Ws: Sequence[np.ndarray]) -> list[float]:
    """``corr(W, W_R)`` with the certified path point at ``R = ||W||`` (NaN if none)."""
    from ntp_mechanics.kernel.evidence import cosine, sound_path
    from ntp_mechanics.model.errors import InconclusiveError

    radii = [float(np.linalg.norm(W)) for W in Ws]
    try:
        pts = {p.R: p for p in sound_path(pred, radii)}
    except InconclusiveError:
        return [math.nan] * len(Ws)
    out = []
    for W, R in zip(Ws, radii, strict=True):
        p = pts.get(R)
        out.append(cosine(W, p.W) if p is not None and p.W is not None else math.nan)
    return out


def _path_errors(pred: Predictions, radii: Sequence[float]) -> list[float]:
    """``||W_R/R - W_svm/||W_svm|| ||`` on certified points (NaN elsewhere)."""
    from ntp_mechanics.kernel.evidence import sound_path
    from ntp_mechanics.model.errors import InconclusiveError

    try:
        pts = sound_path(pred, radii)
    except InconclusiveError:
        return [math.nan] * len(radii)
    return [float(np.linalg.norm(p.W / p.R - pred.direction)) if p.W is not None else math.nan
            for p in pts]
