"""Fact F1 (feasibility of the Graph-SVM), THEORY.md section 4.

Statement.  Let the rows of ``E`` be linearly independent (``K <= d``).  Then

    min ||W||_F  s.t.  (e_i - e_j)^T W e_k = 0   for cyclic edges i -> j of G^(k),
                       (e_i - e_j)^T W e_k >= 1  for acyclic edges,

is feasible: give the SCC ``C`` of ``G^(k)`` its longest-path level ``lvl_k(C)`` in the
condensation DAG (sinks at 0) and solve ``E W E^T = Z`` with
``Z[v, k] = lvl_k(scc_k(v))``; an acyclic edge drops at least one level, a cyclic one
none.  The minimiser ``W_svm`` is unique (strictly convex objective).  With ``K > d``
the program may be infeasible: then there is no direction, and the tool must raise
:class:`InfeasibleError` with a one-line message naming the cause.

Assumptions as strategies: :func:`ntp_mechanics.kernel.fact_support.fact_datasets` (full-rank
embeddings, both generator routes); :func:`ntp_mechanics.kernel.fact_support.overcomplete_datasets`
for ``K > d``.  Conclusions: the assertions.  Negative controls: the level point with
reversed levels, and the level point at half scale, violate the constraints (the same
:func:`feasible` check must say so).
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
from hypothesis import event, example, given, reject

from ntp_mechanics.kernel.fact_support import (
    decided,
    fact_datasets,
    graph_datasets,
    level_point,
    overcomplete_datasets,
    vocab_sizes,
)
from ntp_mechanics.kernel.gallery import CHAIN, STRONGLY_CONNECTED, TWO_CYCLE
from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.errors import InfeasibleError
from ntp_mechanics.model.tpg import TokenPriorityGraphs
from ntp_mechanics.solvers.graph_svm import graph_svm
from ntp_mechanics.solvers.reference import naive_graph_svm

CLAIM = dict(
    id="F1",
    kind="fact",
    section="4",
    statement=('Graph-SVM feasible (and unique) for linearly independent E; may '
               'be infeasible for K > d'),
)

pytestmark = pytest.mark.fact

TOL = 1e-7

# K = 3 > d = 1.  G^(2) orders 0 > 1 > 2: (e0 - e1) w e2 >= 1 and (e1 - e2) w e2 >= 1,
# and e0 - e1 = 0.5, e1 - e2 = -0.25 have opposite signs: no scalar w exists.
INFEASIBLE_ONE_QUERY = Dataset.from_arrays([[1.0], [0.5], [0.75]], [((0, 1, 2), 0), ((1, 2), 1)])
# Each query alone is feasible, together not: G^(2) needs w >= 8, G^(1) needs w <= -8.
INFEASIBLE_ACROSS = Dataset.from_arrays([[1.0], [0.5], [0.25]], [((0, 1, 2), 0), ((0, 1), 1)])


def feasible(ds: Dataset, W: np.ndarray, tol: float = TOL) -> bool:
    """Does W meet every Graph-SVM constraint of ``ds`` (to ``tol``)?"""
    tpg = TokenPriorityGraphs.from_dataset(ds)
    E = ds.E
    for i, j, k in tpg.edges():
        m = float((E[i] - E[j]) @ W @ E[k])
        if tpg[k].same(i, j) and abs(m) > tol * max(1.0, float(np.abs(W).max())):
            return False
        if not tpg[k].same(i, j) and m < 1 - tol:
            return False
    return True


@given(ds=fact_datasets(K=vocab_sizes()))
@example(ds=CHAIN)
@example(ds=TWO_CYCLE)
@example(ds=STRONGLY_CONNECTED)
def test_level_point_feasible_and_svm_no_larger(ds: Dataset) -> None:
    tpg = TokenPriorityGraphs.from_dataset(ds)
    event("acyclic edge" if tpg.has_acyclic_edge else "no acyclic edge")
    W_lvl = level_point(ds, tpg)
    assert feasible(ds, W_lvl)
    sol = decided(graph_svm, ds, tpg)  # InfeasibleError here would contradict F1
    assert feasible(ds, sol.W, tol=1e-6)
    assert np.linalg.norm(sol.W) <= np.linalg.norm(W_lvl) * (1 + 1e-6) + 1e-9


@given(ds=fact_datasets(K=vocab_sizes()))
@example(ds=CHAIN)
@example(ds=TWO_CYCLE)
def test_minimiser_unique_across_formulations(ds: Dataset) -> None:
    # Two independent formulations (score space vs naive W-space with every duplicate
    # edge) must land on the same point: the minimiser is unique.
    W = decided(graph_svm, ds).W
    try:
        W_ref = naive_graph_svm(ds, solver=cp.CLARABEL)
    except RuntimeError:
        event("naive solver not optimal (rejected)")
        reject()
    assert np.linalg.norm(W - W_ref) <= 1e-4 * max(1.0, float(np.linalg.norm(W_ref)))


@given(ds=graph_datasets(K=vocab_sizes(), min_acyclic_edges=1))
@example(ds=CHAIN)
@example(ds=TWO_CYCLE)
def test_negative_control_reversed_or_shrunk_levels_infeasible(ds: Dataset) -> None:
    W_lvl = level_point(ds)
    assert feasible(ds, W_lvl)
    # Reversed edges: every acyclic margin becomes <= -1.
    assert not feasible(ds, -W_lvl)
    # Wrong weights: a level-L SCC always has an edge to level L-1, margin exactly 1.
    assert not feasible(ds, 0.5 * W_lvl)


@given(ds=overcomplete_datasets())
@example(ds=INFEASIBLE_ONE_QUERY)
@example(ds=INFEASIBLE_ACROSS)
def test_overcomplete_feasible_or_infeasible_said_plainly(ds: Dataset) -> None:
    try:
        sol = decided(graph_svm, ds)
    except InfeasibleError as exc:
        event("infeasible")
        msg = str(exc)
        assert "\n" not in msg and "infeasible" in msg
        assert f"K={ds.K}" in msg and f"d={ds.d}" in msg
        # Independent confirmation: the naive W-space program is infeasible too.
        with pytest.raises(RuntimeError, match="infeasible"):
            naive_graph_svm(ds, solver=cp.CLARABEL)
        return
    event("feasible")
    assert feasible(ds, sol.W, tol=1e-6)


def test_infeasible_messages_name_the_cause() -> None:
    with pytest.raises(InfeasibleError, match="query token 2"):
        graph_svm(INFEASIBLE_ONE_QUERY)
    with pytest.raises(InfeasibleError, match="all query tokens at once"):
        graph_svm(INFEASIBLE_ACROSS)
    for alone in ([((0, 1, 2), 0)], [((0, 1), 1)]):  # each query alone is feasible
        ds = Dataset.from_arrays(INFEASIBLE_ACROSS.E, alone)
        assert feasible(ds, graph_svm(ds).W, tol=1e-6)
