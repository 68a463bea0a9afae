"""Claim A, the regularization path: certified points ``W_R`` judged soundly.

Every certified path point is re-checked against reference points of the same norm with
an accurate loss (:func:`sound_path`): a minimiser over the ball cannot have a larger
loss than another point of the ball, so a solver that certifies a wrong point at large
``R`` (THEORY.md section 7) yields *inconclusive*, never a falsified theorem.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ntp_mechanics.kernel.evidence.common import (
    DIR_LARGE,
    DIR_TOL,
    FIN_LARGE,
    FIN_TOL,
    MARGIN_LADDER,
    merge,
    precise_loss,
    unit,
)
from ntp_mechanics.kernel.verdict import (
    ClaimResult,
    Verdict,
    judge_decay,
    limit_of_decaying,
)
from ntp_mechanics.solvers.loss import LogLoss
from ntp_mechanics.solvers.predictions import Predictions


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
    target = pred.direction if direction is None else unit(direction)
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
    return merge(claim, metrics, direction=d, fin=f)
