"""The Graph-SVM for any embeddings by constraint generation on its matrix-free dual.

For embeddings that are not orthonormal (in particular K > d, where the problem need
not be feasible, fact F1) the columns do not separate.  Every candidate is
``W = E^T Λ E`` with Λ a sparse K x K matrix of multipliers (THEORY.md section 9), so

* one dual evaluation costs ``O(nnz d + K d^2)``: ``W`` from Λ, then the margins of the
  rows in the working set from ``V = E W^T`` (row k is ``W e_k``);
* scoring *every* distinct edge costs one product ``Z = E W E^T``.

The loop: solve the dual (L-BFGS-B, then exact active-set steps) on a working set of
acyclic rows plus all cyclic equalities (root-to-member pairs of each SCC); score every
edge; add the violated ones (most violated first); repeat until no edge is violated.
A dual that runs off to infinity means the working set is infeasible: its direction,
normalised, is a Farkas combination; it is checked and raised as
:class:`~ntp_mechanics.model.errors.InfeasibleError`.

Certificate (the joint solver's standard, without a basis of ``S_fin``): the margin of
every original edge, the multipliers' signs, stationarity ``2 W = Σ λ A_e + Σ ν A_c``,
complementarity, and the duality gap against the Lagrangian bound
``Σ λ - 1/4 ||Σ λ A_e + Σ ν A_c||^2`` (valid for any ``λ >= 0`` and ``ν``).

Example
-------
>>> import numpy as np
>>> from ntp_mechanics.model.dataset import Dataset
>>> ds = Dataset.from_arrays(np.eye(2), [((0, 1), 0)])  # one acyclic edge 0 -> 1 of G^(1)
>>> np.round(generated_graph_svm(ds).W, 6)
array([[ 0. ,  0.5],
       [ 0. , -0.5]])
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize
from scipy.sparse.linalg import LinearOperator, cg, lsqr

from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.errors import InconclusiveError, InfeasibleError
from ntp_mechanics.solvers.priority_arrays import PriorityArrays
from ntp_mechanics.solvers.svm_certificate import FEAS_TOL, Certificate, GraphSVM

__all__ = ["FactoredOperator", "generated_graph_svm"]

INITIAL_ROWS = 2000  # acyclic rows in the first working set
MAX_ROUNDS = 60
DIVERGED = 1e9  # ||mu|| beyond which the working set is taken as infeasible
ACTIVE_MAX_ITER = 30


class FactoredOperator:
    """``mu -> W = E^T Λ E`` and ``mu -> margins`` for rows ``(i, j, k)``, never K x K dense."""

    def __init__(self, E: np.ndarray, rows: np.ndarray) -> None:
        self.E = E
        self.K = E.shape[0]
        self.i, self.j, self.k = np.asarray(rows, dtype=np.int64).reshape(-1, 3).T
        self.rr, self.cc = np.r_[self.i, self.j], np.r_[self.k, self.k]
        self.D = E[self.i] - E[self.j]  # rows x d

    def W(self, mu: np.ndarray) -> np.ndarray:
        lam = sp.csr_matrix((np.r_[mu, -mu], (self.rr, self.cc)), shape=(self.K, self.K))
        return self.E.T @ np.asarray(lam @ self.E)

    def margins_of(self, W: np.ndarray) -> np.ndarray:
        V = self.E @ W.T  # row k: W e_k
        return np.einsum("ed,ed->e", self.D, V[self.k])

    def margins(self, mu: np.ndarray) -> np.ndarray:
        return self.margins_of(self.W(mu))


def generated_graph_svm(ds: Dataset, pa: PriorityArrays | None = None) -> GraphSVM:
    """Certified Frobenius ``W_svm`` of ``ds`` for any embeddings (constraint generation).

    Raises
    ------
    InfeasibleError
        No W meets the constraints (a verified Farkas combination of the working set).
    InconclusiveError
        The rounds did not converge or the certificate failed.
    """
    t0 = time.perf_counter()
    pa = pa or PriorityArrays.from_dataset(ds)
    E = ds.E
    acyc = pa.edges[~pa.cyclic]
    cyc_rows = _cyclic_generators(pa)
    if len(acyc) == 0:
        d = ds.d
        return GraphSVM(np.zeros((d, d)), "fro", (), np.zeros(0), "none", "trivial", 0.0)
    reps = _condensed(pa)
    rng = np.random.default_rng(0)
    work = reps[rng.permutation(len(reps))[:INITIAL_ROWS]]
    mu = np.zeros(len(work) + len(cyc_rows))
    for rounds in range(1, MAX_ROUNDS + 1):  # noqa: B007 - reported in the status
        rows = np.vstack([work, cyc_rows])
        op = FactoredOperator(E, rows)
        mu = _solve(op, len(work), mu)
        W = op.W(mu)
        Z = E @ W @ E.T
        m = Z[acyc[:, 0], acyc[:, 2]] - Z[acyc[:, 1], acyc[:, 2]]
        viol = np.flatnonzero(m < 1.0 - FEAS_TOL / 10)
        if len(viol) == 0:
            break
        add = acyc[viol[np.argsort(m[viol])][: max(INITIAL_ROWS, len(work))]]
        mu = np.r_[mu[: len(work)], np.zeros(len(add)), mu[len(work):]]
        work = np.vstack([work, add])
    else:
        raise InconclusiveError(f"Graph-SVM constraint generation: no convergence in "
                                f"{MAX_ROUNDS} rounds")
    r = len(work)
    lam = 2.0 * np.clip(mu[:r], 0.0, None)  # multipliers of ||W||^2
    nu = 2.0 * mu[r:]
    cert = _certificate(E, pa, W, op, lam, nu, mu[:r])
    status = f"constraint generation ({rounds} rounds, {r} rows)"
    sol = GraphSVM(W, "fro", tuple(map(tuple, work.tolist())), lam, "constraint-generation",
                   status, time.perf_counter() - t0, cert)
    if not cert.ok:
        raise InconclusiveError(f"Graph-SVM certificate failed: {cert}")
    return sol


def _solve(op: FactoredOperator, r: int, mu0: np.ndarray) -> np.ndarray:
    n = len(op.i)
    b = np.r_[np.ones(r), np.zeros(n - r)]

    def fun(mu: np.ndarray) -> tuple[float, np.ndarray]:
        m = op.margins(mu)
        return 0.5 * float(mu @ m) - float(b @ mu), m - b

    bounds = [(0.0, None)] * r + [(None, None)] * (n - r)
    res = minimize(fun, mu0, jac=True, method="L-BFGS-B", bounds=bounds,
                   options=dict(maxiter=20000, maxcor=20, ftol=1e-15, gtol=1e-11))
    mu = res.x
    if res.fun < -DIVERGED or np.linalg.norm(mu[:r]) > DIVERGED:
        _raise_infeasible(op, mu, r)
    rows = np.stack([op.i, op.j, op.k], axis=1)
    cyc_op = FactoredOperator(op.E, rows[r:]) if n > r else None
    mu = _canonical(cyc_op, mu, r)
    start = mu
    free = np.ones(n - r, dtype=bool)
    S = np.r_[mu[:r] - (op.margins(mu)[:r] - 1.0) > 0, free]
    for _ in range(ACTIVE_MAX_ITER):
        idx = np.flatnonzero(S)

        def matvec(v: np.ndarray, idx: np.ndarray = idx) -> np.ndarray:
            x = np.zeros(n)
            x[idx] = v
            return op.margins(x)[idx]

        Q = LinearOperator((len(idx), len(idx)), matvec=matvec, dtype=float)
        y, _ = cg(Q, b[idx], x0=mu[idx], rtol=1e-13, atol=0.0, maxiter=20 * len(idx) + 100)
        if not np.all(np.isfinite(y)):  # a singular system CG could not solve: keep mu
            break
        mu = np.zeros(n)
        mu[idx] = y
        mu = _canonical(cyc_op, mu, r)
        S_new = np.r_[mu[:r] - (op.margins(mu)[:r] - 1.0) > 0, free]
        if np.array_equal(S_new, S):
            break
        S = S_new
    if not np.all(np.isfinite(mu)) or np.linalg.norm(mu) > DIVERGED:
        return start  # the active-set solves broke down: keep L-BFGS-B's point
    return mu


def _canonical(cyc_op: FactoredOperator | None, mu: np.ndarray, r: int) -> np.ndarray:
    """The same ``Σ ν A_c`` with the minimum-norm ``ν``.

    With dependent embeddings the cyclic rows are linearly dependent: their multipliers
    can drift along the null space without changing anything (and overflow the
    active-set solves).  LSQR from zero returns the minimum-norm representative.
    """
    if cyc_op is None:
        return mu
    d = cyc_op.E.shape[1]
    nu = mu[r:]
    C = LinearOperator((d * d, len(nu)), dtype=float,
                       matvec=lambda v: cyc_op.W(np.ravel(v)).ravel(),
                       rmatvec=lambda m: cyc_op.margins_of(np.reshape(m, (d, d))))
    target = cyc_op.W(nu).ravel()
    nu_min = lsqr(C, target, atol=1e-15, btol=1e-15, iter_lim=10 * len(nu) + 100)[0]
    return np.r_[mu[:r], nu_min]


def _raise_infeasible(op: FactoredOperator, mu: np.ndarray, r: int) -> None:
    """The dual ran off: its direction combines the rows to (nearly) zero."""
    y = np.clip(mu[:r], 0.0, None)
    scale = max(y.max(initial=0.0), 1e-300)
    y, nu = y / scale, mu[r:] / scale
    W = op.W(np.r_[y, nu])
    resid = float(np.linalg.norm(W))
    scale_e = float(np.max(np.linalg.norm(op.E, axis=1))) ** 2
    if y.sum() >= 1e-6 and resid <= 1e-6 * scale_e * max(y.sum(), 1.0):
        K, d = op.E.shape
        rank = int(np.linalg.matrix_rank(op.E))
        raise InfeasibleError(
            f"Graph-SVM infeasible: K={K} embeddings of rank {rank} in d={d} cannot meet the "
            f"priority constraints of all query tokens at once (linearly dependent "
            f"embeddings: {int(np.sum(y > 1e-9))} margin constraints combine to 0 with "
            f"weight {y.sum():.3g}, residual {resid:.1e})")
    raise InconclusiveError("Graph-SVM dual diverged without an infeasibility certificate")


def _certificate(E: np.ndarray, pa: PriorityArrays, W: np.ndarray, op: FactoredOperator,
                 lam: np.ndarray, nu: np.ndarray, mu_raw: np.ndarray) -> Certificate:
    Z = E @ W @ E.T
    i, j, k = pa.edges.T
    m = Z[i, k] - Z[j, k]  # every original edge
    cyc = pa.cyclic
    viol = max(float(np.max(np.abs(m[cyc]), initial=0.0)),
               float(np.max(1.0 - m[~cyc], initial=0.0)))
    r = len(lam)
    L = op.W(np.r_[lam, nu])  # Σ λ A_e + Σ ν A_c
    primal = float(np.sum(W * W))
    dual = float(lam.sum() - 0.25 * np.sum(L * L))
    gap = max(0.0, primal - dual) / max(primal, 1e-12)
    stat = float(np.linalg.norm(2 * W - L) / max(np.linalg.norm(2 * W), 1e-12))
    mw = op.margins_of(W)[:r]
    compl = float(np.max(np.abs(lam * (mw - 1.0)), initial=0.0)) / max(1.0, lam.max(initial=0))
    dual_viol = float(max(0.0, -mu_raw.min(initial=0.0)))
    return Certificate(viol, dual_viol, gap, stat, compl)


def _condensed(pa: PriorityArrays) -> np.ndarray:
    """One representative acyclic edge per distinct (query, SCC, SCC) pair."""
    sa, sb = pa.edge_scc
    acyc = np.flatnonzero(~pa.cyclic)
    _, first = np.unique(np.stack([sa[acyc], sb[acyc]], 1), axis=0, return_index=True)
    return pa.edges[acyc[np.sort(first)]]


def _cyclic_generators(pa: PriorityArrays) -> np.ndarray:
    """Root-to-member rows ``(root, v, k)`` spanning the cyclic equalities of every SCC."""
    sizes = pa.scc_sizes
    big = sizes[pa.scc] > 1
    nodes, scc = pa.nodes[big], pa.scc[big]
    order = np.lexsort((nodes[:, 1], scc))
    nodes, scc = nodes[order], scc[order]
    first = np.r_[True, scc[1:] != scc[:-1]]
    root = nodes[np.maximum.accumulate(np.where(first, np.arange(len(scc)), 0)), 1]
    keep = ~first
    return np.stack([root[keep], nodes[keep, 1], nodes[keep, 0]], axis=1).astype(np.int64) \
        if keep.any() else np.zeros((0, 3), dtype=np.int64)
