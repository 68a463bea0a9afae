"""Unit tests of :mod:`ntp_mechanics.solvers.graph_svm` against the naive W-space formulation
and F1-F4, F8.

The reference (:func:`ntp_mechanics.solvers.reference.naive_graph_svm`) keeps one constraint per
duplicate edge in W-space and shares no code with the score-space / row-space solver;
it is solved with Clarabel (interior point) so that it is accurate to ~1e-8.
"""

from __future__ import annotations

from collections.abc import Callable

import cvxpy as cp
import numpy as np
import pytest

from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.errors import InfeasibleError
from ntp_mechanics.model.tpg import TokenPriorityGraphs
from ntp_mechanics.solvers.graph_svm import GraphSVM, graph_svm
from ntp_mechanics.solvers.predictions import predict
from ntp_mechanics.solvers.reference import longest_path_length, naive_graph_svm
from ntp_mechanics.solvers.subspaces import Subspace
from ntp_mechanics.solvers.svm_certificate import FEAS_TOL

REL_TOL = 1e-4
SEEDS = range(16)


def _rel(A: np.ndarray, B: np.ndarray) -> float:
    return float(np.linalg.norm(A - B) / max(np.linalg.norm(B), 1.0))


def _margin(E: np.ndarray, W: np.ndarray, i: int, j: int, k: int) -> float:
    return float((E[i] - E[j]) @ W @ E[k])


def _check_feasible(ds: Dataset, W: np.ndarray, tol: float = 1e-6) -> None:
    """Every edge meets its constraint: = 0 when cyclic, >= 1 when acyclic."""
    tpg = TokenPriorityGraphs.from_dataset(ds)
    for i, j, k in tpg.edges():
        m = _margin(ds.E, W, i, j, k)
        if tpg[k].same(i, j):
            assert abs(m) <= tol, (i, j, k, m)
        else:
            assert m >= 1 - tol, (i, j, k, m)


# -- agreement with the naive formulation ------------------------------------------------
CASES = {
    "unit": dict(K=5, n=6, lengths=(1, 6)),
    "orthonormal": dict(K=5, n=6, lengths=(2, 5), family="orthonormal"),
    "wide": dict(K=4, d=6, n=5, lengths=(1, 6)),
    "dense": dict(K=4, n=10, lengths=(3, 6)),  # many cycles
    "one-query": dict(K=4, n=8, lengths=(3, 6), queries=1),  # often strongly connected
    "overcomplete": dict(K=5, d=4, n=3, lengths=(2, 3), family="overcomplete"),
    "overcomplete-d2": dict(K=4, d=2, n=4, lengths=(2, 4), family="overcomplete"),
}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_naive_w_space(case: str, seed: int, make_dataset: Callable[..., Dataset]) -> None:
    ds = make_dataset(seed, **CASES[case])
    try:
        sol = graph_svm(ds)
    except InfeasibleError:
        assert case.startswith("overcomplete")  # only dependent embeddings may be infeasible (F1)
        with pytest.raises(RuntimeError, match="infeasible"):
            naive_graph_svm(ds, solver=cp.CLARABEL)
        return
    ref = naive_graph_svm(ds, solver=cp.CLARABEL)
    assert _rel(sol.W, ref) <= REL_TOL
    assert sol.certificate is None or sol.certificate.ok
    _check_feasible(ds, sol.W)


def test_doc_example_value() -> None:
    ds = Dataset.from_arrays(np.eye(2), [((0, 1), 0)])
    np.testing.assert_allclose(graph_svm(ds).W, [[0, 0.5], [0, -0.5]], atol=1e-7)


def test_strongly_connected_gives_zero(strongly_connected_ds: Dataset) -> None:
    sol = graph_svm(strongly_connected_ds)
    assert sol.status == "trivial" and not sol.W.any()
    assert np.linalg.norm(naive_graph_svm(strongly_connected_ds, solver=cp.CLARABEL)) < 1e-6
    assert not graph_svm(strongly_connected_ds, norm="nuc").W.any()


def test_bad_norm_rejected(chain_ds: Dataset) -> None:
    with pytest.raises(ValueError, match="norm"):
        graph_svm(chain_ds, norm="l1")


