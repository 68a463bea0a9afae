"""Every certificate and tolerance rejects a slightly wrong solution (THEORY.md section 3).

A certificate that accepts the right answer proves nothing unless it also rejects a
nearly right one.  Each test below checks the certificate-checking function (not the
solve that produced the point) on the certified solution *and* on a solution wrong by
a small, known amount:

* Graph-SVM (:func:`ntp_mechanics.solvers.graph_svm.certify`): the point perturbed by
  1e-4, the point scaled up by 1e-4 (feasible but not optimal) or down by 1e-3
  (margins violated by exactly 1e-3), an active constraint
  dropped from the multipliers, a multiplier of the wrong sign;
* ``W_fin`` (:func:`ntp_mechanics.solvers.finite.certify_finite`): the point perturbed
  by 1e-5 and gradient descent stopped early (gradients far below 1e-2, above 1e-8);
* regularization path (``_certify`` of :mod:`ntp_mechanics.solvers.regpath`): the
  Frank-Wolfe gap equals its definition ``max_{||s|| <= R} g.(c - s)`` and, with the
  KKT test switched off, still rejects a point rotated off the optimum on the sphere;
  a point past fp64 resolution (attention underflowed: gradient, gap and KKT residual
  all 0) and an interior point 1e-3 off ``W_fin`` are refused;
* the exponential-cone loss expression (:mod:`ntp_mechanics.solvers.conic`) equals the
  exact fp64 loss to 1e-10 on datasets with repeated labels and variable lengths.
"""

from __future__ import annotations

from collections.abc import Callable

import cvxpy as cp
import numpy as np
import pytest

from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.errors import InconclusiveError
from ntp_mechanics.model.tpg import TokenPriorityGraphs
from ntp_mechanics.solvers import regpath
from ntp_mechanics.solvers.conic import loss_expression
from ntp_mechanics.solvers.finite import certify_finite, finite_component, reduced_keep_mask
from ntp_mechanics.solvers.graph_svm import certify, graph_svm
from ntp_mechanics.solvers.loss import CoordinateLoss, LogLoss
from ntp_mechanics.solvers.reference import gd_finite_component
from ntp_mechanics.solvers.subspaces import Subspace

SVM_SEEDS = (0, 1, 2)
FIN_KW = dict(K=5, n=6, lengths=(2, 6), queries=2)  # cyclic SCCs, ||W_fin|| > 0.1


# -- Graph-SVM -----------------------------------------------------------------------------
def _svm_certificate(ds: Dataset, W: np.ndarray, cons: list, lam: np.ndarray):
    tpg = TokenPriorityGraphs.from_dataset(ds)
    return certify(ds.E, tpg, W, cons, lam, "fro", None, Subspace.cyclic(ds.E, tpg))


@pytest.fixture(params=SVM_SEEDS)
def svm_case(request: pytest.FixtureRequest, make_dataset: Callable[..., Dataset]):
    ds = make_dataset(request.param, K=5, n=6, lengths=(2, 6))
    sol = graph_svm(ds)
    assert len(sol.constraints) > 0 and sol.certificate is not None and sol.certificate.ok
    return ds, sol


def test_svm_certificate_accepts_the_solution(svm_case) -> None:
    ds, sol = svm_case
    assert _svm_certificate(ds, sol.W, list(sol.constraints), sol.duals).ok


def test_svm_certificate_rejects_a_perturbed_point(svm_case) -> None:
    ds, sol = svm_case
    noise = np.random.default_rng(0).standard_normal(sol.W.shape)
    bad = sol.W + 1e-4 * noise / np.linalg.norm(noise)
    assert not _svm_certificate(ds, bad, list(sol.constraints), sol.duals).ok


def test_svm_certificate_rejects_a_feasible_but_longer_point(svm_case) -> None:
    ds, sol = svm_case
    bad = sol.W * (1 + 1e-4)  # every margin still >= 1: only optimality can reject it
    cert = _svm_certificate(ds, bad, list(sol.constraints), sol.duals)
    assert cert.primal_violation <= 1e-9 and not cert.ok


def test_svm_certificate_rejects_a_shorter_point(svm_case) -> None:
    ds, sol = svm_case
    cert = _svm_certificate(ds, sol.W * (1 - 1e-3), list(sol.constraints), sol.duals)
    assert cert.primal_violation == pytest.approx(1e-3, rel=1e-3)  # active margins 1 - 1e-3
    assert not cert.ok


