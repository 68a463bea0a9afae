"""Verdicts on the paper's claims, and sound evidence from finite-size sequences.

A *verdict* is what a finite computation can say about an asymptotic claim
(THEORY.md section 5: every claim is a limit ``R -> inf`` or ``tau -> inf``):

* ``CONSISTENT`` - the measured errors extrapolate to the claimed limit and decay
  at the predicted rate;
* ``CONTRADICTS`` - clear evidence against the claim: the errors have *plateaued*
  (no decrease per doubling of the scale) at a value that is large, and the fit
  says so unambiguously;
* ``INCONCLUSIVE`` - anything else: too few certified points, a noisy fit, a
  sequence still far from its asymptotics, a solver that could not certify.
  A numerical failure is never evidence against the theory.

Verdicts combine pessimistically: any ``CONTRADICTS`` wins, then any
``INCONCLUSIVE`` (:meth:`Verdict.combine`).

Why extrapolate?  THEORY.md section 7: the regularization path's directional error
decays like ``log(R)/R`` (0.68, 0.44, 0.24, 0.13, 0.075 at R = 10 ... 160), so any
fixed threshold at one finite R either rejects correct predictions or accepts wrong
ones.  :func:`limit_of_decaying` fits ``err(x) ~ a + b rate(x)`` on the tail of a
sequence measured at doubling scales and returns the extrapolated limit ``a``; the
decision rule :func:`judge_decay` reads it together with the per-doubling ratios.

Source of the rates: Li et al., *Mechanics of Next Token Prediction with
Self-Attention*, AISTATS 2024, Theorems 2-3 (direction ``O(log R / R)``-type,
S_fin component exponentially fast); Tarzanagh et al., 2023.

Example
-------
>>> xs = [10, 20, 40, 80, 160]
>>> fit = limit_of_decaying(xs, [0.68, 0.44, 0.24, 0.13, 0.075])
>>> round(fit.limit, 2), judge_decay(fit, tol=0.05, large=0.15).verdict.value
(0.01, 'consistent')
>>> judge_decay(limit_of_decaying(xs, [1.9, 1.95, 1.97, 1.98, 1.99]),
...             tol=0.05, large=0.15).verdict.value
'contradicts'
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

from ntp_mechanics.kernel.environment import VERDICT_LOG_ENV
from ntp_mechanics.kernel.verdict_log import append_verdict, log_path

__all__ = [
    "VERDICT_LOG_ENV",
    "ClaimResult",
    "DecayFit",
    "Judgement",
    "Verdict",
    "judge_decay",
    "limit_of_decaying",
    "record",
    "take_verdicts",
]



class Verdict(str, Enum):
    """What the evidence says about one claim (see the module docstring)."""

    CONSISTENT = "consistent"
    CONTRADICTS = "contradicts"
    INCONCLUSIVE = "inconclusive"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def combine(cls, verdicts: Iterable[Verdict]) -> Verdict:
        """Any CONTRADICTS wins; else any INCONCLUSIVE; else CONSISTENT.

        No evidence at all is INCONCLUSIVE (an empty check proves nothing).

        >>> Verdict.combine([Verdict.CONSISTENT, Verdict.INCONCLUSIVE]).value
        'inconclusive'
        """
        vs = list(verdicts)
        if not vs:
            return cls.INCONCLUSIVE
        if cls.CONTRADICTS in vs:
            return cls.CONTRADICTS
        if cls.INCONCLUSIVE in vs:
            return cls.INCONCLUSIVE
        return cls.CONSISTENT

    @property
    def exit_code(self) -> int:
        """The CLI's exit code: 0 consistent, 1 contradicts, 3 inconclusive."""
        return {"consistent": 0, "contradicts": 1, "inconclusive": 3}[self.value]


@dataclass(frozen=True)
class ClaimResult:
    """The verdict on one claim id (THEORY.md: A-E, F1-F8, C1-C6) with its evidence."""

    claim: str
    verdict: Verdict
    metrics: Mapping[str, Any] = field(default_factory=dict)
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "claim": self.claim,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "metrics": {k: _plain(v) for k, v in self.metrics.items()},
        }

    def __str__(self) -> str:
        return f"{self.claim}: {self.verdict.value} - {self.reason}"

    def report(self, dataset_json: str | None = None) -> str:
        """A failure message: verdict, reason, metrics and the dataset to reproduce."""
        lines = [str(self), "metrics: " + json.dumps(self.to_dict()["metrics"], sort_keys=True)]
        if dataset_json is not None:
            lines.append("dataset: " + dataset_json)
        return "\n".join(lines)

    @staticmethod
    def combine(claim: str, parts: Sequence[ClaimResult]) -> ClaimResult:
        """One result for ``claim`` from several (metrics prefixed by the part's claim)."""
        verdict = Verdict.combine(p.verdict for p in parts)
        metrics = {f"{p.claim}.{k}": v for p in parts for k, v in p.metrics.items()}
        worst = [p for p in parts if p.verdict is verdict] or list(parts)
        return ClaimResult(claim, verdict, metrics, "; ".join(str(p) for p in worst))


