
"""Claim D (the implicit-bias formula), THEORY.md section 5.

Claim.  Gradient descent from zero satisfies

    W(tau)  ~  W_fin + ||W(tau)|| W_svm/||W_svm||,

i.e. ``(W(tau) - P_fin W(tau)) / ||.||  ->  W_svm/||W_svm||`` (the direction is the
Graph-SVM, which is orthogonal to ``S_fin`` by fact F4) and ``P_fin W(tau) -> W_fin``
(the part in ``S_fin`` converges to the finite component).

Source: conjectured by Tarzanagh, Li, Thrampoulidis, Oymak, *Transformers as Support
Vector Machines* (2023); proven in Li et al., *Mechanics of Next Token Prediction with
Self-Attention*, AISTATS 2024, its gradient-descent result (the formula made rigorous).

Assumptions, as strategies: :func:`ntp_mechanics.kernel.claim_support.claim_datasets`.

Protocol.  The normalised-GD iterates of claim B (cached, so one run serves both
modules): the S_fin part against ``W_fin`` (noise floor ``2 lr``), the orthogonal
part's direction against ``W_svm/||W_svm||``, extrapolated in the margin scale.
A second form judges a *single* trained matrix the way ``ntp-mechanics check``
does (:func:`ntp_mechanics.kernel.evidence.check_weights`): compared at its own norm with
the certified regularization path at matched norm, part by part, with
``W_fin + sqrt(R^2 - ||W_fin||^2) W_svm/||W_svm||`` reported.

Conclusion: never CONTRADICTS; the paper's cases reach CONSISTENT.

Negative controls: the finite component *without hard retrieval* (``argmin_{S_fin}``
of the full loss) in place of ``W_fin``; a single matrix that is negated, or trained
on another dataset of the same shape, must be CONTRADICTS.

Example
-------
>>> from ntp_mechanics.kernel.claim_support import TWO_CYCLE
>>> claim_D(TWO_CYCLE).verdict.value
'consistent'
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given

from ntp_mechanics.kernel.claim_support import (
    CHAIN,
    DOC_CYCLE,
    MIXED_TWO_QUERIES,
    NGD_LR,
    PAPER_RANDOM,
    PAPER_RANDOM_ACYCLIC,
    TWO_CYCLE,
    assert_consistent,
    assert_contradicts,
    assert_not_contradicts,
    claim_datasets,
    control_examples,
    control_premise,
    control_subject,
    gd_iterates,
    judged,
    label_events,
    paper_random,
    predictions,
    separable,
)
from ntp_mechanics.kernel.evidence import check_weights, judge_iterates, unreduced_finite_component
from ntp_mechanics.kernel.verdict import ClaimResult, Verdict
from ntp_mechanics.model.dataset import Dataset

CLAIM = dict(
    id="D",
    kind="theorem",
    section="5",
    statement='implicit bias: W(tau) ~ W_fin + ||W(tau)|| W_svm/||W_svm||',
    report_metric="perp_errs",
    limit_metric="perp_limit",
    metric_doc="direction error of W - P_fin W at the last step",
    check=True,
    trainer=True,
)

pytestmark = pytest.mark.theorem

PAPER_CASES = [CHAIN, TWO_CYCLE, DOC_CYCLE, MIXED_TWO_QUERIES, PAPER_RANDOM, PAPER_RANDOM_ACYCLIC]
FIN_GAP = 0.3  # a wrong W_fin this far from the theory's must be rejected (GD floor 0.02)


def claim_D(ds: Dataset, W_fin: np.ndarray | None = None) -> ClaimResult:
    """The verdict on claim D from the normalised-GD iterates of ``ds``."""
    return judge_iterates(predictions(ds), gd_iterates(ds), NGD_LR, W_fin=W_fin)[1]


def claim_D_single(ds: Dataset, W: np.ndarray) -> ClaimResult:
    """Claim D for one trained matrix (what ``ntp-mechanics check`` reports as D); the
    iterates start from zero, so the sound rules use ``||W(0)|| = 0``."""
    results = check_weights(predictions(ds), W, init_norm=0.0).results
    return next(r for r in results if r.claim == "D")


def final_iterate(ds: Dataset) -> np.ndarray:
    its = gd_iterates(ds)
    return its[max(its)]


@given(ds=claim_datasets(min_acyclic_edges=1))
@example(ds=DOC_CYCLE)
@example(ds=MIXED_TWO_QUERIES)
def test_iterates_are_W_fin_plus_norm_times_svm_direction(ds: Dataset) -> None:
    if separable(ds) is None:
        return
    label_events(ds)
    assert_not_contradicts(judged("D", "claim_D", lambda: claim_D(ds)), ds)


@given(ds=claim_datasets(min_acyclic_edges=1))
@example(ds=PAPER_RANDOM)
def test_single_trained_matrix_is_not_contradicted(ds: Dataset) -> None:
    if separable(ds) is None:
        return
    result = judged("D", "claim_D single W", lambda: claim_D_single(ds, final_iterate(ds)))
    assert_not_contradicts(result, ds)


@pytest.mark.parametrize("ds", PAPER_CASES, ids=lambda ds: ds.name)
def test_paper_cases_are_consistent(ds: Dataset) -> None:
    assert_consistent(judged("D", "claim_D paper case", lambda: claim_D(ds)), ds)
    single = judged("D", "claim_D paper case single W",
                    lambda: claim_D_single(ds, final_iterate(ds)))
    assert_consistent(single, ds)


# -- negative controls ---------------------------------------------------------------------
# Each control states how far its wrong answer is from the theory's (control_premise).
@given(ds=claim_datasets(min_acyclic_edges=1, min_cyclic_edges=1))
@control_examples(PAPER_RANDOM)
@example(ds=Dataset.from_json('{"embeddings": [[0.27298068055600483, -0.7548144548445556, -0.5964366578278846], [-0.7531367549566194, 0.5551684973273434, 0.35294895935349124], [-0.36758481347296884, 0.8740614290753409, 0.31764449169915626]], "samples": [{"tokens": [1, 2, 0], "label": 1}, {"tokens": [2, 1, 0], "label": 2}, {"tokens": [2, 1, 0], "label": 2}, {"tokens": [0], "label": 0}, {"tokens": [1, 0], "label": 1}]}'))  # noqa: E501 - S_fin error flat at 1.3 over its last step (thorough seed 3)
def test_control_unreduced_W_fin_is_rejected(ds: Dataset) -> None:
    pred = control_subject(ds)
    wrong = unreduced_finite_component(pred)
    control_premise(ds, float(np.linalg.norm(wrong - pred.W_fin)), FIN_GAP,
                    "unreduced W_fin vs W_fin")
    result = judged("D-control", "claim_D control unreduced", lambda: claim_D(ds, W_fin=wrong))
    assert_contradicts(result, ds)


@given(ds=claim_datasets(min_acyclic_edges=1))
@control_examples(PAPER_RANDOM)
def test_control_negated_matrix_is_rejected(ds: Dataset) -> None:
    pred = control_subject(ds)
    control_premise(ds, float(np.linalg.norm(2 * pred.direction)), 1.0,
                    "negated matrix vs W_svm direction")
    result = judged("D-control", "claim_D control negated single W",
                    lambda: claim_D_single(ds, -final_iterate(ds)))
    assert_contradicts(result, ds)


@pytest.mark.parametrize("seed", [902, 903])
def test_control_weights_of_another_dataset_are_rejected(seed: int) -> None:
    """Weights trained on another paper-protocol dataset of the same shape."""
    other = paper_random(seed)
    W = final_iterate(other)
    gap = float(np.linalg.norm(W / np.linalg.norm(W) - predictions(PAPER_RANDOM).direction))
    assert gap >= 1.0, f"control premise: the other dataset's weights are {gap:.3g} from W_svm"
    result = judged("D-control", "claim_D control other dataset",
                    lambda: claim_D_single(PAPER_RANDOM, final_iterate(other)))
    assert result.verdict is Verdict.CONTRADICTS, result.report(PAPER_RANDOM.to_json())
