"""The Graph-SVM one query column at a time, for orthonormal (e.g. one-hot) embeddings.

With orthonormal rows (``E E^T = I``) write ``W = E^T Z E``: then ``||W||_F = ||Z||_F``
and the margin of edge ``i -> j`` of ``G^(k)`` is ``Z[i, k] - Z[j, k]``, so only column k
of Z is constrained by ``G^(k)`` and the Graph-SVM (THEORY.md section 3) separates
into one problem per query (THEORY.md section 10).  In a column the cyclic equalities
make Z constant on each SCC; with ``s_c`` the score of SCC c and ``w_c`` its size,

    min  sum_c w_c s_c^2   s.t.  s_a - s_b >= 1  for every condensed edge a -> b,

a small QP per query whose variables are SCCs and whose constraints are the distinct
edges between SCCs.  Its Lagrangian dual (multipliers ``lambda >= 0`` per condensed
edge, ``2 w s = D^T lambda``) is solved like the joint one
(:mod:`ntp_mechanics.solvers.svm_dual`): L-BFGS-B, then exact active-set steps.
Memory is proportional to the distinct edges; no K d x K d matrix is ever formed.

Certificate, as strong as the joint path's: the margins of *every* original edge on the
assembled ``Z`` (cyclic ones 0, acyclic ones >= 1), the multipliers' signs, the KKT
stationarity and complementarity of every column, and the duality gap (any
``lambda >= 0`` gives the lower bound ``sum lambda - 1/4 sum (D^T lambda)_c^2 / w_c``).
A column whose certificate fails is re-solved by the cvxpy QP (cvxpy imported only then).

Example
-------
>>> import numpy as np
>>> from ntp_mechanics.model.dataset import Dataset
>>> ds = Dataset.from_arrays(np.eye(2), [((0, 1), 0)])  # one acyclic edge 0 -> 1 of G^(1)
>>> np.round(column_graph_svm(ds).W, 6)
array([[ 0. ,  0.5],
       [ 0. , -0.5]])
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize
from scipy.sparse.linalg import cg

from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.errors import InconclusiveError
from ntp_mechanics.solvers.priority_arrays import PriorityArrays
from ntp_mechanics.solvers.svm_certificate import FEAS_TOL, Certificate, GraphSVM

__all__ = ["ColumnProblem", "column_graph_svm", "is_orthonormal", "solve_column"]

ORTHO_TOL = 1e-10  # ||E E^T - I||_max below which the embeddings count as orthonormal
ACTIVE_MAX_ITER = 50


def is_orthonormal(E: np.ndarray) -> bool:
    """``E E^T = I`` to ``ORTHO_TOL`` (one-hot, or orthonormal rows): columns separate."""
    K, d = E.shape
    if K > d:
        return False
    if _is_identity(E):  # one-hot: skip the K^2 d Gram matrix
        return True
    return bool(np.max(np.abs(E @ E.T - np.eye(K))) <= ORTHO_TOL)


@dataclass(frozen=True)
class ColumnProblem:
    """The Graph-SVM of one query column in SCC space.

    ``w`` (m,): SCC sizes; ``a``, ``b`` (r,): local SCC indices of the condensed edges
    ``a -> b`` (constraint ``s_a - s_b >= 1``).
    """

    query: int
    w: np.ndarray
    a: np.ndarray
    b: np.ndarray

    @property
    def D(self) -> sp.csr_matrix:
        r, m = len(self.a), len(self.w)
        rows = np.r_[np.arange(r), np.arange(r)]
        vals = np.r_[np.ones(r), -np.ones(r)]
        return sp.csr_matrix((vals, (rows, np.r_[self.a, self.b])), shape=(r, m))


def solve_column(p: ColumnProblem, maxiter: int = 20000) -> tuple[np.ndarray, np.ndarray, int]:
    """``(s, lambda, active-set steps)`` for one column; the caller certifies them."""
    D = p.D
    Dt = D.T.tocsr()
    inv2w = 0.5 / p.w
    r = len(p.a)

    def fun(lam: np.ndarray) -> tuple[float, np.ndarray]:
        s = (Dt @ lam) * inv2w
        m = D @ s
        return 0.5 * float(lam @ m) - float(lam.sum()), m - 1.0

    opts = dict(maxiter=maxiter, maxcor=20, ftol=1e-15, gtol=1e-11)
    lam = minimize(fun, np.zeros(r), jac=True, method="L-BFGS-B",
                   bounds=[(0.0, None)] * r, options=opts).x
    steps = 0
    S = lam - (D @ ((Dt @ lam) * inv2w) - 1.0) > 0
    for steps in range(1, ACTIVE_MAX_ITER + 1):  # noqa: B007 - steps is returned
        idx = np.flatnonzero(S)
        DS = D[idx]
        Q = (DS @ sp.diags(inv2w) @ DS.T).tocsr()
        y, _ = cg(Q, np.ones(len(idx)), x0=lam[idx], rtol=1e-14, atol=0.0,
                  maxiter=20 * len(idx) + 100)
        lam = np.zeros(r)
        lam[idx] = y
        grad = D @ ((Dt @ lam) * inv2w) - 1.0
        S_new = lam - grad > 0
        if np.array_equal(S_new, S):
            break
        S = S_new
    s = (Dt @ np.clip(lam, 0.0, None)) * inv2w
    return s, lam, steps


def _column_parts(p: ColumnProblem, s: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Per column: primal ||.||^2, dual bound, squared KKT residual, its scale,
    complementarity, primal violation, dual violation."""
    D = p.D
    lam_pos = np.clip(lam, 0.0, None)
    u = D.T @ lam_pos
    m = D @ s
    primal = float(p.w @ s**2)
    dual = float(lam_pos.sum() - 0.25 * np.sum(u**2 / p.w))
    kkt = float(np.sum((2 * p.w * s - u) ** 2))
    compl = float(np.max(np.abs(lam_pos * (m - 1.0)), initial=0.0))
    return np.array([primal, dual, kkt, float(np.sum((2 * p.w * s) ** 2)), compl,
                     float(np.max(1.0 - m, initial=0.0)), float(max(0.0, -lam.min(initial=0)))])