def test_svm_certificate_rejects_a_dropped_active_constraint(svm_case) -> None:
    ds, sol = svm_case
    e = int(np.argmax(sol.duals))
    assert sol.duals[e] > 1e-3  # active
    keep = [i for i in range(len(sol.duals)) if i != e]
    cons = [sol.constraints[i] for i in keep]
    assert not _svm_certificate(ds, sol.W, cons, sol.duals[keep]).ok


def test_svm_certificate_rejects_a_multiplier_of_the_wrong_sign(svm_case) -> None:
    ds, sol = svm_case
    lam = sol.duals.copy()
    e = int(np.argmax(lam))
    lam[e] = -lam[e]
    cert = _svm_certificate(ds, sol.W, list(sol.constraints), lam)
    assert cert.dual_violation > 0 and not cert.ok


# -- W_fin -------------------------------------------------------------------------------
@pytest.fixture(params=(0, 1))
def fin_case(request: pytest.FixtureRequest, make_dataset: Callable[..., Dataset]):
    ds = make_dataset(request.param, **FIN_KW)
    tpg = TokenPriorityGraphs.from_dataset(ds)
    fin = finite_component(ds, tpg)
    assert fin.subspace.dim > 0 and np.linalg.norm(fin.W) > 0.1
    cl = LogLoss(ds, reduced_keep_mask(ds, tpg)).in_basis(fin.subspace.basis)
    return ds, fin, cl


def test_w_fin_certificate_accepts_the_solution(fin_case) -> None:
    _, fin, cl = fin_case
    L, grad_norm, curvature = certify_finite(cl, fin.subspace.coords(fin.W))
    assert L == pytest.approx(fin.L_star, abs=1e-12) and grad_norm <= 1e-8 and curvature > 0


def test_w_fin_certificate_rejects_a_perturbed_point(fin_case) -> None:
    _, fin, cl = fin_case
    c = fin.subspace.coords(fin.W)
    noise = np.random.default_rng(1).standard_normal(len(c))
    bad = c + 1e-5 * noise / np.linalg.norm(noise)
    assert np.linalg.norm(cl.value_grad(bad)[1]) < 1e-2  # a loose tolerance would pass it
    with pytest.raises(InconclusiveError, match="not certified"):
        certify_finite(cl, bad)


def test_w_fin_certificate_rejects_descent_stopped_early(fin_case) -> None:
    ds, fin, cl = fin_case
    early = fin.subspace.coords(gd_finite_component(ds, steps=25, lr=1.5))
    grad = np.linalg.norm(cl.value_grad(early)[1])
    assert 1e-8 < grad < 1e-2, grad  # close, but not converged
    with pytest.raises(InconclusiveError, match="not certified"):
        certify_finite(cl, early)


# -- regularization path: the Frank-Wolfe gap ---------------------------------------------
@pytest.fixture
def path_case(make_dataset: Callable[..., Dataset]):
    ds = make_dataset(0, K=4, n=6, lengths=(2, 5))
    tpg = TokenPriorityGraphs.from_dataset(ds)
    S_all = Subspace.all_edges(ds.E, tpg)
    cl = LogLoss(ds).in_basis(S_all.basis)
    R = 10.0
    pt = regpath.solve_radius(ds, R, tpg)
    assert pt.certified
    return cl, S_all.coords(pt.W), R


def _fw_gap(cl: CoordinateLoss, c: np.ndarray, R: float) -> float:
    """``max_{||s|| <= R} g.(c - s)``, attained at ``s = -R g/||g||`` (the definition)."""
    g = cl.value_grad(c)[1]
    return float(g @ (c + R * g / np.linalg.norm(g)))


def test_frank_wolfe_gap_is_its_definition(path_case) -> None:
    cl, c, R = path_case
    rng = np.random.default_rng(2)
    for point in (c, c + 0.1 * rng.standard_normal(len(c))):
        point = point * (R / np.linalg.norm(point))
        pt = regpath._certify(cl, point, R, "test")
        assert pt.gap >= -1e-15  # non-negative by Cauchy-Schwarz (up to rounding)
        assert pt.gap == pytest.approx(_fw_gap(cl, point, R), rel=1e-9, abs=1e-15)


def test_frank_wolfe_gap_alone_rejects_a_rotated_point(
    path_case, monkeypatch: pytest.MonkeyPatch
) -> None:
    cl, c, R = path_case
    monkeypatch.setattr(regpath, "KKT_TOL", np.inf)  # leave the gap as the only test
    assert regpath._certify(cl, c, R, "test").certified
    bad = c + 0.1 * np.random.default_rng(3).standard_normal(len(c))
    bad *= R / np.linalg.norm(bad)
    pt = regpath._certify(cl, bad, R, "test")
    assert pt.gap > regpath.GAP_TOL and not pt.certified
    assert pt.gap == pytest.approx(_fw_gap(cl, bad, R), rel=1e-9)


