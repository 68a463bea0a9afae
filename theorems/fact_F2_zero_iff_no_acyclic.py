"""Fact F2 (the trivial direction), THEORY.md section 4.

Statement.  ``W_svm = 0`` iff no ``G^(k)`` has an acyclic edge.

(<=) With only cyclic edges, every constraint is an equality ``= 0`` and ``W = 0`` is
feasible with norm 0.  (=>) An acyclic edge i -> j of ``G^(k)`` forces
``1 <= (e_i - e_j)^T W e_k <= ||e_i - e_j|| ||W||_2 ||e_k||``, so
``||W_svm||_F >= 1 / max(||e_i - e_j|| ||e_k||) > 0``: a quantitative lower bound.

Assumptions as strategies: full-rank datasets from both generator routes, plus
graph-first datasets whose graphs are all strongly connected (the ``<=`` side, rare
among random sequences).  Negative controls: the zero matrix on a graph with an
acyclic edge, and a non-zero ``W_svm`` of another dataset on a strongly connected one,
must both be rejected by :func:`f2_consistent`.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from ntp_mechanics.kernel.fact_support import (
    decided,
    fact_datasets,
    graph_datasets,
    vocab_sizes,
)
from ntp_mechanics.kernel.gallery import CHAIN, STRONGLY_CONNECTED, TWO_CYCLE
from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.tpg import TokenPriorityGraphs
from ntp_mechanics.solvers.graph_svm import graph_svm

CLAIM = dict(
    id="F2",
    kind="fact",
    section="4",
    statement='W_svm = 0 iff no graph has an acyclic edge',
)

pytestmark = pytest.mark.fact


def norm_lower_bound(ds: Dataset, tpg: TokenPriorityGraphs) -> float:
    """``1 / max ||e_i - e_j|| ||e_k||`` over acyclic edges (0 if there is none)."""
    E = ds.E
    worst = max(
        (np.linalg.norm(E[i] - E[j]) * np.linalg.norm(E[k]) for i, j, k in tpg.acyclic_edges()),
        default=0.0,
    )
    return 1.0 / worst if worst > 0 else 0.0


def f2_consistent(ds: Dataset, W: np.ndarray) -> bool:
    """F2's dichotomy for a claimed ``W_svm``: exactly zero without acyclic edges,
    at least the margin bound with them."""
    tpg = TokenPriorityGraphs.from_dataset(ds)
    if not tpg.has_acyclic_edge:
        return not np.any(W)
    return float(np.linalg.norm(W)) >= norm_lower_bound(ds, tpg) * (1 - 1e-6)


@given(
    ds=st.one_of(
        fact_datasets(K=vocab_sizes()), graph_datasets(K=vocab_sizes(), strongly_connected=True)
    )
)
@example(ds=CHAIN)
@example(ds=TWO_CYCLE)
@example(ds=STRONGLY_CONNECTED)
def test_zero_iff_no_acyclic_edge(ds: Dataset) -> None:
    tpg = TokenPriorityGraphs.from_dataset(ds)
    event("acyclic edge" if tpg.has_acyclic_edge else "no acyclic edge")
    W = decided(graph_svm, ds, tpg).W
    assert f2_consistent(ds, W)
    assert bool(np.any(W)) == tpg.has_acyclic_edge


@given(
    ds=graph_datasets(K=vocab_sizes(), strongly_connected=True),
    other=graph_datasets(K=vocab_sizes(), min_acyclic_edges=1),
)
@example(ds=STRONGLY_CONNECTED, other=CHAIN)
def test_negative_control(ds: Dataset, other: Dataset) -> None:
    # The zero matrix claimed for a graph with an acyclic edge...
    assert not f2_consistent(other, np.zeros((other.d, other.d)))
    # ...and a non-zero matrix claimed for a strongly connected one are both rejected.
    W_other = decided(graph_svm, other).W
    W_bad = np.zeros((ds.d, ds.d))
    m = min(ds.d, other.d)
    W_bad[:m, :m] = W_other[:m, :m]
    W_bad[0, 0] = abs(W_bad[0, 0]) + 1.0  # guarantee non-zero after truncation
    assert not f2_consistent(ds, W_bad)
    assert f2_consistent(ds, decided(graph_svm, ds).W)
