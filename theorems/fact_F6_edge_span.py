"""Fact F6 (the loss only sees the edge span), THEORY.md section 4.

Statement.  ``L(W) = L(P_{S_all} W)`` for every W, where
``S_all = span{(e_i - e_j) e_k^T : i -> j an edge of G^(k)}``; consequently
``∇L(W) ∈ S_all`` and gradient descent from ``W = 0`` never leaves ``S_all``.

Why: sample i's loss depends on W only through score differences
``(e_x - e_x')^T W e_{k_i}`` of tokens of its sequence, and
``e_x - e_x' = (e_y - e_x') - (e_y - e_x)`` is a difference of two edges ``y -> x``,
``y -> x'`` of ``G^(k_i)`` (or one of them, when x or x' is the label).  Nothing here
needs independent embeddings.

Assumptions as strategies: datasets from both routes, full-rank and overcomplete
embeddings; W Gaussian at scales 0.1-3.  The gradient of :class:`ntp_mechanics.solvers.loss.LogLoss`
is first checked against central finite differences (so the span check is not about
a wrong gradient).  Negative control: the same invariance check with the smaller
``S_fin`` in place of ``S_all`` must fail whenever an acyclic edge exists (the loss
does move along ``S_all ⊖ S_fin``).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from ntp_mechanics.kernel.fact_support import (
    fact_datasets,
    graph_datasets,
    overcomplete_datasets,
)
from ntp_mechanics.kernel.gallery import CHAIN, STRONGLY_CONNECTED, TWO_CYCLE
from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.tpg import TokenPriorityGraphs
from ntp_mechanics.solvers.loss import LogLoss
from ntp_mechanics.solvers.subspaces import Subspace

CLAIM = dict(
    id="F6",
    kind="fact",
    section="4",
    statement=('L depends on W only through P_{S_all} W; GD from zero stays in '
               'S_all'),
)

pytestmark = pytest.mark.fact

DATASETS = st.one_of(fact_datasets(), overcomplete_datasets())
GD_STEPS, GD_LR = 30, 0.5


@st.composite
def matrices(draw: st.DrawFn, d: int) -> np.ndarray:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return rng.standard_normal((d, d)) * draw(st.floats(0.1, 3.0))


def sees_only(loss: LogLoss, S: Subspace, W: np.ndarray) -> bool:
    """Is the loss at W unchanged by projecting onto S, and is its gradient in S?"""
    P_W = S.project(W)
    same = abs(loss.value(W) - loss.value(P_W)) <= 1e-10 * (1 + abs(loss.value(W)))
    g = loss.grad(W)
    in_span = np.linalg.norm(g - S.project(g)) <= 1e-10 * (1 + np.linalg.norm(g))
    return bool(same and in_span)


def gd_from_zero(loss: LogLoss, d: int) -> list[np.ndarray]:
    W, path = np.zeros((d, d)), []
    for _ in range(GD_STEPS):
        W = W - GD_LR * loss.grad(W)
        path.append(W)
    return path


def gradient_matches_finite_differences(loss: LogLoss, W: np.ndarray, D: np.ndarray) -> bool:
    h = 1e-6
    fd = (loss.value(W + h * D) - loss.value(W - h * D)) / (2 * h)
    return abs(fd - float(np.sum(loss.grad(W) * D))) <= 1e-5 * (1 + abs(fd))


@given(ds=DATASETS, data=st.data())
@example(ds=CHAIN, data=None)
@example(ds=TWO_CYCLE, data=None)
@example(ds=STRONGLY_CONNECTED, data=None)
def test_loss_and_gradient_live_in_s_all(ds: Dataset, data: st.DataObject | None) -> None:
    W = data.draw(matrices(ds.d)) if data else np.ones((ds.d, ds.d))
    D = data.draw(matrices(ds.d)) if data else np.eye(ds.d)
    loss = LogLoss(ds)
    S_all = Subspace.all_edges(ds.E, TokenPriorityGraphs.from_dataset(ds))
    event(f"codim S_all = {ds.d**2 - S_all.dim}" if ds.d**2 - S_all.dim < 3 else "codim >= 3")
    assert gradient_matches_finite_differences(loss, W, D)
    assert sees_only(loss, S_all, W)
    for W_t in gd_from_zero(loss, ds.d):
        assert np.linalg.norm(W_t - S_all.project(W_t)) <= 1e-10 * (1 + np.linalg.norm(W_t))


@given(ds=graph_datasets(min_acyclic_edges=1), data=st.data())
@example(ds=CHAIN, data=None)
@example(ds=TWO_CYCLE, data=None)
def test_negative_control_s_fin_is_too_small(ds: Dataset, data: st.DataObject | None) -> None:
    # With an acyclic edge, <grad L(W), W_svm> < 0 at every W (F7's argument) while
    # W_svm ⊥ S_fin (F4): the gradient leaves S_fin.  Small W keeps every attention
    # weight well above rounding, so the component off S_fin is visible in fp64.
    W = data.draw(matrices(ds.d)) / 10 if data else np.zeros((ds.d, ds.d))
    tpg = TokenPriorityGraphs.from_dataset(ds)
    loss = LogLoss(ds)
    assert sees_only(loss, Subspace.all_edges(ds.E, tpg), W)
    assert not sees_only(loss, Subspace.cyclic(ds.E, tpg), W)
