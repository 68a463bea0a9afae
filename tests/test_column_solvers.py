"""The vocabulary-scale solvers against the joint ones they stand in for.

* Counts (THEORY.md section 10, fact F8): a dataset with duplicate samples and the same
  dataset merged with counts have the same loss, gradient, ``W_fin`` and ``L*`` (to
  1e-10), and the same ``W_svm``; replicating one sample moves ``W_fin`` (the control).
* Column Graph-SVM and column ``W_fin`` (orthonormal embeddings, the problem separates by
  query column): equal to the joint solvers on Hypothesis-drawn datasets (synthetic and
  cut from the embedded corpus), one-hot and rotated orthonormal embeddings.
* Certificates: a slightly wrong column solution is rejected (a margin of 1 - 1e-4, a
  multiplier of the wrong sign, Newton stopped early, a perturbed ``W_fin``).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ntp_mechanics.kernel.fact_support import fact_datasets
from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.errors import InconclusiveError
from ntp_mechanics.model.tpg import TokenPriorityGraphs
from ntp_mechanics.solvers.column_finite import ColumnSubspace, column_finite_component
from ntp_mechanics.solvers.column_predictions import predict_columns
from ntp_mechanics.solvers.column_svm import (
    _certificate,
    _column_parts,
    column_graph_svm,
    column_problems,
    is_orthonormal,
    solve_column,
)
from ntp_mechanics.solvers.finite import (
    GRAD_TOL,
    damped_newton,
    finite_component,
    reduced_keep_mask,
)
from ntp_mechanics.solvers.graph_svm import graph_svm
from ntp_mechanics.solvers.loss import LogLoss
from ntp_mechanics.solvers.predictions import predict
from ntp_mechanics.solvers.priority_arrays import PriorityArrays
from ntp_mechanics.solvers.subspaces import Subspace
from ntp_mechanics.strategies import corpus_datasets

REL_TOL = 1e-4  # the joint QP/dual's own accuracy


def _rel(A: np.ndarray, B: np.ndarray) -> float:
    return float(np.linalg.norm(A - B) / max(np.linalg.norm(B), 1.0))


def _orthonormal(ds: Dataset, seed: int) -> Dataset:
    """``ds`` with one-hot (seed 0) or randomly rotated orthonormal embeddings, d = K + 2."""
    K = ds.K
    if seed == 0:
        return ds.with_embeddings(np.eye(K))
    Q = np.linalg.qr(np.random.default_rng(seed).normal(size=(K + 2, K + 2)))[0]
    return ds.with_embeddings(Q[:K])


def _with_duplicates(ds: Dataset) -> Dataset:
    """Every sample repeated ``count`` times, counts one (the unmerged dataset)."""
    reps = ds.counts.astype(int)
    rows = np.repeat(np.arange(ds.n), reps)
    s = ds.samples
    return Dataset.from_arrays(ds.E, [(s[i].tokens, s[i].label) for i in rows])


TWO_CYCLE = [((0, 1, 2), 0), ((1, 0, 2), 1), ((0, 2), 0), ((1, 2, 2), 1)]


# -- counts ------------------------------------------------------------------------------
def test_counts_equal_duplicates() -> None:
    rng = np.random.default_rng(3)
    E = rng.normal(size=(3, 3))
    merged = Dataset.from_arrays(E, TWO_CYCLE, counts=[3, 1, 2, 5])
    dup = _with_duplicates(merged)
    assert dup.n == 11 and merged.n == 4  # premise: the two differ as sample lists
    W = rng.normal(size=(3, 3))
    a, b = LogLoss(merged), LogLoss(dup)
    assert abs(a.value(W) - b.value(W)) <= 1e-12
    assert np.max(np.abs(a.grad(W) - b.grad(W))) <= 1e-12
    fa, fb = finite_component(merged), finite_component(dup)
    assert np.max(np.abs(fa.W - fb.W)) <= 1e-10 and abs(fa.L_star - fb.L_star) <= 1e-10
    sa, sb = graph_svm(merged), graph_svm(dup)  # F8: W_svm ignores multiplicities
    assert np.max(np.abs(sa.W - sb.W)) <= 1e-8


def test_counts_move_w_fin() -> None:
    """Control: replicating one sample is not replicating the dataset (fact F8)."""
    one = Dataset.from_arrays(np.eye(3), TWO_CYCLE)
    heavy = one.with_counts([5, 1, 1, 1])
    assert np.linalg.norm(finite_component(one).W - finite_component(heavy).W) > 1e-3
    assert np.linalg.norm(column_finite_component(one).W
                          - column_finite_component(heavy).W) > 1e-3


@given(corpus_datasets(max_K=8, max_n=40, embeddings=("onehot",)))
@settings(max_examples=15, deadline=None)
def test_column_counts_equal_duplicates(ds: Dataset) -> None:
    dup = _with_duplicates(ds)
    a, b = column_finite_component(ds), column_finite_component(dup)
    # each certificate puts its W within ||g|| / lambda_min of the one minimiser (fact F7)
    bound = a.grad_norm / a.min_curvature + b.grad_norm / b.min_curvature if a.subspace.dim else 0
    assert np.linalg.norm(a.W - b.W) <= bound + 1e-12 and abs(a.L_star - b.L_star) <= 1e-10
    assert np.max(np.abs(column_graph_svm(ds).W - column_graph_svm(dup).W)) <= 1e-8


# -- cross-checks against the joint solvers ---------------------------------------------
@given(fact_datasets(), st.integers(0, 2))
@settings(deadline=None)
def test_column_svm_matches_joint(ds: Dataset, seed: int) -> None:
    ds = _orthonormal(ds, seed)
    assert is_orthonormal(ds.E)
    joint, col = graph_svm(ds, method="qp"), column_graph_svm(ds)
    assert col.certificate is not None and col.certificate.ok
    assert _rel(col.W, joint.W) <= REL_TOL


@given(fact_datasets(), st.integers(0, 2))
@settings(deadline=None)
def test_column_finite_matches_joint(ds: Dataset, seed: int) -> None:
    ds = _orthonormal(ds, seed)
    joint, col = finite_component(ds), column_finite_component(ds)
    assert col.subspace.dim == joint.subspace.dim
    assert np.max(np.abs(col.W - joint.W)) <= 1e-7
    assert abs(col.L_star - joint.L_star) <= 1e-9
    if joint.subspace.dim:  # the Hessian on S_fin is block diagonal over the columns
        assert abs(col.min_curvature - joint.min_curvature) <= 1e-8 * max(1.0, joint.min_curvature)
    P = col.subspace.project(joint.subspace.basis.sum(axis=0)) if joint.subspace.dim else 0
    assert np.allclose(P, joint.subspace.basis.sum(axis=0) if joint.subspace.dim else 0)


@given(corpus_datasets(max_K=10, max_n=60, embeddings=("onehot",)))
@settings(max_examples=20, deadline=None)
def test_corpus_predictions_match_joint(ds: Dataset) -> None:
    joint, col = predict(ds), predict_columns(ds)
    assert _rel(col.W_svm, joint.W_svm) <= REL_TOL
    assert np.max(np.abs(col.W_fin - joint.W_fin)) <= 1e-7
    a, b = joint.to_dict(), col.to_dict()
    assert a["sccs"].keys() == b["sccs"].keys()
    for k in a["sccs"]:  # same SCCs; both orders are topological
        assert sorted(map(sorted, a["sccs"][k])) == sorted(map(sorted, b["sccs"][k]))
    assert a["dim_S_fin"] == b["dim_S_fin"] and a["dim_S_all"] == b["dim_S_all"]
    assert sorted(a["cyclic_edges"]) == sorted(b["cyclic_edges"])
    assert a["margins"].keys() == b["margins"].keys()


def test_workers_match_serial() -> None:
    ds = Dataset.from_arrays(np.eye(5), [((0, 1, 4), 0), ((2, 3, 4), 2), ((1, 2, 3), 1),
                                         ((3, 0, 2), 3), ((4, 0, 1), 0)])
    serial, pooled = column_graph_svm(ds), column_graph_svm(ds, workers=2)
    assert len(column_problems(PriorityArrays.from_dataset(ds))[0]) >= 2  # premise
    assert np.array_equal(serial.W, pooled.W)


def test_not_orthonormal_refused() -> None:
    ds = Dataset.from_arrays(np.array([[1.0, 0.0], [1.0, 1.0]]), [((0, 1), 0)])
    assert not is_orthonormal(ds.E)
    with pytest.raises(ValueError, match="orthonormal"):
        column_graph_svm(ds)


def test_real_text_column_needs_the_trust_radius() -> None:
    """Windows of one query cut from real text (the embedded corpus, characters, T = 32):
    the reduced loss is nearly flat in some directions, an uncapped Newton step
    saturates the attention and Newton cannot come back (the premise, checked here).
    Both solvers, with their trust radius, must certify and agree."""
    from ntp_mechanics.corpora.build import build_corpus
    from ntp_mechanics.corpora.text import embedded_documents

    c = build_corpus(list(embedded_documents()), unit="char", window=32, held_out=0.0)
    ds, k = c.train, c.vocabulary.index("E")
    keep = ds.query_tokens == k
    sub = Dataset.from_matrix(ds.E, ds.token_matrix[keep], ds.lengths[keep], ds.labels[keep],
                              ds.counts[keep])
    S = Subspace.cyclic(sub.E, TokenPriorityGraphs.from_dataset(sub))
    cl = LogLoss(sub, reduced_keep_mask(sub, TokenPriorityGraphs.from_dataset(sub))
                 ).in_basis(S.basis)
    c, _ = damped_newton(cl, np.zeros(S.dim), max_step=None)
    assert np.linalg.norm(cl.value_grad(c)[1]) > GRAD_TOL  # premise: uncapped Newton fails
    col, joint = column_finite_component(sub), finite_component(sub)
    assert col.subspace.dim == joint.subspace.dim > 10
    assert np.max(np.abs(col.W - joint.W)) <= 1e-6 and abs(col.L_star - joint.L_star) <= 1e-9


# -- the certificates' teeth -------------------------------------------------------------
CHAIN = Dataset.from_arrays(np.eye(4), [((0, 1, 2, 3), 0), ((1, 2, 3), 1), ((2, 3), 2),
                                        ((1, 0, 3), 1)])


def _solved() -> tuple[PriorityArrays, list, list, np.ndarray]:
    pa = PriorityArrays.from_dataset(CHAIN)
    problems, scc_ids, _ = column_problems(pa)
    sols = [solve_column(p) for p in problems]
    Z = np.zeros((4, 4))
    score = np.zeros(len(pa.scc_sizes))
    for ids, (s, _, _) in zip(scc_ids, sols, strict=True):
        score[ids] = s
    Z[pa.nodes[:, 1], pa.nodes[:, 0]] = score[pa.scc]
    return pa, problems, sols, Z


def test_column_certificate_passes_and_rejects_perturbations() -> None:
    pa, problems, sols, Z = _solved()
    parts = np.array([_column_parts(p, s, lam) for p, (s, lam, _) in
                      zip(problems, sols, strict=True)])
    assert _certificate(parts, Z, pa).ok
    # a margin short by 1e-4 on an original acyclic edge (its whole SCC moved, so the
    # cyclic equalities still hold)
    i, _, k = pa.edges[~pa.cyclic][0]
    scc = pa.scc_of(np.array([k]), np.array([i]))[0]
    members = pa.nodes[(pa.scc == scc), 1]
    bad = Z.copy()
    bad[members, k] -= 1e-4
    assert not _certificate(parts, bad, pa).ok
    # a scaled solution: feasible but not optimal (gap and stationarity)
    p, (s, lam, _) = problems[0], sols[0]
    worse = np.array([_column_parts(p, 1.001 * s, lam)])
    assert not _certificate(worse, 1.001 * Z, pa).ok
    # a multiplier of the wrong sign
    flipped = lam.copy()
    flipped[np.argmax(flipped)] *= -1
    assert not _certificate(np.array([_column_parts(p, s, flipped)]), Z, pa).ok


def test_column_min_curvature_is_the_joint_one() -> None:
    """An SCC of three tokens: a block of dimension 2, whose smallest eigenvalue counts."""
    ds = Dataset.from_arrays(np.eye(4), [((0, 1, 3), 0), ((1, 2, 3), 1), ((2, 0, 3), 2),
                                         ((0, 2, 3), 0), ((1, 0, 3), 1)], counts=[1, 3, 1, 2, 1])
    col, joint = column_finite_component(ds), finite_component(ds)
    assert col.subspace.dim == 2 and "1 SCCs" in col.status  # premise: one 2-dim block
    assert abs(col.min_curvature - joint.min_curvature) <= 1e-10


def test_column_finite_rejects_early_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    ds = Dataset.from_arrays(np.eye(3), TWO_CYCLE, counts=[5, 1, 1, 1])
    fin = column_finite_component(ds)
    assert fin.subspace.dim == 1 and np.linalg.norm(fin.W) > 0.1  # premise: not trivial
    import ntp_mechanics.solvers.column_finite as cf

    real = cf.damped_newton
    monkeypatch.setattr(cf, "damped_newton",
                        lambda cl, c0, **kw: real(cl, c0, max_iter=1, **kw))
    with pytest.raises(InconclusiveError, match="gradient norm"):
        column_finite_component(ds)


def test_column_subspace_projection() -> None:
    ds = Dataset.from_arrays(np.eye(3), TWO_CYCLE)
    pa = PriorityArrays.from_dataset(ds)
    sub = ColumnSubspace(ds.E, pa.nodes, pa.scc)
    W = np.random.default_rng(0).normal(size=(3, 3))
    P = sub.project(W)
    assert sub.dim == 1
    assert np.allclose(sub.project(P), P)  # idempotent
    # S_fin here: (e_0 - e_1) e_2^T
    B = np.zeros((3, 3))
    B[0, 2], B[1, 2] = 1 / np.sqrt(2), -1 / np.sqrt(2)
    assert np.allclose(P, np.sum(W * B) * B)


def test_hessian_chunks_do_not_change_w_fin(monkeypatch: pytest.MonkeyPatch) -> None:
    import ntp_mechanics.solvers.column_finite as cf

    ds = Dataset.from_arrays(np.eye(4), [((0, 1, 2, 3), 0), ((1, 0, 3), 1), ((2, 0, 1, 3), 2),
                                         ((0, 2, 3), 0), ((1, 2, 3), 2)], counts=[1, 2, 1, 3, 1])
    whole = column_finite_component(ds)
    monkeypatch.setattr(cf, "CHUNK_ENTRIES", 1)  # one row per dense block
    chunked = column_finite_component(ds)
    assert whole.subspace.dim >= 2 and np.linalg.norm(whole.W) > 0.1  # premise
    assert np.max(np.abs(whole.W - chunked.W)) <= 1e-12
