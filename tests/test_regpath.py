"""Unit tests of :mod:`ntp_mechanics.solvers.regpath`: certified points, claim A's trend,
honest failure.

THEORY.md section 7: the directional error ``||W_R/R - W_svm/||W_svm|| ||`` decays like
(log R)/R and the solver silently returns wrong points at R >= 160.  The path must mark
those points uncertified; a certified point must never be wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

import numpy as np
import pytest

from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.tpg import TokenPriorityGraphs
from ntp_mechanics.solvers import regpath
from ntp_mechanics.solvers.finite import finite_component
from ntp_mechanics.solvers.graph_svm import graph_svm
from ntp_mechanics.solvers.loss import LogLoss
from ntp_mechanics.solvers.regpath import RegPathPoint, _certify, regularization_path, solve_radius
from ntp_mechanics.solvers.subspaces import Subspace

# Seeds of make_dataset(seed, K=5, n=8) with a cyclic SCC (dim S_fin >= 1) and W_svm != 0.
PATH_SEEDS = (0, 1, 2, 9)
PATH_KW = dict(K=5, n=8)
RADII = (5.0, 10.0, 20.0, 40.0)


def _direction_error(pt: RegPathPoint, W_svm: np.ndarray) -> float:
    return float(np.linalg.norm(pt.W / pt.R - W_svm / np.linalg.norm(W_svm)))


@pytest.mark.parametrize("seed", PATH_SEEDS)
def test_claim_A_trend_on_certified_points(seed: int, make_dataset: Callable[..., Dataset]) -> None:
    ds = make_dataset(seed, **PATH_KW)
    tpg = TokenPriorityGraphs.from_dataset(ds)
    W_svm, fin = graph_svm(ds, tpg).W, finite_component(ds, tpg)
    assert fin.subspace.dim >= 1 and np.linalg.norm(W_svm) > 0
    pts = regularization_path(ds, RADII, tpg)
    assert all(p.certified for p in pts), [p.reason for p in pts]
    S_all = Subspace.all_edges(ds.E, tpg)
    dir_err = [_direction_error(p, W_svm) for p in pts]
    fin_err = [np.linalg.norm(fin.subspace.project(p.W) - fin.W) for p in pts]
    for p in pts:
        assert np.linalg.norm(p.W) == pytest.approx(p.R, rel=1e-6)  # W_svm != 0: on the sphere
        assert np.linalg.norm(p.W - S_all.project(p.W)) <= 1e-8 * p.R
    assert all(b < a for a, b in pairwise(dir_err))
    assert all(b < a for a, b in pairwise(fin_err))
    assert fin_err[-1] < 0.05 * fin_err[0]  # exponential convergence of P_fin W_R (section 7)
    losses = [p.loss for p in pts]
    assert all(b < a for a, b in pairwise(losses))
    assert losses[-1] > fin.L_star - 1e-12  # inf L = L*, never undercut


@pytest.mark.parametrize("seed", PATH_SEEDS[:2])
def test_certified_point_is_optimal_on_the_ball(
    seed: int, make_dataset: Callable[..., Dataset]
) -> None:
    ds = make_dataset(seed, **PATH_KW)
    tpg = TokenPriorityGraphs.from_dataset(ds)
    R = 3.0
    pt = solve_radius(ds, R, tpg)
    assert pt.certified
    loss = LogLoss(ds)
    assert loss.value(pt.W) == pytest.approx(pt.loss, rel=1e-12)
    S_all = Subspace.all_edges(ds.E, tpg)
    rng = np.random.default_rng(seed)
    for _ in range(20):  # nearby points of the ball (in S_all) are no better
        D = S_all.matrix(rng.standard_normal(S_all.dim))
        W = pt.W + 0.05 * D
        W *= min(1.0, R / np.linalg.norm(W))
        assert loss.value(W) >= pt.loss - 1e-10
    # KKT on the sphere: the gradient is anti-parallel to W_R (independent fp64 gradient).
    g = S_all.project(loss.grad(pt.W))
    cos = float(np.sum(g * pt.W) / (np.linalg.norm(g) * np.linalg.norm(pt.W)))
    assert cos == pytest.approx(-1.0, abs=1e-6)


@pytest.mark.parametrize("seed", PATH_SEEDS[:2])
def test_large_radius_is_uncertified_not_wrong(
    seed: int, make_dataset: Callable[..., Dataset]
) -> None:
    ds = make_dataset(seed, **PATH_KW)
    tpg = TokenPriorityGraphs.from_dataset(ds)
    W_svm = graph_svm(ds, tpg).W
    radii = (10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 640.0)
    pts = regularization_path(ds, radii, tpg)
    assert pts[0].certified
    best = np.inf
    for p in pts:
        if p.certified:
            err = _direction_error(p, W_svm)
            assert err < best  # a certified point continues the trend: it is not wrong
            best = err
        else:
            assert p.reason  # says why
    assert not pts[-1].certified  # R = 640: beyond fp64 resolution, reported as such


def test_certificate_rejects_a_perturbed_point(make_dataset: Callable[..., Dataset]) -> None:
    # Negative control of the certificate itself: rotate a certified W_R slightly.
    ds = make_dataset(0, **PATH_KW)
    tpg = TokenPriorityGraphs.from_dataset(ds)
    S_all = Subspace.all_edges(ds.E, tpg)
    cl = LogLoss(ds).in_basis(S_all.basis)
    pt = solve_radius(ds, 10.0, tpg)
    c = S_all.coords(pt.W)
    assert _certify(cl, c, 10.0, "test").certified
    noise = np.random.default_rng(0).standard_normal(len(c))
    bad = c + 1e-2 * noise
    bad *= 10.0 / np.linalg.norm(bad)
    assert not _certify(cl, bad, 10.0, "test").certified


def test_no_acyclic_edge_small_radius_is_on_the_sphere(strongly_connected_ds: Dataset) -> None:
    fin = finite_component(strongly_connected_ds)
    R = float(np.linalg.norm(fin.W)) / 2  # the finite minimiser lies outside the ball
    (pt,) = regularization_path(strongly_connected_ds, [R])
    assert pt.certified and np.linalg.norm(pt.W) == pytest.approx(R, rel=1e-6)
    assert pt.loss > fin.L_star


def test_no_acyclic_edge_large_radius_gives_w_fin(strongly_connected_ds: Dataset) -> None:
    fin = finite_component(strongly_connected_ds)
    (pt,) = regularization_path(strongly_connected_ds, [4 * float(np.linalg.norm(fin.W)) + 1])
    assert pt.certified  # interior minimiser: the finite W_fin itself (F7, claim E)
    np.testing.assert_allclose(pt.W, fin.W, atol=1e-6)
    assert pt.loss == pytest.approx(fin.L_star, abs=1e-10)


def test_wrong_interior_point_is_not_certified(make_dataset: Callable[..., Dataset]) -> None:
    # Negative control for interior certification: W_fin + 80 W_svm/||W_svm|| inside
    # R = 200 has a tiny gap and KKT residual (the loss is flat there) but no curvature.
    ds = make_dataset(PATH_SEEDS[0], **PATH_KW)
    tpg = TokenPriorityGraphs.from_dataset(ds)
    fin, svm = finite_component(ds, tpg), graph_svm(ds, tpg)
    S_all = Subspace.all_edges(ds.E, tpg)
    cl = LogLoss(ds).in_basis(S_all.basis)
    bad = S_all.coords(fin.W + 80 * svm.W / np.linalg.norm(svm.W))
    pt = _certify(cl, bad, 200.0, "test")
    assert not pt.certified and "interior" in pt.reason


def test_trivial_subspace() -> None:
    ds = Dataset.from_arrays(np.eye(2), [((1,), 1), ((0, 0), 0)])  # no edge at all
    (pt,) = regularization_path(ds, [3.0])
    assert pt.certified and pt.status == "trivial" and not pt.W.any() and pt.loss == 0.0


def test_doc_example() -> None:
    pt = solve_radius(Dataset.from_arrays(np.eye(2), [((0, 1), 0)]), 4.0)
    s = 4.0 / np.sqrt(2)
    np.testing.assert_allclose(pt.W, [[0, s], [0, -s]], atol=1e-6)


# -- the matrix-free Newton path against the exponential-cone program -----------------------
@pytest.mark.parametrize("seed", PATH_SEEDS[:3])
def test_newton_path_matches_the_conic_program(
    seed: int, make_dataset: Callable[..., Dataset]
) -> None:
    ds = make_dataset(seed, **PATH_KW)
    tpg = TokenPriorityGraphs.from_dataset(ds)
    radii = (2.0, 8.0, 20.0)
    newton = regularization_path(ds, radii, tpg)
    conic = regularization_path(ds, radii, tpg, method="conic")
    S_all = Subspace.all_edges(ds.E, tpg)
    for a, b in zip(newton, conic, strict=True):
        assert a.certified and b.certified, (a.reason, b.reason)
        assert a.status.startswith("newton") and not b.status.startswith("newton")
        np.testing.assert_allclose(a.W, b.W, atol=1e-5 * a.R)
        assert a.loss == pytest.approx(b.loss, rel=1e-8, abs=1e-14)
        assert np.linalg.norm(a.W - S_all.project(a.W)) <= 1e-8 * a.R  # stays in S_all


def test_newton_path_weights_windows_like_replicas(make_dataset: Callable[..., Dataset]) -> None:
    ds = make_dataset(PATH_SEEDS[0], **PATH_KW)
    counts = np.arange(1, ds.n + 1) % 3 + 1
    replicated = ds.with_samples(s for s, c in zip(ds.samples, counts, strict=True)
                                 for _ in range(c))
    radii = (3.0, 12.0)
    weighted = regularization_path(ds.with_counts(counts), radii)
    plain = regularization_path(replicated, radii)
    unweighted = regularization_path(ds, radii)
    for w, p, u in zip(weighted, plain, unweighted, strict=True):
        assert w.certified and p.certified
        np.testing.assert_allclose(w.W, p.W, atol=1e-6 * w.R)
        assert w.loss == pytest.approx(p.loss, rel=1e-9)
        # control: the counts matter (ignoring them gives another point)
        assert np.linalg.norm(u.W - w.W) > 1e-3 * w.R


def test_window_certificate_rejects_a_slightly_wrong_point(
    make_dataset: Callable[..., Dataset],
) -> None:
    ds = make_dataset(PATH_SEEDS[1], **PATH_KW)
    tpg = TokenPriorityGraphs.from_dataset(ds)
    R = 10.0
    pt = solve_radius(ds, R, tpg)
    wl = regpath.WindowLoss(ds)
    assert regpath._certify_window(wl, pt.W, R, "test").certified
    S_all = Subspace.all_edges(ds.E, tpg)
    noise = S_all.matrix(np.random.default_rng(0).standard_normal(S_all.dim))
    bad = pt.W + 1e-3 * R * noise / np.linalg.norm(noise)
    bad *= R / np.linalg.norm(bad)
    wrong = regpath._certify_window(wl, bad, R, "test")
    assert not wrong.certified and wrong.kkt_residual > regpath.KKT_TOL


def test_window_loss_equals_the_dense_loss(make_dataset: Callable[..., Dataset]) -> None:
    ds = make_dataset(PATH_SEEDS[2], **PATH_KW)
    wl, loss = regpath.WindowLoss(ds), LogLoss(ds)
    rng = np.random.default_rng(1)
    W, V = rng.standard_normal((2, ds.d, ds.d))
    assert wl.value(W) == pytest.approx(loss.value(W), rel=1e-12)
    np.testing.assert_allclose(wl.grad(W), loss.grad(W), atol=1e-13)
    eps = 1e-6  # Hessian-vector product against a central difference of the gradient
    fd = (loss.grad(W + eps * V) - loss.grad(W - eps * V)) / (2 * eps)
    np.testing.assert_allclose(wl.hess_vec(wl.state(W), V), fd, atol=1e-7)


def test_unknown_method_is_refused(chain_ds: Dataset) -> None:
    with pytest.raises(ValueError, match="method"):
        regularization_path(chain_ds, [1.0], method="simplex")


def test_progress_bar_on_request(chain_ds: Dataset, capsys: pytest.CaptureFixture) -> None:
    regularization_path(chain_ds, [1.0, 2.0], progress=True)
    assert "regularization path" in capsys.readouterr().err
    regularization_path(chain_ds, [1.0, 2.0], progress=False)
    assert capsys.readouterr().err == ""
