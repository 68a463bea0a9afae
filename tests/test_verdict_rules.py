"""The verdict rules of :mod:`ntp_mechanics.kernel.verdict` decide the cases they promise.

:func:`~ntp_mechanics.kernel.verdict.judge_decay` on sequences whose fate is known
by construction (THEORY.md section 7's ``log(m)/m`` decay to 0, a plateau at a wrong
value, a decay to a small non-zero limit, a flat sequence just under the tolerance),
and :meth:`~ntp_mechanics.kernel.verdict.Verdict.combine`'s pessimistic order.  Each
case is one that a flipped or loosened rule would decide differently.
"""

from __future__ import annotations

import numpy as np
import pytest

from ntp_mechanics.kernel.verdict import DecayFit, Verdict, judge_decay, limit_of_decaying

XS = np.array([1.0, 2.0, 4.0, 8.0, 16.0])  # the margin ladder
RATE = (1 + np.log(XS)) / XS  # the regularization path's direction error, up to scale
TOL, LARGE = 0.05, 0.15  # claim A's direction thresholds


def _judge(errs: np.ndarray, model: str = "log/x") -> Verdict:
    return judge_decay(limit_of_decaying(XS, list(errs), model=model), tol=TOL,
                       large=LARGE).verdict


def test_decay_to_zero_at_the_predicted_rate_is_consistent() -> None:
    assert _judge(0.7 * RATE) is Verdict.CONSISTENT


def test_plateau_at_a_wrong_value_contradicts() -> None:
    assert _judge(0.5 + 0.3 * RATE) is Verdict.CONTRADICTS


def test_decay_to_a_small_nonzero_limit_is_not_consistent() -> None:
    # limit 0.1: above TOL, below LARGE, still decaying fast (ratio about 0.75)
    assert _judge(0.1 + 0.5 * RATE) is Verdict.INCONCLUSIVE


def test_flat_sequence_under_the_tolerance_is_not_consistent() -> None:
    # below TOL but not decaying and above the convergence floor TOL / 10
    assert _judge(np.array([0.04, 0.045, 0.04, 0.045, 0.04])) is Verdict.INCONCLUSIVE


def test_negligible_last_error_is_consistent() -> None:
    assert _judge(np.array([0.3, 0.3, 0.3, 0.3, TOL / 20])) is Verdict.CONSISTENT


def test_too_few_points_are_inconclusive() -> None:
    assert _judge(np.array([np.nan, np.nan, np.nan, 0.5, 0.5])) is Verdict.INCONCLUSIVE


def test_exponential_plateau_contradicts_and_exponential_decay_is_consistent() -> None:
    assert _judge(0.4 + 0.5 * np.exp(-XS), model="exp") is Verdict.CONTRADICTS
    assert _judge(0.5 * np.exp(-XS), model="exp") is Verdict.CONSISTENT


@pytest.mark.parametrize(("parts", "want"), [
    ([], Verdict.INCONCLUSIVE),
    ([Verdict.CONSISTENT], Verdict.CONSISTENT),
    ([Verdict.CONSISTENT, Verdict.INCONCLUSIVE], Verdict.INCONCLUSIVE),
    ([Verdict.INCONCLUSIVE, Verdict.CONTRADICTS, Verdict.CONSISTENT], Verdict.CONTRADICTS),
])
def test_combine_is_pessimistic(parts: list[Verdict], want: Verdict) -> None:
    assert Verdict.combine(parts) is want


def test_a_noisy_fit_is_not_consistent() -> None:
    """Consistency needs a good fit: a small extrapolated limit and a fast ratio from a
    fit whose residual exceeds ``max_residual`` decide nothing."""
    errs = (0.4, 0.2, 0.1, 0.05)
    fit = DecayFit("log/x", (1.0, 2.0, 4.0, 8.0), errs, limit=0.0, slope=1.0, residual=0.5,
                   ratios=(0.5, 0.5, 0.5))
    assert fit.span_ratio == pytest.approx(0.5) and fit.last > TOL / 10
    assert judge_decay(fit, tol=TOL, large=LARGE).verdict is Verdict.INCONCLUSIVE


def test_three_points_bracket_the_limit_with_the_larger_estimate() -> None:
    """With 3 points the log/x model falls back to the 2-parameter fits with rates 1/x
    and log(e x)/x: the limit used for consistency is the larger of the two, the lower
    one is ``limit_low``."""
    xs = np.array([4.0, 8.0, 16.0])
    errs = 0.3 + 1 / xs
    fit = limit_of_decaying(xs, list(errs))
    estimates = [np.polyfit(rate, errs, 1)[1] for rate in (1 / xs, (1 + np.log(xs)) / xs)]
    assert fit.limit == pytest.approx(max(estimates), abs=1e-12)
    assert fit.limit_low == pytest.approx(min(estimates), abs=1e-12)
    assert fit.limit - fit.limit_low > 1e-3  # the two estimates differ here


def test_span_ratio_is_read_over_a_whole_doubling() -> None:
    """``span_ratio`` compares the last error with the latest one at least a doubling
    earlier: (0.5 / 1) over 8 -> 16, not the flat last step 12 -> 16."""
    fit = DecayFit("log/x", (8.0, 12.0, 16.0), (1.0, 0.5, 0.5), limit=0.0, slope=1.0,
                   residual=0.0, ratios=())
    assert fit.span_ratio == pytest.approx(0.5, abs=1e-12)