_PENDING: list[dict[str, Any]] = []  # verdicts recorded since the last take_verdicts()


def record(result: ClaimResult, test: str = "") -> None:
    """Record ``result``: ``hypothesis.event`` when inside a property test; one verdict
    line ``{"test", "claim", "verdict", "reason", "metrics"}`` kept for the current test
    (the package's pytest plugin takes it, :func:`take_verdicts`, into the test's
    report, where ``gate`` and ``report`` read it); and that line appended to
    ``$NTP_VERDICT_LOG`` when set (:mod:`ntp_mechanics.kernel.verdict_log`).

    >>> record(ClaimResult("B", Verdict.CONSISTENT), "t")
    >>> [(v["test"], v["claim"], v["verdict"]) for v in take_verdicts()], take_verdicts()
    ([('t', 'B', 'consistent')], [])
    """
    try:  # only meaningful inside @given; outside it Hypothesis raises
        from hypothesis import event

        event(f"{result.claim}: {result.verdict.value}")
    except Exception:  # no active Hypothesis test
        pass
    # plain values only (a JSON round trip): pytest-xdist sends reports between processes
    _PENDING.append(json.loads(json.dumps({"test": test, **result.to_dict()}, default=str)))
    path = log_path()
    if path:
        append_verdict(path, test, result.to_dict())


def take_verdicts() -> list[dict[str, Any]]:
    """The verdict lines :func:`record` kept since the last call, which empties them."""
    out = list(_PENDING)
    _PENDING.clear()
    return out


# -- decaying sequences ------------------------------------------------------------------
RATES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "log/x": lambda x: (1.0 + np.log(x)) / x,  # log(e x)/x: positive and decreasing for x >= 1
    "1/x": lambda x: 1.0 / x,
}


@dataclass(frozen=True)
class DecayFit:
    """``err(x) ~ limit + slope * rate(x)`` fitted on the tail of a sequence.

    ``"log/x"`` fits the theory's form ``a + (alpha + beta log x) / x`` when there
    are at least 4 points (on 40 random datasets its limit for the regularization
    path lay in [-0.05, 0.005]); with 3 points it falls back to the larger limit of
    the 2-parameter fits with rates ``1/x`` and ``log(e x)/x``, which bracket it.
    ``limit_low`` is the smallest of all these estimates (used to contradict: it
    must be large too).  ``ratios`` are per-doubling decay ratios of consecutive tail points,
    ``(err_{i+1}/err_i) ** (1 / log2(x_{i+1}/x_i))``; ``residual`` is the fit's RMS
    residual relative to the largest tail error (0 for an exact fit).
    """

    model: str
    xs: tuple[float, ...]
    errs: tuple[float, ...]
    limit: float
    slope: float
    residual: float
    ratios: tuple[float, ...]
    rate_param: float = float("nan")  # the fitted exponent c of the "exp" model
    limit_low: float = float("nan")

    @property
    def n(self) -> int:
        return len(self.errs)

    @property
    def last(self) -> float:
        return self.errs[-1] if self.errs else float("nan")

    @property
    def span_ratio(self) -> float:
        """Decay ratio per doubling from the last point back to the latest point at
        least one doubling earlier (else the first tail point).

        Consecutive ratios over short scale steps amplify jitter (normalised GD moves
        by lr per step, so its errors wobble at the lr level): ``(0.314 / 0.323)`` over
        a step of 1.17x is a "ratio per doubling" of 0.88.  Over a whole doubling the
        same wobble is harmless, so the rules read this ratio.
        """
        if self.n < 2:
            return float("nan")
        x, e = self.xs, self.errs
        j = next((i for i in range(self.n - 2, -1, -1) if x[i] <= x[-1] / 2), 0)
        if e[j] <= 0 or x[-1] <= x[j]:
            return float("nan")
        return float((e[-1] / e[j]) ** (1.0 / math.log2(x[-1] / x[j])))

    def metrics(self, prefix: str = "") -> dict[str, Any]:
        return {
            f"{prefix}errs": [float(e) for e in self.errs],
            f"{prefix}scales": [float(x) for x in self.xs],
            f"{prefix}limit": self.limit,
            f"{prefix}limit_low": self.limit_low,
            f"{prefix}ratios": [round(r, 4) for r in self.ratios],
            f"{prefix}span_ratio": self.span_ratio,
            f"{prefix}fit_residual": self.residual,
        }


