"""What every judge of claims A-E shares: thresholds, an accurate loss, cosines.

The thresholds are the verdict rules' constants (errors are Frobenius distances of
unit matrices, in [0, 2]); :func:`merge` combines the judgements of one claim's parts.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from scipy.special import logsumexp

from ntp_mechanics.kernel.verdict import (
    ClaimResult,
    Judgement,
    Verdict,
)
from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.solvers.loss import LogLoss
from ntp_mechanics.solvers.predictions import Predictions

MARGIN_LADDER: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0)
"""Margin scales ``m = R / ||W_svm||`` of the regularization-path ladder."""

DIR_TOL, DIR_LARGE = 0.05, 0.15
"""Direction: extrapolated limit within DIR_TOL is consistent; a plateau above
DIR_LARGE contradicts (errors are Frobenius distances of unit matrices, in [0, 2])."""

FIN_TOL, FIN_LARGE = 0.01, 0.05
"""S_fin component ``||P_fin W - W_fin||`` (it converges exponentially fast)."""

ATT_TOL, OFF_LARGE, TV_LARGE = 0.01, 0.25, 0.05
"""Attention (claim C): tolerance; a plateau of the mass off the target SCC above
OFF_LARGE, or of the within-SCC total variation above TV_LARGE, contradicts."""


# -- accurate loss -----------------------------------------------------------------------
def precise_loss(loss: LogLoss, W: np.ndarray) -> float:
    """``L(W)`` with full relative precision even when it is ``1e-200``.

    ``-log p_i = log1p(sum_{t off label} exp(a_t - LSE_label))``; the usual
    ``LSE - LSE_label`` form rounds every loss below ``1e-16`` to 0, which is
    exactly the regime where regularization-path points must be compared.
    """
    a = loss.scores(W)
    lse_y = logsumexp(np.where(loss.label_mask, a, -np.inf), axis=1)
    off = np.where(loss.mask & ~loss.label_mask, a - lse_y[:, None], -np.inf)
    with np.errstate(divide="ignore"):
        ls = logsumexp(off, axis=1)  # log of (1 - p) / p
    per = np.where(ls < 0, np.log1p(np.exp(ls)), np.logaddexp(0.0, ls))
    return float(per @ loss.w)  # weighted by the windows' counts, as L is


def cosine(A: np.ndarray, B: np.ndarray) -> float:
    na, nb = float(np.linalg.norm(A)), float(np.linalg.norm(B))
    return float(np.sum(A * B) / (na * nb)) if na > 0 and nb > 0 else 0.0


def unit(W: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(W))
    return W / n if n > 0 else W

def merge(claim: str, metrics: dict[str, Any], **parts: Judgement) -> ClaimResult:
    verdict = Verdict.combine(j.verdict for j in parts.values())
    shown = [f"{k}: {j.reason}" for k, j in parts.items() if j.verdict is verdict] or [
        f"{k}: {j.reason}" for k, j in parts.items()
    ]
    metrics = dict(metrics) | {f"{k}_verdict": j.verdict.value for k, j in parts.items()}
    return ClaimResult(claim, verdict, metrics, "; ".join(shown))

def with_claim(result: ClaimResult, claim: str) -> ClaimResult:
    """The same result under another claim id (e.g. a negative control's label)."""
    return replace(result, claim=claim)


def dataset_of(pred: Predictions) -> Dataset:
    return pred.dataset
