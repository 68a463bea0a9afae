"""Claims B-E for *your* trainer: ``ntp-mechanics test --trainer MODULE:FUNCTION``.

Claim.  Any correct implementation of gradient descent on the log-loss of one
attention layer (score ``e_{x_t}^T W e_query``), from any initialisation, ends at a
``W`` that claims B, C, D and E (THEORY.md section 5) do not contradict: judged on
``P_{S_all} W`` at its own norm against the regularization path, with the sound
contradictions of :mod:`ntp_mechanics.kernel.evidence.weights` (start of norm at
most ``sqrt(d)``, which PyTorch's default init never exceeds).

Source: Li et al., *Mechanics of Next Token Prediction with Self-Attention*,
AISTATS 2024 (global convergence of GD on the convex log-loss; the implicit bias
towards the Graph-SVM plus the finite component); the verdict rules are those of
``ntp-mechanics check`` (:func:`ntp_mechanics.check`).

Assumptions, as strategies: the datasets of claims B-D
(:func:`ntp_mechanics.kernel.claim_support.claim_datasets` with an acyclic edge) and
of claim E (acyclic graphs; strongly connected graphs), full-rank embeddings, with the
paper's small cases and one paper-protocol case as explicit examples.

Conclusion: no claim CONTRADICTS on the trainer's output.  A broken trainer (not
importable, raises, wrong shape) is bad input (:class:`TrainerError`, exit 2), not a
counterexample.

The sound rules assume the trainer starts from ``||W(0)|| <= sqrt(d)`` (PyTorch's
default init never exceeds it); ``--ntp-init-norm B0`` states another bound.

The module is collected only when a trainer is given (``--ntp-trainer``; the plugin
adds it to the run), so the default suite is unaffected.  Each dataset is trained
once and shared by the tests (the trainer should be deterministic).

Example
-------
>>> import numpy as np
>>> from ntp_mechanics.kernel.claim_support import CHAIN
>>> judge(lambda ds: -40 * predictions(ds).direction, CHAIN).verdict.value
'contradicts'
"""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ntp_mechanics.kernel.checking import CheckResult, check
from ntp_mechanics.kernel.claim_support import (
    CHAIN,
    DOC_CYCLE,
    MIXED_TWO_QUERIES,
    PAPER_RANDOM,
    STRONGLY_CONNECTED,
    claim_datasets,
    label_events,
    predictions,
    separable,
    solvable,
)
from ntp_mechanics.kernel.claims import trainer_claims
from ntp_mechanics.kernel.fact_support import graph_datasets
from ntp_mechanics.kernel.user_trainer import Trainer, load_trainer, trained_weights
from ntp_mechanics.kernel.verdict import Verdict, record
from ntp_mechanics.model.dataset import Dataset

pytestmark = pytest.mark.theorem

OPTION = "--ntp-trainer"
_weights: dict[tuple[int, Dataset], object] = {}  # (id(trainer), dataset) -> W


@pytest.fixture(scope="session")
def user_trainer(pytestconfig: pytest.Config) -> Trainer:
    """The trainer named by ``--ntp-trainer`` (the plugin checked it imports)."""
    spec = pytestconfig.getoption("ntp_trainer", None)
    if not spec:
        pytest.skip(f"no trainer given ({OPTION} MODULE:FUNCTION)")
    return load_trainer(spec)


@pytest.fixture(scope="session")
def init_norm(pytestconfig: pytest.Config) -> float | None:
    """``--ntp-init-norm``: the bound on the trainer's ``||W(0)||`` (None: ``sqrt(d)``)."""
    return pytestconfig.getoption("ntp_init_norm", None)


def judge(trainer: Trainer, ds: Dataset, init_norm: float | None = None) -> CheckResult:
    """The trainer's weights on ``ds`` (trained once per dataset), checked."""
    key = (id(trainer), ds)
    if key not in _weights:
        _weights[key] = trained_weights(trainer, ds)
    return check(ds, _weights[key], init_norm=init_norm, predictions=predictions(ds))


def assert_claims_hold(result: CheckResult, ds: Dataset) -> None:
    """Record the verdicts of the claims the trainer hook applies to (their modules
    declare ``trainer=True``) and assert none contradicts."""
    claims = trainer_claims()
    for c in claims:
        if c in result.claims:
            record(result.claims[c], f"trainer claim {c}")
    bad = [c for c in claims if c in result.claims
           and result.claims[c].verdict is Verdict.CONTRADICTS]
    assert not bad, (f"the trainer's weights contradict claim(s) {', '.join(bad)}\n{result}\n"
                     f"dataset: {ds.to_json()}")


acyclic = graph_datasets(acyclic_only=True, min_acyclic_edges=1)
strongly_connected = graph_datasets(strongly_connected=True)


@given(ds=claim_datasets(min_acyclic_edges=1))
@example(ds=PAPER_RANDOM)
@example(ds=DOC_CYCLE)
@example(ds=MIXED_TWO_QUERIES)
def test_trainer_claims_B_C_D(user_trainer: Trainer, init_norm: float | None,
                              ds: Dataset) -> None:
    if separable(ds) is None:
        return
    label_events(ds)
    assert_claims_hold(judge(user_trainer, ds, init_norm), ds)


@given(ds=st.one_of(acyclic, strongly_connected))
@example(ds=CHAIN)
@example(ds=STRONGLY_CONNECTED)
def test_trainer_claim_E(user_trainer: Trainer, init_norm: float | None, ds: Dataset) -> None:
    if solvable(ds) is None:
        return
    label_events(ds)
    assert_claims_hold(judge(user_trainer, ds, init_norm), ds)
