"""The theory's predictions at vocabulary scale, for orthonormal (e.g. one-hot) embeddings.

The same bundle and JSON keys as :mod:`ntp_mechanics.solvers.predictions` (``W_svm``,
``W_fin``, SCCs, margins, ``L*``, dimensions, certificates, timings), computed from the
priority graphs as arrays (:class:`~ntp_mechanics.solvers.priority_arrays.PriorityArrays`)
by the column solvers (:mod:`ntp_mechanics.solvers.column_svm`,
:mod:`ntp_mechanics.solvers.column_finite`): memory proportional to the distinct edges
and the windows, never a per-sample feature array or a K d x K d matrix.

SCCs are listed by decreasing level (longest path to a sink of the condensation), ties by
smallest token: a topological order, highest priority first.

Example
-------
>>> import numpy as np
>>> from ntp_mechanics.model.dataset import Dataset
>>> p = predict_columns(Dataset.from_arrays(np.eye(3), [((0, 1, 2), 0), ((1, 0, 2), 1)]))
>>> p.to_dict()["sccs"]
{'2': [[0, 1], [2]]}
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.sparse_tpg import SparsePriorityGraphs
from ntp_mechanics.model.tpg import TokenPriorityGraphs
from ntp_mechanics.solvers.column_finite import ColumnSubspace, column_finite_component
from ntp_mechanics.solvers.column_svm import _is_identity, column_graph_svm
from ntp_mechanics.solvers.finite import FiniteComponent
from ntp_mechanics.solvers.graph_svm import GraphSVM
from ntp_mechanics.solvers.predictions import Predictions
from ntp_mechanics.solvers.priority_arrays import PriorityArrays

__all__ = ["ColumnPredictions", "predict_columns"]

Progress = Callable[[str, int, int], None]  # (phase, done since last call, total)


@dataclass(frozen=True)
class ColumnPredictions:
    """Certified ``W_svm``, ``W_fin`` and the graphs of a dataset with orthonormal E."""

    dataset: Dataset
    graphs: SparsePriorityGraphs
    arrays: PriorityArrays
    svm: GraphSVM
    fin: FiniteComponent
    elapsed: float
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def W_svm(self) -> np.ndarray:
        return self.svm.W

    @property
    def W_fin(self) -> np.ndarray:
        return self.fin.W

    @property
    def dim_S_all(self) -> int:
        """``dim S_all``: per graph, nodes minus weak components (orthonormal E)."""
        return self.S_all.dim

    @property
    def S_all(self) -> ColumnSubspace:
        """``S_all``: differences within each weak component of each ``G^(k)``, held
        as the components' labels over the nodes (projection in O(nodes + d^2))."""
        pa = self.arrays
        idx_i = pa.node_index(pa.edges[:, 2], pa.edges[:, 0])
        idx_j = pa.node_index(pa.edges[:, 2], pa.edges[:, 1])
        p = len(pa.nodes)
        A = sp.csr_matrix((np.ones(len(idx_i), np.int8), (idx_i, idx_j)), shape=(p, p))
        _, weak = connected_components(A, directed=True, connection="weak")
        return ColumnSubspace(np.asarray(self.dataset.E, dtype=np.float64), pa.nodes, weak)

    def as_predictions(self) -> Predictions:
        """The joint path's :class:`~ntp_mechanics.solvers.predictions.Predictions` bundle
        with these certified solutions and :attr:`S_all` (what ``check`` consumes); its
        ``tpg`` (networkx graphs) is built here."""
        tpg = TokenPriorityGraphs.from_dataset(self.dataset)
        pred = Predictions(self.dataset, tpg, self.svm, self.fin, None, self.elapsed)
        pred.__dict__["S_all"] = self.S_all  # the cached property, filled without a basis
        return pred

    def sccs(self) -> dict[int, list[list[int]]]:
        """SCCs of each ``G^(k)``, highest priority first (see the module docstring)."""
        pa, g = self.arrays, self.graphs
        level = g.scc_level[pa.scc]
        first = np.full(len(pa.scc_sizes), pa.K)
        np.minimum.at(first, pa.scc, pa.nodes[:, 1])  # smallest token of each SCC
        order = np.lexsort((pa.nodes[:, 1], first[pa.scc], -level, pa.nodes[:, 0]))
        out: dict[int, list[list[int]]] = {}
        last = (-1, -1)
        for (k, v), c in zip(pa.nodes[order].tolist(), pa.scc[order].tolist(), strict=True):
            if (k, c) != last:
                out.setdefault(k, []).append([])
                last = (k, c)
            out[k][-1].append(v)
        return out

    def margins(self) -> np.ndarray:
        """``(e_i - e_j)^T W_svm e_k`` for every edge of :attr:`arrays` (in its order)."""
        E, W = self.dataset.E, self.svm.W
        Z = W if _is_identity(E) else E @ W @ E.T  # every margin is a difference of scores
        i, j, k = self.arrays.edges.T
        return Z[i, k] - Z[j, k]

    def summary(self) -> dict[str, Any]:
        """Everything but the matrices and per-edge lists (for the ``.npz`` output)."""
        return {
            "norm_W_svm": float(np.linalg.norm(self.svm.W)),
            "L_star": self.fin.L_star,
            "dim_S_fin": self.fin.subspace.dim,
            "dim_S_all": self.dim_S_all,
            "graphs": self.graphs.summary(),
            "certificates": {
                "W_svm": None if self.svm.certificate is None else {
                    k: float(v) for k, v in vars(self.svm.certificate).items()},
                "W_fin": {"grad_norm": self.fin.grad_norm,
                          "min_curvature": self.fin.min_curvature},
            },
            "solver": {
                "W_svm": {"formulation": self.svm.formulation, "status": self.svm.status,
                          "seconds": self.svm.solve_time},
                "W_fin": {"status": self.fin.status, "seconds": self.fin.solve_time},
                "phases": dict(self.phases),
                "total_seconds": self.elapsed,
            },
        }

    def to_dict(self) -> dict[str, Any]:
        """The ``predict`` command's JSON object (the keys of the joint path)."""
        pa = self.arrays
        m = self.margins()
        cyc = pa.cyclic
        keys = [f"{i}->{j}|{k}" for i, j, k in pa.edges.tolist()]
        out = {
            "W_svm": self.svm.W.tolist(),
            "W_fin": self.fin.W.tolist(),
            "sccs": {str(k): v for k, v in self.sccs().items()},
            "acyclic_edges": pa.edges[~cyc].tolist(),
            "cyclic_edges": pa.edges[cyc].tolist(),
            "margins": dict(zip(keys, np.round(m, 12).tolist(), strict=True)),
        }
        s = self.summary()
        s.pop("graphs")
        return out | s

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The arrays of the ``.npz`` output: matrices, edges, their margins."""
        pa = self.arrays
        return {"W_svm": self.svm.W, "W_fin": self.fin.W, "edges": pa.edges,
                "cyclic": pa.cyclic, "margins": self.margins(),
                "nodes": pa.nodes, "scc": pa.scc}


def predict_columns(
    ds: Dataset,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> ColumnPredictions:
    """Certified ``W_svm`` and ``W_fin`` of ``ds`` (orthonormal embeddings), by column.

    Parameters
    ----------
    ds : the dataset; ``E E^T = I``.
    workers : processes for the Graph-SVM columns (1: in this process).
    scheduler : a Dask scheduler address for the Graph-SVM columns.
    progress : ``progress(phase, done, total)`` after each finished column or SCC.

    Raises
    ------
    ValueError
        The embeddings are not orthonormal.
    InconclusiveError
        A certificate failed.
    """
    t0 = time.perf_counter()
    g = SparsePriorityGraphs.from_dataset(ds)
    pa = PriorityArrays.from_graphs(g)
    t1 = time.perf_counter()
    n_cols = len(np.unique(pa.edges[~pa.cyclic, 2]))
    svm = column_graph_svm(ds, pa, workers=workers, scheduler=scheduler,
                           progress=_bind(progress, "Graph-SVM", n_cols))
    t2 = time.perf_counter()
    n_blocks = int(np.sum(pa.scc_sizes > 1))
    fin = column_finite_component(ds, pa, progress=_bind(progress, "W_fin", n_blocks))
    t3 = time.perf_counter()
    phases = {"graphs": t1 - t0, "W_svm": t2 - t1, "W_fin": t3 - t2}
    return ColumnPredictions(ds, g, pa, svm, fin, t3 - t0, phases)


def _bind(progress: Progress | None, phase: str, total: int) -> Callable[[int], None] | None:
    if progress is None:
        return None
    return lambda done: progress(phase, done, total)
