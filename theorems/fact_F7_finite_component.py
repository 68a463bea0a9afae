"""Fact F7 (the finite component and the infimum of the loss), THEORY.md section 4.

Statement.  Let ``L_fin`` be the log-loss of the reduced dataset (each sample keeps the
positions whose token lies in the SCC of its label in ``G^(k_i)``).

* ``W_fin = argmin_{W ∈ S_fin} L_fin(W)`` exists and is unique: ``L_fin`` is coercive
  and strictly convex on ``S_fin`` (along any non-zero direction of ``S_fin`` some
  sample's label is overtaken by a token of its own SCC), so its Hessian on ``S_fin``
  is positive definite and ``L_fin(W_fin + t D) -> ∞`` as ``t -> ∞``.
* ``inf_W L(W) = L* = L_fin(W_fin)``, approached along ``W_fin + t W_svm``
  (``t -> ∞``; ``L(W_fin + t W_svm)`` is convex in t and decreases to ``L*``).
* The infimum is attained iff no acyclic edge exists: then ``L = L_fin`` and
  ``∇L(W_fin) = 0``; otherwise ``<∇L(W), W_svm> < 0`` at every W, so no W is
  stationary and ``L(W) > L*`` everywhere.

Assumptions as strategies: full-rank datasets from both routes (cyclic SCCs forced
in the graph-first route for the curvature test).  Negative controls: the curvature
check on ``S_all`` instead of ``S_fin`` (``L_fin`` is flat along ``S_all ⊖ S_fin``),
and the approach check along the reversed direction ``W_fin - t W_svm`` or from a
perturbed ``W_fin``, must fail.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st
from scipy.special import logsumexp

from ntp_mechanics.kernel.fact_support import (
    decided,
    eye_dataset,
    fact_datasets,
    graph_datasets,
    vocab_sizes,
)
from ntp_mechanics.kernel.gallery import CHAIN, STRONGLY_CONNECTED, TWO_CYCLE
from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.tpg import TokenPriorityGraphs
from ntp_mechanics.solvers.finite import finite_component
from ntp_mechanics.solvers.graph_svm import graph_svm
from ntp_mechanics.solvers.loss import LogLoss
from ntp_mechanics.solvers.reference import naive_sccs
from ntp_mechanics.solvers.subspaces import Subspace

CLAIM = dict(
    id="F7",
    kind="fact",
    section="4",
    statement=('W_fin exists and is unique; inf L = L*, attained iff no acyclic '
               'edge'),
)

pytestmark = pytest.mark.fact

Loss = Callable[[np.ndarray], float]
TS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
APPROACH_TOL = 1e-6  # gap L(W_base + 32 W_svm) - L* allowed at the end of the ray
DOC = eye_dataset(2, [((0, 1), 0), ((0, 1, 1), 1)])  # L* = log(1 + 1/sqrt 2)
MIXED = eye_dataset(4, [((0, 1, 2, 3), 0), ((1, 0, 3), 1), ((2, 3), 2)])  # {0,1} > 2 > 3


def reduced_loss(ds: Dataset) -> Loss:
    """``L_fin`` from the definition (brute-force SCCs, explicit loops)."""
    scc = naive_sccs(ds)
    rows = []
    for s in ds.samples:
        keep = [t for t in s.tokens if t in scc[s.query][s.label]]
        rows.append((s.query, keep, np.array([t == s.label for t in keep])))
    E = ds.E

    def f(W: np.ndarray) -> float:
        total = 0.0
        for k, keep, lab in rows:
            a = E[keep] @ W @ E[k]
            total += logsumexp(a) - logsumexp(a[lab])
        return total / len(rows)

    return f


def fd_hessian(f: Loss, W: np.ndarray, basis: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of f at W in the coordinates of ``basis``."""
    m = len(basis)
    H = np.zeros((m, m))
    for a in range(m):
        for b in range(a, m):
            Bp, Bm = h * (basis[a] + basis[b]), h * (basis[a] - basis[b])
            H[a, b] = H[b, a] = (f(W + Bp) - f(W + Bm) - f(W - Bm) + f(W - Bp)) / (4 * h * h)
    return H


def positive_curvature(f: Loss, W: np.ndarray, basis: np.ndarray) -> bool:
    return len(basis) == 0 or float(np.linalg.eigvalsh(fd_hessian(f, W, basis))[0]) > 1e-6


def approaches(loss: LogLoss, W_base: np.ndarray, D: np.ndarray, L_star: float) -> bool:
    """Does ``L(W_base + t D)`` decrease (t in TS) to within APPROACH_TOL of L*, never
    below it?"""
    gaps = np.array([loss.value(W_base + t * D) - L_star for t in TS])
    return bool(
        np.all(gaps >= -1e-12) and np.all(np.diff(gaps) <= 1e-12) and gaps[-1] <= APPROACH_TOL
    )


