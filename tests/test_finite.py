"""Unit tests of :mod:`ntp_mechanics.solvers.finite`: ``W_fin`` and ``L*`` (THEORY.md
section 3, F7, F8).

``W_fin`` is compared with :func:`ntp_mechanics.solvers.reference.gd_finite_component`
(plain gradient descent from zero written with explicit loops), and ``L*`` with a loss
written here from the definition, on the reduced samples, independently of
:class:`ntp_mechanics.solvers.loss.LogLoss`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from ntp_mechanics.generators.seeded import shuffle_positions
from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.tpg import TokenPriorityGraphs
from ntp_mechanics.solvers.finite import finite_component
from ntp_mechanics.solvers.reference import gd_finite_component, naive_sccs
from ntp_mechanics.solvers.subspaces import Subspace

# Random datasets with few queries have cyclic SCCs; these seeds give ||W_fin|| > 0.1.
GD_SEEDS = (0, 1, 2, 3, 4, 8, 10, 11)
GD_KW = dict(K=5, n=6, lengths=(2, 6), queries=2)


def reduced_loss(ds: Dataset, W: np.ndarray) -> float:
    """``L_fin(W)`` from the definition: -log of the label's attention mass, positions
    restricted to the SCC of the label in ``G^(k)``, the query embedding always ``e_k``."""
    scc = naive_sccs(ds)
    E, total = ds.E, 0.0
    for s in ds.samples:
        keep = [t for t in s.tokens if t in scc[s.query][s.label]]
        a = np.array([E[t] @ W @ E[s.query] for t in keep])
        lab = np.array([t == s.label for t in keep])
        total += np.logaddexp.reduce(a) - np.logaddexp.reduce(a[lab])
    return total / ds.n


@pytest.mark.parametrize("seed", GD_SEEDS)
def test_matches_gradient_descent(seed: int, make_dataset: Callable[..., Dataset]) -> None:
    ds = make_dataset(seed, **GD_KW)
    fin = finite_component(ds)
    assert np.linalg.norm(fin.W) > 0.1  # keeps the comparison non-trivial
    W_gd = gd_finite_component(ds, steps=1500, lr=1.5)
    assert np.linalg.norm(fin.W - W_gd) <= 2e-3 * np.linalg.norm(fin.W)
    assert fin.L_star == pytest.approx(reduced_loss(ds, W_gd), rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("seed", range(12))
def test_stationary_on_s_fin_and_unique(seed: int, make_dataset: Callable[..., Dataset]) -> None:
    ds = make_dataset(seed, K=4 + seed % 2, n=6, lengths=(2, 6), queries=1 + seed % 3)
    fin = finite_component(ds)
    W, S = fin.W, fin.subspace
    assert np.linalg.norm(W - S.project(W)) <= 1e-9 * max(1.0, np.linalg.norm(W))
    assert fin.L_star == pytest.approx(reduced_loss(ds, W), rel=1e-9, abs=1e-12)
    h = 1e-5
    for B in S.basis:  # central differences of the independent loss along S_fin
        g = (reduced_loss(ds, W + h * B) - reduced_loss(ds, W - h * B)) / (2 * h)
        assert abs(g) <= 1e-6
    if S.dim:
        assert fin.min_curvature > 0  # strictly convex on S_fin: unique (F7)
        rng = np.random.default_rng(seed)
        for _ in range(5):
            D = S.matrix(rng.standard_normal(S.dim))
            assert reduced_loss(ds, W + 0.3 * D) > fin.L_star


def test_doc_example_value(doc_ds: Dataset) -> None:
    fin = finite_component(doc_ds)
    assert fin.subspace.dim == 1
    assert fin.L_star == pytest.approx(math.log(1 + 1 / math.sqrt(2)), abs=1e-10)
    # Stationarity gives e^u = sqrt 2 for u = a_0 - a_1, i.e. W = (u/2)(e_0 - e_1) e_1^T.
    u = 0.5 * math.log(2)
    np.testing.assert_allclose(fin.W, [[0, u / 2], [0, -u / 2]], atol=1e-9)


def test_zero_when_s_fin_trivial(chain_ds: Dataset, make_dataset: Callable[..., Dataset]) -> None:
    fin = finite_component(chain_ds)
    assert fin.subspace.dim == 0 and not fin.W.any() and fin.status == "trivial"
    # The reduced samples keep only label positions: L* = 0 exactly.
    assert fin.L_star == 0.0
    checked = 0
    for seed in range(40):
        ds = make_dataset(seed, K=6, n=3, lengths=(2, 4))
        tpg = TokenPriorityGraphs.from_dataset(ds)
        if tpg.has_cyclic_edge:
            continue
        fin = finite_component(ds, tpg)
        assert Subspace.cyclic(ds.E, tpg).dim == 0 and not fin.W.any() and fin.L_star == 0.0
        checked += 1
    assert checked >= 5


def test_strongly_connected_minimiser(strongly_connected_ds: Dataset) -> None:
    fin = finite_component(strongly_connected_ds)
    # No acyclic edge: every position is kept, so L* is the minimum of the full loss.
    from ntp_mechanics.solvers.loss import LogLoss

    loss = LogLoss(strongly_connected_ds)
    assert fin.L_star == pytest.approx(loss.value(fin.W), abs=1e-12)
    assert np.linalg.norm(loss.grad(fin.W)) <= 1e-8


@pytest.mark.parametrize("seed", (0, 2, 4))
def test_F8_invariances(seed: int, make_dataset: Callable[..., Dataset]) -> None:
    ds = make_dataset(seed, **GD_KW)
    W = finite_component(ds).W
    rng = np.random.default_rng(seed)
    np.testing.assert_allclose(finite_component(shuffle_positions(ds, rng)).W, W, atol=1e-7)
    np.testing.assert_allclose(finite_component(ds.with_samples(ds.samples * 2)).W, W, atol=1e-7)
    Q, _ = np.linalg.qr(rng.standard_normal((ds.d, ds.d)))
    W_rot = finite_component(ds.with_embeddings(ds.E @ Q.T)).W
    np.testing.assert_allclose(W_rot, Q @ W @ Q.T, atol=1e-7)
    # Replicating one sample reweights the loss: W_fin moves (negative control).
    tpg = TokenPriorityGraphs.from_dataset(ds)
    i = next(
        i
        for i, s in enumerate(ds.samples)
        if len({t for t in s.tokens if tpg[s.query].same(t, s.label)}) > 1
    )
    W_one = finite_component(ds.with_samples(ds.samples + (ds.samples[i],) * 3)).W
    assert np.linalg.norm(W_one - W) > 1e-3
