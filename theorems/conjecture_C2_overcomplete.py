"""C2: Overcomplete embeddings (K > d) whenever the Graph-SVM is feasible: claims A-D still hold.

Conjecture C2 of THEORY.md section 6 (reported, not asserted; see
:mod:`ntp_mechanics.kernel.conjectures`).  The paper proves claims A-D for linearly
independent embeddings; fact F5 (convexity of L) holds for any E, and with ``K > d``
the Graph-SVM may be infeasible (fact F1) - then the conjecture says nothing
(the case is *out of scope*).  When it is feasible, the same evidence the theorem
modules use (:mod:`ntp_mechanics.kernel.evidence`) is computed on overcomplete datasets:

* claim A along the regularization path at margin scales ``m = R/||W_svm|| = 1..16``
  (direction ``W_R/R -> W_svm/||W_svm||``, ``P_fin W_R -> W_fin``), with every
  certified path point re-checked against reference points (``sound_path``);
* claim C along ``W_fin + R W_svm/||W_svm||`` (attention concentrates on the label's
  SCC and, there, follows ``softmax(W_fin scores)``);
* claims B and D from normalised GD iterates, from zero, up to ``||W|| ~ 20 ||W_svm||``;
  a run that ends below ``8 ||W_svm||`` is undecided (dependent rows can make ``L_fin``
  nearly flat along some direction of ``S_fin``, and GD then creeps along it for a
  long time - a finite run says nothing about the limit there).

Each case ends CONSISTENT (held), INCONCLUSIVE (the finite-size evidence does not
decide, or a solver could not certify) or CONTRADICTS (a plateau far from the
prediction: a counterexample, saved and printed by the conjecture plugin).

Negative control (``test_c2_control_reversed_priorities_are_rejected``, asserted): on a
fixed overcomplete dataset (K = 3 rows at 120 degrees in d = 2) the same evidence must
reject the reversed direction ``-W_svm`` (claims A, C) and the negated GD iterates
(claims B, D), as the theorem modules' controls do.

Strategies: graph-first overcomplete datasets with at least one acyclic edge
(``ntp_mechanics.kernel.fact_support.overcomplete_datasets``: K in 3..6, d in 2..K-1) and
dataset-first paper-style sequences with overcomplete embeddings.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from ntp_mechanics.generators.datasets import paper_datasets
from ntp_mechanics.generators.embeddings import overcomplete
from ntp_mechanics.kernel.conjectures import conjecture, inconclusive, observe, settle, vacuous
from ntp_mechanics.kernel.evidence import judge_automaton, judge_iterates, judge_path, with_claim
from ntp_mechanics.kernel.fact_support import overcomplete_datasets
from ntp_mechanics.kernel.verdict import ClaimResult, Verdict, record
from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.errors import InfeasibleError
from ntp_mechanics.solvers.predictions import Predictions, predict

CLAIM = dict(
    id="C2",
    kind="conjecture",
    section="6",
    statement=('overcomplete E (K > d) with a feasible Graph-SVM: claims A-D '
               'still hold'),
)

STEPS = 2000
RECORD_AT = (125, 250, 500, 1000, 1500)
TARGET_SCALE = 20.0  # final ||W|| / ||W_svm|| of the GD run (the ladder ends at 16)
NGD_LR = 0.01  # the paper's step; larger when ||W_svm|| needs it to reach TARGET_SCALE
MIN_SCALE = 8.0  # a run that ends below ||W|| = 8 ||W_svm|| is not asymptotic: undecided


def paper_overcomplete() -> SearchStrategy[Dataset]:
    """Paper-style sequences, K in 3..6, overcomplete unit rows (d < K)."""
    return paper_datasets(
        K=st.integers(3, 6), n=st.integers(1, 6), T=st.integers(2, 4), variable_lengths=True,
        embeddings=lambda K: overcomplete(K),
    )


def three_in_the_plane() -> Dataset:
    """K = 3 unit rows at 120 degrees in d = 2; W_svm != 0 and W_fin != 0."""
    angles = 2 * np.pi * np.arange(3) / 3
    E = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return Dataset.from_arrays(E, [((0, 1, 2), 0), ((1, 2), 1), ((0, 1, 2), 1), ((0, 1, 2), 0)])


def c2_datasets() -> SearchStrategy[Dataset]:
    return st.one_of(overcomplete_datasets(), paper_overcomplete())


def feasible_predictions(ds: Dataset) -> Predictions:
    """``predict(ds)``; an infeasible Graph-SVM puts the case out of scope."""
    if ds.K <= ds.d:  # a strategy bug, not a counterexample: crash (an error) instead
        raise ValueError(f"C2 is about overcomplete embeddings, got K = {ds.K} <= d = {ds.d}")
    try:
        return predict(ds)
    except InfeasibleError as exc:
        vacuous(f"Graph-SVM infeasible: {exc}")


def worst_metrics(result: ClaimResult) -> None:
    """Report the last measured errors (the largest over cases is shown)."""
    for key, value in result.metrics.items():
        if key.endswith("errs") and isinstance(value, list) and value:
            observe(float(value[-1]), key)


@conjecture("C2")
@given(ds=c2_datasets())
def test_c2_regularization_path_and_automaton(ds: Dataset) -> None:
    """Claims A and C on overcomplete embeddings (regularization path, automaton)."""
    pred = feasible_predictions(ds)
    result = ClaimResult.combine("C2", [judge_path(pred), judge_automaton(pred)])
    worst_metrics(result)
    settle(result)


def gd_run(ds: Dataset, pred: Predictions) -> tuple[dict[int, np.ndarray], float, float]:
    """Normalised GD from zero: ``(iterates, lr, final ||W|| / ||W_svm||)``."""
    from ntp_mechanics.solvers.training import TrainConfig, train

    ns = float(np.linalg.norm(pred.W_svm))
    lr = max(NGD_LR, TARGET_SCALE * ns / STEPS)
    cfg = TrainConfig(optimizer="ngd", lr=lr, steps=STEPS, init="zero", device="cpu",
                      record_at=RECORD_AT)
    run = train(ds, cfg)
    return run.iterates, lr, float(np.linalg.norm(run.W)) / ns if ns > 0 else float("inf")


@conjecture("C2")
@given(ds=c2_datasets())
def test_c2_gradient_descent(ds: Dataset) -> None:
    """Claims B and D on overcomplete embeddings (normalised GD from zero)."""
    pred = feasible_predictions(ds)
    iterates, lr, scale = gd_run(ds, pred)
    if scale < MIN_SCALE:
        # e.g. an ill-conditioned S_fin (dependent rows): GD creeps along a nearly flat
        # valley of L_fin and a finite run says nothing about the limit
        inconclusive(f"GD ended at ||W|| = {scale:.3g} ||W_svm|| < {MIN_SCALE:g} ||W_svm||: "
                     "not in the asymptotic regime")
    b, d = judge_iterates(pred, iterates, lr)
    result = ClaimResult.combine("C2", [b, d])
    worst_metrics(result)
    settle(result)


def test_c2_control_reversed_priorities_are_rejected() -> None:
    """The instrument, not the conjecture: with every priority reversed (``-W_svm``,
    negated GD iterates) the same evidence must contradict, on overcomplete E too."""
    ds = three_in_the_plane()
    pred = feasible_predictions(ds)
    assert np.linalg.norm(pred.W_svm) > 0.1 and np.linalg.norm(pred.W_fin) > 0.1
    wrong = -pred.W_svm
    iterates, lr, scale = gd_run(ds, pred)
    assert scale >= MIN_SCALE
    results = [judge_path(pred, direction=wrong), judge_automaton(pred, direction=wrong),
               *judge_iterates(pred, {s: -W for s, W in iterates.items()}, lr)]
    for result in results:
        record(with_claim(result, "C2-control"), "conjecture_C2 control reversed")
        assert result.verdict is Verdict.CONTRADICTS, result.report(ds.to_json())
