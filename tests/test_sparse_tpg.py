"""The vectorised token-priority graphs against the networkx ones they replace at scale:
same edges, same SCCs, same cyclic/acyclic split, same levels, on random datasets."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.sparse_tpg import SparsePriorityGraphs, _longest_path_to_sink
from ntp_mechanics.model.tpg import TokenPriorityGraphs


@st.composite
def small_datasets(draw: st.DrawFn) -> Dataset:
    K = draw(st.integers(1, 7))
    n = draw(st.integers(1, 12))
    pairs = []
    for _ in range(n):
        toks = draw(st.lists(st.integers(0, K - 1), min_size=1, max_size=6))
        pairs.append((toks, draw(st.sampled_from(toks))))
    counts = draw(st.lists(st.integers(1, 3), min_size=n, max_size=n))
    return Dataset.from_arrays(np.eye(K), pairs, counts=counts)


@settings(max_examples=150, deadline=None)
@given(small_datasets())
def test_sparse_graphs_equal_the_networkx_graphs(ds: Dataset) -> None:
    ref = TokenPriorityGraphs.from_dataset(ds)
    g = SparsePriorityGraphs.from_dataset(ds)
    assert g.edges() == ref.edges()
    assert sorted(g.cyclic_edges()) == sorted(ref.cyclic_edges())
    assert sorted(g.acyclic_edges()) == sorted(ref.acyclic_edges())
    assert g.queries == tuple(ref)
    for k, pg in ref.items():
        assert g.sccs(k) == tuple(sorted(pg.sccs))
        level = {v: pg.levels[pg.scc_of[v]] for v in pg.graph.nodes}
        assert g.levels(k) == level
        assert g.depths()[k] == max(pg.levels.values())
    sizes = sorted(len(c) for pg in ref.values() for c in pg.sccs)
    assert sorted(g.scc_sizes.tolist()) == sizes
    assert g.n_cyclic + g.n_acyclic == g.n_edges == len(ref.edges())


def test_cycle_and_chain_control() -> None:
    """A known graph: query 3, a 2-cycle {0, 1} above 2 above the query."""
    ds = Dataset.from_arrays(np.eye(4), [((0, 1, 3), 0), ((1, 0, 3), 1), ((0, 2, 3), 0),
                                         ((2, 3), 2)])
    g = SparsePriorityGraphs.from_dataset(ds)
    assert g.sccs(3) == ((0, 1), (2,), (3,))
    assert g.n_cyclic == 2 and g.n_acyclic == 4
    assert g.levels(3) == {0: 2, 1: 2, 2: 1, 3: 0}
    assert g.summary()["largest_scc"] == 2 and g.depths() == {3: 2}


def test_longest_path_on_a_diamond_with_a_long_arm() -> None:
    # 0 -> 1 -> 3, 0 -> 2 -> 4 -> 3: level of 0 is 3 (the longer arm), not 2
    level = _longest_path_to_sink(5, np.array([0, 1, 0, 2, 4]), np.array([1, 3, 2, 4, 3]))
    assert level.tolist() == [3, 1, 2, 0, 1]
