"""Naive, independent formulations, kept deliberately simple for cross-checks.

Nothing here shares code with the fast solvers beyond the dataset type: the Graph-SVM
is written per edge in W-space, exactly as THEORY.md section 3 states it, with every
duplicate edge; ``W_fin`` is found by plain gradient descent on the reduced loss,
written out with explicit loops.  Tests compare the fast solvers against these, and
``benchmarks/bench_predict.py`` times the fast ``predict`` against :func:`naive_graph_svm`.

Example
-------
>>> import numpy as np
>>> from ntp_mechanics.model.dataset import Dataset
>>> ds = Dataset.from_arrays(np.eye(2), [((0, 1), 0)])
>>> np.round(naive_graph_svm(ds), 4)
array([[ 0. ,  0.5],
       [ 0. , -0.5]])
"""

from __future__ import annotations

import cvxpy as cp
import networkx as nx
import numpy as np

from ntp_mechanics.model.dataset import Dataset

__all__ = [
    "gd_finite_component",
    "longest_path_length",
    "naive_edges",
    "naive_graph_svm",
    "naive_sccs",
]


def longest_path_length(C: nx.DiGraph, a: int, b: int) -> int:
    """Edges on the longest path from ``a`` to ``b`` in the DAG ``C`` (-1: unreachable).

    The transitive margin of fact F3: ``i =>_k j`` forces a score gap of at least this
    many unit margins between the SCCs of i and j.
    """
    best = {a: 0}
    for c in nx.topological_sort(C):
        if c in best:
            for s in C.successors(c):
                best[s] = max(best.get(s, -1), best[c] + 1)
    return best.get(b, -1)


def naive_edges(ds: Dataset) -> list[tuple[int, int, int]]:
    """Every edge ``(y_i, x_it, k_i)``, duplicates kept, in sample order."""
    return [(s.label, x, s.query) for s in ds.samples for x in s.tokens if x != s.label]


def naive_sccs(ds: Dataset) -> dict[int, dict[int, frozenset[int]]]:
    """``{k: {token: its SCC}}`` from a brute-force transitive closure (Warshall)."""
    out: dict[int, dict[int, frozenset[int]]] = {}
    for k in sorted({s.query for s in ds.samples}):
        R = np.eye(ds.K, dtype=bool)
        nodes = {k}
        for i, j, q in naive_edges(ds):
            if q == k:
                R[i, j] = True
                nodes |= {i, j}
        nodes |= {s.label for s in ds.samples if s.query == k}
        for m in range(ds.K):
            R = R | (R[:, [m]] & R[[m], :])
        out[k] = {v: frozenset(u for u in nodes if R[v, u] and R[u, v]) for v in nodes}
    return out


def naive_graph_svm(ds: Dataset, solver: str = cp.OSQP, **opts: float) -> np.ndarray:
    """``argmin ||W||_F`` over d x d W, one constraint per (duplicate) edge, in W-space."""
    E, scc = ds.E, naive_sccs(ds)
    W = cp.Variable((ds.d, ds.d))
    constraints = []
    for i, j, k in naive_edges(ds):
        margin = (E[i] - E[j]) @ W @ E[k]
        constraints.append(margin == 0 if j in scc[k][i] else margin >= 1)
    prob = cp.Problem(cp.Minimize(cp.sum_squares(W)), constraints)
    prob.solve(solver=solver, **opts)
    if prob.status != cp.OPTIMAL:
        raise RuntimeError(f"naive Graph-SVM: status {prob.status}")
    return np.asarray(W.value)


def gd_finite_component(ds: Dataset, steps: int = 20000, lr: float = 0.5) -> np.ndarray:
    """``W_fin`` by gradient descent from zero on the reduced loss, projected onto S_fin.

    The projection is implicit: every gradient of the reduced loss lies in S_fin's span
    of ``(e_i - e_j) e_k^T`` over same-SCC pairs, so GD from zero never leaves it.
    """
    E, scc = ds.E, naive_sccs(ds)
    reduced = [
        (s.query, s.label, [t for t in s.tokens if t in scc[s.query][s.label]]) for s in ds.samples
    ]
    W = np.zeros((ds.d, ds.d))
    for _ in range(steps):
        G = np.zeros_like(W)
        for k, y, toks in reduced:
            a = np.array([E[t] @ W @ E[k] for t in toks])
            s = np.exp(a - a.max())
            s /= s.sum()
            for t, st in zip(toks, s, strict=True):
                G += (st - (t == y) * st / s[np.array(toks) == y].sum()) * np.outer(E[t], E[k])
        W -= lr * G / len(reduced)
    return W