def _solve_many(problems: list[ColumnProblem]) -> list[tuple[np.ndarray, np.ndarray, int]]:
    return [solve_column(p) for p in problems]


def column_problems(pa: PriorityArrays) -> tuple[list[ColumnProblem], np.ndarray, np.ndarray]:
    """One :class:`ColumnProblem` per query with an acyclic edge, and for each the global
    SCC ids of its local variables (list) and a representative original edge per
    condensed edge (r x 3, all columns concatenated)."""
    sa, sb = pa.edge_scc
    acyc = np.flatnonzero(~pa.cyclic)
    if len(acyc) == 0:
        return [], [], np.zeros((0, 3), dtype=np.int64)
    pair, first = np.unique(np.stack([sa[acyc], sb[acyc]], 1), axis=0, return_index=True)
    reps = pa.edges[acyc[first]]
    order = np.argsort(reps[:, 2], kind="stable")
    pair, reps = pair[order], reps[order]
    sizes = pa.scc_sizes
    bounds = np.flatnonzero(np.diff(reps[:, 2])) + 1
    problems, scc_ids = [], []
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(reps)], strict=True):
        ids, local = np.unique(pair[lo:hi], return_inverse=True)
        local = local.reshape(-1, 2)
        problems.append(ColumnProblem(int(reps[lo, 2]), sizes[ids].astype(float),
                                      local[:, 0], local[:, 1]))
        scc_ids.append(ids)
    return problems, scc_ids, reps