def test_path_certificate_rejects_a_point_past_fp64_resolution() -> None:
    """At R = 1000 the attention off the label underflows to 0, so the gradient, the gap
    and the KKT residual all vanish: only the underflow check can refuse the point."""
    ds = Dataset.from_arrays(np.eye(2), [((0, 1), 0)])
    tpg = TokenPriorityGraphs.from_dataset(ds)
    cl = LogLoss(ds).in_basis(Subspace.all_edges(ds.E, tpg).basis)
    assert cl.basis.shape[0] == 1
    R = 1000.0
    with np.errstate(all="ignore"):  # the wrong direction's loss is infinite in fp64
        c = min((np.array([R]), np.array([-R])), key=cl.value)  # the right direction
        pt = regpath._certify(cl, c, R, "test")
    assert not pt.certified and "min attention" in pt.reason


def test_path_certificate_rejects_an_interior_point_off_the_minimiser(
    strongly_connected_ds: Dataset,
) -> None:
    """Inside the ball, near ``W_fin`` but not at it: curvature is fine, the distance
    bound ``||g|| / lambda_min`` is not."""
    ds = strongly_connected_ds
    tpg = TokenPriorityGraphs.from_dataset(ds)
    fin = finite_component(ds, tpg)
    S_all = Subspace.all_edges(ds.E, tpg)
    cl = LogLoss(ds).in_basis(S_all.basis)
    R = 4 * float(np.linalg.norm(fin.W)) + 1
    c = S_all.coords(fin.W)
    assert regpath._certify(cl, c, R, "test").certified
    pt = regpath._certify(cl, c + 1e-3, R, "test")
    assert not pt.certified and "interior" in pt.reason and pt.kkt_residual > 1e-6


# -- the exponential-cone loss equals the exact loss ------------------------------------
def _conic_value(cl: CoordinateLoss, c0: np.ndarray) -> float:
    """The cvxpy expression's value at ``c = c0``, its epigraph variables at their
    tightest feasible values (each constraint row scales as ``exp(-u_g)``)."""
    c = cp.Variable(len(c0))
    value, constraints = loss_expression(cl, c)
    c.value = c0
    others = [v for v in value.variables() if v is not c]
    for u in others:
        u.value = np.zeros(u.shape)
    for con in constraints:
        lhs = np.asarray(con.args[0].value, dtype=float)
        others[0].value = np.log(lhs)
    for con in constraints:
        assert float(np.max(con.violation())) <= 1e-12
    return float(value.value)


def _repeated_label_dataset(seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    K = 4
    E = rng.standard_normal((K, K))
    E /= np.linalg.norm(E, axis=1, keepdims=True)
    samples = []
    for i in range(7):
        T = int(rng.integers(2, 7))
        toks = [int(t) for t in rng.integers(0, K, T)]
        label = toks[int(rng.integers(T - 1))]
        toks[(i + 1) % (T - 1) if T > 2 else 0] = label  # at least twice when T > 2
        samples.append((toks, label))
    samples.append(([1, 1, 2, 1, 3], 1))  # m = 3
    samples.append(([1, 1, 2, 1, 3], 1))  # a duplicate (merged with a weight)
    samples.append(([2], 2))  # one token: contributes 0
    return Dataset.from_arrays(E, samples, f"repeated-labels-{seed}")


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("reduced", [False, True], ids=["L", "L_fin"])
def test_conic_loss_equals_exact_loss(seed: int, reduced: bool) -> None:
    ds = _repeated_label_dataset(seed)
    assert any(s.multiplicity > 1 for s in ds.samples)
    assert len({len(s.tokens) for s in ds.samples}) > 2
    tpg = TokenPriorityGraphs.from_dataset(ds)
    keep = reduced_keep_mask(ds, tpg) if reduced else None
    cl = LogLoss(ds, keep).in_basis(np.eye(ds.d * ds.d).reshape(-1, ds.d, ds.d))
    rng = np.random.default_rng(seed)
    for scale in (0.0, 0.5, 3.0):
        c0 = scale * rng.standard_normal(ds.d * ds.d)
        assert _conic_value(cl, c0) == pytest.approx(cl.value(c0), abs=1e-10, rel=0)