# -- nuclear norm --------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(8))
def test_nuclear_certified_and_not_larger(seed: int, make_dataset: Callable[..., Dataset]) -> None:
    ds = make_dataset(seed, K=4, n=5, lengths=(2, 5))
    fro, nuc = graph_svm(ds), graph_svm(ds, norm="nuc")
    assert nuc.norm == "nuc" and nuc.certificate is not None and nuc.certificate.ok
    _check_feasible(ds, nuc.W)
    # Both minimise over one feasible set: each is no worse in its own norm.
    assert np.linalg.norm(nuc.W, "nuc") <= np.linalg.norm(fro.W, "nuc") * (1 + 1e-5) + 1e-7
    assert np.linalg.norm(fro.W) <= np.linalg.norm(nuc.W) * (1 + 1e-6) + 1e-7


# -- facts F1-F4 ------------------------------------------------------------------------
def _level_point(ds: Dataset, tpg: TokenPriorityGraphs) -> np.ndarray:
    """F1's construction: scores Z[v, k] = longest-path level of v's SCC in G^(k)."""
    Z = np.zeros((ds.K, ds.K))
    for k, g in tpg.items():
        for v in g.graph.nodes:
            Z[v, k] = g.levels[g.scc_of[v]]
    P = np.linalg.pinv(ds.E)  # E P = I for independent rows, so E W E^T = Z
    return P @ Z @ P.T


@pytest.mark.parametrize("seed", SEEDS)
def test_F1_level_construction_is_feasible(seed: int, make_dataset: Callable[..., Dataset]) -> None:
    ds = make_dataset(seed, K=5, d=5 + seed % 2, n=7, lengths=(1, 6))
    tpg = TokenPriorityGraphs.from_dataset(ds)
    W_lvl = _level_point(ds, tpg)
    _check_feasible(ds, W_lvl, tol=1e-8)
    # The SVM is the minimum-norm feasible point, so it is no larger than W_lvl.
    assert np.linalg.norm(graph_svm(ds, tpg).W) <= np.linalg.norm(W_lvl) * (1 + 1e-6) + 1e-9


@pytest.mark.parametrize("seed", SEEDS)
def test_F2_zero_iff_no_acyclic_edge(seed: int, make_dataset: Callable[..., Dataset]) -> None:
    ds = make_dataset(seed, K=3 + seed % 3, n=4 + seed % 8, lengths=(2, 6), queries=1 + seed % 2)
    tpg = TokenPriorityGraphs.from_dataset(ds)
    W = graph_svm(ds, tpg).W
    if tpg.has_acyclic_edge:
        assert np.linalg.norm(W) > 0.1  # margins >= 1 with unit-size embeddings
    else:
        assert not W.any()


@pytest.mark.parametrize("seed", SEEDS)
def test_F3_transitive_margins(seed: int, make_dataset: Callable[..., Dataset]) -> None:
    ds = make_dataset(seed, K=6, n=5, lengths=(2, 5))
    tpg = TokenPriorityGraphs.from_dataset(ds)
    sol = graph_svm(ds, tpg)
    decided = 0
    for k, g in tpg.items():
        for i in g.graph.nodes:
            for j in g.graph.nodes:
                m = sol.margin(ds.E, i, j, k)
                if g.same(i, j):
                    assert abs(m) <= 1e-6
                elif g.higher(i, j):
                    # Summing edge margins along the longest SCC path: >= its length >= 1.
                    L = longest_path_length(g.condensation, g.scc_of[i], g.scc_of[j])
                    assert m >= L - 1e-6 * L
                    decided += 1
    assert decided or not tpg.has_acyclic_edge


def _kkt_residuals(ds: Dataset, sol: GraphSVM) -> tuple[float, float, float, float]:
    """(min dual, max |complementary slackness|, stationarity off S_fin, sum-lambda gap)."""
    tpg = TokenPriorityGraphs.from_dataset(ds)
    E, lam, W = ds.E, sol.duals, sol.W
    Lam = np.zeros_like(W)
    for lam_e, (i, j, k) in zip(lam, sol.constraints, strict=True):
        Lam += lam_e * np.outer(E[i] - E[j], E[k])
    resid = 2 * W - Lam  # must lie in S_fin (the multipliers of the equalities absorb it)
    S_fin = Subspace.cyclic(E, tpg)
    stat = np.linalg.norm(resid - S_fin.project(resid)) / max(np.linalg.norm(2 * W), 1e-12)
    margins = np.array([_margin(E, W, *c) for c in sol.constraints])
    compl = float(np.max(np.abs(lam * (margins - 1)))) if len(lam) else 0.0
    # Strong duality for min ||W||^2 with margins >= 1: sum(lambda) = 2 ||W||^2.
    gap = abs(lam.sum() - 2 * np.sum(W * W)) / max(np.sum(W * W), 1e-12)
    return float(lam.min(initial=0.0)), compl, float(stat), float(gap)


