"""C1: with W = K Q^T (small random init, GD on both), the direction tends to W_svm_*.

The nuclear-norm Graph-SVM solution, in THEORY.md notation.

Conjecture C1 of THEORY.md section 6 (reported, not asserted; see
:mod:`ntp_mechanics.kernel.conjectures`).  Tarzanagh et al. (2023) prove it for single-token
selection; here the selection is by token-priority graphs, with cycles.

Measurement.  ``W_svm_*`` need not be unique, so the iterate is not compared with one
solution but with the *optimality* of its direction.  Let ``P`` remove the ``S_fin``
component (every nuclear Graph-SVM solution is orthogonal to ``S_fin``: its cyclic
scores are 0) and ``nu* = ||W_svm_*||_*``.  The *nuclear margin deficit*

    delta(W) = 1 - nu* min_{acyclic i -> j in G^(k)} (e_i - e_j)^T P W e_k / ||P W||_*

is >= 0 for every W (up to solver tolerance) and 0 exactly when ``PW`` is a positive
multiple of *some* nuclear-norm Graph-SVM solution.  The conjecture says
``delta(W(tau)) -> 0``.  It is measured at recorded steps and judged as a function of
the nuclear margin scale ``x = ||W||_* / nu*`` with the suite's finite-size rule
(:func:`ntp_mechanics.kernel.verdict.judge_decay`, model ``1/x``): consistent when the fit
extrapolates to 0, a counterexample only for a clear plateau far from 0.  A run that
ends below ``x = 8`` is undecided.

Protocol.  ``W = K Q^T`` with ``K, Q`` of size d x d (m = d), entries ``N(0, 1e-6)``,
normalised GD on (K, Q) jointly (a time change of the gradient flow) with step
0.003 for 4000 steps; small datasets (K in 3..4, d <= 5, full-rank embeddings) with
at least one acyclic edge.  ``test_c1_measurement_discriminates`` checks the
instrument: on a dataset whose Frobenius and nuclear Graph-SVMs differ, GD on the
combined W (which tends to the Frobenius one, claim B) is *not* judged consistent.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from ntp_mechanics.generators.datasets import paper_datasets
from ntp_mechanics.kernel.conjectures import conjecture, inconclusive, observe, settle, vacuous
from ntp_mechanics.kernel.fact_support import full_rank, graph_datasets
from ntp_mechanics.kernel.verdict import ClaimResult, Verdict, judge_decay, limit_of_decaying
from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.tpg import TokenPriorityGraphs
from ntp_mechanics.solvers.graph_svm import graph_svm
from ntp_mechanics.solvers.subspaces import Subspace

STEPS = 4000
LR = 0.003
INIT_SCALE = 1e-3
RECORD_AT = (500, 1000, 1500, 2000, 3000)
MIN_SCALE = 8.0
TOL, LARGE = 0.05, 0.15  # extrapolated deficit: consistent within TOL, plateau >= LARGE


def small_full_rank(K: int) -> SearchStrategy[np.ndarray]:
    return full_rank(K, max_d=5)


def c1_datasets() -> SearchStrategy[Dataset]:
    """Both generator routes, K in 3..4, full-rank embeddings with d <= 5."""
    graph_first = graph_datasets(small_full_rank, K=st.integers(3, 4), min_acyclic_edges=1)
    paper = paper_datasets(K=st.integers(3, 4), n=st.integers(1, 4), T=st.integers(2, 3),
                           embeddings=small_full_rank)
    return st.one_of(graph_first, paper)


def nuclear_deficit(ds: Dataset, tpg: TokenPriorityGraphs, S_fin: Subspace, nu: float,
                    W: np.ndarray) -> float:
    """``delta(W)`` of the module docstring (inf when ``P W = 0``)."""
    P = W - S_fin.project(W)
    nuc = float(np.linalg.norm(P, "nuc"))
    if nuc == 0:
        return float("inf")
    E = ds.E
    margin = min(float((E[i] - E[j]) @ P @ E[k]) for i, j, k in tpg.acyclic_edges())
    return 1.0 - nu * margin / nuc


def judge_factorised(ds: Dataset, iterates: dict[int, np.ndarray], nu: float,
                     claim: str = "C1") -> ClaimResult:
    """Judge ``delta(W(tau)) -> 0`` from iterates ``{step: W}`` (see the docstring)."""
    tpg = TokenPriorityGraphs.from_dataset(ds)
    S_fin = Subspace.cyclic(ds.E, tpg)
    steps = sorted(s for s in iterates if s > 0)
    scales = [float(np.linalg.norm(iterates[s], "nuc")) / nu for s in steps]
    deficits = [nuclear_deficit(ds, tpg, S_fin, nu, iterates[s]) for s in steps]
    metrics = {"nu_star": nu, "steps": steps, "nuclear_scales": scales, "deficits": deficits}
    if scales[-1] < MIN_SCALE:
        return ClaimResult(claim, Verdict.INCONCLUSIVE, metrics,
                           f"GD ended at ||W||_* = {scales[-1]:.3g} nu* < {MIN_SCALE:g} nu*")
    fit = limit_of_decaying(scales, deficits, model="1/x")
    j = judge_decay(fit, tol=TOL, large=LARGE)
    return ClaimResult(claim, j.verdict, metrics | fit.metrics("deficit_"), j.reason)


def train_factorised(ds: Dataset, seed: int, parametrization: str = "KQ") -> dict[int, np.ndarray]:
    from ntp_mechanics.solvers.training import TrainConfig, train

    cfg = TrainConfig(optimizer="ngd", lr=LR, steps=STEPS, init="random", init_scale=INIT_SCALE,
                      seed=seed, device="cpu", parametrization=parametrization,
                      record_at=RECORD_AT)
    try:
        return train(ds, cfg).iterates
    except FloatingPointError as exc:  # the loss underflowed to 0: fp64, not the theory
        inconclusive(f"training left fp64 range: {exc}")


@conjecture("C1")
@given(ds=c1_datasets(), seed=st.integers(0, 2**16))
def test_c1_factorised_gd_tends_to_nuclear_graph_svm(ds: Dataset, seed: int) -> None:
    tpg = TokenPriorityGraphs.from_dataset(ds)
    if not tpg.has_acyclic_edge:
        vacuous("no acyclic edge: W_svm_* = 0, no direction")
    nu = float(np.linalg.norm(graph_svm(ds, tpg, norm="nuc").W, "nuc"))
    result = judge_factorised(ds, train_factorised(ds, seed), nu)
    observe(result.metrics["deficits"][-1], "nuclear margin deficit at the last step")
    settle(result)


def test_c1_measurement_discriminates() -> None:
    """The instrument, not the conjecture: plain-W GD tends to the Frobenius Graph-SVM,
    which is not a nuclear-norm solution here (cosine 0.87), so it must not be judged
    consistent, while the nuclear solution itself has deficit 0."""
    ds = Dataset.from_arrays(np.eye(3), [((1, 0), 1), ((2, 1), 2)])
    tpg = TokenPriorityGraphs.from_dataset(ds)
    S_fin = Subspace.cyclic(ds.E, tpg)
    W_nuc = graph_svm(ds, tpg, norm="nuc").W
    nu = float(np.linalg.norm(W_nuc, "nuc"))
    assert abs(nuclear_deficit(ds, tpg, S_fin, nu, W_nuc)) < 1e-5
    assert nuclear_deficit(ds, tpg, S_fin, nu, graph_svm(ds, tpg).W) > 0.05
    plain = judge_factorised(ds, train_factorised(ds, 0, parametrization="W"), nu)
    assert plain.verdict is not Verdict.CONSISTENT, plain
