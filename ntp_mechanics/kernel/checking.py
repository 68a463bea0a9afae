"""The verdict on one trained weight matrix: :func:`check` and :class:`CheckResult`.

``check(dataset, W)`` judges a key-query matrix ``W`` (d x d, score convention
``a_t = e_{x_t}^T W e_query``, THEORY.md section 1) trained by gradient descent on
``dataset`` against claims B, C, D of Li et al. (AISTATS 2024), and claim E when the
graphs are acyclic or no graph has an acyclic edge - the claims whose modules declare
``check=True`` (:func:`ntp_mechanics.kernel.claims.checked_claims`).  The rules are those of
:mod:`ntp_mechanics.kernel.evidence.weights`: they judge ``P_{S_all} W``, the only part
the loss sees, so weights trained from any initialisation can be checked.  The
``ntp-mechanics check`` command prints this same object.

Example
-------
>>> import numpy as np
>>> from ntp_mechanics.model.dataset import Dataset
>>> from ntp_mechanics.solvers.predictions import predict
>>> ds = Dataset.from_arrays(np.eye(3), [((0, 1, 2), 0), ((1, 2), 1)])
>>> result = check(ds, -20 * predict(ds).direction)  # GD never lowers <W, W_svm>
>>> result.verdict.value, result.exit_code
('contradicts', 1)
>>> sorted(result.claims)
['B', 'C', 'D', 'E']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ntp_mechanics.kernel.claims import checked_claims
from ntp_mechanics.kernel.evidence.weights import check_weights
from ntp_mechanics.kernel.verdict import ClaimResult, Verdict
from ntp_mechanics.model.dataset import Dataset, DatasetError
from ntp_mechanics.solvers.predictions import Predictions, predict

__all__ = ["CheckResult", "check"]

# metrics shown in the one-line summary of the text report
SHOWN = ("norm_W", "norm_remainder", "scale", "loss_fraction", "path_err", "theory_err",
         "direction_err", "cos_W_svm", "fin_err", "fin_path_err", "formula_err",
         "mean_off_scc", "max_within_scc_tv", "dist_to_W_fin")


@dataclass(frozen=True)
class CheckResult:
    """The verdict on one weight matrix: overall, per claim, and the measurements.

    Attributes
    ----------
    verdict : Verdict
        The pessimistic combination of the claims' verdicts.
    claims : Mapping[str, ClaimResult]
        Claim id (``"B"``, ``"C"``, ``"D"``, ``"E"``) to its verdict and reason.
    metrics : Mapping[str, Any]
        What was measured on ``P_{S_all} W``; ``norm_remainder`` is ``||W - P_{S_all} W||``.
    """

    verdict: Verdict
    claims: Mapping[str, ClaimResult]
    metrics: Mapping[str, Any]

    @property
    def exit_code(self) -> int:
        """0 consistent, 1 contradicts, 3 inconclusive (the CLI's exit code)."""
        return self.verdict.exit_code

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"verdict", "claims": [{"claim", "verdict", "reason"}], "metrics"}``."""
        claims = [{"claim": c.claim, "verdict": c.verdict.value, "reason": c.reason}
                  for c in self.claims.values()]
        metrics = ClaimResult("", self.verdict, self.metrics).to_dict()["metrics"]
        return {"verdict": self.verdict.value, "claims": claims, "metrics": metrics}

    def __str__(self) -> str:
        lines = [f"claim {c.claim}: {c.verdict.value.upper()} - {c.reason}"
                 for c in self.claims.values()]
        m = self.metrics
        shown = ", ".join(f"{k}={m[k]:.4g}" for k in SHOWN
                          if isinstance(m.get(k), (int, float)))
        return "\n".join([*lines, f"metrics: {shown}", f"overall: {self.verdict.value.upper()}"])


def check(dataset: Dataset, W: Any, *, init_norm: float | None = None,
          predictions: Predictions | None = None) -> CheckResult:
    """Judge weights ``W`` trained on ``dataset`` against claims B-E.

    Parameters
    ----------
    dataset : Dataset
        The dataset W was trained on.
    W : array-like
        d x d, score convention ``e_{x_t}^T W e_query``; any initialisation.
    init_norm : float, optional
        Bound on ``||W(0)||`` for the sound rules (0 for a zero start); default
        ``sqrt(d)``, which PyTorch's default ``nn.Linear`` init never exceeds.
    predictions : Predictions, optional
        ``predict(dataset)`` when already computed.

    Returns
    -------
    CheckResult
        The overall verdict, one per claim, and the metrics.

    Raises
    ------
    DatasetError
        When W is not a finite d x d matrix.
    InconclusiveError, InfeasibleError
        When the theory's predictions cannot be certified.
    """
    M = np.asarray(W, dtype=np.float64)
    if M.shape != (dataset.d, dataset.d):
        raise DatasetError(f"weights: W must be a {dataset.d} x {dataset.d} matrix, "
                           f"got shape {M.shape}")
    if not np.all(np.isfinite(M)):
        raise DatasetError("weights: W contains NaN or infinity")
    pred = predict(dataset) if predictions is None else predictions
    results = list(check_weights(pred, M, init_norm).results)
    metrics = dict(results[0].metrics)
    if pred.tpg.has_acyclic_edge and not pred.tpg.has_cyclic_edge:
        b = results[0]
        results.append(ClaimResult("E", b.verdict, b.metrics,
                                   "acyclic graphs (W_fin = 0, attention SVM): " + b.reason))
    applies = checked_claims()  # the claims whose modules declare check=True
    results = [r for r in results if r.claim in applies]
    verdict = Verdict.combine(r.verdict for r in results)
    return CheckResult(verdict, {r.claim: r for r in results}, metrics)
