"""The fast solvers against the ones they replace, and their certificates' teeth.

* Graph-SVM: the matrix-free dual (``method="dual"``) against the cvxpy score-space QP
  (``method="qp"``) on Hypothesis-drawn datasets, graph-first and paper-style.
* ``W_fin``: damped Newton against the exponential-cone program (``method="conic"``),
  including repeated labels (a label several times in its sequence) and variable lengths.
* Certificates (THEORY.md facts F4, F7): each must reject a slightly wrong solution - a
  perturbation of 1e-4, a dropped active constraint, a multiplier of the wrong sign,
  Newton stopped early.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given

from ntp_mechanics.kernel.fact_support import fact_datasets
from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.errors import InconclusiveError
from ntp_mechanics.model.tpg import TokenPriorityGraphs
from ntp_mechanics.solvers.finite import (
    certify_finite,
    damped_newton,
    finite_component,
    reduced_keep_mask,
)
from ntp_mechanics.solvers.graph_svm import (
    Certificate,
    _cyclic_pairs,
    _independent,
    certify,
    graph_svm,
    reduced_constraints,
)
from ntp_mechanics.solvers.loss import LogLoss
from ntp_mechanics.solvers.subspaces import Subspace
from ntp_mechanics.solvers.svm_dual import solve_dual

REL_TOL = 1e-4  # the QP's own accuracy (relative duality gap 1e-5 -> W to ~3e-3 at worst)


def _rel(A: np.ndarray, B: np.ndarray) -> float:
    return float(np.linalg.norm(A - B) / max(np.linalg.norm(B), 1.0))


# -- cross-checks -----------------------------------------------------------------------
@given(fact_datasets())
def test_dual_matches_qp(ds: Dataset) -> None:
    tpg = TokenPriorityGraphs.from_dataset(ds)
    qp = graph_svm(ds, tpg, method="qp")
    fast = graph_svm(ds, tpg)
    if reduced_constraints(tpg) and _independent(ds.E):
        assert fast.formulation == "dual"
    assert fast.certificate is None or fast.certificate.ok
    assert _rel(fast.W, qp.W) <= REL_TOL


@pytest.mark.parametrize("seed", range(6))
def test_dual_matches_qp_paper_size(seed: int, make_dataset: Callable[..., Dataset]) -> None:
    ds = make_dataset(seed, K=12, n=40, lengths=(3, 8))
    qp, fast = graph_svm(ds, method="qp"), graph_svm(ds, method="dual")
    assert fast.certificate.ok and _rel(fast.W, qp.W) <= REL_TOL


def test_dual_refuses_where_it_does_not_apply(make_dataset: Callable[..., Dataset]) -> None:
    ds = make_dataset(0, K=5, d=3, n=6, lengths=(2, 5), family="overcomplete")
    with pytest.raises(ValueError, match="independent"):
        graph_svm(ds, method="dual")
    with pytest.raises(ValueError, match="method"):
        graph_svm(ds, method="newton")


@given(fact_datasets())
def test_newton_matches_conic(ds: Dataset) -> None:
    newton, conic = finite_component(ds), finite_component(ds, method="conic")
    assert np.linalg.norm(newton.W - conic.W) <= 1e-6 * max(1.0, np.linalg.norm(conic.W))
    assert newton.L_star == pytest.approx(conic.L_star, rel=1e-10, abs=1e-12)


def _repeated_labels(seed: int) -> Dataset:
    """Variable lengths, labels repeated inside their sequences (multiplicities m_i > 1)."""
    rng = np.random.default_rng(seed)
    K = 5
    samples = [([1, 2, 1, 0], 1), ([2, 1, 2, 2, 0], 2)]  # a 2-cycle of G^(0), labels twice
    for _ in range(6):
        toks = list(rng.integers(0, K, size=int(rng.integers(1, 7))))
        y = int(rng.choice(toks))
        toks.insert(int(rng.integers(0, len(toks))), y)  # the label at least twice
        samples.append(([int(t) for t in toks] + [int(rng.integers(0, 2))], y))
    E = np.linalg.qr(rng.standard_normal((K, K)))[0] * 0.9 + 0.1
    return Dataset.from_arrays(E / np.linalg.norm(E, axis=1, keepdims=True), samples)


@pytest.mark.parametrize("seed", range(8))
def test_newton_matches_conic_repeated_labels(seed: int) -> None:
    ds = _repeated_labels(seed)
    newton, conic = finite_component(ds), finite_component(ds, method="conic")
    assert np.linalg.norm(newton.W - conic.W) <= 1e-6 * max(1.0, np.linalg.norm(conic.W))
    assert newton.status.startswith("newton") and newton.grad_norm <= 1e-8


# -- certificates with teeth ------------------------------------------------------------
@pytest.fixture
def svm_case(make_dataset: Callable[..., Dataset]) -> tuple:
    ds = make_dataset(3, K=8, n=20, lengths=(3, 7))
    tpg = TokenPriorityGraphs.from_dataset(ds)
    S_fin = Subspace.cyclic(ds.E, tpg)
    sol = graph_svm(ds, tpg, S_fin=S_fin, method="dual")
    assert sol.certificate.ok  # the unmodified solution passes
    return ds, tpg, S_fin, sol


def _cert(
    ds: Dataset,
    tpg: TokenPriorityGraphs,
    S_fin: Subspace,
    W: np.ndarray,
    cons: tuple,
    lam: np.ndarray,
) -> Certificate:
    return certify(ds.E, tpg, W, list(cons), lam, "fro", None, S_fin)


def test_svm_certificate_rejects_perturbed_w(svm_case: tuple) -> None:
    ds, tpg, S_fin, sol = svm_case
    shrunk = _cert(ds, tpg, S_fin, (1 - 1e-4) * sol.W, sol.constraints, sol.duals)
    assert not shrunk.ok and shrunk.primal_violation > 1e-5
    D = np.random.default_rng(0).standard_normal(sol.W.shape)
    moved = sol.W + 1e-4 * D / np.linalg.norm(D)
    assert not _cert(ds, tpg, S_fin, moved, sol.constraints, sol.duals).ok


def test_svm_certificate_rejects_wrong_sign_multiplier(svm_case: tuple) -> None:
    ds, tpg, S_fin, sol = svm_case
    lam = sol.duals.copy()
    e = int(np.argmax(lam))
    lam[e] = -lam[e]
    cert = _cert(ds, tpg, S_fin, sol.W, sol.constraints, lam)
    assert not cert.ok and cert.dual_violation > 1e-3


def test_svm_certificate_rejects_perturbed_multipliers(svm_case: tuple) -> None:
    ds, tpg, S_fin, sol = svm_case
    lam = sol.duals * (1 + 1e-4 * np.random.default_rng(1).standard_normal(len(sol.duals)))
    assert not _cert(ds, tpg, S_fin, sol.W, sol.constraints, lam).ok


def test_svm_certificate_rejects_dropped_active_constraint(svm_case: tuple) -> None:
    ds, tpg, S_fin, sol = svm_case
    cons = list(sol.constraints)
    e = int(np.argmax(sol.duals))  # the most active constraint
    kept = cons[:e] + cons[e + 1 :]
    cyc = np.array(_cyclic_pairs(tpg)).reshape(-1, 3)
    W, mu, _ = solve_dual(ds.E, np.array(kept), cyc)
    # Optimal for the smaller problem, but an original edge is now violated.
    assert _cert(ds, tpg, S_fin, W, kept, 2 * mu).primal_violation > 1e-3


@pytest.fixture
def fin_case(make_dataset: Callable[..., Dataset]) -> tuple:
    ds = make_dataset(0, K=5, n=6, lengths=(2, 6), queries=2)
    tpg = TokenPriorityGraphs.from_dataset(ds)
    S_fin = Subspace.cyclic(ds.E, tpg)
    assert S_fin.dim > 0
    cl = LogLoss(ds, reduced_keep_mask(ds, tpg)).in_basis(S_fin.basis)
    c, _ = damped_newton(cl, np.zeros(S_fin.dim))
    certify_finite(cl, c)  # the converged point passes
    return cl, c


def test_fin_certificate_rejects_perturbed_point(fin_case: tuple) -> None:
    cl, c = fin_case
    _, _, H = cl.value_grad_hess(c)
    top = np.linalg.eigh(H)[1][:, -1]  # the stiffest direction: gradient = 1e-4 lambda_max
    with pytest.raises(InconclusiveError, match="gradient norm"):
        certify_finite(cl, c + 1e-4 * top)


def test_fin_certificate_rejects_newton_stopped_early(fin_case: tuple) -> None:
    cl, c = fin_case
    early, steps = damped_newton(cl, np.zeros(len(c)), max_iter=1)
    assert steps == 1
    with pytest.raises(InconclusiveError, match="gradient norm"):
        certify_finite(cl, early)


def test_fin_certificate_rejects_zero_curvature(fin_case: tuple) -> None:
    cl, c = fin_case
    flat = cl.loss.in_basis(np.concatenate([cl.basis, np.zeros_like(cl.basis[:1])]))
    with pytest.raises(InconclusiveError, match="Hessian"):
        certify_finite(flat, np.append(c, 0.0))  # a direction the loss cannot see


@pytest.mark.parametrize("seed", range(4))
def test_dual_active_set_corrects_a_poor_start(seed: int,
                                               make_dataset: Callable[..., Dataset]) -> None:
    """One L-BFGS-B iteration leaves a wrong active set; the active-set steps must still
    end at the certified Graph-SVM: the answer cannot depend on how far L-BFGS-B got."""
    ds = make_dataset(seed, K=6, n=8, lengths=(2, 6), queries=2)
    tpg = TokenPriorityGraphs.from_dataset(ds)
    cons = reduced_constraints(tpg)
    assert cons and _independent(ds.E)  # the dual applies to these cases
    cyclic = np.array(_cyclic_pairs(tpg)).reshape(-1, 3)
    W, _, _ = solve_dual(ds.E, np.array(cons), cyclic, maxiter=1)
    ref = graph_svm(ds, tpg, method="dual")
    assert ref.certificate.ok
    assert _rel(W, ref.W) <= 1e-8


class _RisingTrial:
    """A loss whose full Newton trial point rises by 1e-6 while its gradient shrinks."""

    def value_grad(self, c: np.ndarray) -> tuple[float, np.ndarray]:
        if c[0] <= -0.99:  # the full step c = 1 - 2 = -1
            return 1.0 + 1e-6, np.array([0.5])
        return float(c[0] ** 2), 2 * c


def test_newton_line_search_demands_sufficient_decrease() -> None:
    """Armijo backtracking on L: an accepted step satisfies
    ``L_new <= L + 1e-4 t <g, step>``; a trial point whose loss rises (however much its
    gradient shrinks) is not accepted while the loss still resolves the decrease."""
    from ntp_mechanics.solvers.finite import _backtrack

    c, step, g = np.array([1.0]), np.array([-2.0]), np.array([2.0])
    out = _backtrack(_RisingTrial(), c, step, 1.0, g, 2.0)  # type: ignore[arg-type]
    assert out is not None
    t = float((out - c)[0] / step[0])
    L_new, _ = _RisingTrial().value_grad(out)
    assert L_new <= 1.0 + 1e-4 * t * float(g @ step)
