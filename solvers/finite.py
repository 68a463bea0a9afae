"""The finite component ``W_fin`` (soft composition), THEORY.md section 3.

Keep, in every sample, the positions whose token lies in the SCC of its label in
``G^(k_i)`` (the reduced dataset); ``L_fin`` is its log-loss and

    W_fin = argmin_{W in S_fin} L_fin(W),        L* = L_fin(W_fin),

with ``W_fin = 0`` when ``S_fin = {0}``.  Fact F7: it exists and is unique (``L_fin`` is
coercive and strictly convex on ``S_fin`` for linearly independent embeddings).

Solved with cvxpy as an exponential-cone program in an orthonormal basis of ``S_fin``,
polished with Newton steps in fp64 and certified by the gradient norm on ``S_fin``
(for a strictly convex smooth function that is the honest optimality measure).

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

import cvxpy as cp
import numpy as np

from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.errors import InconclusiveError
from ntp_mechanics.model.tpg import TokenPriorityGraphs
from ntp_mechanics.solvers.backend import solve
from ntp_mechanics.solvers.conic import loss_expression, newton_polish
from ntp_mechanics.solvers.loss import CoordinateLoss, LogLoss
from ntp_mechanics.solvers.subspaces import Subspace

__all__ = ["FiniteComponent", "certify_finite", "finite_component", "reduced_keep_mask"]

GRAD_TOL = 1e-8  # ||grad L_fin|| on S_fin at a certified W_fin


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
) -> FiniteComponent:
    tpg = tpg or TokenPriorityGraphs.from_dataset(ds)
    S_fin = S_fin if S_fin is not None else Subspace.cyclic(ds.E, tpg)
    cl = LogLoss(ds, reduced_keep_mask(ds, tpg)).in_basis(S_fin.basis)
    if S_fin.dim == 0:
        zero = np.zeros((ds.d, ds.d))
        return FiniteComponent(zero, cl.value(np.zeros(0)), S_fin, 0.0, np.inf, "trivial", 0.0)
    t0 = time.perf_counter()
    c = cp.Variable(S_fin.dim)
    value, constraints = loss_expression(cl, c)
    prob = cp.Problem(cp.Minimize(value), constraints)
    solve(prob, solver)
    if prob.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or c.value is None:
        raise InconclusiveError(f"W_fin solver status {prob.status!r}")
    c_opt = newton_polish(cl, c.value)
    elapsed = time.perf_counter() - t0
    L, grad_norm, curv = certify_finite(cl, c_opt)
    return FiniteComponent(cl.W(c_opt), L, S_fin, grad_norm, curv, prob.status, elapsed)


def certify_finite(cl: CoordinateLoss, c: np.ndarray) -> tuple[float, float, float]:
    """The certificate of a candidate ``W_fin`` (coordinates ``c`` in a basis of S_fin).

    Parameters
    ----------
    cl : CoordinateLoss
        ``L_fin`` in an orthonormal basis of ``S_fin``.
    c : numpy.ndarray
        The candidate's coordinates.

    Returns
    -------
    tuple of float
        ``(L_fin(c), ||grad L_fin(c)||, smallest Hessian eigenvalue on S_fin)``.

    Raises
    ------
    InconclusiveError
        When the loss is not finite or the gradient norm exceeds ``GRAD_TOL``.
    """
    L, g, H = cl.value_grad_hess(c)
    grad_norm = float(np.linalg.norm(g))
    if not np.isfinite(L) or grad_norm > GRAD_TOL:
        raise InconclusiveError(
            f"W_fin not certified: gradient norm {grad_norm:.2e} on S_fin > {GRAD_TOL:.0e}"
        )
    return L, grad_norm, float(np.linalg.eigvalsh(H)[0])