def limit_of_decaying(
    xs: Sequence[float],
    errs: Sequence[float | None],
    model: str = "log/x",
    tail: int = 4,
) -> DecayFit:
    """Fit ``err ~ a + b rate(x)`` over the last ``tail`` finite points; ``a`` is the limit.

    ``model`` is ``"log/x"`` (the regularization path's direction), ``"1/x"``, or
    ``"exp"`` (``a + b exp(-c x)`` with ``c > 0`` fitted; the S_fin component and the
    attention off the label's SCC).  Points whose error is None or not finite
    (uncertified solves) are dropped first.  With fewer than two points the limit is
    NaN.

    >>> fit = limit_of_decaying([10, 20, 40, 80], [0.5, 0.1, 0.004, 1e-5], model="exp")
    >>> abs(fit.limit) < 0.01
    True
    """
    pts = [(float(x), float(e)) for x, e in zip(xs, errs, strict=True)
           if e is not None and math.isfinite(e) and x > 0]
    pts = pts[-tail:]
    x = np.array([p[0] for p in pts])
    e = np.array([p[1] for p in pts])
    ratios = tuple(
        float((e[i + 1] / e[i]) ** (1.0 / math.log2(x[i + 1] / x[i])))
        if e[i] > 0 and x[i + 1] > x[i] else float("nan")
        for i in range(len(e) - 1)
    )
    nan = float("nan")
    if len(e) < 2:
        return DecayFit(model, tuple(x), tuple(e), nan, nan, nan, ratios)
    if model == "exp":
        limit, slope, resid, c = _fit_exp(x, e)
        return DecayFit(model, tuple(x), tuple(e), limit, slope, resid, ratios, c, limit)
    if model not in RATES:
        raise ValueError(f"model must be one of {(*RATES, 'exp')}, got {model!r}")
    fits = [_fit_linear(RATES[model](x), e)]
    if model != "log/x":
        limit, slope, resid = fits[0]
        return DecayFit(model, tuple(x), tuple(e), limit, slope, resid, ratios, limit_low=limit)
    # log/x: the theory's form a + (alpha + beta log x)/x when 4+ points allow it,
    # else the bracket of the two 2-parameter fits (upper estimate for consistency)
    fits.append(_fit_linear(RATES["1/x"](x), e))
    estimates = [f[0] for f in fits]
    limit, resid = max(estimates), min(f[2] for f in fits)
    if len(e) >= 4:
        limit, resid = _fit_columns([np.ones_like(x), 1.0 / x, np.log(x) / x], e)
        estimates.append(limit)
    return DecayFit(model, tuple(x), tuple(e), limit, fits[0][1], resid, ratios,
                    limit_low=min(estimates))


def _fit_columns(columns: list[np.ndarray], e: np.ndarray) -> tuple[float, float]:
    """Least squares on the given columns: (constant term, relative RMS residual)."""
    A = np.column_stack(columns)
    coef, *_ = np.linalg.lstsq(A, e, rcond=None)
    scale = max(float(np.max(np.abs(e))), 1e-300)
    return float(coef[0]), float(np.sqrt(np.mean((e - A @ coef) ** 2)) / scale)


def _fit_linear(r: np.ndarray, e: np.ndarray) -> tuple[float, float, float]:
    A = np.column_stack([np.ones_like(r), r])
    coef, *_ = np.linalg.lstsq(A, e, rcond=None)
    resid = e - A @ coef
    scale = max(float(np.max(np.abs(e))), 1e-300)
    return float(coef[0]), float(coef[1]), float(np.sqrt(np.mean(resid**2)) / scale)


