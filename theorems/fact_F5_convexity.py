"""Fact F5 (convexity of the log-loss for any embeddings), THEORY.md section 4.

Statement.  With scores ``a_it = e_{x_it}^T W e_{k_i}`` (all positions holding the label
share one score ``a_{i,y}``, since they hold one token under one query) and
``m_i`` the multiplicity of ``y_i`` in ``x_i``:

    -log p_i(y_i) = logsumexp_t a_it - a_{i,y} - log m_i ,

a log-sum-exp of linear functions of W minus a linear function: ``L`` is convex in W
for *any* E (independent, overcomplete, not normalised).

Assumptions as strategies: datasets from both routes with full-rank, overcomplete and
arbitrary Gaussian (unnormalised, any ``d <= 6``) embeddings; W drawn at scales 0.1-5.
Conclusions: the decomposition identity (against :class:`ntp_mechanics.solvers.loss.LogLoss`,
computed here with explicit loops) and midpoint convexity along random segments.
Negative controls: the identity without ``- log m_i`` is rejected on a sample whose
label repeats, and the non-convex "complement loss" ``-log(1 - p_i)`` fails the
midpoint check on a hand segment.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from scipy.special import logsumexp

from ntp_mechanics.kernel.fact_support import (
    MAX_D,
    eye_dataset,
    fact_datasets,
    overcomplete_datasets,
    paper_style,
)
from ntp_mechanics.kernel.gallery import CHAIN, STRONGLY_CONNECTED, TWO_CYCLE
from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.solvers.loss import LogLoss

CLAIM = dict(
    id="F5",
    kind="fact",
    section="4",
    statement='-log p_i = logsumexp_t a_it - a_iy - log m_i: L convex in W',
)

pytestmark = pytest.mark.fact

Loss = Callable[[np.ndarray], float]
REPEATED_LABEL = eye_dataset(3, [((0, 1, 0, 2), 0), ((1, 2, 2), 2)])  # m = 2 for both


def gaussian(K: int) -> SearchStrategy[np.ndarray]:
    """Unnormalised Gaussian rows in any dimension 1..6: F5 needs nothing of E."""

    @st.composite
    def _draw(draw: st.DrawFn) -> np.ndarray:
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        return rng.standard_normal((K, draw(st.integers(1, MAX_D)))) * draw(st.floats(0.3, 2.0))

    return _draw()


ANY_EMBEDDINGS = st.one_of(fact_datasets(), overcomplete_datasets(), paper_style(gaussian))


@st.composite
def matrices(draw: st.DrawFn, d: int) -> np.ndarray:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return rng.standard_normal((d, d)) * draw(st.floats(0.1, 5.0))


def decomposition(ds: Dataset, W: np.ndarray, with_multiplicity: bool = True) -> np.ndarray:
    """Per-sample ``LSE_t a_it - a_{i,y} - log m_i``, written out from the definition."""
    E, out = ds.E, []
    for s in ds.samples:
        a = np.array([E[t] @ W @ E[s.query] for t in s.tokens])
        a_y = a[s.tokens.index(s.label)]
        m = s.multiplicity if with_multiplicity else 1
        out.append(logsumexp(a) - a_y - np.log(m))
    return np.array(out)


def identity_holds(ds: Dataset, W: np.ndarray, per_sample: np.ndarray) -> bool:
    """Do claimed per-sample losses equal the decomposition (to fp64 rounding)?"""
    ref = decomposition(ds, W)
    return bool(np.allclose(per_sample, ref, rtol=1e-10, atol=1e-10 * (1 + np.abs(ref).max())))


def midpoint_convex(f: Loss, W1: np.ndarray, W2: np.ndarray, points: int = 9) -> bool:
    """f((1-t) W1 + t W2) <= its chord at t in a grid, and at the midpoint of each pair
    of neighbouring grid points (a discrete second-difference test)."""
    ts = np.linspace(0.0, 1.0, points)
    vals = np.array([f((1 - t) * W1 + t * W2) for t in ts])
    slack = 1e-10 * (1 + np.abs(vals).max())
    chord = (1 - ts) * vals[0] + ts * vals[-1]
    second = vals[:-2] - 2 * vals[1:-1] + vals[2:]
    return bool(np.all(vals <= chord + slack) and np.all(second >= -slack))


@given(ds=ANY_EMBEDDINGS, data=st.data())
@example(ds=REPEATED_LABEL, data=None)
@example(ds=TWO_CYCLE, data=None)
def test_decomposition_identity(ds: Dataset, data: st.DataObject | None) -> None:
    W = data.draw(matrices(ds.d)) if data else np.arange(ds.d**2).reshape(ds.d, ds.d) / 4
    event("repeated label" if any(s.multiplicity > 1 for s in ds.samples) else "labels once")
    loss = LogLoss(ds)
    assert identity_holds(ds, W, loss.per_sample(W))
    assert loss.value(W) == pytest.approx(decomposition(ds, W).mean(), rel=1e-10, abs=1e-12)


@given(ds=ANY_EMBEDDINGS, data=st.data())
@example(ds=CHAIN, data=None)
@example(ds=STRONGLY_CONNECTED, data=None)
def test_midpoint_convexity_on_random_segments(ds: Dataset, data: st.DataObject | None) -> None:
    if data:
        W1, W2 = data.draw(matrices(ds.d)), data.draw(matrices(ds.d))
    else:
        W1, W2 = np.eye(ds.d) * 3, -np.ones((ds.d, ds.d))
    event(f"d {'<' if ds.d < ds.K else '>='} K")
    assert midpoint_convex(LogLoss(ds).value, W1, W2)


def complement_loss(ds: Dataset) -> Loss:
    """``mean -log(1 - p_i)``: a difference of log-sum-exps, not convex (a wrong loss)."""

    def f(W: np.ndarray) -> float:
        E, total = ds.E, 0.0
        for s in ds.samples:
            a = np.array([E[t] @ W @ E[s.query] for t in s.tokens])
            others = np.array([t != s.label for t in s.tokens])
            total += logsumexp(a) - logsumexp(a[others])
        return total / ds.n

    return f


def test_negative_control_nonconvex_loss_rejected() -> None:
    ds = eye_dataset(3, [((0, 1, 2), 0)])
    W1 = np.zeros((3, 3))
    W1[1, 2], W1[2, 2] = 5.0, -5.0  # scores (0, 5, -5) under query 2
    assert midpoint_convex(LogLoss(ds).value, W1, -W1)  # the real loss passes
    assert not midpoint_convex(complement_loss(ds), W1, -W1)


def test_negative_control_identity_without_multiplicity_rejected() -> None:
    W = np.arange(9.0).reshape(3, 3) / 5
    wrong = decomposition(REPEATED_LABEL, W, with_multiplicity=False)
    assert identity_holds(REPEATED_LABEL, W, LogLoss(REPEATED_LABEL).per_sample(W))
    assert not identity_holds(REPEATED_LABEL, W, wrong)
