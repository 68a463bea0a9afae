"""The attention log-loss as an exponential-cone program (cvxpy), and its polishing.

``-log p_i(y_i) = LSE_v(a_iv + log n_iv) - a_iy - log n_iy`` where v runs over the
distinct tokens of sample i with multiplicities ``n_iv`` (positions holding one token
share one score).  Identical samples are merged with weights, samples whose kept tokens
are all the label contribute the constant 0 and are dropped, and the log-sum-exps are
written in their epigraph form ``sum_v exp(a_iv + log n_iv - u_i) <= 1`` as one
vectorised constraint, which is what ``cp.log_sum_exp`` would canonicalise to, minus the
per-sample overhead.

After the conic solve, :func:`newton_polish` refines the point with Newton steps on the
exact fp64 KKT system (the solvers stop at about 1e-8 and the checks need more); the
caller certifies whatever it returns from the fp64 gradient, never the solver's word.

Example
-------
>>> import numpy as np, cvxpy as cp
>>> from ntp_mechanics.model.dataset import Dataset
>>> from ntp_mechanics.solvers.loss import LogLoss
>>> ds = Dataset.from_arrays(np.eye(2), [((0, 1), 0)])
>>> cl = LogLoss(ds).in_basis(np.eye(4).reshape(4, 2, 2))
>>> c = cp.Variable(4)
>>> value, cons = loss_expression(cl, c)
>>> prob = cp.Problem(cp.Minimize(value), cons + [cp.norm(c) <= 1])
>>> _ = prob.solve(solver=cp.CLARABEL)
>>> bool(abs(prob.value - cl.value(c.value)) < 1e-6)
True
"""

from __future__ import annotations

from collections import Counter

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from ntp_mechanics.solvers.loss import CoordinateLoss

__all__ = ["loss_expression", "newton_polish"]


def loss_expression(cl: CoordinateLoss, c: cp.Variable) -> tuple[cp.Expression, list]:
    """``(L(c) up to nothing, constraints)``: minimise the first subject to the second."""
    loss = cl.loss
    groups: dict[tuple, list] = {}
    for i in range(loss.n):
        t_of = {}
        for t in np.flatnonzero(loss.mask[i]):
            t_of.setdefault(int(loss.ids[i, t]), t)
        counts = Counter(int(v) for v in loss.ids[i][loss.mask[i]])
        label = int(loss.ids[i][loss.label_mask[i]][0])
        if len(counts) == 1:
            continue  # only label positions kept: -log p = 0
        key = (int(loss.ids[i, -1]), label, tuple(sorted(counts.items())))
        if key in groups:
            groups[key][0] += loss.w[i]
        else:
            groups[key] = [loss.w[i], i, t_of, counts, label]
    if not groups:
        return cp.Constant(0.0), []
    rows, offs, owner, y_rows, y_offs, weights = [], [], [], [], [], []
    for g, (w, i, t_of, counts, label) in enumerate(groups.values()):
        for v, cnt in counts.items():
            rows.append(cl.features[i, t_of[v]])
            offs.append(np.log(cnt))
            owner.append(g)
        y_rows.append(cl.features[i, t_of[label]])
        y_offs.append(np.log(counts[label]))
        weights.append(w)
    A, Ay, w = np.array(rows), np.array(y_rows), np.array(weights, dtype=float)
    S = sp.csr_matrix((np.ones(len(owner)), (owner, np.arange(len(owner)))))
    u = cp.Variable(len(groups))  # u_g >= LSE of group g
    epigraph = S @ cp.exp(A @ c + np.array(offs) - S.T @ u) <= 1
    value = w @ (u - Ay @ c - np.array(y_offs))  # w: the groups' summed sample weights
    return value, [epigraph]


def newton_polish(
    cl: CoordinateLoss, c0: np.ndarray, radius: float | None = None, iters: int = 30
) -> np.ndarray:
    """Newton's method on the KKT system of ``min L(c)`` (optionally ``||c|| = radius``).

    Unconstrained: damped Newton with backtracking on the gradient norm.  On the sphere:
    Newton on ``(c, mu)`` for ``grad + mu c = 0, ||c||^2 = R^2``.  Each iteration divides
    the stationarity rows by the current gradient norm, so the system stays well scaled
    when the gradient is 1e-20 (large R) and the least-squares solve keeps its digits.
    """
    c = np.array(c0, dtype=float)
    R = radius
    mu = 0.0
    if R is not None:
        _, g, _ = cl.value_grad_hess(c)
        mu = max(0.0, -float(g @ c) / float(c @ c)) if c @ c > 0 else 0.0

    def system(c: np.ndarray, mu: float, scale: float) -> tuple[np.ndarray, np.ndarray]:
        _, g, H = cl.value_grad_hess(c)
        if R is None:
            return g / scale, H / scale
        r = np.append((g + mu * c) / scale, 0.5 * (c @ c - R**2) / R)
        J = np.block([[(H + mu * np.eye(len(c))) / scale, c[:, None] / R], [c[None, :] / R, 0.0]])
        return r, J

    def residual(c: np.ndarray, mu: float, scale: float) -> np.ndarray:
        g = cl.value_grad(c)[1]
        if R is None:
            return g / scale
        return np.append((g + mu * c) / scale, 0.5 * (c @ c - R**2) / R)

    for _ in range(iters):
        scale = float(np.linalg.norm(cl.value_grad(c)[1])) or 1.0
        r, J = system(c, mu, scale)
        if not np.all(np.isfinite(J)) or np.linalg.norm(r) < 1e-14:
            break
        step = np.linalg.lstsq(J, -r, rcond=None)[0]
        t, best = 1.0, np.linalg.norm(r)
        while t > 1e-4:
            c_new = c + t * step[: len(c)]
            mu_new = mu + t * step[len(c)] * scale / R if R is not None else 0.0
            r_new = residual(c_new, mu_new, scale)
            if np.all(np.isfinite(r_new)) and np.linalg.norm(r_new) < best:
                c, mu = c_new, mu_new
                break
            t /= 2
        else:
            break
    return c