def _fit_exp(x: np.ndarray, e: np.ndarray) -> tuple[float, float, float, float]:
    """``a + b exp(-c x)``: grid over c (decay per unit scale), a and b by least squares.

    The sequence may approach its limit from either side (b of any sign: an error
    against a *wrong* prediction often rises to its plateau); ``a >= 0`` because
    errors are norms, and a sequence already at rounding level fits with ``a ~ 0``.
    """
    # the constant model (b = 0) competes with every decaying one; c only ranges over
    # rates that decay by at least a factor e^0.5 across the observed span, because a
    # slower exponential is collinear with the constant and its "limit" is arbitrary
    a0 = float(np.mean(e))
    best = (a0, 0.0, float(np.sqrt(np.mean((e - a0) ** 2)) / max(float(np.max(np.abs(e))),
                                                                  1e-300)), 0.0)
    span = float(x[-1] - x[0])
    if span <= 0:
        return best
    for c in np.geomspace(0.5, 50.0, 121) / span:
        r = np.exp(-c * (x - x[0]))  # shifted: keeps the columns O(1)
        a, b, resid = _fit_linear(r, e)
        if a < -1e-12:
            continue
        if resid < best[2]:
            best = (a, b, resid, float(c))
    return best


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    reason: str


def judge_decay(
    fit: DecayFit,
    *,
    tol: float,
    large: float,
    converged: float | None = None,
    plateau: float = 0.85,
    max_ratio: float = 0.8,
    max_residual: float = 0.1,
    min_points: int = 3,
) -> Judgement:
    """The decision rule for a sequence that the theory says tends to 0.

    * CONSISTENT when the error is already negligible: the last point is at most
      ``converged`` (default ``tol / 10``; pass the noise floor of the measurement,
      e.g. the step of normalised GD), or when the fit is good, the upper
      extrapolated limit is at most ``tol`` and the tail decays by a ratio per
      doubling (:attr:`DecayFit.span_ratio`) ``<= max_ratio``: at least as fast as
      the predicted rate allows.
    * CONTRADICTS only on clear evidence: a good fit, a ratio per doubling
      ``>= plateau`` (little decrease over the last doubling: an error tending to the
      theory's 0 at its ``log(m)/m`` rate halves roughly every doubling, ratio about
      0.6-0.7, while one tending to a wrong limit g slows to 1; at g = 0.3 from 0.86
      the ratio over m = 8 -> 16 is already about 0.89; for an ``exp`` fit the last
      consecutive ratio counts too), the last error
      ``>= large`` and the lower extrapolated limit ``>= large``.
    * INCONCLUSIVE otherwise (too few points, noisy fit, slow but ongoing decay).
    """
    if fit.n < min_points:
        return Judgement(Verdict.INCONCLUSIVE,
                         f"only {fit.n} certified point(s), need {min_points}")
    conv = tol / 10 if converged is None else converged
    r = fit.span_ratio
    # at or below the noise floor, growth is noise (normalised-GD jitter, rounding)
    if fit.last <= conv:
        return Judgement(Verdict.CONSISTENT,
                         f"error {fit.last:.2g} at x={fit.xs[-1]:g} is negligible")
    good = math.isfinite(fit.residual) and fit.residual <= max_residual
    # a negative extrapolated limit means faster decay than modelled: still -> 0
    if good and fit.limit <= tol and math.isfinite(r) and r <= max_ratio:
        return Judgement(
            Verdict.CONSISTENT,
            f"extrapolated limit {fit.limit:.3g} (<= {tol:g}), ratio per doubling {r:.2f} "
            f"(consecutive {_fmt(fit.ratios)})",
        )
    low = fit.limit_low if math.isfinite(fit.limit_low) else fit.limit
    # an exponential decay that has stopped at its last step has reached its fitted
    # asymptote: the whole-doubling ratio would still show the earlier fast decay
    if fit.model == "exp" and fit.ratios and math.isfinite(fit.ratios[-1]):
        r = max(r, fit.ratios[-1]) if math.isfinite(r) else fit.ratios[-1]
    if good and math.isfinite(r) and r >= plateau and fit.last >= large and low >= large:
        return Judgement(
            Verdict.CONTRADICTS,
            f"plateau at {fit.last:.3g} (extrapolated limit {low:.3g} >= {large:g}; ratio per "
            f"doubling {r:.2f} >= {plateau:g}, consecutive {_fmt(fit.ratios)})",
        )
    why = "noisy fit" if not good else (
        f"extrapolated limit {fit.limit:.3g}, last error {fit.last:.3g}, ratio per doubling "
        f"{r:.2f}"
    )
    return Judgement(Verdict.INCONCLUSIVE, f"not decided: {why} (residual {fit.residual:.2g})")


def _fmt(xs: Iterable[float]) -> str:
    return "[" + ", ".join(f"{x:.2f}" for x in xs) + "]"


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, Enum):
        return v.value
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v
