"""Unit tests of :mod:`ntp_mechanics.model.tpg`: graphs, SCCs and priority relations.

The SCCs are checked against :func:`ntp_mechanics.solvers.reference.naive_sccs` (a Warshall
transitive closure written without networkx) on many random datasets of variable length.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import networkx as nx
import numpy as np
import pytest

from ntp_mechanics.model.dataset import Dataset, Sample
from ntp_mechanics.model.tpg import TokenPriorityGraphs, graph_edges, reduced_samples
from ntp_mechanics.solvers.reference import naive_edges, naive_sccs

SEEDS = range(60)


def _closure(ds: Dataset, k: int) -> np.ndarray:
    """Reachability matrix of G^(k) from the raw edge list (Warshall, independent)."""
    R = np.eye(ds.K, dtype=bool)
    for i, j, q in naive_edges(ds):
        if q == k:
            R[i, j] = True
    for m in range(ds.K):
        R |= R[:, [m]] & R[[m], :]
    return R


def test_edges_follow_the_definition(chain_ds: Dataset) -> None:
    tpg = TokenPriorityGraphs.from_dataset(chain_ds)
    assert list(tpg) == [2]
    assert tpg.edges() == [(0, 1, 2), (0, 2, 2), (1, 2, 2)]
    assert tpg[2].sccs == ((0,), (1,), (2,))
    assert tpg[2].higher(0, 2) and tpg[2].higher(0, 1) and not tpg[2].higher(2, 0)


def test_label_equal_to_query_adds_node_but_no_edge() -> None:
    ds = Dataset.from_arrays(np.eye(3), [((0, 0, 1), 1)])  # label = query: edge 1 -> 0 only
    tpg = TokenPriorityGraphs.from_dataset(ds)
    assert tpg.edges() == [(1, 0, 1)]
    ds1 = Dataset.from_arrays(np.eye(3), [((2,), 2)])  # single token: a graph with no edge
    g = TokenPriorityGraphs.from_dataset(ds1)[2]
    assert list(g.graph.nodes) == [2] and g.sccs == ((2,),)


def test_duplicate_edges_deduplicated() -> None:
    samples = [Sample((0, 1, 1, 2), 0), Sample((1, 0, 2), 0)]
    assert graph_edges(samples) == {2: {(0, 1), (0, 2)}}


def test_doc_example(two_cycle_ds: Dataset) -> None:
    g = TokenPriorityGraphs.from_dataset(two_cycle_ds)[2]
    assert g.sccs == ((0, 1), (2,))
    assert g.cyclic_edges == ((0, 1), (1, 0))
    assert g.acyclic_edges == ((0, 2), (1, 2))
    assert g.same(0, 1) and g.higher(1, 2) and not g.same(0, 2)


@pytest.mark.parametrize("seed", SEEDS)
def test_sccs_match_bruteforce_closure(seed: int, make_dataset: Callable[..., Dataset]) -> None:
    ds = make_dataset(seed, K=3 + seed % 5, n=2 + seed % 9, lengths=(1, 2 + seed % 6))
    tpg = TokenPriorityGraphs.from_dataset(ds)
    ref = naive_sccs(ds)
    assert set(tpg) == set(ref)
    for k, g in tpg.items():
        assert set(g.graph.nodes) == set(ref[k])
        assert {frozenset(c) for c in g.sccs} == set(ref[k].values())
        R = _closure(ds, k)
        for i, j in itertools.permutations(g.graph.nodes, 2):
            assert g.reaches(i, j) == R[i, j]
            assert g.same(i, j) == (R[i, j] and R[j, i])
            assert g.higher(i, j) == (R[i, j] and not R[j, i])


@pytest.mark.parametrize("seed", SEEDS[:30])
def test_scc_order_levels_and_edge_classes(seed: int, make_dataset: Callable[..., Dataset]) -> None:
    ds = make_dataset(seed, K=6, n=3 + seed % 6, lengths=(1, 5))
    tpg = TokenPriorityGraphs.from_dataset(ds)
    for k, g in tpg.items():
        pos = {v: r for r, c in enumerate(g.sccs) for v in c}
        # Highest priority first: no edge points from a later SCC back to an earlier one.
        for i, j in g.graph.edges:
            assert pos[i] <= pos[j]
            assert ((i, j) in g.cyclic_edges) == (pos[i] == pos[j])
            assert ((i, j) in g.acyclic_edges) == (pos[i] != pos[j])
        lvl = {v: g.levels[g.scc_of[v]] for v in g.graph.nodes}
        for i, j in g.acyclic_edges:
            assert lvl[i] >= lvl[j] + 1  # levels give every acyclic edge margin >= 1 (F1)
        # Longest path: each non-sink SCC sits exactly one above its highest successor.
        C = g.condensation
        for c in C.nodes:
            succ = [g.levels[s] for s in C.successors(c)]
            assert g.levels[c] == (max(succ) + 1 if succ else 0)
        assert sorted(e for e in tpg.edges() if e[2] == k) == sorted(
            [(i, j, k) for i, j in g.cyclic_edges + g.acyclic_edges]
        )


@pytest.mark.parametrize("seed", SEEDS[:20])
def test_reduced_samples_keep_the_label_scc(
    seed: int, make_dataset: Callable[..., Dataset]
) -> None:
    ds = make_dataset(seed, K=4, n=8, lengths=(1, 6))
    tpg = TokenPriorityGraphs.from_dataset(ds)
    ref = naive_sccs(ds)
    for s, (k, r) in zip(ds.samples, reduced_samples(ds, tpg), strict=True):
        assert k == s.query and r.label == s.label
        assert r.tokens == tuple(t for t in s.tokens if t in ref[k][s.label])
        assert r.multiplicity == s.multiplicity  # every label position survives


def test_edge_sets_ignore_order_and_multiplicity() -> None:
    a = Dataset.from_arrays(np.eye(4), [((0, 1, 2, 3), 1), ((2, 3), 2)])
    b = Dataset.from_arrays(np.eye(4), [((2, 3), 2), ((2, 0, 1, 3), 1), ((0, 1, 2, 3), 1)])
    ta, tb = TokenPriorityGraphs.from_dataset(a), TokenPriorityGraphs.from_dataset(b)
    assert ta.edge_sets() == tb.edge_sets() and hash(ta) == hash(tb)


def test_dominating_and_flags(two_cycle_ds: Dataset, strongly_connected_ds: Dataset) -> None:
    g = TokenPriorityGraphs.from_dataset(two_cycle_ds)[2]
    assert g.dominating({0, 1, 2}) == (0, 1)
    assert g.dominating({2}) == (2,)
    t = TokenPriorityGraphs.from_dataset(two_cycle_ds)
    assert t.has_acyclic_edge and t.has_cyclic_edge
    s = TokenPriorityGraphs.from_dataset(strongly_connected_ds)
    assert not s.has_acyclic_edge and s.has_cyclic_edge
    assert s[2].sccs == ((0, 1, 2),)


def test_condensation_is_a_dag_on_random_graphs(make_dataset: Callable[..., Dataset]) -> None:
    for seed in range(10):
        tpg = TokenPriorityGraphs.from_dataset(make_dataset(seed, K=6, n=10))
        for g in tpg.values():
            assert nx.is_directed_acyclic_graph(g.condensation)
            assert sorted(v for c in g.sccs for v in c) == sorted(g.graph.nodes)
