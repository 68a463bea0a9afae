"""Everything the theory predicts for one dataset, in one certified bundle.

``predict(ds)`` builds the token-priority graphs, solves the Graph-SVM (``W_svm``, and
``W_svm_*`` on request) and the finite component (``W_fin``, ``L*``), and serialises
them in the ``predict`` command's JSON format.

Example
-------
>>> import numpy as np
>>> from ntp_mechanics.model.dataset import Dataset
>>> p = predict(Dataset.from_arrays(np.eye(3), [((0, 1, 2), 0), ((1, 0, 2), 1)]))
>>> p.to_dict()["sccs"]
{'2': [[0, 1], [2]]}
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cached_property

import networkx as nx
import numpy as np

from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.tpg import TokenPriorityGraphs
from ntp_mechanics.solvers.finite import FiniteComponent, finite_component
from ntp_mechanics.solvers.graph_svm import GraphSVM, graph_svm
from ntp_mechanics.solvers.subspaces import Subspace

__all__ = ["Predictions", "predict"]


@dataclass(frozen=True)
class Predictions:
    dataset: Dataset
    tpg: TokenPriorityGraphs
    svm: GraphSVM
    fin: FiniteComponent
    svm_nuclear: GraphSVM | None
    elapsed: float

    @cached_property
    def S_all(self) -> Subspace:
        """``S_all`` with an orthonormal basis (built on first use: d^2 per generator)."""
        return Subspace.all_edges(self.dataset.E, self.tpg)

    @property
    def dim_S_all(self) -> int:
        """``dim S_all``; counted without a basis when the embeddings are independent
        (then the generators ``(e_v - e_root) e_k^T`` of the weak components are)."""
        E = self.dataset.E
        if "S_all" in self.__dict__ or np.linalg.matrix_rank(E) < E.shape[0]:
            return self.S_all.dim
        return sum(
            len(c) - 1 for g in self.tpg.values() for c in nx.weakly_connected_components(g.graph)
        )

    @property
    def W_svm(self) -> np.ndarray:
        return self.svm.W

    @property
    def W_fin(self) -> np.ndarray:
        return self.fin.W

    @property
    def sccs(self) -> dict[int, tuple[tuple[int, ...], ...]]:
        """The SCCs of each graph ``G^(k)``, by query token ``k``."""
        return {k: g.sccs for k, g in self.tpg.items()}

    @property
    def direction(self) -> np.ndarray:
        """``W_svm / ||W_svm||`` (zero when ``W_svm = 0``)."""
        nrm = np.linalg.norm(self.svm.W)
        return self.svm.W / nrm if nrm > 0 else self.svm.W

    def to_dict(self) -> dict:
        E = self.dataset.E
        margins = {
            f"{i}->{j}|{k}": round(self.svm.margin(E, i, j, k), 12) for i, j, k in self.tpg.edges()
        }
        out = {
            "W_svm": self.svm.W.tolist(),
            "W_fin": self.fin.W.tolist(),
            "sccs": {str(k): [list(c) for c in cs] for k, cs in self.sccs.items()},
            "norm_W_svm": float(np.linalg.norm(self.svm.W)),
            "L_star": self.fin.L_star,
            "dim_S_fin": self.fin.subspace.dim,
            "dim_S_all": self.dim_S_all,
            "acyclic_edges": [list(e) for e in self.tpg.acyclic_edges()],
            "cyclic_edges": [list(e) for e in self.tpg.cyclic_edges()],
            "margins": margins,
            "certificates": {
                "W_svm": _cert(self.svm),
                "W_fin": {"grad_norm": self.fin.grad_norm, "min_curvature": self.fin.min_curvature},
            },
            "solver": {
                "W_svm": {
                    "formulation": self.svm.formulation,
                    "status": self.svm.status,
                    "seconds": self.svm.solve_time,
                },
                "W_fin": {"status": self.fin.status, "seconds": self.fin.solve_time},
                "total_seconds": self.elapsed,
            },
        }
        if self.svm_nuclear is not None:
            out["W_svm_nuc"] = self.svm_nuclear.W.tolist()
            out["certificates"]["W_svm_nuc"] = _cert(self.svm_nuclear)
        return out


def _cert(sol: GraphSVM) -> dict | None:
    c = sol.certificate
    return None if c is None else {k: float(v) for k, v in vars(c).items()}


def predict(ds: Dataset, nuclear: bool = False) -> Predictions:
    """Certified ``W_svm`` (and ``W_svm_*``), ``W_fin`` and the graphs of ``ds``."""
    t0 = time.perf_counter()
    tpg = TokenPriorityGraphs.from_dataset(ds)
    S_fin = Subspace.cyclic(ds.E, tpg)
    svm = graph_svm(ds, tpg, S_fin=S_fin)
    fin = finite_component(ds, tpg, S_fin=S_fin)
    nuc = graph_svm(ds, tpg, norm="nuc", S_fin=S_fin) if nuclear else None
    return Predictions(ds, tpg, svm, fin, nuc, time.perf_counter() - t0)
