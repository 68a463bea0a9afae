"""The verdict on one trained weight matrix: :func:`check` and :class:`CheckResult`.

``check(dataset, W)`` judges a key-query matrix ``W`` (d x d, score convention
``a_t = e_{x_t}^T W e_query``, THEORY.md section 1) trained by gradient descent on
``dataset`` against claims B, C, D of Li et al. (AISTATS 2024), and claim E when the
graphs are acyclic or no graph has an acyclic edge - the claims whose modules declare
``check=True`` (:func:`ntp_mechanics.kernel.claims.checked_claims`).  The rules are those of
:mod:`ntp_mechanics.kernel.evidence.weights`: they judge ``P_{S_all} W``, the only part
the loss sees, so weights trained from any initialisation can be checked.  The
``ntp-mechanics check`` command prints this same object.

With ``heldout=`` (held-out windows of the same corpus) it adds the real-text
measurements of :mod:`ntp_mechanics.kernel.realtext` (hard retrieval of the top SCC,
its attention mass, the correlations, next-token accuracy against unigram and bigram
baselines) and claim C judged on those windows.  Weights trained by mini-batch SGD or
Adam (``optimizer=``), or a training set whose Graph-SVM is infeasible, are outside the
theorems' hypotheses: everything is measured and nothing is judged.

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

from ntp_mechanics.kernel import realtext
from ntp_mechanics.kernel.claims import checked_claims
from ntp_mechanics.kernel.evidence.weights import MAX_LOSS_FRACTION, MIN_SCALE, check_weights
from ntp_mechanics.kernel.verdict import ClaimResult, Verdict
from ntp_mechanics.model.dataset import Dataset, DatasetError
from ntp_mechanics.model.errors import InfeasibleError, PredictionError
from ntp_mechanics.solvers.graph_svm import graph_svm
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
    heldout: realtext.RealTextMeasures | None = None
    outside: str = ""  # why the weights are outside the hypotheses ("" when inside)

    @property
    def exit_code(self) -> int:
        """0 consistent, 1 contradicts, 3 inconclusive (the CLI's exit code)."""
        return self.verdict.exit_code

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"verdict", "claims": [{"claim", "verdict", "reason"}], "metrics"}``."""
        claims = [{"claim": c.claim, "verdict": c.verdict.value, "reason": c.reason}
                  for c in self.claims.values()]
        metrics = ClaimResult("", self.verdict, self.metrics).to_dict()["metrics"]
        out = {"verdict": self.verdict.value, "claims": claims, "metrics": metrics,
               "outside_hypotheses": self.outside or None}
        if self.heldout is not None:
            held = self.heldout.to_dict()
            out |= {k: held[k] for k in realtext.KEYS}
            out["heldout"] = held
        return out

    def __str__(self) -> str:
        lines = [f"claim {c.claim}: {c.verdict.value.upper()} - {c.reason}"
                 for c in self.claims.values()]
        m = self.metrics
        shown = ", ".join(f"{k}={m[k]:.4g}" for k in SHOWN
                          if isinstance(m.get(k), (int, float)))
        extra = []
        if self.heldout is not None:
            h = self.heldout
            vals = ", ".join(f"{k}={'null' if h.values.get(k) is None else f'{h.values[k]:.4g}'}"
                             for k in realtext.KEYS)
            extra.append(f"held-out ({h.judged} windows judged, excluded {dict(h.excluded)}): "
                         f"{vals}")
            extra += [f"  {k} is null: {r}" for k, r in h.reasons.items() if k in realtext.KEYS]
        overall = (f"OUTSIDE THE HYPOTHESES ({self.outside})" if self.outside
                   else self.verdict.value.upper())
        return "\n".join([*lines, f"metrics: {shown}", *extra, f"overall: {overall}"])


def check(dataset: Dataset, W: Any, *, init_norm: float | None = None,
          predictions: Predictions | None = None, heldout: Dataset | None = None,
          optimizer: str | None = None) -> CheckResult:
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
    heldout : Dataset, optional
        Held-out windows of the same corpus (same K, d and embeddings): adds the
        real-text measurements and claim C on them.
    optimizer : str, optional
        What trained W when known (``"gd"``, ``"ngd"``, ``"sgd"``, ``"adam"``); SGD and
        Adam are outside the hypotheses (measured, not judged).

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
    if heldout is not None:
        realtext.check_shapes(dataset, heldout, M)
    outside = _outside_optimizer(optimizer)
    try:
        pred = _predict(dataset) if predictions is None else predictions
    except PredictionError as exc:
        if heldout is None:
            raise
        return _without_predictions(dataset, heldout, M, exc)
    results = list(check_weights(pred, M, init_norm).results)
    if pred.tpg.has_acyclic_edge and not pred.tpg.has_cyclic_edge:
        b = results[0]
        results.append(ClaimResult("E", b.verdict, b.metrics,
                                   "acyclic graphs (W_fin = 0, attention SVM): " + b.reason))
    metrics = dict(results[0].metrics)
    applies = checked_claims()  # the claims whose modules declare check=True
    results = [r for r in results if r.claim in applies]
    held = None
    if heldout is not None:
        held = realtext.measure(dataset, heldout, M, **realtext.training_objects(pred))
        results.append(_heldout_claim(held, metrics, outside))
    if outside:
        results = [_not_judged(r, outside) for r in results]
    verdict = Verdict.combine(r.verdict for r in results)
    claims = {("C held-out" if i and r.reason.startswith("held-out") else r.claim): r
              for i, r in enumerate(results)}
    return CheckResult(verdict, claims, metrics, held, outside)


def _predict(dataset: Dataset) -> Predictions:
    """The theory's objects: by column (memory proportional to edges and windows) when
    the embeddings are orthonormal, e.g. one-hot; else the joint path."""
    if realtext.orthonormal(dataset.E):
        from ntp_mechanics.solvers.column_predictions import predict_columns

        return predict_columns(dataset).as_predictions()
    return predict(dataset)


def _outside_optimizer(optimizer: str | None) -> str:
    if optimizer is None or optimizer in ("gd", "ngd"):
        return ""
    return (f"trained by {optimizer}: the theorems cover full-batch gradient descent, and "
            f"the implicit bias of {optimizer} is a conjecture of its own")


def _not_judged(r: ClaimResult, outside: str) -> ClaimResult:
    if r.reason.startswith("held-out") and "outside the hypotheses" in r.reason:
        return r
    return ClaimResult(r.claim, Verdict.INCONCLUSIVE, r.metrics,
                       f"outside the hypotheses ({outside}); measured, not judged: {r.reason}")


def _heldout_claim(held: realtext.RealTextMeasures, m: dict[str, Any],
                   outside: str) -> ClaimResult:
    frac = m.get("loss_fraction", float("nan"))
    scale = m.get("scale")
    asymptotic = bool(frac <= MAX_LOSS_FRACTION and (scale is None or scale >= MIN_SCALE))
    regime = (f"||P|| = {scale:.3g} ||W_svm||, " if scale is not None else "") + \
        f"loss gap {frac:.2g} of L(0) - L*"
    return realtext.judge_heldout(held, asymptotic, regime, outside)


def _without_predictions(dataset: Dataset, heldout: Dataset, M: np.ndarray,
                         exc: PredictionError) -> CheckResult:
    """No certified prediction for the training set.  An infeasible Graph-SVM (d < K
    can make it so) is outside the hypotheses; an uncertified solve is inconclusive.
    Either way the held-out measurements that need no theory object are made."""
    if isinstance(exc, InfeasibleError):
        outside = f"the Graph-SVM of the training set is infeasible ({exc})"
        held = realtext.measure(dataset, heldout, M, svm_reason=outside)
        r = realtext.judge_heldout(held, False, "", outside)
        return CheckResult(Verdict.INCONCLUSIVE, {"C held-out": r}, {}, held, outside)
    why = f"the theory's predictions for the training set are not certified ({exc})"
    try:  # the Graph-SVM alone may still be certified (W_fin is what failed, say)
        W_svm = graph_svm(dataset).W
    except PredictionError:
        W_svm = None
    held = realtext.measure(dataset, heldout, M, W_svm=W_svm, svm_reason=why)
    r = ClaimResult("C", Verdict.INCONCLUSIVE, {"windows_judged": held.judged},
                    f"held-out windows: {why}")
    return CheckResult(Verdict.INCONCLUSIVE, {"C held-out": r}, {}, held)
