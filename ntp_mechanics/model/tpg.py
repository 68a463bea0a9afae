"""Token-priority graphs (TPG), THEORY.md section 2.

For each query token ``k`` the graph ``G^(k)`` on ``[K]`` has an edge ``y_i -> x_it``
for every sample with query ``k`` and every position holding a token other than the
label.  Priority is reachability: ``i ≍_k j`` when i and j share a strongly connected
component (SCC), ``i ⇒_k j`` when j is reachable from i but not i from j.  An edge is
*cyclic* when both ends share an SCC, *acyclic* otherwise.

Source: Li, Huang, Ildiz, Rawat, Oymak, *Mechanics of Next Token Prediction with
Self-Attention*, AISTATS 2024, its definition of the token-priority graph.

Example
-------
>>> from ntp_mechanics.model.dataset import Dataset
>>> ds = Dataset.from_arrays([[1, 0, 0], [0, 1, 0], [0, 0, 1]],
...                          [((0, 1, 2), 0), ((1, 0, 2), 1)])
>>> tpg = TokenPriorityGraphs.from_dataset(ds)
>>> tpg[2].sccs
((0, 1), (2,))
>>> tpg[2].higher(0, 2), tpg[2].same(0, 1)
(True, True)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property

import networkx as nx

from ntp_mechanics.model.dataset import Dataset, Sample

__all__ = ["Edge", "PriorityGraph", "TokenPriorityGraphs", "graph_edges", "reduced_samples"]

Edge = tuple[int, int, int]
"""``(i, j, k)``: the edge ``i -> j`` of ``G^(k)``."""


@dataclass(frozen=True)
class PriorityGraph:
    """``G^(k)`` for one query token ``k`` with its SCC structure."""

    query: int
    graph: nx.DiGraph

    @cached_property
    def condensation(self) -> nx.DiGraph:
        return nx.condensation(self.graph)

    @cached_property
    def scc_of(self) -> dict[int, int]:
        """Token -> index of its SCC (a node of :attr:`condensation`)."""
        return dict(self.condensation.graph["mapping"])

    @cached_property
    def sccs(self) -> tuple[tuple[int, ...], ...]:
        """SCCs of the tokens that occur in ``G^(k)``, highest priority first.

        Ordered by a topological sort of the condensation, ties broken by smallest token,
        so the order is deterministic; each SCC lists its tokens ascending.
        """
        C = self.condensation
        order = nx.lexicographical_topological_sort(C, key=lambda c: min(C.nodes[c]["members"]))
        return tuple(tuple(sorted(C.nodes[c]["members"])) for c in order)

    def same(self, i: int, j: int) -> bool:
        """``i ≍_k j``."""
        return self.scc_of[i] == self.scc_of[j]

    def reaches(self, i: int, j: int) -> bool:
        return i == j or nx.has_path(self.graph, i, j)

    def higher(self, i: int, j: int) -> bool:
        """``i ⇒_k j``: j reachable from i, i not reachable from j."""
        return self.reaches(i, j) and not self.reaches(j, i)

    def is_cyclic(self, i: int, j: int) -> bool:
        return self.same(i, j)

    @cached_property
    def cyclic_edges(self) -> tuple[tuple[int, int], ...]:
        return tuple(sorted((i, j) for i, j in self.graph.edges if self.same(i, j)))

    @cached_property
    def acyclic_edges(self) -> tuple[tuple[int, int], ...]:
        return tuple(sorted((i, j) for i, j in self.graph.edges if not self.same(i, j)))

    @cached_property
    def levels(self) -> dict[int, int]:
        """Longest-path level of each SCC in the condensation DAG, sinks at 0 (fact F1)."""
        C = self.condensation
        level: dict[int, int] = {}
        for c in reversed(list(nx.topological_sort(C))):
            level[c] = max((level[s] + 1 for s in C.successors(c)), default=0)
        return level

    def dominating(self, tokens: set[int] | frozenset[int]) -> tuple[int, ...]:
        """Tokens of ``tokens`` that reach every other member (claim C's condition)."""
        return tuple(sorted(t for t in tokens if all(self.reaches(t, u) for u in tokens)))


def graph_edges(samples: tuple[Sample, ...] | list[Sample]) -> dict[int, set[tuple[int, int]]]:
    """Edge sets ``{k: {(y, x), ...}}`` of the token-priority graphs of ``samples``."""
    edges: dict[int, set[tuple[int, int]]] = {}
    for s in samples:
        es = edges.setdefault(s.query, set())
        es.update((s.label, x) for x in s.tokens if x != s.label)
    return edges


@dataclass(frozen=True)
class TokenPriorityGraphs(Mapping[int, PriorityGraph]):
    """All ``G^(k)`` of a dataset, keyed by query token (a read-only mapping)."""

    graphs: dict[int, PriorityGraph]

    @classmethod
    def from_dataset(cls, ds: Dataset) -> TokenPriorityGraphs:
        return cls.from_samples(ds.samples)

    @classmethod
    def from_samples(cls, samples: tuple[Sample, ...] | list[Sample]) -> TokenPriorityGraphs:
        graphs = {}
        for k, es in graph_edges(samples).items():
            g = nx.DiGraph()
            g.add_node(k)
            g.add_nodes_from(s.label for s in samples if s.query == k)
            g.add_edges_from(es)
            graphs[k] = PriorityGraph(k, g)
        return cls(dict(sorted(graphs.items())))

    def __getitem__(self, k: int) -> PriorityGraph:
        return self.graphs[k]

    def __iter__(self) -> Iterator[int]:
        return iter(self.graphs)

    def __len__(self) -> int:
        return len(self.graphs)

    def __hash__(self) -> int:
        return hash(tuple((k, frozenset(g.graph.edges)) for k, g in self.graphs.items()))

    def edges(self) -> list[Edge]:
        """Every (deduplicated) edge ``(i, j, k)``, sorted."""
        return sorted((i, j, k) for k, g in self.graphs.items() for i, j in g.graph.edges)

    def cyclic_edges(self) -> list[Edge]:
        return [(i, j, k) for k, g in self.graphs.items() for i, j in g.cyclic_edges]

    def acyclic_edges(self) -> list[Edge]:
        return [(i, j, k) for k, g in self.graphs.items() for i, j in g.acyclic_edges]

    @property
    def has_acyclic_edge(self) -> bool:
        return any(g.acyclic_edges for g in self.graphs.values())

    @property
    def has_cyclic_edge(self) -> bool:
        return any(g.cyclic_edges for g in self.graphs.values())

    def edge_sets(self) -> dict[int, frozenset[tuple[int, int]]]:
        return {k: frozenset(g.graph.edges) for k, g in self.graphs.items()}


def reduced_samples(
    ds: Dataset, tpg: TokenPriorityGraphs | None = None
) -> list[tuple[int, Sample]]:
    """The reduced dataset: ``(query, reduced sample)``, one pair per sample of ``ds``.

    A reduced sample keeps the positions whose token lies in the SCC of its label in
    ``G^(k_i)``.  The query position survives only if the query shares that SCC, so
    the query is returned beside the sample rather than read from its last token.
    """
    tpg = tpg or TokenPriorityGraphs.from_dataset(ds)
    out = []
    for s in ds.samples:
        g = tpg[s.query]
        keep = tuple(t for t in s.tokens if g.same(t, s.label))
        out.append((s.query, Sample(keep, s.label)))
    return out
