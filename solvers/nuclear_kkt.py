"""KKT certificates for the nuclear-norm Graph-SVM and its factorised form (conjecture C1).

The nuclear-norm Graph-SVM (THEORY.md section 3) is

    W_svm_* = argmin ||W||_*  s.t.  (e_i - e_j)^T W e_k = 0 (cyclic edges), >= 1 (acyclic),

and GD on ``W = K Q^T`` implicitly works on its factorised form
``min (||K||_F^2 + ||Q||_F^2) / 2`` under the same constraints on ``K Q^T`` (whose
optimal value is ``||W_svm_*||_*``).  Write ``G_e = (e_i - e_j) e_k^T`` and
``Lambda = sum_acyclic lambda_e G_e + sum_cyclic mu_e G_e`` (``lambda >= 0``, zero on
inactive constraints, ``mu`` free: the cyclic ``G_e`` span ``S_fin``).  For a feasible
``W`` at unit margin with compact SVD ``W = U S V^T`` (``T`` the tangent space
``{U A^T + B V^T}``):

* **stationary** (KKT of the factorised problem at a balanced factorisation
  ``K = U S^{1/2}``, ``Q = V S^{1/2}``: ``Lambda Q = K``, ``Lambda^T K = Q``) iff some
  ``Lambda`` has ``P_T(Lambda) = U V^T``, i.e. ``Lambda = U V^T + M`` with
  ``U^T M = 0``, ``M V = 0``;
* **globally optimal** iff moreover ``||M||_2 <= 1``: then ``Lambda`` is a subgradient
  of ``||.||_*`` at ``W`` in the cone of the active constraints plus the span of the
  cyclic ones, which for the convex problem is necessary and sufficient.

Both are decided by small convex problems (cvxpy, fp64, Clarabel; status checked and
the returned multipliers re-verified in numpy): the *stationarity residual*
``min (||U V^T - P_T(Lambda)||_F + sum_e lambda_e s_e) / sqrt(r)`` over multipliers on
*every* acyclic constraint, with ``s_e = margin_e - 1 >= 0`` its slack (the
complementarity term replaces a hard active set, which at finite scale flips as
margins cross a tolerance), and the *subgradient residual*, the same with
``Lambda = U V^T + M`` and ``||P_{T^perp} Lambda||_2 <= 1`` enforced.  Sources:
Tarzanagh et al. 2023 (nuclear-norm attention SVM for ``K Q^T``); Sheen et al. 2024
(gradient flow on K, Q); Lyu and Li 2020 (limit directions of homogeneous models are
KKT points of the max-margin problem).

Example
-------
>>> import numpy as np
>>> from ntp_mechanics.model.dataset import Dataset
>>> from ntp_mechanics.solvers.graph_svm import graph_svm
>>> ds = Dataset.from_arrays(np.eye(3), [((1, 0), 1), ((2, 1), 2)])
>>> kkt = nuclear_kkt(ds, graph_svm(ds, norm="nuc").W)
>>> bool(kkt.stationary()), bool(kkt.subgradient_residual < 1e-5)
(True, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.errors import InconclusiveError
from ntp_mechanics.model.tpg import TokenPriorityGraphs
from ntp_mechanics.solvers.backend import solve
from ntp_mechanics.solvers.subspaces import Subspace

__all__ = ["NuclearKKT", "nuclear_kkt"]

RANK_TOL = 0.05  # singular values below this fraction of the largest count as zero
ACTIVE_TOL = 0.05  # margins within this of the minimum count as active
KKT_TOL = 0.02  # a residual below this certifies (directions measured at finite scale)
AGREE_TOL = 1e-5  # solver objective vs the re-verified residual


@dataclass(frozen=True)
class NuclearKKT:
    """The certificate of one direction ``W`` (normalised to unit minimum margin)."""

    W_unit: np.ndarray  # the S_fin-free part of W at unit minimum acyclic margin
    rank: int
    n_active: int
    stationarity_residual: float  # M free: KKT of the factorised problem
    subgradient_residual: float  # ||M||_2 <= 1: subgradient of ||.||_* (global optimality)
    nuclear_at_unit_margin: float  # ||W_unit||_*
    multipliers: np.ndarray  # lambda (acyclic edges), then mu (S_fin basis): stationarity

    def stationary(self, tol: float = KKT_TOL) -> bool:
        """A KKT point of the factorised nuclear-norm Graph-SVM (to ``tol``)."""
        return self.stationarity_residual <= tol

    def global_gap(self, nu_star: float) -> float:
        """``||W_unit||_* / ||W_svm_*||_* - 1``: 0 for a global minimiser, > 0 otherwise."""
        return self.nuclear_at_unit_margin / nu_star - 1.0


def nuclear_kkt(ds: Dataset, W: np.ndarray, tpg: TokenPriorityGraphs | None = None,
                rank_tol: float = RANK_TOL, active_tol: float = ACTIVE_TOL,
                subgradient: bool = True) -> NuclearKKT:
    """Certify ``W`` (its part orthogonal to ``S_fin``) as a KKT point; see the module.

    Parameters
    ----------
    ds : Dataset
        The training set (its graphs give the constraints).
    W : ndarray
        A d x d direction, e.g. a normalised ``K Q^T`` iterate.
    tpg : TokenPriorityGraphs, optional
        The graphs of ``ds`` when the caller has them.
    rank_tol : float
        Relative singular-value tolerance that decides the rank of a direction measured
        at finite scale.
    active_tol : float
        Slack below which a constraint is counted as active (reported only).
    subgradient : bool
        Also solve the (costlier, semidefinite) subgradient problem; NaN when False.

    Returns
    -------
    NuclearKKT
        Residuals are ``inf`` when the direction violates a constraint (margin <= 0).

    Raises
    ------
    InconclusiveError
        If a convex solve fails or its solution does not re-verify.
    ValueError
        If the graphs have no acyclic edge (no direction to certify).
    """
    tpg = tpg or TokenPriorityGraphs.from_dataset(ds)
    if not tpg.has_acyclic_edge:
        raise ValueError("no acyclic edge: the nuclear-norm Graph-SVM is W = 0")
    E = ds.E
    S_fin = Subspace.cyclic(E, tpg)
    P = np.asarray(W, dtype=float)
    P = P - S_fin.project(P)
    edges = tpg.acyclic_edges()
    margins = np.array([(E[i] - E[j]) @ P @ E[k] for i, j, k in edges])
    low = float(margins.min())
    if low <= 0:
        inf = float("inf")
        return NuclearKKT(P, 0, 0, inf, inf, inf, np.zeros(0))
    Wu = P / low
    U, s, Vt = np.linalg.svd(Wu)
    r = int(np.sum(s > rank_tol * s[0]))
    U, V = U[:, :r], Vt[:r].T
    slack = margins / low - 1.0  # >= 0; 0 on the active constraints
    gens = [np.outer(E[i] - E[j], E[k]) for i, j, k in edges] + list(S_fin.basis)
    cost = np.concatenate([slack, np.zeros(S_fin.dim)])  # complementarity, lambda_e s_e
    stat, mult = _stationarity(U, V, gens, len(edges), cost)
    sub = _subgradient(U, V, gens, len(edges), cost) if subgradient else float("nan")
    n_active = int(np.sum(slack <= active_tol))
    return NuclearKKT(Wu, r, n_active, stat, sub, float(np.linalg.norm(Wu, "nuc")), mult)


def _tangent(U: np.ndarray, V: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``P_T(X) = U U^T X + X V V^T - U U^T X V V^T``."""
    PU, PV = U @ U.T, V @ V.T
    return PU @ X + X @ PV - PU @ X @ PV


