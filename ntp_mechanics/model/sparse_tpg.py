"""Token-priority graphs at corpus scale: all ``G^(k)`` as sparse arrays.

The same graphs as :mod:`ntp_mechanics.model.tpg` (THEORY.md section 2): for each query
``k``, an edge ``y_i -> x_it`` for every sample with query ``k`` and every position
holding a token other than the label; the nodes of ``G^(k)`` are ``k``, the labels of
its samples and the ends of its edges.  Here they are built from the dataset's arrays
without a Python object per sample or edge, so a million windows and a million distinct
edges fit in seconds and in memory proportional to the distinct edges:

* every graph is a block of one block-diagonal sparse graph whose nodes are the pairs
  ``(k, v)``; its strongly connected components (scipy's ``connected_components`` with
  ``connection='strong'``) never cross blocks, so one call gives every SCC of every
  ``G^(k)``;
* an edge is *cyclic* when both ends share an SCC, *acyclic* otherwise;
* the *level* of an SCC is the longest path from it to a sink of the condensation DAG
  (sinks at 0, as :attr:`PriorityGraph.levels`), and the *priority depth* of a query is
  the largest level of its graph.

Example
-------
>>> from ntp_mechanics.model.dataset import Dataset
>>> ds = Dataset.from_arrays(np.eye(3), [((0, 1, 2), 0), ((1, 0, 2), 1)])
>>> g = SparsePriorityGraphs.from_dataset(ds)
>>> g.n_edges, g.n_cyclic, g.n_acyclic, g.depths()
(4, 2, 2, {2: 1})
>>> g.sccs(2)
((0, 1), (2,))
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ntp_mechanics.model.dataset import Dataset

__all__ = ["SparsePriorityGraphs"]

_CHUNK = 1 << 16  # samples per chunk: bounds the (samples x T) temporaries


@dataclass(frozen=True, eq=False)
class SparsePriorityGraphs:
    """All ``G^(k)`` of a dataset as arrays (edges sorted by ``(k, i, j)``).

    ``edge_query``, ``edge_src``, ``edge_dst``: the distinct edges ``i -> j`` of ``G^(k)``;
    ``node_query``, ``node_token``: the nodes ``(k, v)`` sorted; ``node_scc``: a global
    SCC id per node; ``edge_src_node``, ``edge_dst_node``: edge ends as node indices.
    """

    K: int
    edge_query: np.ndarray
    edge_src: np.ndarray
    edge_dst: np.ndarray
    node_query: np.ndarray
    node_token: np.ndarray
    edge_src_node: np.ndarray
    edge_dst_node: np.ndarray
    node_scc: np.ndarray

    @classmethod
    def from_dataset(cls, ds: Dataset) -> SparsePriorityGraphs:
        K = ds.K
        keys = [_edge_keys(ds, lo, min(lo + _CHUNK, ds.n)) for lo in range(0, ds.n, _CHUNK)]
        edges = np.unique(np.concatenate(keys)) if keys else np.zeros(0, np.int64)
        eq, rest = np.divmod(edges, K * K)
        es, ed = np.divmod(rest, K)
        # nodes (k, v): the query itself, the labels of its samples, and every edge end
        q = ds.query_tokens
        node_keys = np.unique(np.concatenate([q * K + q, q * K + ds.labels, eq * K + ed]))
        nq, nt = np.divmod(node_keys, K)
        src = np.searchsorted(node_keys, eq * K + es)
        dst = np.searchsorted(node_keys, eq * K + ed)
        m = node_keys.size
        adj = coo_matrix((np.ones(src.size, np.int8), (src, dst)), shape=(m, m)).tocsr()
        _, scc = connected_components(adj, directed=True, connection="strong")
        return cls(K, eq, es, ed, nq, nt, src, dst, scc.astype(np.int64))

    # -- counts ----------------------------------------------------------------------
    @property
    def n_edges(self) -> int:
        return int(self.edge_query.size)

    @cached_property
    def edge_cyclic(self) -> np.ndarray:
        """Per edge: True when both ends share an SCC of its graph."""
        return self.node_scc[self.edge_src_node] == self.node_scc[self.edge_dst_node]

    @property
    def n_cyclic(self) -> int:
        return int(self.edge_cyclic.sum())

    @property
    def n_acyclic(self) -> int:
        return self.n_edges - self.n_cyclic

    @property
    def queries(self) -> tuple[int, ...]:
        return tuple(np.unique(self.node_query).tolist())

    @cached_property
    def scc_sizes(self) -> np.ndarray:
        """Size of every SCC of every graph (singletons included), by global SCC id."""
        return np.bincount(self.node_scc)

    def scc_size_histogram(self) -> dict[int, int]:
        """``{size: number of SCCs of that size}`` over all graphs."""
        sizes, counts = np.unique(self.scc_sizes, return_counts=True)
        return dict(zip(sizes.tolist(), counts.tolist(), strict=True))

    # -- structure -------------------------------------------------------------------
    def edges(self) -> list[tuple[int, int, int]]:
        """Every edge ``(i, j, k)``, sorted (as :meth:`TokenPriorityGraphs.edges`)."""
        return sorted(zip(self.edge_src.tolist(), self.edge_dst.tolist(),
                          self.edge_query.tolist(), strict=True))

    def _edge_list(self, keep: np.ndarray) -> list[tuple[int, int, int]]:
        return list(zip(self.edge_src[keep].tolist(), self.edge_dst[keep].tolist(),
                        self.edge_query[keep].tolist(), strict=True))

    def cyclic_edges(self) -> list[tuple[int, int, int]]:
        return self._edge_list(self.edge_cyclic)

    def acyclic_edges(self) -> list[tuple[int, int, int]]:
        return self._edge_list(~self.edge_cyclic)

    def sccs(self, k: int) -> tuple[tuple[int, ...], ...]:
        """The SCCs of ``G^(k)``, each ascending, ordered by smallest token."""
        lo, hi = np.searchsorted(self.node_query, [k, k + 1])
        groups: dict[int, list[int]] = {}
        for c, v in zip(self.node_scc[lo:hi].tolist(), self.node_token[lo:hi].tolist(),
                        strict=True):
            groups.setdefault(c, []).append(v)
        return tuple(sorted(tuple(sorted(g)) for g in groups.values()))

    @cached_property
    def scc_level(self) -> np.ndarray:
        """Longest path from each SCC to a sink of its condensation DAG (sinks at 0)."""
        n_scc = int(self.scc_sizes.size)
        a = self.node_scc[self.edge_src_node]
        b = self.node_scc[self.edge_dst_node]
        cross = np.unique(a[a != b] * n_scc + b[a != b])
        ca, cb = np.divmod(cross, n_scc)
        return _longest_path_to_sink(n_scc, ca, cb)

    def depths(self) -> dict[int, int]:
        """Priority depth of each query: the largest SCC level of ``G^(k)``."""
        lv = self.scc_level[self.node_scc]
        out = np.zeros(self.K, dtype=np.int64)
        np.maximum.at(out, self.node_query, lv)
        return {k: int(out[k]) for k in self.queries}

    def levels(self, k: int) -> dict[int, int]:
        """Token -> level of its SCC in ``G^(k)``."""
        lo, hi = np.searchsorted(self.node_query, [k, k + 1])
        lv = self.scc_level[self.node_scc[lo:hi]]
        return dict(zip(self.node_token[lo:hi].tolist(), lv.tolist(), strict=True))

    def summary(self) -> dict[str, Any]:
        """Counts for a report: edges, cyclic/acyclic, SCC sizes, depths."""
        depth = np.array(list(self.depths().values()), dtype=np.int64)
        return {
            "queries": len(self.queries),
            "edges": self.n_edges,
            "cyclic_edges": self.n_cyclic,
            "acyclic_edges": self.n_acyclic,
            "scc_sizes": {str(s): c for s, c in self.scc_size_histogram().items()},
            "largest_scc": int(self.scc_sizes.max()) if self.scc_sizes.size else 0,
            "priority_depth": {
                "max": int(depth.max()) if depth.size else 0,
                "mean": round(float(depth.mean()), 6) if depth.size else 0.0,
                "queries_by_depth": {str(v): int(c) for v, c in zip(
                    *np.unique(depth, return_counts=True), strict=True)}},
        }


def _edge_keys(ds: Dataset, lo: int, hi: int) -> np.ndarray:
    """Distinct edge keys ``(k K + i) K + j`` of samples ``lo:hi``."""
    K = ds.K
    ids = ds.token_matrix[lo:hi].astype(np.int64)
    y = ds.labels[lo:hi]
    T = ids.shape[1]
    real = np.arange(T)[None, :] >= (T - ds.lengths[lo:hi])[:, None]
    keep = real & (ids != y[:, None])
    base = (ids[:, -1] * K + y) * K
    return np.unique((base[:, None] + ids)[keep])


def _longest_path_to_sink(n: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Level of every node of a DAG: rounds of removing the nodes whose successors are
    all removed; a node's round is one more than its latest successor's."""
    level = np.zeros(n, dtype=np.int64)
    outdeg = np.bincount(src, minlength=n)
    # predecessors of each node, CSR by destination
    order = np.argsort(dst, kind="stable")
    pred = src[order]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(dst, minlength=n))])
    frontier = np.flatnonzero(outdeg == 0)
    done = frontier.size
    r = 0
    while frontier.size:
        level[frontier] = r
        starts, ends = indptr[frontier], indptr[frontier + 1]
        lens = ends - starts
        idx = np.repeat(starts - np.cumsum(lens) + lens, lens) + np.arange(lens.sum())
        p = pred[idx]
        np.subtract.at(outdeg, p, 1)
        frontier = np.unique(p[outdeg[p] == 0])
        done += frontier.size
        r += 1
    if done != n:  # a condensation is acyclic; anything else is a bug, not data
        raise RuntimeError("condensation is not acyclic")
    return level
