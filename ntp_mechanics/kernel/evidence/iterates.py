"""Claims B and D: gradient-descent iterates against ``W_svm`` and ``W_fin``.

B: the direction of ``W(tau)`` tends to ``W_svm / ||W_svm||`` and ``P_fin W(tau)`` to
``W_fin``; D: ``W(tau) ~ W_fin + ||W(tau)|| W_svm / ||W_svm||``.  Both are judged on the
margin-scale ladder by :func:`ntp_mechanics.kernel.verdict.judge_decay`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from ntp_mechanics.kernel.evidence.common import (
    DIR_LARGE,
    DIR_TOL,
    FIN_LARGE,
    FIN_TOL,
    merge,
    precise_loss,
    unit,
)
from ntp_mechanics.kernel.verdict import (
    ClaimResult,
    Judgement,
    Verdict,
    judge_decay,
    limit_of_decaying,
)
from ntp_mechanics.solvers.loss import LogLoss
from ntp_mechanics.solvers.predictions import Predictions


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
    u = pred.direction if direction is None else unit(direction)
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
        b = merge("B", metrics, loss=loss_j, finite_minimiser=j)
        return b, merge("D", metrics, finite_minimiser=j)
    scales = [r / ns for r in norms]
    dir_errs = [float(np.linalg.norm(W / max(r, 1e-300) - u)) for W, r in zip(Ws, norms,
                                                                              strict=True)]
    perp = [W - pred.fin.subspace.project(W) for W in Ws]
    perp_errs = [float(np.linalg.norm(unit(P) - u)) for P in perp]
    fit_d = limit_of_decaying(scales, dir_errs)
    fit_p = limit_of_decaying(scales, perp_errs)
    fit_f = limit_of_decaying(scales, fin_errs, model="exp")
    metrics |= fit_d.metrics("direction_") | fit_f.metrics("fin_") | fit_p.metrics("perp_")
    # ||W(tau)|| -> inf: the last norm is the largest and far past ||W_svm|| (from a
    # random start the norm may first shrink while the initial part is corrected)
    growing = norms[-1] >= 2 * ns and norms[-1] >= max(norms)
    norm_j = Judgement(
        Verdict.CONSISTENT if growing else Verdict.INCONCLUSIVE,
        f"||W|| = {norms[-1]:.3g} = {scales[-1]:.3g} ||W_svm||" + ("" if growing else
                                                                  " (not yet >> ||W_svm||)"),
    )
    dir_j = judge_decay(fit_d, tol=DIR_TOL, large=DIR_LARGE)
    fin_j = judge_decay(fit_f, tol=floor, large=max(FIN_LARGE, 5 * floor), converged=floor)
    perp_j = judge_decay(fit_p, tol=DIR_TOL, large=DIR_LARGE)
    b = merge("B", metrics, loss=loss_j, norm=norm_j, direction=dir_j, fin=fin_j)
    d = merge("D", metrics, perp_direction=perp_j, fin=fin_j)
    return b, d
