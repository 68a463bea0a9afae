"""Evidence for the paper's claims A-E, computed from one dataset, shared by the
theorem modules (``theorems/claim_*.py``) and ``ntp-mechanics check``.

Every claim of THEORY.md section 5 is a limit.  The functions here measure an
error at a ladder of scales and hand the sequence to
:func:`ntp_mechanics.kernel.verdict.judge_decay`, which extrapolates it:

* the **scale** is the margin scale ``m = ||W|| / ||W_svm||`` (the score gap, in
  units of one Graph-SVM margin, between successive priority levels at norm
  ``||W||``).  Errors are universal functions of ``m``, not of ``||W||``: a dataset
  with ``||W_svm|| = 1.3`` is at the same point of its asymptotics at ``R = 21`` as
  one with ``||W_svm|| = 14.6`` at ``R = 234``.  The default ladder is
  ``m = 1, 2, 4, 8, 16`` (:data:`MARGIN_LADDER`).
* past ``m ~ 16-20`` fp64 cannot resolve the direction when ``S_fin != {0}`` (the
  gradient across SCCs drowns in the rounding of the S_fin gradient), and the
  regularization-path solver may *certify a wrong point* (THEORY.md section 7; we
  measured certified points at ``m = 48`` with directional error 0.2-0.6).
  :func:`sound_path` therefore re-checks every certified point against reference
  points of the same norm with an accurate loss (:func:`precise_loss`): a minimiser
  over the ball cannot have a larger loss than another point of the ball.

Three sound monotonicity facts used by :func:`check_weights` (they hold for any
gradient method ``W <- W - eta_t grad L(W)``, ``eta_t >= 0``, from ``W(0) = 0``, so
also for normalised GD):

1. ``<grad L(W), W_svm> <= 0`` for every W: sample i contributes
   ``sum_{t: x_t != y} s_t (a_t - a_y)`` with ``a = scores of W_svm``, and each edge
   ``y -> x_t`` has ``a_y - a_t = 0`` (cyclic) or ``>= 1`` (acyclic).  Hence
   ``<W(tau), W_svm>`` never decreases from 0.
2. With a small step the loss never rises above ``L(0)`` (descent lemma).
3. If ``W_svm = 0`` (no acyclic edge) ``W_fin`` minimises L, and for convex L the
   distance ``||W(tau) - W_fin||`` never exceeds ``||W(0) - W_fin|| = ||W_fin||``
   (up to ``O(lr)`` for normalised steps).

Example
-------
>>> import numpy as np
>>> from ntp_mechanics.model.dataset import Dataset
>>> from ntp_mechanics.solvers.predictions import predict
>>> ds = Dataset.from_arrays(np.eye(3), [((0, 1, 2), 0), ((1, 2), 1)])
>>> judge_path(predict(ds)).verdict.value
'consistent'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from itertools import pairwise
from typing import Any

import numpy as np
from scipy.special import logsumexp

from ntp_mechanics.kernel.verdict import (
    ClaimResult,
    Judgement,
    Verdict,
    judge_decay,
    limit_of_decaying,
)
from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.errors import InconclusiveError
from ntp_mechanics.solvers.loss import LogLoss
from ntp_mechanics.solvers.predictions import Predictions

__all__ = [
    "DIR_LARGE",
    "DIR_TOL",
    "FIN_LARGE",
    "FIN_TOL",
    "MARGIN_LADDER",
    "AttentionErrors",
    "PathPoint",
    "attention_errors",
    "attention_svm",
    "check_weights",
    "cosine",
    "dropped_constraint_direction",
    "judge_acyclic",
    "judge_attention_iterates",
    "judge_automaton",
    "judge_iterates",
    "judge_path",
    "precise_loss",
    "sound_path",
    "training_inputs",
    "unreduced_finite_component",
]

MARGIN_LADDER: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0)
"""Margin scales ``m = R / ||W_svm||`` of the regularization-path ladder."""

DIR_TOL, DIR_LARGE = 0.05, 0.15
"""Direction: extrapolated limit within DIR_TOL is consistent; a plateau above
DIR_LARGE contradicts (errors are Frobenius distances of unit matrices, in [0, 2])."""

FIN_TOL, FIN_LARGE = 0.01, 0.05
"""S_fin component ``||P_fin W - W_fin||`` (it converges exponentially fast)."""

ATT_TOL, OFF_LARGE, TV_LARGE = 0.01, 0.25, 0.05
"""Attention (claim C): tolerance; a plateau of the mass off the target SCC above
OFF_LARGE, or of the within-SCC total variation above TV_LARGE, contradicts."""


# -- accurate loss -----------------------------------------------------------------------
def precise_loss(loss: LogLoss, W: np.ndarray) -> float:
    """``L(W)`` with full relative precision even when it is ``1e-200``.

    ``-log p_i = log1p(sum_{t off label} exp(a_t - LSE_label))``; the usual
    ``LSE - LSE_label`` form rounds every loss below ``1e-16`` to 0, which is
    exactly the regime where regularization-path points must be compared.
    """
    a = loss.scores(W)
    lse_y = logsumexp(np.where(loss.label_mask, a, -np.inf), axis=1)
    off = np.where(loss.mask & ~loss.label_mask, a - lse_y[:, None], -np.inf)
    with np.errstate(divide="ignore"):
        ls = logsumexp(off, axis=1)  # log of (1 - p) / p
    per = np.where(ls < 0, np.log1p(np.exp(ls)), np.logaddexp(0.0, ls))
    return float(per.mean())


def cosine(A: np.ndarray, B: np.ndarray) -> float:
    na, nb = float(np.linalg.norm(A)), float(np.linalg.norm(B))
    return float(np.sum(A * B) / (na * nb)) if na > 0 and nb > 0 else 0.0


def _unit(W: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(W))
    return W / n if n > 0 else W


# -- the regularization path, soundly ---------------------------------------------------
@dataclass(frozen=True)
class PathPoint:
    """One radius of the path: ``W`` is None when the point is not trusted."""

    R: float
    W: np.ndarray | None
    reason: str = ""


def reference_points(pred: Predictions, R: float) -> list[np.ndarray]:
    """Points of norm ``<= R`` the minimiser ``W_R`` must beat: ``R W_svm/||W_svm||``
    and ``W_fin + sqrt(R^2 - ||W_fin||^2) W_svm/||W_svm||`` (claim D's formula)."""
    refs = [R * pred.direction] if np.linalg.norm(pred.W_svm) > 0 else []
    nf = float(np.linalg.norm(pred.W_fin))
    if R > nf:
        refs.append(pred.W_fin + math.sqrt(R * R - nf * nf) * pred.direction)
    return refs


def sound_path(pred: Predictions, radii: Sequence[float]) -> list[PathPoint]:
    """The regularization path at ascending ``radii`` with every point re-checked.

    A point is kept if :func:`ntp_mechanics.solvers.regpath.regularization_path` certified it and
    no reference point of the same norm (:func:`reference_points`, and the previous
    trusted point rescaled) has a smaller accurate loss.
    """
    from ntp_mechanics.solvers.regpath import regularization_path

    radii = sorted(float(r) for r in radii)
    loss = LogLoss(pred.dataset)
    out: list[PathPoint] = []
    prev: np.ndarray | None = None
    for pt in regularization_path(pred.dataset, radii, pred.tpg):
        if not pt.certified:
            out.append(PathPoint(pt.R, None, pt.reason or "not certified"))
            continue
        value = precise_loss(loss, pt.W)
        refs = reference_points(pred, pt.R)
        if prev is not None:
            refs.append(prev * (pt.R / max(float(np.linalg.norm(prev)), 1e-300)))
        best = min((precise_loss(loss, W) for W in refs), default=math.inf)
        if best < value * (1 - 1e-6):
            out.append(PathPoint(pt.R, None, f"certified point beaten by a reference point "
                                             f"(loss {value:.3e} > {best:.3e})"))
            continue
        out.append(PathPoint(pt.R, pt.W))
        prev = pt.W
    return out


# -- claim A: the regularization path -----------------------------------------------------
def judge_path(
    pred: Predictions,
    direction: np.ndarray | None = None,
    W_fin: np.ndarray | None = None,
    margins: Sequence[float] = MARGIN_LADDER,
    claim: str = "A",
    points: Sequence[PathPoint] | None = None,
) -> ClaimResult:
    """Claim A: ``W_R/R -> direction`` and ``P_fin W_R -> W_fin`` (defaults: the theory's).

    Passing another ``direction`` or ``W_fin`` turns this into a negative control: the
    same measurement against a wrong prediction.  ``points`` reuses a computed
    :func:`sound_path` at radii ``m ||W_svm||`` (then ``margins`` is ignored).
    """
    ns = float(np.linalg.norm(pred.W_svm))
    if ns == 0:
        return ClaimResult(claim, Verdict.CONSISTENT, {"norm_W_svm": 0.0},
                           "W_svm = 0: claim A is vacuous (no acyclic edge)")
    target = pred.direction if direction is None else _unit(direction)
    fin_target = pred.W_fin if W_fin is None else W_fin
    pts = list(points) if points is not None else sound_path(pred, [ns * m for m in margins])
    dir_errs, fin_errs = [], []
    for p in pts:
        if p.W is None:
            dir_errs.append(None)
            fin_errs.append(None)
            continue
        dir_errs.append(float(np.linalg.norm(p.W / p.R - target)))
        fin_errs.append(float(np.linalg.norm(pred.fin.subspace.project(p.W) - fin_target)))
    ms = [p.R / ns for p in pts]
    fit_d = limit_of_decaying(ms, dir_errs)
    d = judge_decay(fit_d, tol=DIR_TOL, large=DIR_LARGE)
    fit_f = limit_of_decaying(ms, fin_errs, model="exp")
    f = judge_decay(fit_f, tol=FIN_TOL, large=FIN_LARGE)
    metrics: dict[str, Any] = {"norm_W_svm": ns, "dim_S_fin": pred.fin.subspace.dim}
    metrics |= fit_d.metrics("direction_") | fit_f.metrics("fin_")
    metrics["uncertified"] = [f"m={p.R / ns:g}: {p.reason}" for p in pts if p.W is None]
    return _merge(claim, metrics, direction=d, fin=f)


def _merge(claim: str, metrics: dict[str, Any], **parts: Judgement) -> ClaimResult:
    verdict = Verdict.combine(j.verdict for j in parts.values())
    shown = [f"{k}: {j.reason}" for k, j in parts.items() if j.verdict is verdict] or [
        f"{k}: {j.reason}" for k, j in parts.items()
    ]
    metrics = dict(metrics) | {f"{k}_verdict": j.verdict.value for k, j in parts.items()}
    return ClaimResult(claim, verdict, metrics, "; ".join(shown))


# -- wrong predictions for negative controls ------------------------------------------
def dropped_constraint_direction(pred: Predictions) -> np.ndarray | None:
    """Unit direction of the Graph-SVM with its most binding acyclic constraint dropped.

    The constraint with the largest dual is an arc of a transitive reduction, so no
    other path implies it: removing every edge between its two SCCs removes it.
    Returns None when W_svm = 0 or the modified problem cannot be certified.
    """
    from ntp_mechanics.model.tpg import PriorityGraph, TokenPriorityGraphs
    from ntp_mechanics.solvers.graph_svm import graph_svm

    svm = pred.svm
    if len(svm.constraints) == 0:
        return None
    i, j, k = svm.constraints[int(np.argmax(svm.duals))]
    g = pred.tpg[k]
    a, b = g.scc_of[i], g.scc_of[j]
    graph = g.graph.copy()
    graph.remove_edges_from(
        [(u, v) for u, v in g.graph.edges if g.scc_of[u] == a and g.scc_of[v] == b]
    )
    graphs = dict(pred.tpg.graphs) | {k: PriorityGraph(k, graph)}
    try:
        W = graph_svm(pred.dataset, TokenPriorityGraphs(graphs)).W
    except Exception:  # an uncertified control is no control
        return None
    return _unit(W)


def unreduced_finite_component(pred: Predictions) -> np.ndarray:
    """``argmin_{W in S_fin} L(W)`` of the *full* loss: soft composition without the
    hard-retrieval step (a wrong theory of W_fin, used as a negative control).

    The full loss is at least ``L_fin`` on S_fin, so it is coercive there and the
    minimiser exists; Newton's method from ``W_fin`` finds it.
    """
    from ntp_mechanics.solvers.conic import newton_polish

    S = pred.fin.subspace
    if S.dim == 0:
        return np.zeros_like(pred.W_fin)
    cl = LogLoss(pred.dataset).in_basis(S.basis)
    c = newton_polish(cl, S.coords(pred.W_fin), iters=60)
    return cl.W(c)


# -- attention: hard retrieval and soft composition (claim C) ---------------------------
@dataclass(frozen=True)
class AttentionErrors:
    """Per-sample ``off``: attention mass outside the target SCC; ``tv``: total
    variation between the attention renormalised on the SCC's positions and
    ``softmax_t(e_{x_t}^T W_fin e_k)`` over them."""

    off: np.ndarray
    tv: np.ndarray

    @property
    def max_off(self) -> float:
        return float(self.off.max()) if self.off.size else 0.0

    @property
    def mean_off(self) -> float:
        return float(self.off.mean()) if self.off.size else 0.0

    @property
    def max_tv(self) -> float:
        return float(self.tv.max()) if self.tv.size else 0.0


def attention_errors(
    E: np.ndarray,
    W: np.ndarray,
    W_fin: np.ndarray,
    inputs: Sequence[tuple[Sequence[int], frozenset[int] | set[int]]],
) -> AttentionErrors:
    """Errors of claim C for ``inputs``: ``(tokens, target SCC)`` pairs, query last."""
    off, tv = [], []
    for tokens, scc in inputs:
        toks = np.asarray(tokens)
        q = E[toks[-1]]
        keys = E[toks]
        a = keys @ W @ q
        s = np.exp(a - logsumexp(a))
        inside = np.isin(toks, list(scc))
        off.append(float(s[~inside].sum()))
        b = keys[inside] @ W_fin @ q
        want = np.exp(b - logsumexp(b))
        # renormalise in log space: s on the SCC may be 1e-300 for a wrong W
        got = np.exp(a[inside] - logsumexp(a[inside]))
        tv.append(0.5 * float(np.abs(got - want).sum()))
    return AttentionErrors(np.array(off), np.array(tv))


def training_inputs(pred: Predictions) -> list[tuple[tuple[int, ...], frozenset[int]]]:
    """Every training sample with its label's SCC in ``G^(k_i)`` (claim C's target)."""
    out = []
    for s in pred.dataset.samples:
        g = pred.tpg[s.query]
        out.append((s.tokens, frozenset(v for v in g.graph.nodes if g.same(v, s.label))))
    return out


def judge_automaton(
    pred: Predictions,
    inputs: Sequence[tuple[Sequence[int], frozenset[int] | set[int]]] | None = None,
    direction: np.ndarray | None = None,
    W_fin: np.ndarray | None = None,
    margins: Sequence[float] = MARGIN_LADDER,
    claim: str = "C",
) -> ClaimResult:
    """Claim C along ``W = W_fin + R W_svm/||W_svm||``: attention off the target SCC
    decays exponentially in R and, on it, follows ``softmax(W_fin scores)``.

    ``direction``/``W_fin`` override the theory's objects (negative controls: the
    attention is always *computed* with the override and *compared* with the
    theory's ``W_fin``).
    """
    ns = float(np.linalg.norm(pred.W_svm))
    inputs = training_inputs(pred) if inputs is None else inputs
    u = pred.direction if direction is None else _unit(direction)
    Wf = pred.W_fin if W_fin is None else W_fin
    E = pred.dataset.E
    if ns == 0 and direction is None:
        err = attention_errors(E, Wf, pred.W_fin, inputs)
        verdict = Verdict.CONSISTENT if err.max_off + err.max_tv <= ATT_TOL else (
            Verdict.CONTRADICTS if err.max_off + err.max_tv >= TV_LARGE else Verdict.INCONCLUSIVE
        )
        return ClaimResult(claim, verdict, {"max_off": err.max_off, "max_tv": err.max_tv},
                           "W_svm = 0: attention of W_fin itself")
    scale = ns if ns > 0 else 1.0
    offs, tvs = [], []
    for m in margins:
        err = attention_errors(E, Wf + m * scale * u, pred.W_fin, inputs)
        offs.append(err.max_off)
        tvs.append(err.max_tv)
    fit_o = limit_of_decaying(margins, offs, model="exp")
    fit_t = limit_of_decaying(margins, tvs, model="exp")
    metrics = {"norm_W_svm": ns, "n_inputs": len(inputs)}
    metrics |= fit_o.metrics("off_scc_") | fit_t.metrics("within_scc_tv_")
    return _merge(
        claim,
        metrics,
        hard_retrieval=judge_decay(fit_o, tol=ATT_TOL, large=OFF_LARGE, converged=1e-3),
        soft_composition=judge_decay(fit_t, tol=ATT_TOL, large=TV_LARGE, converged=1e-6),
    )


def judge_attention_iterates(
    pred: Predictions, iterates: Mapping[int, np.ndarray], lr: float, claim: str = "C"
) -> ClaimResult:
    """Claim C along gradient-descent iterates: on the training samples the attention
    off the label's SCC and the within-SCC total variation from
    ``softmax(W_fin scores)`` tend to 0 (resolved to about ``2 lr`` for normalised GD).
    """
    steps = sorted(s for s in iterates if s > 0)
    ns = float(np.linalg.norm(pred.W_svm))
    inputs = training_inputs(pred)
    errs = [attention_errors(pred.dataset.E, np.asarray(iterates[s]), pred.W_fin, inputs)
            for s in steps]
    xs = [float(np.linalg.norm(iterates[s])) / ns if ns > 0 else float(s) for s in steps]
    fit_o = limit_of_decaying(xs, [e.max_off for e in errs], model="exp")
    fit_t = limit_of_decaying(xs, [e.max_tv for e in errs], model="exp")
    floor = max(2 * lr, ATT_TOL)
    metrics = {"norm_W_svm": ns, "steps": steps}
    metrics |= fit_o.metrics("off_scc_") | fit_t.metrics("within_scc_tv_")
    return _merge(
        claim,
        metrics,
        hard_retrieval=judge_decay(fit_o, tol=floor, large=OFF_LARGE, converged=floor),
        soft_composition=judge_decay(fit_t, tol=floor, large=max(TV_LARGE, 2 * floor),
                                     converged=floor),
    )


# -- claim E: the special cases ---------------------------------------------------------
def attention_svm(ds: Dataset, select: str = "label") -> np.ndarray:
    """The attention SVM of Tarzanagh et al. (2023), written independently, per sample:

        min ||W||_F  s.t.  (e_{s_i} - e_{x_it})^T W e_{k_i} >= 1  for every x_it != s_i,

    with one selected token ``s_i`` per sequence: its label (``select="label"``, which
    claim E says is the Graph-SVM of acyclic graphs) or its query (``"query"``, a
    negative control).  Raises InconclusiveError when the solver does not finish.
    """
    import cvxpy as cp

    E = ds.E
    W = cp.Variable((ds.d, ds.d))
    rows, qs = [], []
    for s in ds.samples:
        sel = s.label if select == "label" else s.query
        for x in set(s.tokens) - {sel}:
            rows.append(E[sel] - E[x])
            qs.append(E[s.query])
    if not rows:
        return np.zeros((ds.d, ds.d))
    A = np.einsum("ra,rb->rab", np.array(rows), np.array(qs)).reshape(len(rows), -1)
    prob = cp.Problem(cp.Minimize(cp.sum_squares(W)), [A @ cp.vec(W, order="C") >= 1])
    prob.solve(solver=cp.CLARABEL)
    if prob.status != cp.OPTIMAL or W.value is None:
        raise InconclusiveError(f"attention SVM solver status {prob.status!r}")
    return np.asarray(W.value)


def judge_acyclic(pred: Predictions, W_att: np.ndarray, claim: str = "E") -> ClaimResult:
    """Claim E, acyclic graphs: ``S_fin = {0}``, ``W_fin = 0``, ``L* = 0`` and
    ``W_svm`` equals the attention SVM ``W_att`` (to solver tolerance)."""
    ns = float(np.linalg.norm(pred.W_svm))
    rel = float(np.linalg.norm(pred.W_svm - W_att)) / max(ns, float(np.linalg.norm(W_att)),
                                                           1e-12)
    m = {"dim_S_fin": pred.fin.subspace.dim, "norm_W_fin": float(np.linalg.norm(pred.W_fin)),
         "L_star": pred.fin.L_star, "norm_W_svm": ns, "relative_gap_to_attention_svm": rel}
    exact = pred.fin.subspace.dim == 0 and m["norm_W_fin"] == 0 and abs(pred.fin.L_star) < 1e-12
    if not exact:
        return ClaimResult(claim, Verdict.CONTRADICTS, m, "acyclic graphs but S_fin, W_fin or "
                           "L* is not trivial")
    if rel <= 1e-4:
        return ClaimResult(claim, Verdict.CONSISTENT, m,
                           f"W_svm = attention SVM (relative gap {rel:.1e})")
    if rel >= 1e-2:
        return ClaimResult(claim, Verdict.CONTRADICTS, m,
                           f"W_svm differs from the attention SVM (relative gap {rel:.3g})")
    return ClaimResult(claim, Verdict.INCONCLUSIVE, m,
                       f"relative gap {rel:.1e} between solver tolerance and a clear difference")


# -- claims B and D: gradient-descent iterates ------------------------------------------
@dataclass(frozen=True)
class IterateEvidence:
    """Errors of GD iterates ``W(tau)`` at recorded steps, against the theory."""

    pred: Predictions
    steps: tuple[int, ...]
    iterates: tuple[np.ndarray, ...]
    lr: float
    direction: np.ndarray
    W_fin: np.ndarray
    losses: tuple[float, ...] = field(default=())

    @cached_property
    def norms(self) -> list[float]:
        return [float(np.linalg.norm(W)) for W in self.iterates]

    @cached_property
    def scales(self) -> list[float]:
        ns = float(np.linalg.norm(self.pred.W_svm))
        return [r / ns for r in self.norms] if ns > 0 else [float(s) for s in self.steps]


def judge_iterates(
    pred: Predictions,
    iterates: Mapping[int, np.ndarray],
    lr: float,
    direction: np.ndarray | None = None,
    W_fin: np.ndarray | None = None,
) -> tuple[ClaimResult, ClaimResult]:
    """Claims B and D from GD iterates ``{step: W}`` (steps ascending, from zero).

    B: ``L(W(tau)) -> L*``; if ``W_svm != 0`` the norm grows without bound,
    ``W/||W|| -> W_svm/||W_svm||`` and ``P_fin W -> W_fin``; if ``W_svm = 0``,
    ``W(tau) -> W_fin``.  D: ``W(tau) - W_fin`` is ``||W(tau)|| W_svm/||W_svm||`` up
    to ``o(||W||)``, with the S_fin part converging to W_fin.  Normalised GD moves by
    ``lr`` per step, so components that converge are resolved to about ``lr`` only.
    """
    steps = sorted(s for s in iterates if s > 0)
    Ws = [np.asarray(iterates[s], dtype=float) for s in steps]
    u = pred.direction if direction is None else _unit(direction)
    Wf = pred.W_fin if W_fin is None else W_fin
    ns = float(np.linalg.norm(pred.W_svm))
    loss = LogLoss(pred.dataset)
    L0 = precise_loss(loss, np.zeros_like(pred.W_fin))
    gaps = [precise_loss(loss, W) - pred.fin.L_star for W in Ws]
    floor = max(2 * lr, FIN_TOL)
    fin_errs = [float(np.linalg.norm(pred.fin.subspace.project(W) - Wf)) for W in Ws]
    norms = [float(np.linalg.norm(W)) for W in Ws]
    metrics: dict[str, Any] = {
        "steps": steps, "norms": norms, "norm_W_svm": ns, "L0_minus_Lstar": L0 - pred.fin.L_star,
        "loss_gaps": gaps,
    }
    # loss -> L*: the gap must become negligible relative to where it started
    span = L0 - pred.fin.L_star
    if span <= 1e-12:  # nothing to learn (e.g. every sequence holds only its label)
        loss_j = Judgement(Verdict.CONSISTENT, f"L(0) - L* = {span:.1e}: nothing to learn")
    else:
        gap_rel = [max(g, 0.0) / span for g in gaps]
        fit_l = limit_of_decaying(steps, gap_rel, model="1/x")
        loss_j = judge_decay(fit_l, tol=0.01, large=0.5, converged=0.02)
    if ns == 0:
        dist = [float(np.linalg.norm(W - Wf)) for W in Ws]
        fit = limit_of_decaying(steps, dist, model="exp")
        metrics |= fit.metrics("dist_to_W_fin_")
        j = judge_decay(fit, tol=floor, large=max(FIN_LARGE, 5 * floor), converged=floor)
        b = _merge("B", metrics, loss=loss_j, finite_minimiser=j)
        return b, _merge("D", metrics, finite_minimiser=j)
    scales = [r / ns for r in norms]
    dir_errs = [float(np.linalg.norm(W / max(r, 1e-300) - u)) for W, r in zip(Ws, norms,
                                                                              strict=True)]
    perp = [W - pred.fin.subspace.project(W) for W in Ws]
    perp_errs = [float(np.linalg.norm(_unit(P) - u)) for P in perp]
    fit_d = limit_of_decaying(scales, dir_errs)
    fit_p = limit_of_decaying(scales, perp_errs)
    fit_f = limit_of_decaying(scales, fin_errs, model="exp")
    metrics |= fit_d.metrics("direction_") | fit_f.metrics("fin_") | fit_p.metrics("perp_")
    growing = norms[-1] >= 2 * ns and all(b >= a for a, b in pairwise(norms))
    norm_j = Judgement(
        Verdict.CONSISTENT if growing else Verdict.INCONCLUSIVE,
        f"||W|| = {norms[-1]:.3g} = {scales[-1]:.3g} ||W_svm||" + ("" if growing else
                                                                  " (not yet >> ||W_svm||)"),
    )
    dir_j = judge_decay(fit_d, tol=DIR_TOL, large=DIR_LARGE)
    fin_j = judge_decay(fit_f, tol=floor, large=max(FIN_LARGE, 5 * floor), converged=floor)
    perp_j = judge_decay(fit_p, tol=DIR_TOL, large=DIR_LARGE)
    b = _merge("B", metrics, loss=loss_j, norm=norm_j, direction=dir_j, fin=fin_j)
    d = _merge("D", metrics, perp_direction=perp_j, fin=fin_j)
    return b, d


# -- one weight matrix (the ``check`` command) ------------------------------------------
@dataclass(frozen=True)
class WeightEvidence:
    """What :func:`check_weights` measured, for the report."""

    metrics: dict[str, Any]
    results: tuple[ClaimResult, ...]

    @property
    def verdict(self) -> Verdict:
        return Verdict.combine(r.verdict for r in self.results)


# thresholds of the single-W check, tuned on normalised-GD runs (see check.py)
MIN_SCALE = 2.0  # ||W|| / ||W_svm|| below this: too early for the asymptotics
MAX_LOSS_FRACTION = 0.05  # (L(W) - L*) / (L(0) - L*) above this: not trained enough
PATH_OK, PATH_BAD = 0.2, 0.7  # ||W/||W|| - W_rho/rho||: GD tracks the path to 0.01-0.1
FIN_OK, FIN_BAD = 0.05, 0.5
COS_BAD = -0.05  # cos(W, W_svm) below this: impossible for GD from zero (fact 1 above)


def check_weights(pred: Predictions, W: np.ndarray) -> WeightEvidence:
    """Judge one trained ``W`` against claims B, C, D (see ``ntp-mechanics check``)."""
    W = np.asarray(W, dtype=float)
    loss = LogLoss(pred.dataset)
    L0 = precise_loss(loss, np.zeros_like(W))
    LW = precise_loss(loss, W)
    Ls = pred.fin.L_star
    rho = float(np.linalg.norm(W))
    ns = float(np.linalg.norm(pred.W_svm))
    att = attention_errors(pred.dataset.E, W, pred.W_fin, training_inputs(pred))
    m: dict[str, Any] = {
        "norm_W": rho, "norm_W_svm": ns, "norm_W_fin": float(np.linalg.norm(pred.W_fin)),
        "loss": LW, "L0": L0, "L_star": Ls,
        "loss_fraction": (LW - Ls) / (L0 - Ls) if L0 > Ls else float("nan"),
        "grad_norm": float(np.linalg.norm(loss.grad(W))),
        "fin_err": float(np.linalg.norm(pred.fin.subspace.project(W) - pred.W_fin)),
        "mean_off_scc": att.mean_off, "max_off_scc": att.max_off, "max_within_scc_tv": att.max_tv,
    }
    sound: list[str] = []
    if LW > L0 + 1e-3:
        sound.append(f"L(W) = {LW:.4g} > L(0) = {L0:.4g}: gradient descent from zero never "
                     "ends above its starting loss")
    if ns == 0:
        return _check_finite(pred, W, m, sound)
    m["scale"] = rho / ns
    m["cos_W_svm"] = cosine(W, pred.W_svm)
    m["direction_err"] = float(np.linalg.norm(_unit(W) - pred.direction))
    if m["cos_W_svm"] < COS_BAD:
        sound.append(f"cos(W, W_svm) = {m['cos_W_svm']:.3f} < 0: gradient descent from zero "
                     "only increases <W, W_svm>")
    m |= _path_reference(pred, W, rho)
    return _check_separable(m, sound)


def _path_reference(pred: Predictions, W: np.ndarray, rho: float) -> dict[str, Any]:
    """Distances of ``W/rho`` from the path point and claim D's point at norm rho."""
    out: dict[str, Any] = {}
    nf = float(np.linalg.norm(pred.W_fin))
    if rho > nf:
        ref = pred.W_fin + math.sqrt(rho * rho - nf * nf) * pred.direction
        out["formula_err"] = float(np.linalg.norm((W - ref) / rho))
    if rho <= 0:
        return out
    ns = float(np.linalg.norm(pred.W_svm))
    # continuation from small radii up to rho, at most at margin scale 16 (fp64 limit)
    top = min(rho, 16 * ns)
    radii = [top / 8, top / 4, top / 2, top]
    try:
        pts = sound_path(pred, radii)
    except InconclusiveError:
        return out
    last = pts[-1]
    if last.W is not None:
        out["path_radius"] = last.R
        out["path_err"] = float(np.linalg.norm(W / rho - last.W / last.R))
        out["theory_err"] = float(np.linalg.norm(last.W / last.R - pred.direction))
    else:
        out["path_uncertified"] = last.reason
    return out


def _check_separable(m: dict[str, Any], sound: list[str]) -> WeightEvidence:
    scale, frac = m["scale"], m["loss_fraction"]
    path = m.get("path_err", m.get("formula_err", math.nan))
    asymptotic = scale >= MIN_SCALE and frac <= MAX_LOSS_FRACTION
    regime = (f"||W|| = {scale:.3g} ||W_svm||, loss gap {frac:.2g} of L(0) - L*")
    far = scale >= MIN_SCALE and path >= PATH_BAD and m["direction_err"] >= PATH_BAD

    def decide(ok: bool, bad: bool, good_msg: str, bad_msg: str) -> tuple[Verdict, str]:
        if sound:
            return Verdict.CONTRADICTS, "; ".join(sound)
        if bad:
            return Verdict.CONTRADICTS, bad_msg
        if ok and asymptotic:
            return Verdict.CONSISTENT, good_msg
        if not asymptotic:
            return Verdict.INCONCLUSIVE, f"not in the asymptotic regime ({regime})"
        return Verdict.INCONCLUSIVE, "between the consistent and contradicting thresholds"

    vb, rb = decide(
        path <= PATH_OK,
        far,
        f"W/||W|| is {path:.3g} from the regularization path at matched norm ({regime}); "
        f"direction error {m['direction_err']:.3g} vs the path's own {m.get('theory_err', 0):.3g}",
        f"W/||W|| is {path:.3g} from the regularization path at matched norm and "
        f"{m['direction_err']:.3g} from W_svm/||W_svm|| at {regime}",
    )
    off, tv = m["mean_off_scc"], m["max_within_scc_tv"]
    vc, rc = decide(
        off <= 0.05 and tv <= 0.1,
        scale >= MIN_SCALE and off >= 0.5,
        f"attention off the label's SCC {off:.2g} (mean), within-SCC TV {tv:.2g}",
        f"on average {off:.2g} of the attention lies outside the label's SCC at {regime}",
    )
    fin, formula = m["fin_err"], m.get("formula_err", math.nan)
    theory = m.get("theory_err", formula)
    vd, rd = decide(
        fin <= FIN_OK and formula <= theory + PATH_OK,
        scale >= MIN_SCALE and (fin >= FIN_BAD * max(1.0, m["norm_W_fin"]) or formula >= PATH_BAD),
        f"||P_fin W - W_fin|| = {fin:.2g}, ||W - (W_fin + rho W_svm/||W_svm||)||/rho = "
        f"{formula:.3g} (the path's own error {theory:.3g})",
        f"||P_fin W - W_fin|| = {fin:.3g}, relative distance from W_fin + rho W_svm/||W_svm|| "
        f"{formula:.3g}",
    )
    results = (ClaimResult("B", vb, m, rb), ClaimResult("C", vc, m, rc),
               ClaimResult("D", vd, m, rd))
    return WeightEvidence(m, results)


def _check_finite(pred: Predictions, W: np.ndarray, m: dict[str, Any],
                  sound: list[str]) -> WeightEvidence:
    """``W_svm = 0``: GD converges to the finite minimiser ``W_fin`` (claims B, E)."""
    dist = float(np.linalg.norm(W - pred.W_fin))
    nf = m["norm_W_fin"]
    m["dist_to_W_fin"] = dist
    if dist > nf + 1.0:
        sound.append(f"||W - W_fin|| = {dist:.3g} > ||W_fin|| + 1 = {nf + 1:.3g}: gradient "
                     "descent from zero does not move away from the minimiser")
    ok = dist <= FIN_OK * max(1.0, nf)
    if sound:
        v, r = Verdict.CONTRADICTS, "; ".join(sound)
    elif ok:
        v, r = Verdict.CONSISTENT, f"||W - W_fin|| = {dist:.2g} (W_svm = 0: finite minimiser)"
    else:
        v, r = Verdict.INCONCLUSIVE, (f"||W - W_fin|| = {dist:.3g}, loss gap fraction "
                                      f"{m['loss_fraction']:.2g}: not converged")
    tv = m["max_within_scc_tv"]
    vc = (Verdict.CONTRADICTS if sound else Verdict.CONSISTENT if tv <= 0.1 and ok
          else Verdict.INCONCLUSIVE)
    rc = r if sound else f"within-SCC TV from softmax(W_fin scores) {tv:.2g}"
    results = (
        ClaimResult("B", v, m, r),
        ClaimResult("C", vc, m, rc),
        ClaimResult("D", v, m, r),
        ClaimResult("E", v, m, "no acyclic edge (W_svm = 0): " + r),
    )
    return WeightEvidence(m, results)


def with_claim(result: ClaimResult, claim: str) -> ClaimResult:
    """The same result under another claim id (e.g. a negative control's label)."""
    return replace(result, claim=claim)


def dataset_of(pred: Predictions) -> Dataset:
    return pred.dataset
