"""The evidence of claims B and C measures what the claims say (THEORY.md section 5).

Synthetic iterates and attention whose errors are known by construction: iterates
pointing exactly along ``W_svm`` whose norm does not grow (claim B requires
``||W(tau)|| -> inf``), and uniform attention whose mass off the label's SCC is known.
"""

from __future__ import annotations

import numpy as np
import pytest

from ntp_mechanics.kernel.claim_support import CHAIN, predictions
from ntp_mechanics.kernel.evidence import attention_errors, judge_iterates


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
