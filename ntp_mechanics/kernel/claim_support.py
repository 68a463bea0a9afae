"""Shared machinery of the claim modules ``theorems/claim_*.py`` (claims A-E).

* **Assumptions as strategies.**  :func:`claim_datasets` draws from both generator
  routes - graph-first (:func:`ntp_mechanics.generators.graphs.token_graphs` realised by
  :func:`ntp_mechanics.generators.realise.realisations`) and dataset-first
  (:func:`ntp_mechanics.generators.datasets.paper_datasets`) - with full-rank embeddings
  (``K <= d <= 6``, the facts' and claims' assumption), small enough that one
  example costs well under a second.
* **The paper's small cases** (:data:`CHAIN`, :data:`TWO_CYCLE`, ...) and a fixed-seed
  random case in the paper's own protocol (:data:`PAPER_RANDOM`: K = d = 8, n = 10,
  T = 6, unit-norm embeddings), used as ``@example``s and as the cases that must
  reach CONSISTENT, so no claim module can pass vacuously.  They live in the gallery
  (:mod:`ntp_mechanics.kernel.gallery`) and are re-exported here.
* **Caches.**  Predictions and gradient-descent runs are cached per dataset
  (:class:`~ntp_mechanics.model.dataset.Dataset` is hashable), so a property test, its
  negative control and the next claim module share one solve and one training run.
* **Controls assert their premise.**  A negative control is only evidence when its
  wrong answer is really wrong: :func:`control_premise` fails the test on the fixed
  cases (:func:`control_examples`) when the wrong answer lies within the control's
  stated gap of the theory's, and rejects drawn examples (``hypothesis.reject``), so a
  control that degenerates on every draw ends ``Unsatisfiable`` instead of passing.
* **Verdict plumbing.**  :func:`judged` turns solver trouble into INCONCLUSIVE (a
  numerical failure is never a failure of the theory) and :func:`record`\\ s every
  verdict (``hypothesis.event`` and the CI gate's log); the ``assert_*`` helpers
  print the metrics and the dataset JSON on failure.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache

import numpy as np
from hypothesis import HealthCheck, event, example, reject, settings
from hypothesis.strategies import SearchStrategy

from ntp_mechanics.generators.datasets import describe
from ntp_mechanics.kernel.evidence import MARGIN_LADDER, PathPoint, sound_path
from ntp_mechanics.kernel.fact_support import MAX_K, fact_datasets
from ntp_mechanics.kernel.gallery import (
    CHAIN,
    DOC_CYCLE,
    MIXED_TWO_QUERIES,
    PAPER_RANDOM,
    PAPER_RANDOM_ACYCLIC,
    STRONGLY_CONNECTED,
    TWO_CYCLE,
    paper_random,
)
from ntp_mechanics.kernel.verdict import ClaimResult, Verdict, record
from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.errors import InconclusiveError, InfeasibleError
from ntp_mechanics.solvers.predictions import Predictions, predict

__all__ = [
    "CHAIN",
    "DOC_CYCLE",
    "MAX_K",
    "MIXED_TWO_QUERIES",
    "NGD_LR",
    "PAPER_RANDOM",
    "PAPER_RANDOM_ACYCLIC",
    "STRONGLY_CONNECTED",
    "TWO_CYCLE",
    "assert_consistent",
    "assert_contradicts",
    "assert_not_contradicts",
    "claim_datasets",
    "control_examples",
    "control_premise",
    "control_subject",
    "gd_iterates",
    "judged",
    "label_events",
    "paper_random",
    "path_points",
    "predictions",
    "separable",
    "solvable",
]

NGD_LR = 0.01  # the paper's protocol: normalised GD, lr 0.01, from zero
MAX_STEPS = 20_000  # about 1.5 s of fp64 training on one core for these sizes


# -- strategies (the facts' full-rank ones, kernel/fact_support.py) ---------------------
def claim_datasets(**graph_kw: object) -> SearchStrategy[Dataset]:
    """The facts' datasets (:func:`~ntp_mechanics.kernel.fact_support.fact_datasets`:
    either generator route, full-rank embeddings) with sequences of at least 2 tokens
    on the dataset-first route."""
    return fact_datasets(min_length=2, **graph_kw)


# -- cached computations -----------------------------------------------------------------
@lru_cache(maxsize=512)
def predictions(ds: Dataset) -> Predictions:
    """Certified ``W_svm``, ``W_fin`` (raises InconclusiveError / InfeasibleError)."""
    return predict(ds)


def gd_steps(norm_W_svm: float) -> tuple[int, ...]:
    """Record steps at which normalised GD's norm reaches the margin ladder.

    Normalised GD moves ``lr`` per step, nearly along one direction, so its norm after
    t steps is about ``lr t``: step ``m ||W_svm|| / lr`` is at margin scale m.
    Without an acyclic edge there is no scale: a fixed doubling ladder to 4000.
    """
    if norm_W_svm <= 0:
        return (500, 1000, 2000, 4000)
    steps = {min(MAX_STEPS, max(1, math.ceil(m * norm_W_svm / NGD_LR))) for m in MARGIN_LADDER}
    return tuple(sorted(steps))


@lru_cache(maxsize=256)
def path_points(ds: Dataset) -> tuple[PathPoint, ...]:
    """The re-checked regularization path at ``R = m ||W_svm||``, m on the ladder."""
    pred = predictions(ds)
    ns = float(np.linalg.norm(pred.W_svm))
    return tuple(sound_path(pred, [m * ns for m in MARGIN_LADDER])) if ns > 0 else ()


@lru_cache(maxsize=128)
def gd_iterates(ds: Dataset) -> dict[int, np.ndarray]:
    """Normalised GD (lr 0.01, zero init, fp64, CPU) recorded along :func:`gd_steps`."""
    import torch

    from ntp_mechanics.solvers.training import TrainConfig, train

    torch.set_num_threads(1)  # tiny tensors: threads only add overhead
    steps = gd_steps(float(np.linalg.norm(predictions(ds).W_svm)))
    cfg = TrainConfig(optimizer="ngd", lr=NGD_LR, steps=steps[-1], init="zero",
                      device="cpu", record_at=steps)
    return dict(train(ds, cfg).iterates)


# -- negative controls: their premise --------------------------------------------------
_FIXED_CONTROL_CASES: set[Dataset] = set()


def control_examples(*cases: Dataset) -> Callable[[Callable], Callable]:
    """``@example(ds=case)`` for each case, registered as a *fixed* control case: there a
    degenerate control fails the test instead of being rejected (:func:`control_premise`).

    Rejections are expected on drawn cases (some draws cannot host the control), so the
    filter-too-much health check is off: a control that degenerates on *every* draw
    ends ``Unsatisfiable``, one that degenerates often never fails by chance."""
    def decorate(test: Callable) -> Callable:
        for ds in reversed(cases):
            test = example(ds=ds)(test)
        _FIXED_CONTROL_CASES.update(cases)
        quiet = [HealthCheck.filter_too_much, HealthCheck.too_slow]
        # no deadline: a control solves and trains (the package's profiles have none;
        # a module importing the claims under Hypothesis's default profile needs this)
        return settings(suppress_health_check=quiet, deadline=None)(test)
    return decorate


def control_premise(ds: Dataset, gap: float | None, min_gap: float, what: str) -> None:
    """The premise of a negative control: its wrong answer is ``min_gap`` from the theory's.

    ``gap`` is the distance between the two (None: the control could not be built).
    On a fixed case (:func:`control_examples`) a closer control fails the test; on a
    drawn case it is a Hypothesis rejection, never a silent pass.

    Raises
    ------
    AssertionError
        On a fixed case whose control is degenerate.
    """
    if gap is not None and gap >= min_gap:
        return
    shown = "not built" if gap is None else f"{gap:.3g} < {min_gap}"
    message = f"control premise: {what} ({shown})"
    if ds in _FIXED_CONTROL_CASES:
        raise AssertionError(f"{message} on the fixed case {ds.name!r}: the control is "
                             "no longer wrong, so it cannot test the claim")
    event(f"control premise: {what} below {min_gap}: rejected")
    reject()


def control_subject(ds: Dataset, *, separable_only: bool = True) -> Predictions:
    """The predictions a control is built from; a vacuous case is no control (rejected,
    or a failure on a fixed case), see :func:`control_premise`."""
    pred = separable(ds) if separable_only else solvable(ds)
    if pred is None:
        control_premise(ds, None, 0.0, "the claim is vacuous or uncertified here")
    assert pred is not None
    return pred


# -- verdict plumbing -------------------------------------------------------------------
def solvable(ds: Dataset) -> Predictions | None:
    """The predictions, or None (with an event) when the solvers cannot certify them."""
    try:
        return predictions(ds)
    except (InconclusiveError, InfeasibleError) as exc:
        event(f"predictions not certified ({type(exc).__name__}): not judged")
        return None


def separable(ds: Dataset) -> Predictions | None:
    """The predictions when ``W_svm != 0``; None (with an event) when vacuous."""
    pred = solvable(ds)
    if pred is not None and np.linalg.norm(pred.W_svm) == 0:
        event("W_svm = 0 (no acyclic edge): vacuous here")
        return None
    return pred


def label_events(ds: Dataset) -> None:
    """Count the kinds of dataset drawn (graph kind, depth, queries, embeddings)."""
    for label in describe(ds):
        event(label)



def judged(claim: str, test: str, fn: Callable[[], ClaimResult]) -> ClaimResult:
    """Run ``fn``; solver trouble becomes INCONCLUSIVE; the verdict is recorded under
    ``claim`` (e.g. ``"A-control"`` for a negative control, counted apart by the gate)."""
    try:
        result = replace(fn(), claim=claim)
    except (InconclusiveError, InfeasibleError, FloatingPointError) as exc:
        result = ClaimResult(claim, Verdict.INCONCLUSIVE, {},
                             f"numerics: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    record(result, test)
    return result


def _message(result: ClaimResult, ds: Dataset, want: str) -> str:
    return f"expected {want}\n{result.report(ds.to_json())}"


def assert_not_contradicts(result: ClaimResult, ds: Dataset) -> None:
    assert result.verdict is not Verdict.CONTRADICTS, _message(result, ds, "not CONTRADICTS")


def assert_consistent(result: ClaimResult, ds: Dataset) -> None:
    assert result.verdict is Verdict.CONSISTENT, _message(result, ds, "CONSISTENT")


def assert_contradicts(result: ClaimResult, ds: Dataset) -> None:
    assert result.verdict is Verdict.CONTRADICTS, _message(
        result, ds, "CONTRADICTS (negative control: the check must reject a wrong prediction)"
    )