def column_graph_svm(
    ds: Dataset,
    pa: PriorityArrays | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> GraphSVM:
    """Certified ``W_svm`` of a dataset with orthonormal embeddings, column by column.

    Parameters
    ----------
    ds : the dataset (``E E^T = I``, see :func:`is_orthonormal`).
    pa : its priority graphs as arrays (built when omitted).
    workers : processes for the columns (1: in this process).
    scheduler : address of a Dask scheduler; the columns are submitted there instead.
    progress : called with the number of columns finished since the last call.

    Returns
    -------
    GraphSVM
        ``formulation="by-column"``, ``constraints`` one representative original edge per
        condensed edge, ``duals`` their multipliers (of ``||W||^2``), a passing certificate.

    Raises
    ------
    ValueError
        The embeddings are not orthonormal.
    InconclusiveError
        A certificate failed even after the cvxpy fallback.
    """
    E = ds.E
    if not is_orthonormal(E):
        raise ValueError("column_graph_svm needs orthonormal embeddings (E E^T = I)")
    t0 = time.perf_counter()
    pa = pa or PriorityArrays.from_dataset(ds)
    problems, scc_ids, reps = column_problems(pa)
    sols = list(_dispatch(problems, workers, scheduler, progress))
    parts = []
    for i, (p, (s, lam, _)) in enumerate(zip(problems, sols, strict=True)):
        part = _column_parts(p, s, lam)
        if not _column_ok(part):
            s, lam = _qp_column(p)
            sols[i] = (s, lam, -1)
            part = _column_parts(p, s, lam)
        parts.append(part)
    K = ds.K
    Z = np.zeros((K, K))
    score = np.zeros(len(pa.scc_sizes))
    for ids, (s, _, _) in zip(scc_ids, sols, strict=True):
        score[ids] = s
    Z[pa.nodes[:, 1], pa.nodes[:, 0]] = score[pa.scc]
    W = Z if _is_identity(E) else E.T @ Z @ E
    lam = np.concatenate([sol[1] for sol in sols]) if sols else np.zeros(0)
    cert = _certificate(np.array(parts).reshape(-1, 7), Z, pa)
    elapsed = time.perf_counter() - t0
    steps = sum(max(sol[2], 0) for sol in sols)
    fallback = sum(sol[2] < 0 for sol in sols)
    status = f"{len(problems)} columns, {steps} active-set steps, {fallback} via QP"
    sol = GraphSVM(W, "fro", tuple(map(tuple, reps.tolist())), lam, "by-column", status,
                   elapsed, cert)
    if not cert.ok:
        raise InconclusiveError(f"Graph-SVM certificate failed: {cert}")
    return sol


def _is_identity(E: np.ndarray) -> bool:
    K, d = E.shape
    if K != d or np.count_nonzero(E) != K:
        return False
    return bool(np.all(np.diagonal(E) == 1.0))


def _column_ok(part: np.ndarray) -> bool:
    primal, dual, kkt, scale, compl, pviol, dviol = part
    gap = max(0.0, primal - dual) / max(primal, 1e-12)
    lam_scale = 1.0
    return (pviol <= FEAS_TOL and dviol <= FEAS_TOL and gap <= 1e-7
            and np.sqrt(kkt / max(scale, 1e-24)) <= 1e-6 and compl <= 1e-6 * lam_scale)


def _certificate(parts: np.ndarray, Z: np.ndarray, pa: PriorityArrays) -> Certificate:
    i, j, k = pa.edges.T
    m = Z[i, k] - Z[j, k]  # every original edge, not only the condensed ones
    cyc = pa.cyclic
    viol = max(float(np.max(np.abs(m[cyc]), initial=0.0)),
               float(np.max(1.0 - m[~cyc], initial=0.0)))
    primal, dual, kkt, scale = parts[:, :4].sum(axis=0) if len(parts) else (0.0,) * 4
    gap = max(0.0, primal - dual) / max(primal, 1e-12)
    stat = float(np.sqrt(kkt / max(scale, 1e-24)))
    compl = float(parts[:, 4].max(initial=0.0))
    dviol = float(parts[:, 6].max(initial=0.0))
    return Certificate(viol, dviol, float(gap), stat, compl)


def _dispatch(
    problems: list[ColumnProblem],
    workers: int,
    scheduler: str | None,
    progress: Callable[[int], None] | None,
) -> Iterable[tuple[np.ndarray, np.ndarray, int]]:
    """Solve the columns serially, in a process pool or on a Dask cluster, in order."""
    chunks = _chunks(problems, max(1, 4 * max(workers, 1)) if (workers > 1 or scheduler) else 1)
    if scheduler:
        from dask.distributed import Client

        with Client(scheduler) as client:
            futures = client.map(_solve_many, chunks, pure=False)
            results = client.gather(futures)
    elif workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers) as pool:
            results = []
            for res in pool.map(_solve_many, chunks):
                results.append(res)
                if progress:
                    progress(len(res))
    else:
        results = []
        for p in problems:
            results.append([solve_column(p)])
            if progress:
                progress(1)
    return [x for chunk in results for x in chunk]


def _chunks(problems: list[ColumnProblem], n: int) -> list[list[ColumnProblem]]:
    """``n`` contiguous chunks of similar total size (sizes: constraints per column)."""
    if n <= 1:
        return [problems]
    cost = np.cumsum([len(p.a) + 1 for p in problems])
    cuts = np.searchsorted(cost, np.linspace(0, cost[-1], n + 1)[1:-1])
    out, lo = [], 0
    for c in [*cuts, len(problems)]:
        if c > lo:
            out.append(problems[lo:c])
            lo = c
    return out


def _qp_column(p: ColumnProblem) -> tuple[np.ndarray, np.ndarray]:
    """The same column by cvxpy (Clarabel): the fallback when the dual is not certified."""
    import cvxpy as cp

    from ntp_mechanics.solvers.backend import solve

    s = cp.Variable(len(p.w))
    margins = p.D @ s >= 1
    prob = cp.Problem(cp.Minimize(cp.sum(cp.multiply(p.w, cp.square(s)))), [margins])
    solve(prob)
    if prob.status != cp.OPTIMAL:
        raise InconclusiveError(f"Graph-SVM column {p.query}: solver status {prob.status!r}")
    return np.asarray(s.value, float), np.asarray(margins.dual_value, float)
