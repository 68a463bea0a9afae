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


def test_check_rejects_a_remainder_larger_than_the_start() -> None:
    """Gradient descent never moves the part of W outside S_all: a remainder of norm 3
    contradicts a start of norm at most 2 (not 4 = 2^2), and is allowed for a start of
    norm up to 4."""
    pred = predictions(CHAIN)
    raw = np.random.default_rng(0).standard_normal(pred.W_svm.shape)
    rem = raw - pred.S_all.project(raw)
    W = 3.0 * rem / np.linalg.norm(rem)
    b = check_weights(pred, W, init_norm=2.0).results[0]
    assert b.verdict.value == "contradicts" and b.reason.startswith("||W - P_S_all W||"), b.reason
    assert "P_S_all W||" not in check_weights(pred, W, init_norm=4.0).results[0].reason


def test_check_loss_rule_allows_the_starts_loss() -> None:
    """A start of norm b may have loss up to L(0) + 2 b max||e||^2, so a small matrix
    (orthogonal to W_svm) whose loss is 1e-3 above L(0) contradicts a zero start only."""
    pred = predictions(CHAIN)
    v = pred.S_all.project(np.random.default_rng(1).standard_normal(pred.W_svm.shape))
    v -= np.sum(v * pred.direction) * pred.direction
    ev0 = check_weights(pred, np.zeros_like(v), init_norm=0.0)
    W = max((s * 0.5 * v / np.linalg.norm(v) for s in (1, -1)),
            key=lambda W: check_weights(pred, W, init_norm=0.0).metrics["loss"])
    ev = check_weights(pred, W, init_norm=0.0)
    assert ev.metrics["loss"] > ev0.metrics["L0"] + 2e-3  # the premise: the loss rose
    assert ev.results[0].verdict.value == "contradicts" and ev.results[0].reason.startswith(
        "L(W) ="), ev.results[0].reason
    assert check_weights(pred, W, init_norm=1.0).results[0].verdict.value != "contradicts"


def test_check_is_inconclusive_on_the_path_before_the_asymptotic_regime() -> None:
    """Claims B-D are asymptotic: the regularization path's own point at R = ||W_svm||
    (scale 1 < MIN_SCALE) is not yet evidence for them."""
    from ntp_mechanics.kernel.evidence.path import sound_path

    pred = predictions(MIXED_TWO_QUERIES)
    ns = float(np.linalg.norm(pred.W_svm))
    (pt,) = sound_path(pred, [ns])
    assert pt.W is not None
    ev = check_weights(pred, pt.W)
    assert ev.metrics["path_err"] <= 1e-3  # the premise: W is on the path
    b = ev.results[0]
    assert b.verdict.value == "inconclusive" and "asymptotic" in b.reason, b.reason


def test_sound_path_rejects_a_certified_point_beaten_by_a_reference(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A path point the solver wrongly certifies (here ``-R W_svm/||W_svm||``) has a larger
    loss than the reference ``R W_svm/||W_svm||`` of the same norm: not trusted."""
    import ntp_mechanics.solvers.regpath as regpath
    from ntp_mechanics.kernel.evidence.path import sound_path

    pred = predictions(CHAIN)

    def wrong_path(ds, radii, tpg=None, solver=None):
        return [regpath.RegPathPoint(R, -R * pred.direction, 0.0, 0.0, 0.0, "optimal", True)
                for R in radii]

    monkeypatch.setattr(regpath, "regularization_path", wrong_path)
    pts = sound_path(pred, [1.0, 2.0, 4.0])
    assert all(p.W is None and "reference point" in p.reason for p in pts), pts


def test_precise_loss_weighs_windows_by_their_counts() -> None:
    """A merged window with count 2 weighs as the window written twice (fact F8: W_fin is
    not invariant to replicating one sample, so an unweighted mean is a different L)."""
    from ntp_mechanics.kernel.evidence.common import precise_loss
    from ntp_mechanics.model.dataset import Dataset
    from ntp_mechanics.solvers.loss import LogLoss

    W = np.array([[0.3, -1.0, 0.2], [0.5, 0.1, -0.4], [-0.2, 0.7, 0.0]])
    twice = Dataset.from_arrays(np.eye(3), [((0, 1, 2), 0), ((0, 1, 2), 0), ((1, 2), 2)])
    merged = twice.merged()
    assert merged.n == 2 and sorted(merged.counts) == [1.0, 2.0]  # premise
    assert precise_loss(LogLoss(merged), W) == pytest.approx(precise_loss(LogLoss(twice), W),
                                                             rel=1e-12)
    once = Dataset.from_arrays(np.eye(3), [((0, 1, 2), 0), ((1, 2), 2)])
    assert abs(precise_loss(LogLoss(once), W) - precise_loss(LogLoss(twice), W)) > 1e-3
