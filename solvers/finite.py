"""The finite component ``W_fin`` (soft composition), THEORY.md section 3.

Keep, in every sample, the positions whose token lies in the SCC of its label in
``G^(k_i)`` (the reduced dataset); ``L_fin`` is its log-loss and

    W_fin = argmin_{W in S_fin} L_fin(W),        L* = L_fin(W_fin),

with ``W_fin = 0`` when ``S_fin = {0}``.  Fact F7: it exists and is unique (``L_fin`` is
coercive and strictly convex on ``S_fin`` for linearly independent embeddings).

Solved by damped Newton from zero in an orthonormal basis of ``S_fin`` with the exact
Hessian (the covariance of the features under attention), backtracking on the loss;
``L_fin`` is smooth and strictly convex there, so it converges in tens of steps.
``method="conic"`` solves the exponential-cone program instead (cvxpy, then Newton
polishing): kept as an independent cross-check.  Either way the result is certified
by the fp64 gradient norm on ``S_fin`` (for a strictly convex smooth function that is
the honest optimality measure) and the smallest Hessian eigenvalue there.

Source: Li et al., AISTATS 2024: the soft-composition component of its
regularization-path result (``P_fin W_R -> W_fin``).

Example
-------
>>> import numpy as np
>>> from ntp_mechanics.model.dataset import Dataset
>>> ds = Dataset.from_arrays(np.eye(2), [((0, 1), 0), ((0, 1, 1), 1)])  # 0 <-> 1 cyclic
>>> fin = finite_component(ds)
>>> fin.subspace.dim, round(fin.L_star, 4)  # L* = log(1 + 1/sqrt(2))
(1, 0.5348)
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.errors import InconclusiveError
from ntp_mechanics.model.tpg import TokenPriorityGraphs
from ntp_mechanics.solvers.loss import CoordinateLoss, LogLoss
from ntp_mechanics.solvers.subspaces import Subspace

__all__ = ["FiniteComponent", "certify_finite", "damped_newton", "finite_component",
           "reduced_keep_mask"]

GRAD_TOL = 1e-8  # ||grad L_fin|| on S_fin at a certified W_fin
CURVATURE_MIN = 0.0  # smallest Hessian eigenvalue on S_fin must exceed this (fact F7)
METHODS = ("newton", "conic")
NEWTON_MAX_ITER = 200
MAX_STEP = 16.0  # trust radius of a Newton step (Frobenius; score units for unit-norm E)


@dataclass(frozen=True)
class FiniteComponent:
    """A certified ``W_fin`` with ``L* = L_fin(W_fin)``."""

    W: np.ndarray
    L_star: float
    subspace: Subspace  # S_fin
    grad_norm: float
    min_curvature: float  # smallest Hessian eigenvalue on S_fin (> 0: unique, fact F7)
    status: str
    solve_time: float


def reduced_keep_mask(ds: Dataset, tpg: TokenPriorityGraphs) -> np.ndarray:
    """n x T mask (padded layout) of the positions kept by the reduced dataset."""
    ids, mask, _ = ds.padded()
    keep = np.zeros_like(mask)
    for i, s in enumerate(ds.samples):
        g = tpg[s.query]
        keep[i] = [m and g.same(int(v), s.label) for v, m in zip(ids[i], mask[i], strict=True)]
    return keep


def finite_component(
    ds: Dataset,
    tpg: TokenPriorityGraphs | None = None,
    solver: str | None = None,
    S_fin: Subspace | None = None,
    method: str = "newton",
) -> FiniteComponent:
    """Certified ``W_fin`` and ``L*`` of ``ds``.

    Parameters
    ----------
    ds : the dataset.
    tpg : its token-priority graphs (built when omitted).
    solver : cvxpy solver for ``method="conic"``.
    S_fin : the cyclic subspace, when the caller has it already.
    method : ``"newton"`` (damped Newton, default) or ``"conic"`` (exponential cone).

    Returns
    -------
    FiniteComponent
        ``status`` is ``"newton (N steps)"`` or the conic solver's status.

    Raises
    ------
    InconclusiveError
        The solver failed or the certificate (:func:`certify_finite`) rejects the point.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    tpg = tpg or TokenPriorityGraphs.from_dataset(ds)
    S_fin = S_fin if S_fin is not None else Subspace.cyclic(ds.E, tpg)
    cl = LogLoss(ds, reduced_keep_mask(ds, tpg)).in_basis(S_fin.basis)
    if S_fin.dim == 0:
        zero = np.zeros((ds.d, ds.d))
        return FiniteComponent(zero, cl.value(np.zeros(0)), S_fin, 0.0, np.inf, "trivial", 0.0)
    t0 = time.perf_counter()
    if method == "newton":
        c_opt, steps = damped_newton(cl, np.zeros(S_fin.dim), max_step=MAX_STEP)
        status = f"newton ({steps} steps)"
    else:
        c_opt, status = _conic(cl, S_fin.dim, solver)
    elapsed = time.perf_counter() - t0
    L, grad_norm, curv = certify_finite(cl, c_opt)
    return FiniteComponent(cl.W(c_opt), L, S_fin, grad_norm, curv, status, elapsed)


