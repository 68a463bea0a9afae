"""The finite component ``W_fin`` one query column at a time (orthonormal embeddings).

With ``E E^T = I`` and ``W = E^T Z E`` the score of position t of sample i is
``Z[x_it, k_i]``, so the reduced loss ``L_fin`` (THEORY.md section 3) of a sample only
sees column ``k_i`` of Z, and ``S_fin`` is the orthogonal sum over queries k of the
vectors of column k that sum to zero on each SCC of ``G^(k)`` (and vanish off the
non-trivial SCCs).  ``W_fin`` therefore decomposes into one strictly convex problem per
query (fact F7), in the variables of the tokens of its non-trivial SCCs:

    L_k(z) = (1 / N) sum_{i: k_i = k} c_i [log sum_v C_iv exp(z_v) - z_{y_i} - log C_{i y_i}],

``C_iv`` the number of kept positions of sample i holding v, ``c_i`` its count and
``N = sum_i c_i`` over the whole dataset (so the column losses add up to ``L_fin``).
Each column is solved by the package's damped Newton
(:func:`ntp_mechanics.solvers.finite.damped_newton`) in an orthonormal basis of its
zero-sum subspace, with the exact Hessian; memory is proportional to the kept
positions.  Certificate, as for the joint path: the gradient norm on ``S_fin`` (all
columns together) below ``GRAD_TOL`` and the smallest Hessian eigenvalue on ``S_fin``
(the smallest over the columns: the Hessian is block diagonal) positive.

Example
-------
>>> import numpy as np
>>> from ntp_mechanics.model.dataset import Dataset
>>> ds = Dataset.from_arrays(np.eye(2), [((0, 1), 0), ((0, 1, 1), 1)])  # 0 <-> 1 cyclic
>>> fin = column_finite_component(ds)
>>> fin.subspace.dim, round(fin.L_star, 4)  # L* = log(1 + 1/sqrt(2))
(1, 0.5348)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.errors import InconclusiveError
from ntp_mechanics.solvers.column_svm import _is_identity, is_orthonormal
from ntp_mechanics.solvers.finite import (
    CURVATURE_MIN,
    GRAD_TOL,
    MAX_STEP,
    FiniteComponent,
    damped_newton,
)
from ntp_mechanics.solvers.priority_arrays import PriorityArrays

__all__ = ["ColumnLoss", "ColumnSubspace", "column_finite_component"]

CHUNK_ENTRIES = 1 << 21  # Hessian rows are accumulated in dense blocks of this many entries


@dataclass(frozen=True)
class ColumnSubspace:
    """``S_fin`` for orthonormal embeddings, held as its non-trivial SCCs per query.

    ``nodes`` (p x 2, ``(k, v)``) and ``scc`` (p,) as in
    :class:`~ntp_mechanics.solvers.priority_arrays.PriorityArrays`; ``E`` the embeddings.
    """

    E: np.ndarray
    nodes: np.ndarray
    scc: np.ndarray

    @property
    def dim(self) -> int:
        sizes = np.bincount(self.scc)
        return int(np.sum(np.clip(sizes - 1, 0, None)))

    def project(self, W: np.ndarray) -> np.ndarray:
        """Orthogonal (Frobenius) projection of W onto ``S_fin``."""
        Z = self.E @ W @ self.E.T
        z = Z[self.nodes[:, 1], self.nodes[:, 0]]
        sizes = np.bincount(self.scc)
        mean = np.bincount(self.scc, z) / np.maximum(sizes, 1)
        keep = sizes[self.scc] > 1
        P = np.zeros_like(Z)
        P[self.nodes[keep, 1], self.nodes[keep, 0]] = (z - mean[self.scc])[keep]
        return self.E.T @ P @ self.E


class ColumnLoss:
    """The part of ``L_fin`` of the samples whose label lies in one non-trivial SCC of
    one ``G^(k)``, as a function of coordinates c, ``z = B c`` (the SCC's scores).

    ``indptr``, ``tok``, ``logc``: the kept positions of the samples in CSR form
    (distinct local tokens and the log of their multiplicities); ``label`` the local
    label of each sample, ``weight`` its count over ``N``; ``B`` (m x (m - 1)) an
    orthonormal basis of the zero-sum vectors of the SCC.
    """

    def __init__(self, indptr: np.ndarray, tok: np.ndarray, logc: np.ndarray,
                 label: np.ndarray, weight: np.ndarray, B: np.ndarray) -> None:
        self.indptr, self.tok, self.logc = indptr, tok, logc
        self.label, self.weight, self.B = label, weight, B
        self.row = np.repeat(np.arange(len(label)), np.diff(indptr))
        self.is_label = tok == label[self.row]
        self.m = B.shape[0]

    def _parts(self, c: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        z = self.B @ c
        a = z[self.tok] + self.logc
        starts = self.indptr[:-1]
        mx = np.maximum.reduceat(a, starts)
        e = np.exp(a - mx[self.row])
        S = np.add.reduceat(e, starts)
        p = e / S[self.row]
        loss = mx + np.log(S) - a[self.is_label]
        off = np.where(self.is_label, 0.0, p)
        offsum = np.add.reduceat(off, starts)  # 1 - p_label, without cancellation
        wr = self.weight[self.row]
        g = (np.bincount(self.tok, wr * off, self.m)
             - np.bincount(self.label, self.weight * offsum, self.m))
        return float(loss @ self.weight), g, p, wr

    def value_grad(self, c: np.ndarray) -> tuple[float, np.ndarray]:
        L, g, _, _ = self._parts(c)
        return L, self.B.T @ g

    def value_grad_hess(self, c: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        L, g, p, wr = self._parts(c)
        # Hessian in z: sum_i c_i (diag p_i - p_i p_i^T) / N (dense GEMM), then B^T H B
        Hz = np.diag(np.bincount(self.tok, wr * p, self.m))
        step = max(1, CHUNK_ENTRIES // self.m)  # dense blocks of at most CHUNK_ENTRIES
        for lo in range(0, len(self.label), step):
            hi = min(lo + step, len(self.label))
            a, b = self.indptr[lo], self.indptr[hi]
            P = np.zeros((hi - lo, self.m))
            P[self.row[a:b] - lo, self.tok[a:b]] = p[a:b]
            Hz -= (P * self.weight[lo:hi, None]).T @ P
        H = self.B.T @ Hz @ self.B
        return L, self.B.T @ g, (H + H.T) / 2


def _zero_sum_basis(m: int) -> np.ndarray:
    """Orthonormal basis (Helmert) of the vectors of R^m summing to 0: m x (m - 1)."""
    B = np.zeros((m, m - 1))
    for j in range(1, m):  # (1, .., 1, -j, 0, ..) / sqrt(j (j + 1))
        B[:j, j - 1] = 1.0
        B[j, j - 1] = -j
        B[:, j - 1] /= np.sqrt(j * (j + 1))
    return B


def column_finite_component(
    ds: Dataset,
    pa: PriorityArrays | None = None,
    progress: Callable[[int], None] | None = None,
) -> FiniteComponent:
    """Certified ``W_fin`` and ``L*`` of a dataset with orthonormal embeddings.

    Parameters
    ----------
    ds : the dataset (``E E^T = I``).
    pa : its priority graphs as arrays (built when omitted).
    progress : called with the number of columns finished since the last call.

    Returns
    -------
    FiniteComponent
        ``subspace`` is a :class:`ColumnSubspace` (``dim``, ``project``).

    Raises
    ------
    InconclusiveError
        The gradient norm on S_fin exceeds ``GRAD_TOL`` or a column's Hessian is not
        positive definite there.
    """
    E = ds.E
    if not is_orthonormal(E):
        raise ValueError("column_finite_component needs orthonormal embeddings (E E^T = I)")
    t0 = time.perf_counter()
    pa = pa or PriorityArrays.from_dataset(ds)
    sub = ColumnSubspace(E, pa.nodes, pa.scc)
    ids, mask, label_mask = ds.padded()
    counts = np.asarray(ds.counts, dtype=float)
    N = counts.sum()
    y = ids[np.arange(len(ids)), np.argmax(label_mask, axis=1)]
    q = ids[:, -1]
    sizes = pa.scc_sizes
    ylab = pa.scc_of(q, y)
    live = np.flatnonzero(sizes[ylab] > 1)  # the others have L_i = 0 whatever W is
    Z = np.zeros((ds.K, ds.K))
    total, gsq, curv, steps, nblocks = 0.0, 0.0, np.inf, 0, 0
    if len(live):
        kept = _kept_positions(pa, ids[live], mask[live], ylab[live])
        by_scc = np.argsort(pa.scc, kind="stable")  # nodes grouped by SCC
        scc_start = np.searchsorted(pa.scc[by_scc], np.arange(len(sizes)))
        order = np.argsort(ylab[live], kind="stable")
        bounds = np.flatnonzero(np.diff(ylab[live][order])) + 1
        for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(order)], strict=True):
            sel = order[lo:hi]
            scc_id = int(ylab[live[sel[0]]])
            members = by_scc[scc_start[scc_id]:scc_start[scc_id] + sizes[scc_id]]
            cl = _scc_loss(pa.K, pa.nodes[members, 1], ids[live[sel]], kept[sel],
                           y[live[sel]], counts[live[sel]] / N)
            c, it = damped_newton(cl, np.zeros(cl.B.shape[1]), max_step=MAX_STEP)
            L, g, H = cl.value_grad_hess(c)
            total += L
            gsq += float(g @ g)
            curv = min(curv, float(np.linalg.eigvalsh(H)[0]))
            steps += it
            nblocks += 1
            Z[pa.nodes[members, 1], pa.nodes[members, 0]] = cl.B @ c
            if progress:
                progress(1)
    grad_norm = float(np.sqrt(gsq))
    if not np.isfinite(total) or not grad_norm <= GRAD_TOL:
        raise InconclusiveError(
            f"W_fin not certified: gradient norm {grad_norm:.2e} on S_fin > {GRAD_TOL:.0e}"
        )
    if nblocks and not curv > CURVATURE_MIN:
        raise InconclusiveError(f"W_fin not certified: Hessian eigenvalue {curv:.2e} <= 0 on S_fin")
    W = Z if _is_identity(E) else E.T @ Z @ E
    status = f"newton by SCC ({nblocks} SCCs, {steps} steps)" if nblocks else "trivial"
    return FiniteComponent(W, total, sub, grad_norm, curv, status, time.perf_counter() - t0)


def _kept_positions(
    pa: PriorityArrays, ids: np.ndarray, mask: np.ndarray, ylab: np.ndarray
) -> np.ndarray:
    """n x T: the positions whose token lies in the SCC of the sample's label."""
    q = np.broadcast_to(ids[:, -1:], ids.shape)
    scc_pos = np.full(ids.shape, -1, dtype=np.int64)
    scc_pos[mask] = pa.scc_of(q[mask], ids[mask])  # every token of a window is a node
    return mask & (scc_pos == ylab[:, None])


def _scc_loss(
    K: int, members: np.ndarray, ids: np.ndarray, kept: np.ndarray, y: np.ndarray,
    weight: np.ndarray,
) -> ColumnLoss:
    """The loss of the samples whose label lies in the SCC ``members`` (sorted tokens)."""
    local = np.full(K, -1, dtype=np.int64)
    local[members] = np.arange(len(members))
    r, t = np.nonzero(kept)  # distinct (sample, token) pairs with multiplicities
    u, cnt = np.unique(r * np.int64(K) + ids[r, t], return_counts=True)
    row, tok = u // K, local[u % K]
    indptr = np.r_[0, np.cumsum(np.bincount(row, minlength=len(ids)))]
    return ColumnLoss(indptr, tok, np.log(cnt), local[y], weight, _zero_sum_basis(len(members)))
