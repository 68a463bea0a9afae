"""Fact F4 (geometry and KKT conditions of the Graph-SVM), THEORY.md section 4.

Statement.  With ``A_e = (e_i - e_j) e_k^T`` for an edge ``e = (i -> j)`` of ``G^(k)``:

* ``W_svm ⊥ S_fin`` and ``W_svm ∈ S_all``;
* KKT: ``2 W_svm = sum_{e acyclic} λ_e A_e + N`` with ``N ∈ S_fin`` (the multipliers
  of the cyclic equalities), ``λ_e >= 0``, and complementary slackness
  ``λ_e (<A_e, W_svm> - 1) = 0``; hence also ``sum λ_e = 2 ||W_svm||^2``.

The solver returns multipliers for one representative edge per arc of the transitive
reduction of each condensation (the other acyclic constraints are implied); zero
multipliers on the rest complete a KKT point of the full program, so the check below
uses only the returned edges, after confirming that they are edges of the graphs.

Assumptions as strategies: full-rank datasets from both generator routes.
Negative controls: ``W_svm`` plus an ``S_fin`` component, ``1.05 W_svm`` (wrong
weights) and a multiplier with its sign flipped must each fail :func:`kkt_holds`.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import event, example, given

from ntp_mechanics.kernel.fact_support import (
    decided,
    fact_datasets,
    graph_datasets,
    vocab_sizes,
)
from ntp_mechanics.kernel.gallery import CHAIN, STRONGLY_CONNECTED, TWO_CYCLE
from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.tpg import Edge, TokenPriorityGraphs
from ntp_mechanics.solvers.graph_svm import graph_svm
from ntp_mechanics.solvers.subspaces import Subspace

CLAIM = dict(
    id="F4",
    kind="fact",
    section="4",
    statement=('W_svm orthogonal to S_fin, W_svm in S_all, KKT with lambda >= 0 '
               'on acyclic edges'),
)

pytestmark = pytest.mark.fact

TOL = 1e-5


def kkt_holds(
    ds: Dataset, W: np.ndarray, edges: tuple[Edge, ...], lam: np.ndarray, tol: float = TOL
) -> bool:
    """F4's conclusions for a claimed (W, multipliers), computed from scratch."""
    tpg = TokenPriorityGraphs.from_dataset(ds)
    E = ds.E
    if not set(edges) <= set(tpg.acyclic_edges()):
        return False
    S_fin, S_all = Subspace.cyclic(E, tpg), Subspace.all_edges(E, tpg)
    scale = max(1.0, float(np.linalg.norm(W)))
    if np.linalg.norm(S_fin.project(W)) > tol * scale:  # W ⊥ S_fin
        return False
    if np.linalg.norm(W - S_all.project(W)) > tol * scale:  # W ∈ S_all
        return False
    for i, j, k in tpg.edges():  # primal feasibility on every edge
        m = float((E[i] - E[j]) @ W @ E[k])
        if (abs(m) if tpg[k].same(i, j) else 1 - m) > tol:
            return False
    if len(lam) and lam.min() < -tol:  # dual feasibility
        return False
    margins = np.array([(E[i] - E[j]) @ W @ E[k] for i, j, k in edges])
    if len(lam) and np.max(np.abs(lam * (margins - 1))) > tol * max(1.0, lam.max()):
        return False
    Lam = np.zeros_like(W)
    for lam_e, (i, j, k) in zip(lam, edges, strict=True):
        Lam += lam_e * np.outer(E[i] - E[j], E[k])
    resid = 2 * W - Lam  # stationarity: the rest must be absorbed by S_fin
    if np.linalg.norm(resid - S_fin.project(resid)) > tol * max(1.0, 2 * np.linalg.norm(W)):
        return False
    return abs(float(lam.sum()) - 2 * float(np.sum(W * W))) <= tol * scale**2


@given(ds=fact_datasets(K=vocab_sizes()))
@example(ds=CHAIN)
@example(ds=TWO_CYCLE)
@example(ds=STRONGLY_CONNECTED)
def test_orthogonality_span_and_kkt(ds: Dataset) -> None:
    sol = decided(graph_svm, ds)
    event(f"{len(sol.constraints)} reduced constraints" if len(sol.constraints) < 4 else "4+")
    assert kkt_holds(ds, sol.W, sol.constraints, sol.duals)


@given(ds=graph_datasets(K=vocab_sizes(), min_acyclic_edges=1, min_cyclic_edges=1))
@example(ds=TWO_CYCLE)
def test_negative_control(ds: Dataset) -> None:
    sol = decided(graph_svm, ds)
    W, edges, lam = sol.W, sol.constraints, sol.duals
    assert kkt_holds(ds, W, edges, lam)
    S_fin = Subspace.cyclic(ds.E, TokenPriorityGraphs.from_dataset(ds))
    assert not kkt_holds(ds, W + 0.1 * S_fin.basis[0], edges, lam)  # leaves S_fin^⊥
    assert not kkt_holds(ds, 1.05 * W, edges, lam)  # active margins 1.05: slackness broken
    flipped = lam.copy()
    flipped[int(np.argmax(lam))] *= -1  # sum(lam) = 2||W||^2 > 0, so the max is > 0
    assert not kkt_holds(ds, W, edges, flipped)
