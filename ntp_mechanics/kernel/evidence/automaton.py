"""Claim C, the automaton: hard retrieval of the label's SCC, then soft composition.

The attention of a training sample (or of a fresh input with a dominating token)
concentrates on the target SCC as the scale grows, distributed there as
``softmax_t(e_{x_t}^T W_fin e_k)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from ntp_mechanics.kernel.evidence.common import (
    ATT_TOL,
    MARGIN_LADDER,
    OFF_LARGE,
    TV_LARGE,
    merge,
    unit,
)
from ntp_mechanics.kernel.verdict import (
    ClaimResult,
    Verdict,
    judge_decay,
    limit_of_decaying,
)
from ntp_mechanics.solvers.predictions import Predictions


# -- attention: hard retrieval and soft composition (claim C) ---------------------------
@dataclass(frozen=True)
class AttentionErrors:
    """Per-sample ``off``: attention mass outside the target SCC; ``tv``: total
    variation between the attention renormalised on the SCC's positions and
    ``softmax_t(e_{x_t}^T W_fin e_k)`` over them."""

    off: np.ndarray
    tv: np.ndarray

    @property
    def max_off(self) -> float:
        return float(self.off.max()) if self.off.size else 0.0

    @property
    def mean_off(self) -> float:
        return float(self.off.mean()) if self.off.size else 0.0

    @property
    def max_tv(self) -> float:
        return float(self.tv.max()) if self.tv.size else 0.0


def attention_errors(
    E: np.ndarray,
    W: np.ndarray,
    W_fin: np.ndarray,
    inputs: Sequence[tuple[Sequence[int], frozenset[int] | set[int]]],
) -> AttentionErrors:
    """Errors of claim C for ``inputs``: ``(tokens, target SCC)`` pairs, query last."""
    off, tv = [], []
    for tokens, scc in inputs:
        toks = np.asarray(tokens)
        q = E[toks[-1]]
        keys = E[toks]
        a = keys @ W @ q
        s = np.exp(a - logsumexp(a))
        inside = np.isin(toks, list(scc))
        off.append(float(s[~inside].sum()))
        b = keys[inside] @ W_fin @ q
        want = np.exp(b - logsumexp(b))
        # renormalise in log space: s on the SCC may be 1e-300 for a wrong W
        got = np.exp(a[inside] - logsumexp(a[inside]))
        tv.append(0.5 * float(np.abs(got - want).sum()))
    return AttentionErrors(np.array(off), np.array(tv))


def training_inputs(pred: Predictions) -> list[tuple[tuple[int, ...], frozenset[int]]]:
    """Every training sample with its label's SCC in ``G^(k_i)`` (claim C's target)."""
    out = []
    for s in pred.dataset.samples:
        g = pred.tpg[s.query]
        out.append((s.tokens, frozenset(v for v in g.graph.nodes if g.same(v, s.label))))
    return out


def judge_automaton(
    pred: Predictions,
    inputs: Sequence[tuple[Sequence[int], frozenset[int] | set[int]]] | None = None,
    direction: np.ndarray | None = None,
    W_fin: np.ndarray | None = None,
    margins: Sequence[float] = MARGIN_LADDER,
    claim: str = "C",
) -> ClaimResult:
    """Claim C along ``W = W_fin + R W_svm/||W_svm||``: attention off the target SCC
    decays exponentially in R and, on it, follows ``softmax(W_fin scores)``.

    ``direction``/``W_fin`` override the theory's objects (negative controls: the
    attention is always *computed* with the override and *compared* with the
    theory's ``W_fin``).
    """
    ns = float(np.linalg.norm(pred.W_svm))
    inputs = training_inputs(pred) if inputs is None else inputs
    u = pred.direction if direction is None else unit(direction)
    Wf = pred.W_fin if W_fin is None else W_fin
    E = pred.dataset.E
    if ns == 0 and direction is None:
        err = attention_errors(E, Wf, pred.W_fin, inputs)
        verdict = Verdict.CONSISTENT if err.max_off + err.max_tv <= ATT_TOL else (
            Verdict.CONTRADICTS if err.max_off + err.max_tv >= TV_LARGE else Verdict.INCONCLUSIVE
        )
        return ClaimResult(claim, verdict, {"max_off": err.max_off, "max_tv": err.max_tv},
                           "W_svm = 0: attention of W_fin itself")
    scale = ns if ns > 0 else 1.0
    offs, tvs = [], []
    for m in margins:
        err = attention_errors(E, Wf + m * scale * u, pred.W_fin, inputs)
        offs.append(err.max_off)
        tvs.append(err.max_tv)
    fit_o = limit_of_decaying(margins, offs, model="exp")
    fit_t = limit_of_decaying(margins, tvs, model="exp")
    metrics = {"norm_W_svm": ns, "n_inputs": len(inputs)}
    metrics |= fit_o.metrics("off_scc_") | fit_t.metrics("within_scc_tv_")
    return merge(
        claim,
        metrics,
        hard_retrieval=judge_decay(fit_o, tol=ATT_TOL, large=OFF_LARGE, converged=1e-3),
        soft_composition=judge_decay(fit_t, tol=ATT_TOL, large=TV_LARGE, converged=1e-6),
    )


def judge_attention_iterates(
    pred: Predictions, iterates: Mapping[int, np.ndarray], lr: float, claim: str = "C"
) -> ClaimResult:
    """Claim C along gradient-descent iterates: on the training samples the attention
    off the label's SCC and the within-SCC total variation from
    ``softmax(W_fin scores)`` tend to 0 (resolved to about ``2 lr`` for normalised GD).
    """
    steps = sorted(s for s in iterates if s > 0)
    ns = float(np.linalg.norm(pred.W_svm))
    inputs = training_inputs(pred)
    errs = [attention_errors(pred.dataset.E, np.asarray(iterates[s]), pred.W_fin, inputs)
            for s in steps]
    xs = [float(np.linalg.norm(iterates[s])) / ns if ns > 0 else float(s) for s in steps]
    fit_o = limit_of_decaying(xs, [e.max_off for e in errs], model="exp")
    fit_t = limit_of_decaying(xs, [e.max_tv for e in errs], model="exp")
    floor = max(2 * lr, ATT_TOL)
    metrics = {"norm_W_svm": ns, "steps": steps}
    metrics |= fit_o.metrics("off_scc_") | fit_t.metrics("within_scc_tv_")
    return merge(
        claim,
        metrics,
        hard_retrieval=judge_decay(fit_o, tol=floor, large=OFF_LARGE, converged=floor),
        soft_composition=judge_decay(fit_t, tol=floor, large=max(TV_LARGE, 2 * floor),
                                     converged=floor),
    )
