"""The evidence of claims B and C measures what the claims say (THEORY.md section 5).

Synthetic iterates and attention whose errors are known by construction: iterates
pointing exactly along ``W_svm`` whose norm does not grow (claim B requires
``||W(tau)|| -> inf``), uniform attention whose mass off the label's SCC is known, and
single matrices (``ntp-mechanics check``) that exactly one rule must reject.
"""

from __future__ import annotations

import numpy as np
import pytest

from ntp_mechanics.kernel.claim_support import CHAIN, MIXED_TWO_QUERIES, predictions
from ntp_mechanics.kernel.evidence import attention_errors, check_weights, judge_iterates
from ntp_mechanics.kernel.evidence.weights import PATH_BAD
from ntp_mechanics.solvers.subspaces import Subspace


def test_iterates_whose_norm_stalls_are_not_consistent_with_claim_B() -> None:
    pred = predictions(CHAIN)
    ns = float(np.linalg.norm(pred.W_svm))
    flat = {s: 1.5 * ns * pred.direction for s in (100, 200, 400, 800)}
    b, _ = judge_iterates(pred, flat, 0.01)
    assert b.metrics["norm_verdict"] == "inconclusive"
    growing = {s: (s / 50) * ns * pred.direction for s in (100, 200, 400, 800)}
    assert judge_iterates(pred, growing, 0.01)[0].metrics["norm_verdict"] == "consistent"


@pytest.mark.parametrize(("tokens", "scc", "off"), [
    ((0, 1, 2), {0}, 2 / 3), ((0, 0, 1, 2), {0, 1}, 1 / 4), ((1, 2), {1, 2}, 0.0),
])
def test_attention_mass_off_the_scc(tokens: tuple[int, ...], scc: set[int], off: float) -> None:
    err = attention_errors(np.eye(3), np.zeros((3, 3)), np.zeros((3, 3)), [(tokens, scc)])
    assert err.max_off == pytest.approx(off, abs=1e-15)
    assert err.max_tv == pytest.approx(0.0, abs=1e-15)  # uniform on the SCC, as W_fin = 0 says


def test_check_rejects_a_matrix_against_w_svm_by_the_cosine_rule_alone() -> None:
    """A tiny ``-W_svm`` judged as trained from zero: loss below L(0) + 1e-3, far from the
    asymptotic regime, so only 'gradient descent never decreases <W, W_svm>' can reject
    it; from an unknown start of norm up to sqrt(d) the same matrix is undecided."""
    pred = predictions(CHAIN)
    evidence = check_weights(pred, -1e-3 * pred.direction, init_norm=0.0)
    assert evidence.metrics["cos_W_svm"] < 0
    b = evidence.results[0]
    assert b.verdict.value == "contradicts" and b.reason.startswith("<W, W_svm>"), b.reason
    assert check_weights(pred, -1e-3 * pred.direction).results[0].verdict.value != \
        "contradicts"


def test_check_rejects_a_matrix_off_the_path_by_the_distance_rule() -> None:
    """50 degrees off ``W_svm`` inside S_all at 3 ||W_svm||, loss below L(0): the
    matched-norm path distance (0.74, over PATH_BAD but not twice it) rejects it."""
    pred = predictions(MIXED_TWO_QUERIES)
    u, ns = pred.direction, float(np.linalg.norm(pred.W_svm))
    v = Subspace.all_edges(MIXED_TWO_QUERIES.E, pred.tpg).project(
        np.random.default_rng(0).standard_normal(u.shape))
    v -= np.sum(v * u) * u
    t = np.radians(50.0)
    W = 3 * ns * (np.cos(t) * u + np.sin(t) * v / np.linalg.norm(v))
    evidence = check_weights(pred, W)
    assert PATH_BAD <= evidence.metrics["path_err"] < 2 * PATH_BAD
    b = evidence.results[0]
    assert b.verdict.value == "contradicts" and b.reason.startswith("P/||P|| is"), b.reason
