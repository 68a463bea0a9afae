"""The paper experiment trains the trials of a chunk as one batch
(:func:`ntp_mechanics.app.experiment.paper.run_trials`): the curves must be those of one trial at
a time (:func:`~ntp_mechanics.app.experiment.paper.run_trial`) to fp64 round-off, whatever the mix
of shapes, and a trial with its own configuration (a random start) still trains alone.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ntp_mechanics.app.experiment.paper import PaperPlan, chunks
from ntp_mechanics.app.experiment.trial import run_trial, run_trials

CURVES = ("norms", "corr_svm", "fin_err", "on_scc", "loss_gap", "corr_path")


def _trials() -> list:
    plan = replace(PaperPlan.tiny(), Ks=(3, 4), ns=(3, 4), steps=200, path_steps=(200,))
    trials = plan.trials()[:6]
    # one trial from a random start: its own configuration, so it cannot join the batch
    return [*trials, replace(trials[0], init="default")]


def test_batched_trials_equal_one_at_a_time() -> None:
    trials = _trials()
    assert len({(t.K, t.n) for t in trials}) > 1  # mixed shapes in one batch
    batched = run_trials(trials)
    for t, b in zip(trials, batched, strict=True):
        one = run_trial(t)
        assert b.trial == one.trial and b.steps == one.steps
        for name in CURVES:
            np.testing.assert_allclose(getattr(b, name), getattr(one, name),
                                       rtol=1e-9, atol=1e-12, err_msg=name)


def test_a_different_configuration_is_not_averaged_into_the_batch() -> None:
    """Negative control: the random-start trial's curves differ from the zero-start one
    on the same dataset, so equality above is not vacuous."""
    trials = _trials()
    zero, rand = run_trials([trials[0], trials[-1]])
    assert zero.trial.seed == rand.trial.seed
    assert np.max(np.abs(np.subtract(zero.norms, rand.norms))) > 1e-3


@pytest.mark.parametrize(("n", "workers", "sizes"), [
    (10, 1, [3, 3, 3, 1]), (240, 2, [30] * 8), (1, 4, [1]), (0, 2, []),
])
def test_chunks_cover_every_trial_in_order(n: int, workers: int, sizes: list[int]) -> None:
    items = list(range(n))
    got = chunks(items, workers)
    assert [len(c) for c in got] == sizes
    assert [x for c in got for x in c] == items