def certify_finite(cl: CoordinateLoss, c: np.ndarray) -> tuple[float, float, float]:
    """``(L_fin, ||grad||, smallest Hessian eigenvalue)`` at coordinates ``c`` on S_fin.

    Raises
    ------
    InconclusiveError
        The loss is not finite, the gradient norm exceeds ``GRAD_TOL`` or the Hessian is
        not positive definite on S_fin (then the point is not the unique minimiser).
    """
    L, g, H = cl.value_grad_hess(c)
    grad_norm = float(np.linalg.norm(g))
    if not np.isfinite(L) or not grad_norm <= GRAD_TOL:
        raise InconclusiveError(
            f"W_fin not certified: gradient norm {grad_norm:.2e} on S_fin > {GRAD_TOL:.0e}"
        )
    curv = float(np.linalg.eigvalsh(H)[0])
    if not curv > CURVATURE_MIN:
        raise InconclusiveError(f"W_fin not certified: Hessian eigenvalue {curv:.2e} <= 0 on S_fin")
    return L, grad_norm, curv


def damped_newton(
    cl: CoordinateLoss, c0: np.ndarray, max_iter: int = NEWTON_MAX_ITER,
    max_step: float | None = None,
) -> tuple[np.ndarray, int]:
    """Newton's method with Armijo backtracking on ``L``, then on the gradient norm.

    Far from the minimiser the loss decides the step; once the loss stops resolving
    decrease (fp64 round-off near the optimum) backtracking on the gradient norm takes
    over, so the iterate reaches the gradient tolerance the certificate demands.
    ``max_step`` caps the length of a Newton step (a trust radius): where some samples
    weigh little (counts of merged windows) the Hessian is nearly singular far from
    the minimiser and an uncapped step saturates the attention, where the loss is
    linear and Newton cannot come back.

    Returns
    -------
    The coordinates and the number of Newton steps taken.
    """
    c = np.array(c0, dtype=float)
    for it in range(max_iter):
        L, g, H = cl.value_grad_hess(c)
        gn = float(np.linalg.norm(g))
        if gn <= GRAD_TOL / 100:
            return c, it
        try:
            step = np.linalg.solve(H, -g)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(H, -g, rcond=None)[0]
        size = float(np.linalg.norm(step))
        if max_step is not None and size > max_step:
            step *= max_step / size
        c_new = _backtrack(cl, c, step, L, g, gn)
        if c_new is None:
            return c, it
        c = c_new
    return c, max_iter


def _backtrack(
    cl: CoordinateLoss, c: np.ndarray, step: np.ndarray, L: float, g: np.ndarray, gn: float
) -> np.ndarray | None:
    slope = float(g @ step)
    t = 1.0
    while t > 1e-10:
        L_new, g_new = cl.value_grad(c + t * step)
        if np.isfinite(L_new) and L_new <= L + 1e-4 * t * slope:
            if L_new < L or np.linalg.norm(g_new) < gn:
                return c + t * step
        t /= 2
    # the loss no longer resolves a decrease: accept a step that shrinks the gradient
    t = 1.0
    while t > 1e-10:
        g_new = cl.value_grad(c + t * step)[1]
        if np.all(np.isfinite(g_new)) and np.linalg.norm(g_new) < gn:
            return c + t * step
        t /= 2
    return None


def _conic(cl: CoordinateLoss, dim: int, solver: str | None) -> tuple[np.ndarray, str]:
    import cvxpy as cp  # the cross-check only: Newton never imports it

    from ntp_mechanics.solvers.backend import solve
    from ntp_mechanics.solvers.conic import loss_expression, newton_polish

    c = cp.Variable(dim)
    value, constraints = loss_expression(cl, c)
    prob = cp.Problem(cp.Minimize(value), constraints)
    solve(prob, solver)
    if prob.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or c.value is None:
        raise InconclusiveError(f"W_fin solver status {prob.status!r}")
    return newton_polish(cl, c.value), str(prob.status)
