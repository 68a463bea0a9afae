"""Is the Graph-SVM feasible?  A per-query screen with a Farkas certificate (fact F1).

With linearly dependent embeddings (K > d) the hard-margin constraints may have no
solution.  Only ``u_k = W e_k`` enters the constraints of ``G^(k)``:
``(e_i - e_j)^T u_k >= 1`` on its acyclic edges and ``= 0`` on its cyclic ones.  If that
small system (d unknowns) has no solution for some query, neither has the Graph-SVM.
By Farkas' lemma it has none exactly when multipliers ``0 <= y <= 1`` on the acyclic
rows and free ``nu`` on the cyclic rows combine the rows to zero with ``sum y > 0``:

    sum_e y_e (e_i - e_j) + sum_c nu_c (e_i - e_j) = r = 0.

The screen solves that LP (HiGHS, maximise ``sum y``) per query and checks the
certificate itself: ``sum y`` above ``MIN_CERT`` and the residual ``r`` below
``MAX_RESIDUAL`` (then any ``u_k`` meeting the constraints would need
``||u_k|| >= sum y / ||r||``).  It is a necessary condition only: every query can pass
while the queries together are infeasible (their ``u_k`` are linked when the ``e_k``
are dependent); the joint solver decides those.

Example
-------
>>> import numpy as np
>>> from ntp_mechanics.model.dataset import Dataset
>>> E = np.array([[1.0], [0.5], [0.75]])  # K = 3 > d = 1
>>> ds = Dataset.from_arrays(E, [((0, 1, 2), 0), ((1, 2), 1)])
>>> cert = infeasible_query(ds)
>>> cert.query, cert.ok
(2, True)
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.solvers.priority_arrays import PriorityArrays

__all__ = ["FarkasCertificate", "infeasible_query"]

MIN_CERT = 1e-6  # sum y of a certificate (y in [0, 1])
MAX_RESIDUAL = 1e-9  # ||r||_inf relative to the largest embedding norm


@dataclass(frozen=True)
class FarkasCertificate:
    """Multipliers proving that the constraints of ``G^(query)`` cannot all hold."""

    query: int
    edges: np.ndarray  # the rows (i, j, k) combined, acyclic first
    y: np.ndarray  # on the acyclic rows, in [0, 1]
    nu: np.ndarray  # on the cyclic rows
    total: float  # sum y
    residual: float  # ||sum y_e a_e + sum nu_c a_c||_inf / max ||e_v||

    @property
    def ok(self) -> bool:
        return bool(self.total >= MIN_CERT and self.residual <= MAX_RESIDUAL
                    and np.all(self.y >= -1e-12))

    def message(self, K: int, d: int, rank: int) -> str:
        n = int(np.sum(self.y > 1e-9))
        return (
            f"Graph-SVM infeasible: K={K} embeddings of rank {rank} in d={d} cannot order "
            f"the priorities of query token {self.query} (linearly dependent embeddings: "
            f"{n} of its margin constraints combine to 0 with weight {self.total:.3g}, "
            f"residual {self.residual:.1e})"
        )


_SCREENED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def infeasible_query(ds: Dataset, pa: PriorityArrays | None = None) -> FarkasCertificate | None:
    """A verified certificate for the first query whose constraints cannot hold, or None.

    Queries are screened from the one with most acyclic edges down (the likeliest to
    fail); the screen stops at the first certified failure.  The answer is remembered
    for the dataset object (a command screens before it allocates, the solver again).
    """
    try:
        return _SCREENED[ds]
    except (KeyError, TypeError):
        pass
    out = _screen(ds, pa)
    try:
        _SCREENED[ds] = out
    except TypeError:  # not weakly referenceable: nothing remembered
        pass
    return out


def _screen(ds: Dataset, pa: PriorityArrays | None) -> FarkasCertificate | None:
    pa = pa or PriorityArrays.from_dataset(ds)
    E = ds.E
    scale = float(np.max(np.linalg.norm(E, axis=1)))
    acyc = ~pa.cyclic
    qs, n_acyc = np.unique(pa.edges[acyc, 2], return_counts=True)
    for k in qs[np.argsort(-n_acyc, kind="stable")]:
        rows = pa.edges[pa.edges[:, 2] == k]
        cert = _query_certificate(E, rows, pa.cyclic[pa.edges[:, 2] == k], int(k), scale)
        if cert is not None and cert.ok:
            return cert
    return None


def _query_certificate(
    E: np.ndarray, rows: np.ndarray, cyclic: np.ndarray, k: int, scale: float
) -> FarkasCertificate | None:
    a_rows, c_rows = rows[~cyclic], rows[cyclic]
    A = E[a_rows[:, 0]] - E[a_rows[:, 1]]  # r x d
    C = E[c_rows[:, 0]] - E[c_rows[:, 1]]  # q x d
    r, q = len(A), len(C)
    # max sum y  s.t.  A^T y + C^T nu = 0,  0 <= y <= 1,  nu free
    A_eq = sp.hstack([sp.csr_matrix(A.T), sp.csr_matrix(C.T)]).tocsr() if q else sp.csr_matrix(A.T)
    res = linprog(np.r_[-np.ones(r), np.zeros(q)], A_eq=A_eq, b_eq=np.zeros(E.shape[1]),
                  bounds=[(0.0, 1.0)] * r + [(None, None)] * q, method="highs")
    if res.status != 0 or -res.fun < MIN_CERT:
        return None
    y, nu = np.clip(res.x[:r], 0.0, 1.0), res.x[r:]
    resid = A.T @ y + (C.T @ nu if q else 0.0)
    return FarkasCertificate(k, np.vstack([a_rows, c_rows]), y, nu, float(y.sum()),
                             float(np.max(np.abs(resid)) / max(scale, 1e-300)))
