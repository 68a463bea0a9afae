"""C6: mirror descent with psi(W) = sum |W_ab|^p / p tends in direction to the l_p Graph-SVM.

Claim in THEORY.md notation (section 6): for ``p in {1.5, 3}`` (``p = 2`` is GD),
mirror descent on ``L`` with the entrywise potential ``psi`` from ``W = 0`` has
``W(tau)/||W(tau)|| -> W_p/||W_p||``, where ``W_p`` is the Graph-SVM with ``||W||_F``
replaced by the entrywise ``||W||_p`` (:func:`ntp_mechanics.solvers.lp_svm.lp_graph_svm`,
cvxpy, certified).  Julistiono, Tarzanagh and Azizan (2024) prove the single-token
analogue for attention.  Reported, not asserted (:mod:`ntp_mechanics.kernel.conjectures`).

Protocol.  Normalised mirror descent (:func:`ntp_mechanics.solvers.lp_svm.mirror_descent`,
fp64) for 3000 steps with the dual step sized so that the dual variable can reach
``grad psi(24 W_p)``; the first iterates past the margin scales
``||W|| / ||W_p|| = 1, 2, 4, 8, 16`` are kept.

Measurement.  The direction error ``||W/||W|| - W_p/||W_p|| ||`` against the scale,
judged by the suite's finite-size rule (:func:`ntp_mechanics.kernel.verdict.judge_decay`,
model ``log/x``): consistent when it extrapolates to 0, a counterexample only for a
clear plateau.  A run that ends below scale 4 is undecided.

Strategy: both generator routes, K in 2..3, full-rank embeddings, an acyclic edge.

Negative control: the same mirror-descent iterates judged against the Frobenius
``W_svm`` (the p = 2 answer) on a dataset where the two directions differ by more
than ``DIR_LARGE + DIR_TOL`` (the premise, asserted, with a run that reached scale 4)
must not be judged consistent.

Example
-------
>>> from ntp_mechanics.kernel.claim_support import CHAIN
>>> mirror_verdict(CHAIN, 3.0).verdict.value
'consistent'
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from ntp_mechanics.generators.datasets import paper_datasets
from ntp_mechanics.kernel.claim_support import CHAIN, DOC_CYCLE, PAPER_RANDOM_ACYCLIC
from ntp_mechanics.kernel.conjectures import conjecture, inconclusive, observe, settle, vacuous
from ntp_mechanics.kernel.evidence.common import DIR_LARGE, DIR_TOL, MARGIN_LADDER
from ntp_mechanics.kernel.fact_support import full_rank, graph_datasets
from ntp_mechanics.kernel.verdict import ClaimResult, Verdict, judge_decay, limit_of_decaying
from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.errors import InconclusiveError
from ntp_mechanics.model.tpg import TokenPriorityGraphs
from ntp_mechanics.solvers.graph_svm import graph_svm
from ntp_mechanics.solvers.lp_svm import lp_graph_svm, mirror_descent

CLAIM = dict(
    id="C6",
    kind="conjecture",
    section="6",
    statement=('mirror descent with psi(W) = sum |W_ab|^p / p (p in {1.5, 3}): '
               'the direction tends to the l_p Graph-SVM (||W||_F replaced by '
               'the entrywise ||W||_p)'),
)

PS = (1.5, 3.0)
STEPS = 3000
RECORD_EVERY = 50
TARGET = 24.0  # the dual step is sized to reach about this multiple of W_p
MIN_SCALE = 4.0
CONTROL_P = 3.0


def c6_datasets() -> SearchStrategy[Dataset]:
    """Both generator routes, K in 2..3, full-rank embeddings, an acyclic edge."""
    graph_first = graph_datasets(K=st.integers(2, 3), min_acyclic_edges=1)
    paper = paper_datasets(K=st.integers(2, 3), n=st.integers(1, 4), T=st.integers(2, 4),
                           embeddings=full_rank)
    return st.one_of(graph_first, paper)


def _unit(W: np.ndarray) -> np.ndarray:
    return W / np.linalg.norm(W)


@lru_cache(maxsize=64)
def mirror_iterates(ds: Dataset, p: float) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """``W_p`` and the mirror-descent iterates ``{step: W}`` at the margin ladder."""
    W_p = lp_graph_svm(ds, p).W
    # Theta = grad psi(W) moves by lr per step, nearly along one direction: size lr so
    # that it can reach grad psi(TARGET W_p) within the run (with a 1.5x margin)
    lr = 1.5 * float(np.linalg.norm(np.abs(TARGET * W_p) ** (p - 1))) / STEPS
    its = mirror_descent(ds, p, lr, STEPS, tuple(range(0, STEPS + 1, RECORD_EVERY)))
    ns = float(np.linalg.norm(W_p))
    kept: dict[int, np.ndarray] = {}
    for m in MARGIN_LADDER:
        past = [s for s in sorted(its) if s > 0 and np.linalg.norm(its[s]) >= m * ns]
        if past:
            kept[past[0]] = its[past[0]]
    kept.setdefault(STEPS, its[STEPS])
    return W_p, kept


def mirror_verdict(ds: Dataset, p: float, direction: np.ndarray | None = None) -> ClaimResult:
    """C6 on ``ds``: the iterates against ``W_p`` (or against ``direction``, a control)."""
    W_p, its = mirror_iterates(ds, p)
    u = _unit(W_p if direction is None else direction)
    steps = sorted(its)
    ns = float(np.linalg.norm(W_p))
    scales = [float(np.linalg.norm(its[s])) / ns for s in steps]
    errs = [float(np.linalg.norm(_unit(its[s]) - u)) for s in steps]
    metrics = {"p": p, "steps": steps, "scales": scales, "direction_errs": errs}
    if scales[-1] < MIN_SCALE or len(steps) < 3:
        return ClaimResult("C6", Verdict.INCONCLUSIVE, metrics,
                           f"mirror descent ended at scale {scales[-1]:.3g} < {MIN_SCALE:g}")
    j = judge_decay(limit_of_decaying(scales, errs), tol=DIR_TOL, large=DIR_LARGE)
    return ClaimResult("C6", j.verdict, metrics, j.reason)


@conjecture("C6")
@settings(max_examples=max(3, settings.default.max_examples // 3))
@given(ds=c6_datasets(), p=st.sampled_from(PS))
@example(ds=CHAIN, p=1.5)
@example(ds=DOC_CYCLE, p=3.0)
def test_c6_mirror_descent_tends_to_lp_graph_svm(ds: Dataset, p: float) -> None:
    if not TokenPriorityGraphs.from_dataset(ds).has_acyclic_edge:
        vacuous("no acyclic edge: W_p = 0")
    try:
        result = mirror_verdict(ds, p)
    except FloatingPointError as exc:
        inconclusive(f"mirror descent left fp64 range: {exc}")
    observe(result.metrics["direction_errs"][-1], f"direction error at the last step (p={p})")
    settle(result)


def test_c6_control_frobenius_direction_is_rejected() -> None:
    """Mirror descent (p = 3) judged against ``W_svm`` (p = 2) must not be consistent
    where the two directions differ (premise asserted), and its error must stay above the
    error against ``W_p``."""
    ds = PAPER_RANDOM_ACYCLIC
    try:
        W_p = lp_graph_svm(ds, CONTROL_P).W
    except InconclusiveError as exc:
        raise AssertionError(f"control not decidable: {exc}") from exc
    W_fro = graph_svm(ds).W
    assert np.linalg.norm(_unit(W_p) - _unit(W_fro)) > DIR_LARGE + DIR_TOL  # the premise
    wrong = mirror_verdict(ds, CONTROL_P, direction=W_fro)
    assert wrong.metrics["scales"][-1] >= MIN_SCALE, wrong  # decided on its merits
    assert wrong.verdict is not Verdict.CONSISTENT, wrong
    right = mirror_verdict(ds, CONTROL_P)
    assert wrong.metrics["direction_errs"][-1] > right.metrics["direction_errs"][-1], right
