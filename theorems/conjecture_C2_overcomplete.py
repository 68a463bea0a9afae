"""C2: Overcomplete embeddings (K > d) whenever the Graph-SVM is feasible: claims A-D still hold.

Conjecture C2 of THEORY.md section 6 (reported, not asserted; see
:mod:`ntp_mechanics.conjectures`).  The paper proves claims A-D for linearly
independent embeddings; fact F5 (convexity of L) holds for any E, and with ``K > d``
the Graph-SVM may be infeasible (fact F1) - then the conjecture says nothing
(the case is *out of scope*).  When it is feasible, the same evidence the theorem
modules use (:mod:`ntp_mechanics.evidence`) is computed on overcomplete datasets:

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

Strategies: graph-first overcomplete datasets with at least one acyclic edge
(``theorems.conftest.overcomplete_datasets``: K in 3..6, d in 2..K-1) and
dataset-first paper-style sequences with overcomplete embeddings.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from generators.dataset import Dataset
from generators.datasets import paper_datasets
from generators.embeddings import overcomplete
from ntp_mechanics.conjectures import conjecture, inconclusive, observe, settle, vacuous
from ntp_mechanics.evidence import judge_automaton, judge_iterates, judge_path
from ntp_mechanics.verdict import ClaimResult
from solvers.errors import InfeasibleError
from solvers.predictions import Predictions, predict
from theorems.conftest import overcomplete_datasets

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


def c2_datasets() -> SearchStrategy[Dataset]:
    return st.one_of(overcomplete_datasets(), paper_overcomplete())


def feasible_predictions(ds: Dataset) -> Predictions:
    """``predict(ds)``; an infeasible Graph-SVM puts the case out of scope."""
    assert ds.K > ds.d, "C2 is about overcomplete embeddings"
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


@conjecture("C2")
@given(ds=c2_datasets())
def test_c2_gradient_descent(ds: Dataset) -> None:
    """Claims B and D on overcomplete embeddings (normalised GD from zero)."""
    from solvers.training import TrainConfig, train

    pred = feasible_predictions(ds)
    ns = float(np.linalg.norm(pred.W_svm))
    lr = max(NGD_LR, TARGET_SCALE * ns / STEPS)
    cfg = TrainConfig(optimizer="ngd", lr=lr, steps=STEPS, init="zero", device="cpu",
                      record_at=RECORD_AT)
    run = train(ds, cfg)
    scale = float(np.linalg.norm(run.W)) / ns if ns > 0 else float("inf")
    if scale < MIN_SCALE:
        # e.g. an ill-conditioned S_fin (dependent rows): GD creeps along a nearly flat
        # valley of L_fin and a finite run says nothing about the limit
        inconclusive(f"GD ended at ||W|| = {scale:.3g} ||W_svm|| < {MIN_SCALE:g} ||W_svm||: "
                     "not in the asymptotic regime")
    b, d = judge_iterates(pred, run.iterates, lr)
    result = ClaimResult.combine("C2", [b, d])
    worst_metrics(result)
    settle(result)
