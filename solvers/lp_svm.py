"""The entrywise l_p Graph-SVM and mirror descent with the l_p potential (conjecture C6).

    W_p = argmin ||W||_p = (sum_ab |W_ab|^p)^(1/p)   s.t.  (e_i - e_j)^T W e_k = 0 (cyclic),
                                                          (e_i - e_j)^T W e_k >= 1 (acyclic),

the Graph-SVM of THEORY.md section 3 with ``||W||_F`` replaced by the entrywise
``||W||_p`` (p = 2 is ``W_svm``).  Mirror descent with the potential
``psi(W) = sum_ab |W_ab|^p / p`` updates the dual variable ``Theta = grad psi(W) =
sign(W) |W|^{p-1}`` by a gradient step and maps back, ``W = sign(Theta) |Theta|^{1/(p-1)}``.
Julistiono, Tarzanagh and Azizan (2024) prove for single-token attention that its
direction tends to the l_p attention SVM; conjecture C6 is the token-priority analogue.

The SVM is solved with cvxpy (fp64, Clarabel; for 1 < p the objective is strictly
convex, so the solution is unique) and certified independently: primal feasibility on
every edge, and a KKT residual - the gradient ``sign(W)|W|^{p-1} / ||W||_p^{p-1}`` of
the norm must lie in the cone of the active acyclic constraints plus the span of the
cyclic ones (a nonnegative least-squares fit; relative residual).

Example
-------
>>> import numpy as np
>>> from ntp_mechanics.model.dataset import Dataset
>>> ds = Dataset.from_arrays(np.eye(2), [((0, 1), 0)])  # one acyclic edge 0 -> 1 of G^(1)
>>> np.round(lp_graph_svm(ds, 3.0).W, 4)
array([[ 0. ,  0.5],
       [ 0. , -0.5]])
"""

from __future__ import annotations

from dataclasses import dataclass

import cvxpy as cp
import numpy as np
from scipy.optimize import lsq_linear

from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.errors import InconclusiveError
from ntp_mechanics.model.tpg import TokenPriorityGraphs
from ntp_mechanics.solvers.backend import solve
from ntp_mechanics.solvers.loss import LogLoss

__all__ = ["LpSVM", "lp_graph_svm", "mirror_descent"]

FEAS_TOL = 1e-6
KKT_TOL = 1e-4
ACTIVE_TOL = 1e-5


@dataclass(frozen=True)
class LpSVM:
    """A certified l_p Graph-SVM solution."""

    W: np.ndarray
    p: float
    status: str
    primal_violation: float
    kkt_residual: float


def lp_graph_svm(ds: Dataset, p: float, tpg: TokenPriorityGraphs | None = None) -> LpSVM:
    """Solve and certify the l_p Graph-SVM of ``ds``.

    Parameters
    ----------
    ds : Dataset
        The training set.
    p : float
        The entrywise norm, ``p > 1``.
    tpg : TokenPriorityGraphs, optional
        The graphs of ``ds`` when the caller has them.

    Returns
    -------
    LpSVM

    Raises
    ------
    InconclusiveError
        When the solver fails or the solution does not pass its certificate.
    ValueError
        For ``p <= 1`` or graphs without an acyclic edge.
    """
    if not p > 1:
        raise ValueError(f"p must be > 1, got {p}")
    tpg = tpg or TokenPriorityGraphs.from_dataset(ds)
    if not tpg.has_acyclic_edge:
        raise ValueError("no acyclic edge: the l_p Graph-SVM is W = 0")
    E, d = ds.E, ds.d
    acyc, cyc = tpg.acyclic_edges(), tpg.cyclic_edges()
    A = np.array([np.outer(E[i] - E[j], E[k]).ravel() for i, j, k in acyc])
    C = np.array([np.outer(E[i] - E[j], E[k]).ravel() for i, j, k in cyc]).reshape(-1, d * d)
    w = cp.Variable(d * d)
    cons = [A @ w >= 1] + ([C @ w == 0] if len(C) else [])
    prob = cp.Problem(cp.Minimize(cp.pnorm(w, p)), cons)
    status = solve(prob)
    if status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or w.value is None:
        raise InconclusiveError(f"l_p Graph-SVM: solver status {status!r}")
    x = np.asarray(w.value, dtype=float)
    viol = max(float(np.max(1 - A @ x)), float(np.max(np.abs(C @ x))) if len(C) else 0.0, 0.0)
    kkt = _kkt_residual(x, p, A, C)
    if viol > FEAS_TOL or kkt > KKT_TOL:
        raise InconclusiveError(f"l_p Graph-SVM not certified: violation {viol:.1e}, "
                                f"KKT residual {kkt:.1e}")
    return LpSVM(x.reshape(d, d), p, status, viol, kkt)


def _kkt_residual(x: np.ndarray, p: float, A: np.ndarray, C: np.ndarray) -> float:
    """Relative distance of ``grad ||x||_p`` from the cone of active constraints."""
    g = np.sign(x) * np.abs(x) ** (p - 1) / np.linalg.norm(x, p) ** (p - 1)
    active = A[A @ x <= 1 + ACTIVE_TOL]
    M = np.vstack([active, C]).T
    lb = np.concatenate([np.zeros(len(active)), np.full(len(C), -np.inf)])
    fit = lsq_linear(M, g, bounds=(lb, np.inf))
    return float(np.linalg.norm(M @ fit.x - g) / np.linalg.norm(g))


def mirror_descent(ds: Dataset, p: float, lr: float, steps: int,
                   record_at: tuple[int, ...]) -> dict[int, np.ndarray]:
    """Normalised mirror descent from ``W = 0`` with ``psi = sum |W_ab|^p / p``.

    ``Theta <- Theta - lr grad L(W) / ||grad L(W)||_F``, ``W = sign(Theta)
    |Theta|^{1/(p-1)}`` (fp64 numpy); the iterates at ``record_at`` (and 0, ``steps``).

    Parameters
    ----------
    ds : Dataset
        The training set.
    p : float
        The potential's exponent, ``p > 1`` (``p = 2`` is normalised GD).
    lr : float
        Step in the dual (mirror) space.
    steps : int
        Number of updates.
    record_at : tuple of int
        Steps whose iterate is returned.

    Returns
    -------
    dict
        ``{step: W}``.

    Raises
    ------
    FloatingPointError
        When the iterates stop being finite.
    """
    loss = LogLoss(ds)
    keys = np.where(loss.mask[..., None], loss.keys, 0.0)
    theta = np.zeros((ds.d, ds.d))
    record = {0, steps, *record_at}
    out: dict[int, np.ndarray] = {}
    q = 1.0 / (p - 1.0)
    W = np.zeros_like(theta)
    for t in range(steps + 1):
        if t in record:
            out[t] = W.copy()
        if t == steps:
            break
        g = _grad(loss, keys, W)
        gn = float(np.linalg.norm(g))
        if not np.isfinite(gn):
            raise FloatingPointError(f"mirror descent diverged at step {t}")
        if gn == 0:
            continue
        theta -= lr * g / gn
        W = np.sign(theta) * np.abs(theta) ** q
    return out


def _grad(loss: LogLoss, keys: np.ndarray, W: np.ndarray) -> np.ndarray:
    """``grad L(W)`` from the loss's cancellation-free ``dL/da`` (cheaper than einsum)."""
    a = np.where(loss.mask, (keys @ (W @ loss.queries.T).T[:, :, None])[..., 0], -np.inf)
    g = loss._parts(a)[2]
    g = g * loss.w[:, None]
    return (g[:, :, None] * keys).sum(1).T @ loss.queries
