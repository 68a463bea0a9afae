"""The regularization path ``W_R = argmin_{||W||_F <= R} L(W)`` (THEORY.md section 3).

Claim A: if ``W_svm != 0`` then ``W_R / R -> W_svm / ||W_svm||`` and
``P_fin W_R -> W_fin`` as ``R -> infinity``.  ``L`` depends on W only through its
projection on ``S_all`` (fact F6), so the minimiser is sought there, in an orthonormal
basis, as an exponential-cone program with one second-order-cone constraint.

Certificate (per radius; the path never raises for numerical trouble, it marks points):

* the Frank-Wolfe duality gap ``g.c + R ||g||`` bounds the suboptimality in loss;
* the KKT residual ``||g + mu c|| / ||g||`` (``mu >= 0``; ``c`` on the sphere, or
  ``||g||`` small inside) is scale-free, so it still sees a wrong direction at large R,
  where the loss itself is flat to fp64 (THEORY.md section 7: at R >= 160 a solver
  silently returned wrong points);
* no attention weight has underflowed (below 1e-250), and the gradient is not lost in
  the rounding of the terms it sums (``||g|| >= 1e-8 * grad_scale``): past either limit
  fp64 no longer sees the positions that fix the direction, and the KKT test would
  certify a wrong point.

Inside the ball (``W_svm = 0`` and R beyond ``||W_fin||``) the point is certified by
curvature instead: ``||g|| / lambda_min(H)`` bounds its distance to the minimiser.

Where the conic solver loses accuracy, the scaled previous certified point seeds Newton
(continuation along the path); its result passes the same certificate or is marked.

Example
-------
>>> import numpy as np
>>> from ntp_mechanics.model.dataset import Dataset
>>> ds = Dataset.from_arrays(np.eye(2), [((0, 1), 0)])
>>> pt = solve_radius(ds, 4.0)
>>> pt.certified, np.round(pt.W / 4.0, 3)
(True, array([[ 0.   ,  0.707],
       [ 0.   , -0.707]]))
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.tpg import TokenPriorityGraphs
from ntp_mechanics.solvers.backend import solve
from ntp_mechanics.solvers.conic import loss_expression, newton_polish
from ntp_mechanics.solvers.loss import CoordinateLoss, LogLoss
from ntp_mechanics.solvers.subspaces import Subspace

__all__ = ["RegPathPoint", "regularization_path", "solve_radius"]

GAP_TOL = 1e-9
KKT_TOL = 1e-6
UNDERFLOW = 1e-250  # an attention weight below this no longer counts in fp64 sums
RESOLUTION = 1e-8  # ||grad|| / grad_scale below this: the gradient is rounding noise
CURVATURE_MIN = 1e-8  # interior points: smallest Hessian eigenvalue on S_all
INTERIOR_DIST = 1e-6  # interior points: ||grad|| / curvature, a bound on the distance


@dataclass(frozen=True)
class RegPathPoint:
    R: float
    W: np.ndarray
    loss: float
    gap: float
    kkt_residual: float
    status: str
    certified: bool
    reason: str = ""


def regularization_path(
    ds: Dataset,
    radii: Iterable[float],
    tpg: TokenPriorityGraphs | None = None,
    solver: str | None = None,
) -> list[RegPathPoint]:
    tpg = tpg or TokenPriorityGraphs.from_dataset(ds)
    cl = LogLoss(ds).in_basis(Subspace.all_edges(ds.E, tpg).basis)
    points: list[RegPathPoint] = []
    last: tuple[float, np.ndarray] | None = None
    for R in map(float, radii):
        pt = _solve(cl, R, solver)
        if not pt.certified and last is not None:
            # Continuation: the path is smooth in R, so the scaled last certified point is
            # a Newton start where the conic solver lost accuracy; it is certified alike.
            pt = _polish_from(cl, last[1] * (R / last[0]), R, pt)
        if pt.certified:
            last = (R, Subspace(cl.basis).coords(pt.W))
        points.append(pt)
    return points


def _polish_from(
    cl: CoordinateLoss, c0: np.ndarray, R: float, fallback: RegPathPoint
) -> RegPathPoint:
    with np.errstate(all="ignore"):
        pt = _certify(cl, newton_polish(cl, c0, radius=R), R, "continuation")
    return pt if pt.certified else fallback


def solve_radius(ds: Dataset, R: float, tpg: TokenPriorityGraphs | None = None) -> RegPathPoint:
    return regularization_path(ds, [R], tpg)[0]


def _solve(cl: CoordinateLoss, R: float, solver: str | None) -> RegPathPoint:
    m, d = cl.basis.shape[0], cl.loss.keys.shape[-1]
    if m == 0:
        return RegPathPoint(R, np.zeros((d, d)), cl.value(np.zeros(0)), 0.0, 0.0, "trivial", True)
    c = cp.Variable(m)
    value, constraints = loss_expression(cl, c)
    prob = cp.Problem(cp.Minimize(value), [*constraints, cp.norm(c) <= R])
    try:
        solve(prob, solver)
    except cp.SolverError as exc:
        return _failed(cl, R, f"solver error: {exc}")
    if prob.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or c.value is None:
        return _failed(cl, R, f"solver status {prob.status!r}")
    c0 = np.asarray(c.value, dtype=float)
    on_sphere = np.linalg.norm(c0) > R * (1 - 1e-5)
    with np.errstate(all="ignore"):
        c1 = newton_polish(cl, c0, radius=R if on_sphere else None)
        if np.linalg.norm(c1) > R * (1 + 1e-12):
            c1 = c1 * (R / np.linalg.norm(c1))
        return _certify(cl, c1, R, prob.status)


def _certify(cl: CoordinateLoss, c: np.ndarray, R: float, status: str) -> RegPathPoint:
    L, g, H = cl.value_grad_hess(c)
    if np.linalg.norm(c) < R * (1 - 1e-6):
        return _certify_interior(cl, c, R, status, L, g, H)
    gnorm = float(np.linalg.norm(g))
    gap = float(g @ c + R * gnorm)
    mu = max(0.0, -float(g @ c) / float(c @ c))
    kkt = float(np.linalg.norm(g + mu * c)) / gnorm if gnorm > 0 else 0.0
    finite = bool(np.isfinite(L) and np.isfinite(gap) and np.isfinite(kkt))
    s_min = cl.min_attention(c)
    resolved = gnorm >= RESOLUTION * cl.grad_scale(c)
    ok = finite and gap <= GAP_TOL and kkt <= KKT_TOL and s_min > UNDERFLOW and resolved
    reason = (
        ""
        if ok
        else (
            f"gap {gap:.1e}, KKT residual {kkt:.1e}, min attention {s_min:.1e}"
            + ("" if resolved else ", gradient below fp64 resolution")
        )
    )
    return RegPathPoint(R, cl.W(c), L, gap, kkt, status, ok, reason)


def _certify_interior(
    cl: CoordinateLoss, c: np.ndarray, R: float, status: str, L: float, g: np.ndarray, H: np.ndarray
) -> RegPathPoint:
    """Inside the ball the minimiser is a stationary point (W_svm = 0: it is W_fin).

    The gradient there is rounding noise, so it is certified by curvature: with
    ``lambda_min(H) > 0`` the distance to the minimiser is at most ``||g|| / lambda_min``.
    A flat direction (lambda_min ~ 0) means the point may be anywhere along it.
    """
    gnorm = float(np.linalg.norm(g))
    lam_min = float(np.linalg.eigvalsh(H)[0]) if len(c) else np.inf
    dist = gnorm / lam_min if lam_min > 0 else np.inf
    ok = bool(np.isfinite(L) and lam_min > CURVATURE_MIN and dist <= INTERIOR_DIST)
    reason = "" if ok else f"interior point: min curvature {lam_min:.1e}, distance bound {dist:.1e}"
    return RegPathPoint(R, cl.W(c), L, gnorm * R, dist, status, ok, reason)


def _failed(cl: CoordinateLoss, R: float, reason: str) -> RegPathPoint:
    d = cl.basis.shape[1]
    nan = float("nan")
    return RegPathPoint(R, np.full((d, d), np.nan), nan, nan, nan, "failed", False, reason)