def _stationarity(U: np.ndarray, V: np.ndarray, gens: list[np.ndarray], n_acyclic: int,
                  cost: np.ndarray) -> tuple[float, np.ndarray]:
    """``min ||U V^T - P_T(Lambda)||_F + sum_e lambda_e s_e`` over ``lambda >= 0`` (an
    SOCP), divided by ``sqrt(r)``."""
    target = (U @ V.T).ravel()
    A = np.array([_tangent(U, V, G).ravel() for G in gens]).T
    x = cp.Variable(len(gens))
    prob = cp.Problem(cp.Minimize(cp.norm(target - A @ x) + cost @ x), [x[:n_acyclic] >= 0])
    _check(prob, "stationarity")
    xv = np.asarray(x.value, dtype=float)
    xv[:n_acyclic] = np.maximum(xv[:n_acyclic], 0.0)  # a feasible point: an upper bound
    res = float(np.linalg.norm(target - A @ xv) + cost @ xv)
    _agree(res, float(prob.value))
    return res / np.sqrt(U.shape[1]), xv


def _subgradient(U: np.ndarray, V: np.ndarray, gens: list[np.ndarray], n_acyclic: int,
                 cost: np.ndarray) -> float:
    """``min ||U V^T + M - Lambda||_F + sum_e lambda_e s_e`` (divided by ``sqrt(r)``),
    ``M`` in ``T^perp`` with ``||M||_2 <= 1`` (an SDP; ``M = U_perp Z V_perp^T``)."""
    d, r = U.shape
    Uf, _, _ = np.linalg.svd(np.hstack([U, np.eye(d)]))
    Vf, _, _ = np.linalg.svd(np.hstack([V, np.eye(d)]))
    Up, Vp = Uf[:, r:], Vf[:, r:]
    x = cp.Variable(len(gens))
    Lam = sum(x[g] * gens[g] for g in range(len(gens)))
    cons = [x[:n_acyclic] >= 0]
    expr = U @ V.T - Lam
    if d > r:
        Z = cp.Variable((d - r, d - r))
        expr = expr + Up @ Z @ Vp.T
        cons.append(cp.sigma_max(Z) <= 1)
    prob = cp.Problem(cp.Minimize(cp.norm(cp.vec(expr, order="F")) + cost @ x), cons)
    _check(prob, "subgradient")
    return max(float(prob.value), 0.0) / np.sqrt(r)


def _check(prob: cp.Problem, what: str) -> None:
    status = solve(prob)
    if status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or prob.value is None:
        raise InconclusiveError(f"nuclear KKT {what} problem: solver status {status!r}")


def _agree(verified: float, reported: float) -> None:
    if abs(verified - reported) > AGREE_TOL * max(1.0, abs(reported)):
        raise InconclusiveError(f"nuclear KKT certificate does not re-verify: residual "
                                f"{verified:.3e}, solver {reported:.3e}")
