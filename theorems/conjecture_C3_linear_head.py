"""C3: with a linear head (logits E X^T s), GD tends to the Graph-SVM of its selections.

That is, of the token-priority graphs built from the token sets GD selects at convergence.

Conjecture C3 of THEORY.md section 6 (reported, not asserted; see
:mod:`ntp_mechanics.kernel.conjectures`).  With the linear head the loss is nonconvex and the
attention need not end on the label: sample i's attention concentrates on a token set
``S_i`` that GD *selects*.  The conjecture: the direction of ``W(tau)`` is the
Graph-SVM of the token-priority graphs in which every selected token outranks the
unselected ones of its sequence and the selected tokens of a sequence rank equal.

Measurement.

* Resolution: the linear-head gradient is computed with cancellation (softmax over
  bounded logits), so once its norm falls below ``1e-12`` it is fp64 rounding noise
  and normalised GD follows the noise.  Only iterates with a resolved gradient are
  used (as the suite drops uncertified regularization-path points).
* Selection: compare each token's attention mass ``sum_{t: x_t = v} s_t`` at the last
  resolved iterate with the one at about half its norm.  An unselected token's mass
  decays exponentially in the norm: it is *unselected* if its mass is at most
  ``1e-8``, or at most ``1e-2`` and shrank by 5x; *selected* if its mass is at least
  ``1e-3`` and kept at least half; anything else is undecided and the case is
  inconclusive (not converged yet).
* Graphs: the *selection dataset* has one sample ``(x_i, v)`` per sample i and
  selected ``v in S_i``; its token-priority graphs have the edges ``v -> x`` for
  ``x notin S_i`` and both ``v -> v'`` and ``v' -> v`` within ``S_i``, which is the
  construction above.  ``W_sel`` is its Graph-SVM, ``S_sel`` its cyclic subspace.
* Error: ``|| P W / ||P W|| - W_sel / ||W_sel|| ||`` with ``P`` removing the
  ``S_sel`` component (the finite part, which converges instead of growing), at the
  resolved iterates closest to the margin scales ``x = ||W|| / ||W_sel|| = 1, 2, 4,
  ...``, judged with the suite's finite-size rule (model ``1/x``); resolved iterates
  ending below ``x = 8`` are undecided.  If the selection leaves no acyclic edge
  (``W_sel = 0``) the conjecture predicts no direction: out of scope.

Protocol: normalised GD, step 0.01, 6000 steps from zero (iterates every 250 steps),
fp64; K in 3..4, full-rank embeddings with d <= 5; half of the paper-style datasets
share one query token, which makes conflicting labels (and selections other than the
label) common.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from hypothesis import event, given
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from ntp_mechanics.generators.datasets import paper_datasets
from ntp_mechanics.kernel.conjectures import conjecture, inconclusive, observe, settle, vacuous
from ntp_mechanics.kernel.fact_support import full_rank, graph_datasets
from ntp_mechanics.kernel.verdict import ClaimResult, Verdict, judge_decay, limit_of_decaying
from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.tpg import TokenPriorityGraphs
from ntp_mechanics.solvers.graph_svm import graph_svm
from ntp_mechanics.solvers.loss import LogLoss
from ntp_mechanics.solvers.subspaces import Subspace

CLAIM = dict(
    id="C3",
    kind="conjecture",
    section="6",
    statement=('linear head with cross-entropy: GD tends to the Graph-SVM of the '
               'token sets it selects'),
)

STEPS = 6000
LR = 0.01
RECORD_EVERY = 250
SELECTED, VANISHED = 1e-3, 1e-8  # masses: selected at least, unselected at most
DECAY, KEEP = 0.2, 0.5  # mass ratio between iterates at norms r and ~2r
GRAD_FLOOR = 1e-12  # below this the linear-head gradient is fp64 rounding noise
MIN_SCALE = 8.0
TOL, LARGE = 0.05, 0.15

Selection = tuple[tuple[int, ...], ...]


def small_full_rank(K: int) -> SearchStrategy[np.ndarray]:
    return full_rank(K, max_d=5)


def c3_datasets() -> SearchStrategy[Dataset]:
    paper = st.booleans().flatmap(lambda same: paper_datasets(
        K=st.integers(3, 4), n=st.integers(2, 5), T=st.integers(2, 4), same_last_token=same,
        embeddings=small_full_rank,
    ))
    return st.one_of(paper, graph_datasets(small_full_rank, K=st.integers(3, 4)))


def token_masses(ds: Dataset, W: np.ndarray) -> list[dict[int, float]]:
    """Attention mass of each token of each sample at W."""
    att = LogLoss(ds).attention(W)
    ids, mask, _ = ds.padded()
    out = []
    for i in range(ds.n):
        mass: dict[int, float] = {}
        for v, s, m in zip(ids[i], att[i], mask[i], strict=True):
            if m:
                mass[int(v)] = mass.get(int(v), 0.0) + float(s)
        out.append(mass)
    return out


def classify(before: float, after: float) -> bool | None:
    """Selected (True), unselected (False) or undecided (None) from a token's mass at
    two iterates, the second at about twice the norm of the first: an unselected
    token's mass decays exponentially in the norm, a selected one's converges."""
    if after <= VANISHED or (after <= 1e-2 and after <= DECAY * before):
        return False
    if after >= SELECTED and after >= KEEP * before:
        return True
    return None


def selection(ds: Dataset, W_before: np.ndarray, W_after: np.ndarray) -> Selection | None:
    """The selected token set of every sample, or None if some token is undecided."""
    out = []
    for mb, ma in zip(token_masses(ds, W_before), token_masses(ds, W_after), strict=True):
        verdicts = {v: classify(mb[v], ma[v]) for v in ma}
        if None in verdicts.values():
            return None
        out.append(tuple(sorted(v for v, sel in verdicts.items() if sel)))
    return tuple(out)


def selection_dataset(ds: Dataset, sel: Sequence[Sequence[int]]) -> Dataset:
    """One sample ``(x_i, v)`` per selected ``v in S_i`` (same embeddings)."""
    pairs = [(s.tokens, v) for s, S in zip(ds.samples, sel, strict=True) for v in S]
    return Dataset.from_arrays(ds.E, pairs, name=f"{ds.name}-selection")


def resolved_steps(ds: Dataset, iterates: dict[int, np.ndarray]) -> list[int]:
    """Recorded steps (> 0) up to the last one whose linear-head gradient is above fp64
    resolution (the gradient shrinks along the run, so the earlier ones are too)."""
    from ntp_mechanics.solvers.training import gradient

    steps = sorted(s for s in iterates if s > 0)
    while steps and np.linalg.norm(gradient(ds, iterates[steps[-1]], "linear")) < GRAD_FLOOR:
        steps.pop()
    return steps


def ladder(scales: Sequence[float], top: float) -> list[int]:
    """Indices of the iterates closest to the margin scales 1, 2, 4, ... <= top."""
    want, picked = 1.0, []
    while want <= top * 1.0001:
        i = int(np.argmin([abs(np.log(max(x, 1e-12) / want)) for x in scales]))
        if i not in picked:
            picked.append(i)
        want *= 2
    if len(scales) - 1 not in picked:
        picked.append(len(scales) - 1)
    return sorted(picked)


def judge_linear_head(ds: Dataset, iterates: dict[int, np.ndarray], claim: str = "C3"
                      ) -> ClaimResult:
    """Judge the iterates ``{step: W}`` of a linear-head run (see the module docstring)."""
    steps = resolved_steps(ds, iterates)
    if len(steps) < 3:
        return ClaimResult(claim, Verdict.INCONCLUSIVE, {"steps": steps},
                           "fewer than 3 iterates with a gradient above fp64 resolution")
    norms = [float(np.linalg.norm(iterates[s])) for s in steps]
    half = int(np.argmin([abs(r - norms[-1] / 2) for r in norms]))
    sel = selection(ds, iterates[steps[half]], iterates[steps[-1]])
    metrics: dict = {"last_resolved_step": steps[-1], "selection": sel}
    if sel is None:
        return ClaimResult(claim, Verdict.INCONCLUSIVE, metrics,
                           "selection not settled: some token's attention mass neither "
                           "converges nor vanishes between the last resolved iterates")
    sds = selection_dataset(ds, sel)
    tpg = TokenPriorityGraphs.from_dataset(sds)
    if not tpg.has_acyclic_edge:
        vacuous("the selected sets leave no acyclic edge: W_sel = 0, no direction")
    W_sel = graph_svm(sds, tpg).W
    ns = float(np.linalg.norm(W_sel))
    S_sel = Subspace.cyclic(sds.E, tpg)
    all_scales = [float(np.linalg.norm(iterates[s])) / ns for s in steps]
    idx = ladder(all_scales, all_scales[-1])
    scales, errs = [all_scales[i] for i in idx], []
    for i in idx:
        W = iterates[steps[i]]
        P = W - S_sel.project(W)
        errs.append(float(np.linalg.norm(P / max(np.linalg.norm(P), 1e-300) - W_sel / ns)))
    metrics |= {"norm_W_sel": ns, "scales": scales, "direction_errs": errs}
    if scales[-1] < MIN_SCALE:
        return ClaimResult(claim, Verdict.INCONCLUSIVE, metrics,
                           f"resolved iterates end at ||W|| = {scales[-1]:.3g} ||W_sel|| "
                           f"< {MIN_SCALE:g} ||W_sel||")
    fit = limit_of_decaying(scales, errs, model="1/x")
    j = judge_decay(fit, tol=TOL, large=LARGE)
    return ClaimResult(claim, j.verdict, metrics | fit.metrics("direction_"), j.reason)


def train_linear_head(ds: Dataset) -> dict[int, np.ndarray]:
    from ntp_mechanics.solvers.training import TrainConfig, train

    cfg = TrainConfig(optimizer="ngd", lr=LR, steps=STEPS, init="zero", device="cpu",
                      head="linear", record_every=RECORD_EVERY)
    try:
        return train(ds, cfg).iterates
    except FloatingPointError as exc:
        inconclusive(f"training left fp64 range: {exc}")


@conjecture("C3")
@given(ds=c3_datasets())
def test_c3_linear_head_tends_to_graph_svm_of_selection(ds: Dataset) -> None:
    iterates = train_linear_head(ds)
    result = judge_linear_head(ds, iterates)
    sel = result.metrics.get("selection")
    if sel is not None:
        labels = tuple((s.label,) for s in ds.samples)
        event("selection = labels" if sel == labels else "selection != labels")
    if "direction_errs" in result.metrics:
        observe(result.metrics["direction_errs"][-1], "direction error at the last step")
    settle(result)


def test_c3_selection_dataset_builds_the_conjectured_graphs() -> None:
    """The construction, not the conjecture: selected tokens of one sequence form one
    SCC above the unselected ones."""
    ds = Dataset.from_arrays(np.eye(4), [((0, 1, 2, 3), 0)])
    g = TokenPriorityGraphs.from_dataset(selection_dataset(ds, [(0, 1)]))[3]
    assert g.same(0, 1)
    assert all(g.higher(v, u) for v in (0, 1) for u in (2, 3))