@pytest.mark.parametrize("seed", SEEDS)
def test_F4_orthogonality_span_and_kkt(seed: int, make_dataset: Callable[..., Dataset]) -> None:
    ds = make_dataset(seed, K=5, n=8, lengths=(2, 6))
    tpg = TokenPriorityGraphs.from_dataset(ds)
    sol = graph_svm(ds, tpg)
    W = sol.W
    S_fin, S_all = Subspace.cyclic(ds.E, tpg), Subspace.all_edges(ds.E, tpg)
    scale = max(np.linalg.norm(W), 1.0)
    assert np.linalg.norm(S_fin.project(W)) <= 1e-6 * scale
    assert np.linalg.norm(W - S_all.project(W)) <= 1e-6 * scale
    lam_min, compl, stat, gap = _kkt_residuals(ds, sol)
    assert lam_min >= -1e-7 and compl <= 1e-5 and stat <= 1e-4 and gap <= 1e-4


def test_F4_negative_control_perturbed_w_fails_kkt(make_dataset: Callable[..., Dataset]) -> None:
    ds = make_dataset(3, K=5, n=8, lengths=(2, 6))
    sol = graph_svm(ds)
    bad = GraphSVM(1.05 * sol.W, sol.norm, sol.constraints, sol.duals, "", "", 0.0)
    _, compl, stat, gap = _kkt_residuals(ds, bad)
    assert max(compl, stat, gap) > 1e-2


# -- infeasibility (F1, K > d) --------------------------------------------------------
def test_infeasible_within_one_query() -> None:
    # d = 1: G^(2) orders 0 > 1 > 2, which needs (e0 - e1) w e2 >= 1 and (e1 - e2) w e2 >= 1;
    # with e = (1, 0.5, 0.75) the two differences have opposite signs: no w exists.
    ds = Dataset.from_arrays([[1.0], [0.5], [0.75]], [((0, 1, 2), 0), ((1, 2), 1)])
    with pytest.raises(InfeasibleError) as info:
        graph_svm(ds)
    msg = str(info.value)
    assert "infeasible" in msg and "query token 2" in msg and "K=3" in msg and "d=1" in msg
    assert "\n" not in msg
    with pytest.raises(InfeasibleError):
        predict(ds)


def test_infeasible_only_across_queries() -> None:
    # Each query alone is feasible; G^(2) needs w >= 8 and G^(1) needs w <= -8.
    E = [[1.0], [0.5], [0.25]]
    both = Dataset.from_arrays(E, [((0, 1, 2), 0), ((0, 1), 1)])
    for alone in ([((0, 1, 2), 0)], [((0, 1), 1)]):
        graph_svm(Dataset.from_arrays(E, alone))
    with pytest.raises(InfeasibleError, match="all query tokens at once"):
        graph_svm(both)


# -- invariances (F8) -------------------------------------------------------------------
def _relabel(ds: Dataset, perm: np.ndarray) -> Dataset:
    """Token v becomes perm[v]; row perm[v] of the new E is row v of the old one."""
    E = np.empty_like(ds.E)
    E[perm] = ds.E
    samples = [([int(perm[t]) for t in s.tokens], int(perm[s.label])) for s in ds.samples]
    return Dataset.from_arrays(E, samples)


@pytest.mark.parametrize("seed", range(6))
def test_F8_relabel_and_rotate(seed: int, make_dataset: Callable[..., Dataset]) -> None:
    ds = make_dataset(seed, K=5, n=6, lengths=(2, 5))
    W = graph_svm(ds).W
    rng = np.random.default_rng(100 + seed)
    np.testing.assert_allclose(graph_svm(_relabel(ds, rng.permutation(ds.K))).W, W, atol=1e-6)
    Q, _ = np.linalg.qr(rng.standard_normal((ds.d, ds.d)))
    W_rot = graph_svm(ds.with_embeddings(ds.E @ Q.T)).W
    np.testing.assert_allclose(W_rot, Q @ W @ Q.T, atol=1e-6)
    # Negative control: the unrotated W is not the answer for rotated embeddings.
    if np.linalg.norm(W) > 0:
        assert np.linalg.norm(W_rot - W) > 1e-3


def test_F8_duplicate_samples_change_nothing(make_dataset: Callable[..., Dataset]) -> None:
    ds = make_dataset(7, K=5, n=6, lengths=(2, 5))
    more = ds.with_samples(ds.samples + ds.samples[:2] + ds.samples[:1])
    np.testing.assert_allclose(graph_svm(more).W, graph_svm(ds).W, atol=1e-7)
    assert FEAS_TOL <= 1e-6  # the margins above are checked to this tolerance
