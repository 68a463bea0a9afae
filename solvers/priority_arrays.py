"""Token-priority graphs as flat arrays, for datasets of 10^5-10^6 windows.

The same graphs as :class:`ntp_mechanics.model.tpg.TokenPriorityGraphs` (THEORY.md
section 2), built without a Python object per node or edge: every edge ``y_i -> x_it``
of ``G^(k_i)`` is encoded as one int64, deduplicated with :func:`numpy.unique`, and the
strongly connected components of *all* graphs come from one call to
:func:`scipy.sparse.csgraph.connected_components` on their disjoint union (the node
``(k, v)`` is token v in ``G^(k)``).  Memory is proportional to the distinct edges
plus one int64 per position of the dataset.

Example
-------
>>> import numpy as np
>>> ids = np.array([[0, 1, 2], [1, 0, 2]]); mask = np.ones_like(ids, bool)
>>> pa = PriorityArrays.from_arrays(ids, mask, np.array([0, 1]), K=3)
>>> pa.edges.tolist()  # (i, j, k): 0 -> 1, 0 -> 2, 1 -> 0, 1 -> 2 in G^(2)
[[0, 1, 2], [0, 2, 2], [1, 0, 2], [1, 2, 2]]
>>> pa.cyclic.tolist()
[True, False, True, False]
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from ntp_mechanics.model.dataset import Dataset

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
        ids, mask, label_mask = ds.padded()
        labels = ids[np.arange(len(ids)), np.argmax(label_mask, axis=1)]
        return cls.from_arrays(ids, mask, labels, ds.K)

    @classmethod
    def from_arrays(
        cls, ids: np.ndarray, mask: np.ndarray, labels: np.ndarray, K: int
    ) -> PriorityArrays:
        """From the padded layout: ``ids`` (n x T, query last), ``mask``, ``labels``."""
        K64 = np.int64(K)
        q = ids[:, -1].astype(np.int64)
        y = np.asarray(labels, dtype=np.int64)
        off = mask & (ids != y[:, None])
        head = np.broadcast_to((q * K64 + y)[:, None], ids.shape)[off]
        code = np.unique(head * K64 + ids[off])  # (k, i, j) in one int64, sorted
        edges = np.stack([(code // K64) % K64, code % K64, code // (K64 * K64)], axis=1)
        # nodes: the query itself, every label and every edge end, per query
        ends = edges[:, 2] * K64 + edges[:, 1]  # (k, j): the edge heads are labels already
        node_code = np.unique(np.concatenate([q * K64 + q, q * K64 + y, ends]))
        src = np.searchsorted(node_code, edges[:, 2] * K64 + edges[:, 0])
        dst = np.searchsorted(node_code, edges[:, 2] * K64 + edges[:, 1])
        p = len(node_code)
        A = sp.csr_matrix((np.ones(len(src), dtype=np.int8), (src, dst)), shape=(p, p))
        _, scc = connected_components(A, directed=True, connection="strong")
        nodes = np.stack([node_code // K64, node_code % K64], axis=1)
        return cls(K, edges, nodes, scc.astype(np.int64))

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
