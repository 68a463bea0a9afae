"""The regularization path of the key-query factorisation (conjecture C4).

    (K_R, Q_R) = argmin L(K Q^T)   s.t.   ||K||_F^2 + ||Q||_F^2 <= 2R    (K, Q: d x m, m >= d).

The problem is nonconvex in (K, Q), but its global minimum is a convex problem in
``W = K Q^T``: ``min (||K||^2 + ||Q||^2) / 2`` over factorisations of W is ``||W||_*``
(the variational form of the nuclear norm, attained by ``K = U S^{1/2}``,
``Q = V S^{1/2}`` from the SVD ``W = U S V^T``), so

    min_{K,Q} L(K Q^T) s.t. ||K||^2 + ||Q||^2 <= 2R   =   min_W L(W) s.t. ||W||_* <= R,

and ``K_R Q_R^T = W_R*`` (the nuclear-ball path point).  It is solved with cvxpy (fp64,
Clarabel: exponential cones for the log-loss, a semidefinite cone for the nuclear
norm) in W-space - not in ``S_all``: a Frobenius projection can *increase* the nuclear
norm - and certified by the Frank-Wolfe gap ``<g, W> + R ||g||_2 >= L(W) - min``
(``g = grad L(W)``), which bounds the suboptimality of *any* feasible point, so no
local solution of the factorised problem can pass it unless it is global.

Example
-------
>>> import numpy as np
>>> from ntp_mechanics.model.dataset import Dataset
>>> ds = Dataset.from_arrays(np.eye(2), [((0, 1), 0)])
>>> pt = nuclear_path_point(ds, 2.0)
>>> pt.certified, np.round(pt.W, 3) + 0.0  # ||W||_* = 2: one singular value
(True, array([[ 0.   ,  1.414],
       [ 0.   , -1.414]]))
"""

from __future__ import annotations

from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.solvers.backend import solve
from ntp_mechanics.solvers.conic import loss_expression
from ntp_mechanics.solvers.loss import LogLoss

__all__ = ["NuclearPathPoint", "nuclear_path_point"]

GAP_REL = 1e-3  # Frank-Wolfe gap relative to the loss
BALL_TOL = 1e-6


@dataclass(frozen=True)
class NuclearPathPoint:
    """One certified (or marked) point of the factorised regularization path."""

    R: float
    W: np.ndarray  # K_R Q_R^T
    K: np.ndarray  # U S^{1/2}
    Q: np.ndarray  # V S^{1/2}
    loss: float
    fw_gap: float
    certified: bool
    reason: str = ""


def nuclear_path_point(ds: Dataset, R: float) -> NuclearPathPoint:
    """Solve ``min L(W) s.t. ||W||_* <= R`` and factorise it; see the module docstring.

    Parameters
    ----------
    ds : Dataset
        The training set.
    R : float
        The radius (``||K||_F^2 + ||Q||_F^2 <= 2R``).

    Returns
    -------
    NuclearPathPoint
        ``certified`` is False (with a reason) when the solver fails or the point does not
        pass the Frank-Wolfe gap test; it never raises for numerical trouble.
    """
    d = ds.d
    loss = LogLoss(ds)
    cl = loss.in_basis(np.eye(d * d).reshape(d * d, d, d))
    c = cp.Variable(d * d)
    value, cons = loss_expression(cl, c)
    prob = cp.Problem(cp.Minimize(value), [*cons, cp.normNuc(cp.reshape(c, (d, d), order="C"))
                                           <= R])
    status = solve(prob)
    nan = np.full((d, d), np.nan)
    if status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or c.value is None:
        return NuclearPathPoint(R, nan, nan, nan, np.nan, np.nan, False, f"status {status!r}")
    W = np.asarray(c.value, dtype=float).reshape(d, d)
    nuc = float(np.linalg.norm(W, "nuc"))
    if nuc > R:
        W = W * (R / nuc)  # back into the ball: a feasible point for the certificate
    L = loss.value(W)
    g = loss.grad(W)
    gap = float(np.sum(g * W) + R * np.linalg.norm(g, 2))
    U, s, Vt = np.linalg.svd(W)
    K, Q = U * np.sqrt(s), Vt.T * np.sqrt(s)
    ok = bool(np.isfinite(gap) and gap <= GAP_REL * max(L, 1e-300))
    reason = "" if ok else f"Frank-Wolfe gap {gap:.2e} vs loss {L:.2e}"
    return NuclearPathPoint(R, W, K, Q, L, gap, ok, reason)
