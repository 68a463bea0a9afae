"""The Graph-SVM's dual, matrix-free (THEORY.md section 9).

For linearly independent embeddings, with ``G = E E^T``, write every candidate as
``W = sum_e mu_e A_e = E^T Λ E`` over the constraint matrices ``A_e = (e_i - e_j) e_k^T``
(Λ is K x K with ``+mu_e`` at ``(i, k)`` and ``-mu_e`` at ``(j, k)``).  Its scores are
``Z = E W E^T = G Λ G`` and the margin of ``(i, j, k)`` is ``Z[i, k] - Z[j, k]``: both
operators cost O(K^2 d) and never form a matrix over constraints.  The dual of

    min ||W||_F^2   s.t.  <A_e, W> >= 1 (reduced acyclic e),  <A_c, W> = 0 (cyclic c)

is, up to the factor 2 between ``mu`` and the multipliers ``lambda = 2 mu`` of
``||W||^2``,

    min_mu  f(mu) = 1/2 <Λ, G Λ G> - sum_{acyclic} mu_e,   mu >= 0 on acyclic rows,

whose gradient is ``margin_e - b_e`` (``b = 1`` acyclic, ``0`` cyclic).  It is solved by
L-BFGS-B (bound-constrained quasi-Newton) to identify the active set, then by
primal-dual active-set steps that solve the equality KKT system ``Q_SS mu_S = b_S`` of
the active set exactly (conjugate gradients on the matrix-free ``Q``) until the set no
longer changes.  The caller certifies the result; nothing here is trusted.

Example
-------
>>> import numpy as np
>>> W, mu, it = solve_dual(np.eye(2), np.array([[0, 1, 1]]), np.zeros((0, 3), int))
>>> np.round(W, 6), np.round(mu, 6)
(array([[ 0. ,  0.5],
       [ 0. , -0.5]]), array([0.5]))
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.sparse.linalg import LinearOperator, cg

__all__ = ["DualOperator", "solve_dual"]

ACTIVE_MAX_ITER = 30  # primal-dual active-set steps after L-BFGS-B
CG_RTOL = 1e-13


class DualOperator:
    """``mu -> Λ``, ``mu -> margins`` and ``mu -> W`` for constraint rows ``(i, j, k)``."""

    def __init__(self, E: np.ndarray, rows: np.ndarray) -> None:
        self.E = E
        self.K = E.shape[0]
        self.G = E @ E.T
        i, j, k = np.asarray(rows, dtype=np.int64).reshape(-1, 3).T
        self.plus, self.minus = i * self.K + k, j * self.K + k  # flat indices into K x K

    def lam(self, mu: np.ndarray) -> np.ndarray:
        n = self.K * self.K
        flat = np.bincount(self.plus, mu, n) - np.bincount(self.minus, mu, n)
        return flat.reshape(self.K, self.K)

    def margins(self, mu: np.ndarray) -> np.ndarray:
        z = (self.G @ self.lam(mu) @ self.G).ravel()
        return z[self.plus] - z[self.minus]

    def W(self, mu: np.ndarray) -> np.ndarray:
        return self.E.T @ self.lam(mu) @ self.E


def solve_dual(
    E: np.ndarray, acyclic: np.ndarray, cyclic: np.ndarray, maxiter: int = 5000
) -> tuple[np.ndarray, np.ndarray, int]:
    """``(W, mu_acyclic, active-set steps)`` for the Graph-SVM of independent ``E``.

    Parameters
    ----------
    E : K x d embeddings with linearly independent rows.
    acyclic : r x 3 rows ``(i, j, k)`` of the reduced margin constraints (``>= 1``).
    cyclic : q x 3 rows ``(i, j, k)`` spanning the cyclic equalities (``= 0``).
    maxiter : iteration cap of L-BFGS-B.

    Returns
    -------
    W, the dual variables of the acyclic rows (``lambda = 2 mu`` for ``||W||^2``) and
    the number of active-set steps taken; the caller certifies them.
    """
    rows = np.vstack([np.reshape(acyclic, (-1, 3)), np.reshape(cyclic, (-1, 3))])
    r = len(np.reshape(acyclic, (-1, 3)))
    op = DualOperator(E, rows)
    b = np.r_[np.ones(r), np.zeros(len(rows) - r)]

    def fun(mu: np.ndarray) -> tuple[float, np.ndarray]:
        m = op.margins(mu)
        return 0.5 * float(mu @ m) - float(b @ mu), m - b

    bounds = [(0.0, None)] * r + [(None, None)] * (len(rows) - r)
    opts = dict(maxiter=maxiter, maxcor=10, ftol=1e-12, gtol=1e-9)
    mu = minimize(fun, np.zeros(len(rows)), jac=True, method="L-BFGS-B", bounds=bounds,
                  options=opts).x
    mu, steps = _active_set(op, mu, b, r)
    return op.W(mu), np.clip(mu[:r], 0.0, None), steps


def _active_set(op: DualOperator, mu: np.ndarray, b: np.ndarray, r: int) -> tuple[np.ndarray, int]:
    """Primal-dual active-set steps: solve exactly on ``S = {mu - grad > 0}`` (cyclic
    rows always in), until S repeats.  Each solve is CG on ``Q_SS`` warm-started at mu."""
    free = np.ones(len(b) - r, dtype=bool)
    S = np.r_[mu[:r] - (op.margins(mu)[:r] - 1.0) > 0, free]
    for step in range(1, ACTIVE_MAX_ITER + 1):
        idx = np.flatnonzero(S)

        def matvec(v: np.ndarray, idx: np.ndarray = idx) -> np.ndarray:
            x = np.zeros(len(b))
            x[idx] = v
            return op.margins(x)[idx]

        Q = LinearOperator((len(idx), len(idx)), matvec=matvec, dtype=float)
        y, _ = cg(Q, b[idx], x0=mu[idx], rtol=CG_RTOL, atol=0.0, maxiter=20 * len(idx) + 100)
        mu = np.zeros(len(b))
        mu[idx] = y
        grad = op.margins(mu) - b
        S_new = np.r_[mu[:r] - grad[:r] > 0, free]
        if np.array_equal(S_new, S):
            return mu, step
        S = S_new
    return mu, ACTIVE_MAX_ITER
