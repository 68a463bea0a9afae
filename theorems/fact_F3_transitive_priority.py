"""Fact F3 (priority is encoded transitively), THEORY.md section 4.

Statement.  For every query k and tokens i, j of ``G^(k)``:

* ``i ⇒_k j`` (j reachable from i, not i from j) implies
  ``(e_i - e_j)^T W_svm e_k >= 1``; more precisely, summing the edge margins along a
  path, it is at least the number of SCC changes on the longest path from ``scc(i)``
  to ``scc(j)`` in the condensation (each acyclic edge adds >= 1, cyclic ones 0);
* ``i ≍_k j`` (same SCC) implies ``(e_i - e_j)^T W_svm e_k = 0``.

Incomparable pairs are unconstrained.  Assumptions as strategies: full-rank datasets
(both routes) and graph-first datasets of depth >= 2, where transitivity says more
than the edges themselves.  Negative controls: ``-W_svm`` (every priority reversed),
``W_svm / 2`` (wrong weights) and ``W_svm + P`` with P breaking a tie inside an SCC
must each fail :func:`transitive_margins_hold`.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from ntp_mechanics.kernel.fact_support import (
    decided,
    eye_dataset,
    fact_datasets,
    graph_datasets,
    vocab_sizes,
)
from ntp_mechanics.kernel.gallery import CHAIN, STRONGLY_CONNECTED, TWO_CYCLE
from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.tpg import PriorityGraph, TokenPriorityGraphs
from ntp_mechanics.solvers.graph_svm import graph_svm
from ntp_mechanics.solvers.reference import longest_path_length

CLAIM = dict(
    id="F3",
    kind="fact",
    section="4",
    statement=('i =>_k j implies (e_i - e_j)^T W_svm e_k >= 1; i ~_k j implies = '
               '0'),
)

pytestmark = pytest.mark.fact

TOL = 1e-6
# Depth 3 under one query: 0 > 1 > 2 > 3 (3 is the query), margins 3, 2, 1 from 0.
LONG_CHAIN = eye_dataset(4, [((0, 1, 3), 0), ((1, 2, 3), 1), ((2, 3), 2)])


def longest_scc_path(g: PriorityGraph, i: int, j: int) -> int:
    """Edges on the longest path from scc(i) to scc(j) in the condensation (-1: none)."""
    return longest_path_length(g.condensation, g.scc_of[i], g.scc_of[j])


def transitive_margins_hold(ds: Dataset, W: np.ndarray, tol: float = TOL) -> bool:
    """F3's conclusion for a claimed W on every pair of every graph of ``ds``."""
    E = ds.E
    for k, g in TokenPriorityGraphs.from_dataset(ds).items():
        for i in g.graph.nodes:
            for j in g.graph.nodes:
                m = float((E[i] - E[j]) @ W @ E[k])
                if g.same(i, j) and abs(m) > tol:
                    return False
                if g.higher(i, j) and m < longest_scc_path(g, i, j) * (1 - tol):
                    return False
    return True


def n_strict_pairs(ds: Dataset) -> int:
    tpg = TokenPriorityGraphs.from_dataset(ds)
    return sum(g.higher(i, j) for g in tpg.values() for i in g.graph.nodes for j in g.graph.nodes)


@given(ds=st.one_of(fact_datasets(K=vocab_sizes()), graph_datasets(K=vocab_sizes(), min_depth=2)))
@example(ds=CHAIN)
@example(ds=TWO_CYCLE)
@example(ds=STRONGLY_CONNECTED)
@example(ds=LONG_CHAIN)
def test_transitive_margins(ds: Dataset) -> None:
    event(f"strict pairs: {min(n_strict_pairs(ds), 5)}{'+' if n_strict_pairs(ds) > 5 else ''}")
    W = decided(graph_svm, ds).W
    assert transitive_margins_hold(ds, W)


def test_long_chain_margins_add_up() -> None:
    W, E = graph_svm(LONG_CHAIN).W, LONG_CHAIN.E
    # 0 => 3 along 0 -> 1 -> 2 -> 3: margin >= 3 though no edge 0 -> 2 exists.
    assert (E[0] - E[3]) @ W @ E[3] >= 3 - TOL
    assert (E[0] - E[2]) @ W @ E[3] >= 2 - TOL


@given(ds=graph_datasets(K=vocab_sizes(), min_acyclic_edges=1, min_cyclic_edges=1))
@example(ds=TWO_CYCLE)
def test_negative_control(ds: Dataset) -> None:
    W = decided(graph_svm, ds).W
    assert transitive_margins_hold(ds, W)
    assert not transitive_margins_hold(ds, -W)  # reversed priorities
    assert not transitive_margins_hold(ds, 0.5 * W)  # wrong weights: an edge margin is 1
    # Break a tie: put score on one member of a cyclic edge of G^(k).
    i, j, k = TokenPriorityGraphs.from_dataset(ds).cyclic_edges()[0]
    E = ds.E
    d_ij = E[i] - E[j]
    P = np.outer(d_ij, E[k]) / (d_ij @ d_ij * (E[k] @ E[k]))  # (e_i - e_j)^T P e_k = 1
    assert not transitive_margins_hold(ds, W + 0.1 * P)
