"""Token-priority graphs as the solvers read them: flat arrays of edges and SCCs.

A thin view of :class:`ntp_mechanics.model.sparse_tpg.SparsePriorityGraphs` (the graphs
of THEORY.md section 2, built vectorised): the distinct edges ``(i, j, k)`` as one
int64 array, the nodes ``(k, v)`` of every ``G^(k)`` and a global SCC id per node, plus
the look-ups the column solvers need (the SCC of a token in ``G^(k)``, the SCC ends of
every edge).  Memory is proportional to the distinct edges and nodes.

Example
-------
>>> import numpy as np
>>> from ntp_mechanics.model.dataset import Dataset
>>> ds = Dataset.from_arrays(np.eye(3), [((0, 1, 2), 0), ((1, 0, 2), 1)])
>>> pa = PriorityArrays.from_dataset(ds)
>>> pa.edges.tolist()  # (i, j, k): 0 -> 1, 0 -> 2, 1 -> 0, 1 -> 2 in G^(2)
[[0, 1, 2], [0, 2, 2], [1, 0, 2], [1, 2, 2]]
>>> pa.cyclic.tolist()
[True, False, True, False]
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.sparse_tpg import SparsePriorityGraphs

__all__ = ["PriorityArrays"]


@dataclass(frozen=True)
class PriorityArrays:
    """Distinct edges ``(i, j, k)`` of every ``G^(k)`` and the SCC of every node.

    Attributes
    ----------
    K : vocabulary size.
    edges : m x 3 int64, distinct edges ``i -> j`` of ``G^(k)``, sorted by ``(k, i, j)``.
    nodes : p x 2 int64, the nodes ``(k, v)`` (token v occurs in ``G^(k)``), sorted.
    scc : p int64, a component id per node (unique across all graphs).
    """

    K: int
    edges: np.ndarray
    nodes: np.ndarray
    scc: np.ndarray

    @classmethod
    def from_dataset(cls, ds: Dataset) -> PriorityArrays:
        return cls.from_graphs(SparsePriorityGraphs.from_dataset(ds))

    @classmethod
    def from_graphs(cls, g: SparsePriorityGraphs) -> PriorityArrays:
        """The solvers' view of :class:`~ntp_mechanics.model.sparse_tpg.SparsePriorityGraphs`."""
        edges = np.stack([g.edge_src, g.edge_dst, g.edge_query], axis=1).astype(np.int64)
        nodes = np.stack([g.node_query, g.node_token], axis=1).astype(np.int64)
        return cls(g.K, edges, nodes, g.node_scc.astype(np.int64))

    def node_index(self, k: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Row of ``nodes`` for each ``(k, v)`` (the pairs must be nodes)."""
        code = self.nodes[:, 0] * self.K + self.nodes[:, 1]
        return np.searchsorted(code, np.asarray(k, np.int64) * self.K + np.asarray(v, np.int64))

    def scc_of(self, k: np.ndarray, v: np.ndarray) -> np.ndarray:
        return self.scc[self.node_index(k, v)]

    @cached_property
    def edge_scc(self) -> tuple[np.ndarray, np.ndarray]:
        """SCC ids of the two ends of every edge."""
        i, j, k = self.edges.T
        return self.scc_of(k, i), self.scc_of(k, j)

    @cached_property
    def cyclic(self) -> np.ndarray:
        """Boolean per edge: both ends in one SCC."""
        a, b = self.edge_scc
        return a == b

    @cached_property
    def scc_sizes(self) -> np.ndarray:
        """Number of tokens in each SCC id."""
        return np.bincount(self.scc, minlength=int(self.scc.max(initial=-1)) + 1)

    @property
    def queries(self) -> np.ndarray:
        return np.unique(self.nodes[:, 0])

    def summary(self) -> dict[str, int]:
        sizes = self.scc_sizes
        return {
            "edges": len(self.edges),
            "cyclic_edges": int(self.cyclic.sum()),
            "acyclic_edges": int((~self.cyclic).sum()),
            "sccs": len(sizes),
            "largest_scc": int(sizes.max(initial=0)),
        }