@given(
    ds=st.one_of(
        graph_datasets(K=vocab_sizes(), min_cyclic_edges=1), fact_datasets(K=vocab_sizes())
    )
)
@example(ds=DOC)
@example(ds=TWO_CYCLE)
@example(ds=STRONGLY_CONNECTED)
@example(ds=MIXED)
def test_w_fin_unique_and_coercive(ds: Dataset) -> None:
    fin = decided(finite_component, ds)
    S = fin.subspace
    f = reduced_loss(ds)
    event(f"dim S_fin = {S.dim}" if S.dim < 3 else "dim S_fin >= 3")
    assert f(fin.W) == pytest.approx(fin.L_star, rel=1e-9, abs=1e-12)
    assert np.linalg.norm(fin.W - S.project(fin.W)) <= 1e-9 * (1 + np.linalg.norm(fin.W))
    if S.dim == 0:
        assert not fin.W.any()
        return
    assert fin.min_curvature > 0
    assert positive_curvature(f, fin.W, S.basis)
    rng = np.random.default_rng(S.dim)
    for _ in range(3):  # coercive: the loss grows along every ray of S_fin from W_fin
        D = S.matrix(rng.standard_normal(S.dim))
        D /= np.linalg.norm(D)
        vals = [f(fin.W + t * D) for t in (0.0, 0.5, 2.0, 8.0)]
        assert all(b > a for a, b in pairwise(vals))


@given(ds=fact_datasets(K=vocab_sizes()), data=st.data())
@example(ds=CHAIN, data=None)
@example(ds=TWO_CYCLE, data=None)
@example(ds=STRONGLY_CONNECTED, data=None)
@example(ds=MIXED, data=None)
def test_infimum_is_L_star_attained_iff_no_acyclic_edge(
    ds: Dataset, data: st.DataObject | None
) -> None:
    tpg = TokenPriorityGraphs.from_dataset(ds)
    fin = decided(finite_component, ds, tpg)
    W_svm = decided(graph_svm, ds, tpg).W
    loss = LogLoss(ds)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)) if data else 0)
    W_rand = rng.standard_normal((ds.d, ds.d))
    assert loss.value(W_rand) >= fin.L_star - 1e-12  # L* is a lower bound
    if not tpg.has_acyclic_edge:
        event("attained (no acyclic edge)")
        assert loss.value(fin.W) == pytest.approx(fin.L_star, rel=1e-9, abs=1e-12)
        assert np.linalg.norm(loss.grad(fin.W)) <= 1e-7
        return
    event("not attained (acyclic edge)")
    assert approaches(loss, fin.W, W_svm, fin.L_star)
    assert loss.value(fin.W + W_svm) - fin.L_star > 1e-12  # strictly above, finite t
    for W in (W_rand, fin.W, np.zeros_like(W_rand)):  # W_svm is a descent direction
        assert float(np.sum(loss.grad(W) * W_svm)) < 0


# K <= 6 even under the thorough profile: a finite-difference Hessian on S_all (dim up
# to K(K-1)) at K = 16 took minutes per run.
@given(ds=graph_datasets(min_cyclic_edges=1, min_acyclic_edges=1))
@example(ds=MIXED)
@example(ds=TWO_CYCLE)
def test_negative_control(ds: Dataset) -> None:
    tpg = TokenPriorityGraphs.from_dataset(ds)
    fin = decided(finite_component, ds, tpg)
    W_svm = decided(graph_svm, ds, tpg).W
    loss = LogLoss(ds)
    # Uniqueness on S_all fails: L_fin is flat along S_all ⊖ S_fin (acyclic directions).
    S_all = Subspace.all_edges(ds.E, tpg)
    assert S_all.dim > fin.subspace.dim
    assert not positive_curvature(reduced_loss(ds), fin.W, S_all.basis)
    # The reversed direction climbs away from L*.
    assert not approaches(loss, fin.W, -W_svm, fin.L_star)
    # A wrong finite part converges to L_fin(W_wrong) > L*, not to L*.
    W_wrong = fin.W + fin.subspace.basis[0]
    excess = reduced_loss(ds)(W_wrong) - fin.L_star
    if excess > 10 * APPROACH_TOL:
        assert not approaches(loss, W_wrong, W_svm, fin.L_star)
    else:
        event("perturbation too flat to test")


def test_doc_example_L_star() -> None:
    assert finite_component(DOC).L_star == pytest.approx(np.log(1 + 1 / np.sqrt(2)), abs=1e-10)
