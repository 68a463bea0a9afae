"""Real text: how a model trained on a corpus's windows behaves on held-out windows.

THEORY.md section 10.  A corpus gives a training and a held-out dataset of windows (the
last token is the query, the next token the label).  Priority is read from the
*training* windows' graphs ``G^(k)``: for a held-out window with query k, the
**top SCC** is the SCC of ``G^(k)`` among those of the window's tokens that reaches
every other one (claim C's condition for a fresh input).  Measured, all from
``(train, heldout, W)`` with memory proportional to the windows:

* ``hard_retrieval_accuracy``: the fraction of judged held-out windows whose largest
  attention weight falls on a token of the top SCC;
* ``top_scc_mass``: the mean attention mass on the top SCC;
* ``soft_tv``: inside the top SCC (windows with two or more of its tokens), the mean
  total variation between the model's renormalised attention and
  ``softmax(e_x^T W_fin e_k)``;
* ``corr_W_svm`` = cos(W, W_svm), ``corr_fin`` = cos(P_fin W, W_fin), and the norm
  split ``W = a W_svm/||W_svm|| + P_fin W + rest`` (``W_svm`` is orthogonal to S_fin,
  fact F4);
* ``next_token_accuracy`` and ``next_token_loss`` of the attention model
  (``p(v)`` = attention mass on v) against a unigram and a bigram (by query) model fit
  on the training labels with add-one smoothing (``unigram_accuracy``, ...).

Windows that cannot be judged are counted apart, with their reason: the query never
occurs in training (``query unseen``), a token absent from ``G^(k)`` (``token outside
the graph``), no token that reaches all the others (``incomparable``), and windows of
one distinct token (``one token``: nothing to retrieve).  Every value is a number, or
None with its reason in :attr:`RealTextMeasures.reasons`.  Windows carry weights (the
datasets' ``counts`` when present).

Negative controls, measured by the same code: :func:`relabelled` (every label redrawn
from its own window: realizable labels without the text's signal),
:func:`random_like` (Gaussian weights of the same norm) and :func:`permuted_vocabulary`
(the same text over a permuted vocabulary: another corpus with the same statistics).

Example
-------
>>> import numpy as np
>>> from ntp_mechanics.model.dataset import Dataset
>>> tr = Dataset.from_arrays(np.eye(3), [((0, 1, 2), 0), ((1, 2), 1)])
>>> m = measure(tr, tr, 10 * np.array([[0, 0, 1.], [0, 0, 0], [0, 0, -1]]))
>>> m.values["hard_retrieval_accuracy"], m.excluded
(1.0, {})
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
from scipy.special import logsumexp

from ntp_mechanics.kernel.verdict import ClaimResult, Verdict
from ntp_mechanics.model.dataset import Dataset, DatasetError
from ntp_mechanics.model.errors import PredictionError
from ntp_mechanics.model.tpg import PriorityGraph, TokenPriorityGraphs
from ntp_mechanics.solvers.regpath import WindowLoss, window_weights
from ntp_mechanics.solvers.subspaces import Subspace

__all__ = [
    "KEYS",
    "PriorityIndex",
    "RealTextMeasures",
    "attention_view",
    "check_shapes",
    "judge_heldout",
    "measure",
    "orthonormal",
    "permuted_vocabulary",
    "random_like",
    "relabelled",
    "safe_predict",
    "training_objects",
]

KEYS = ("hard_retrieval_accuracy", "top_scc_mass", "corr_W_svm", "corr_fin",
        "next_token_accuracy", "unigram_accuracy", "bigram_accuracy")
"""The keys every held-out report carries (a number, or None with a reason)."""

MASS_OK, MASS_BAD = 0.95, 0.5  # mean top-SCC mass: the training-sample thresholds of check


# -- priority from the training graphs -----------------------------------------------------
class PriorityIndex:
    """The top SCC of any token set under the training graphs, per query.

    Reachability between the SCCs of one ``G^(k)`` is a boolean closure of its
    condensation, built on first use of query k (memory: squared number of SCCs of
    the graphs that held-out windows actually query).
    """

    def __init__(self, tpg: TokenPriorityGraphs) -> None:
        self.tpg = tpg
        self._cache: dict[int, tuple[dict[int, int], np.ndarray, list[frozenset[int]]]] = {}

    def _closure(self, k: int) -> tuple[dict[int, int], np.ndarray, list[frozenset[int]]]:
        if k not in self._cache:
            self._cache[k] = _closure(self.tpg[k])
        return self._cache[k]

    def top_scc(self, query: int, tokens: set[int]) -> tuple[frozenset[int] | None, str]:
        """``(tokens of the top SCC, "")`` or ``(None, reason)``."""
        if query not in self.tpg:
            return None, "query unseen"
        scc_of, reach, members = self._closure(query)
        if any(t not in scc_of for t in tokens):
            return None, "token outside the graph"
        present = sorted({scc_of[t] for t in tokens})
        if len(tokens) == 1:
            return None, "one token"
        rows = reach[np.ix_(present, present)]
        top = [c for c, row in zip(present, rows, strict=True) if row.all()]
        if not top:
            return None, "incomparable"
        return members[top[0]], ""


def _closure(g: PriorityGraph) -> tuple[dict[int, int], np.ndarray, list[frozenset[int]]]:
    C = g.condensation
    S = C.number_of_nodes()
    reach = np.eye(S, dtype=bool)
    for c in reversed(list(nx.topological_sort(C))):
        for s in C.successors(c):
            reach[c] |= reach[s]
    members = [frozenset(C.nodes[c]["members"]) for c in range(S)]
    return g.scc_of, reach, members


# -- the measurements --------------------------------------------------------------------------
@dataclass(frozen=True)
class RealTextMeasures:
    """Held-out measurements of one W (see the module docstring).

    Attributes
    ----------
    values : the measured numbers (the :data:`KEYS` and more); None where undefined.
    reasons : why a value is None.
    excluded : held-out windows not judged, by reason (their count, weighted by 1).
    judged : how many held-out windows were judged.
    """

    values: Mapping[str, float | None]
    reasons: Mapping[str, str] = field(default_factory=dict)
    excluded: Mapping[str, int] = field(default_factory=dict)
    judged: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {**{k: _plain(v) for k, v in self.values.items()},
                "null_reasons": dict(self.reasons), "windows_judged": self.judged,
                "windows_excluded": dict(self.excluded)}


def measure(
    train: Dataset,
    heldout: Dataset,
    W: np.ndarray,
    W_svm: np.ndarray | None = None,
    W_fin: np.ndarray | None = None,
    S_fin: Subspace | None = None,
    tpg: TokenPriorityGraphs | None = None,
    svm_reason: str = "",
) -> RealTextMeasures:
    """Measure W (d x d) on ``heldout`` against the priorities of ``train``.

    Parameters
    ----------
    train, heldout : datasets over one vocabulary and embedding (same K and d).
    W : the weights, score ``e_{x_t}^T W e_query``.
    W_svm, W_fin, S_fin : the theory's objects for ``train`` (``predict(train)``); the
        correlations are None without them (``svm_reason`` says why ``W_svm`` is
        missing, e.g. an infeasible Graph-SVM).
    tpg : the training graphs (built when omitted).

    Returns
    -------
    RealTextMeasures

    Raises
    ------
    DatasetError
        Shapes that do not match (another K or d, W not d x d).
    """
    check_shapes(train, heldout, W)
    W = np.asarray(W, dtype=np.float64)
    tpg = tpg or TokenPriorityGraphs.from_dataset(train)
    wl = WindowLoss(heldout)
    st = wl.state(W)
    s = st["s"]
    top, excluded = _top_masks(heldout, PriorityIndex(tpg))
    judged = top.any(axis=1)
    w = window_weights(heldout)
    vals: dict[str, float | None] = {}
    why: dict[str, str] = {}
    if judged.any():
        wj = w[judged] / w[judged].sum()
        tj, sj = top[judged], s[judged]
        hit = tj[np.arange(len(tj)), np.argmax(sj, axis=1)]
        # fractions: the rounding of normalised weights must not show 1.0000000000000007
        vals["hard_retrieval_accuracy"] = min(1.0, float(wj @ hit))
        vals["top_scc_mass"] = min(1.0, float(wj @ np.sum(sj * tj, axis=1)))
    else:
        for k in ("hard_retrieval_accuracy", "top_scc_mass"):
            vals[k] = None
            why[k] = "no held-out window has a top SCC in the training graphs"
    vals["soft_tv"], why_tv = _soft_tv(wl, W, W_fin, top, w)
    if why_tv:
        why["soft_tv"] = why_tv
    vals |= _correlations(W, W_svm, W_fin, S_fin, why, svm_reason)
    vals |= _next_token(train, heldout, st, w)
    return RealTextMeasures(vals, why, excluded, int(judged.sum()))


def attention_view(train: Dataset, heldout: Dataset, W: np.ndarray,
                   tpg: TokenPriorityGraphs | None = None) -> dict[str, np.ndarray]:
    """Per held-out window (padded layout, n x T): token ``ids``, the real-position
    ``mask``, the ``attention`` weights of W and the ``top`` SCC's positions (all False
    where the window is not judged) - what :func:`measure` averages, for drawing."""
    check_shapes(train, heldout, W)
    tpg = tpg or TokenPriorityGraphs.from_dataset(train)
    ids, mask, _ = heldout.padded()
    s = WindowLoss(heldout).state(np.asarray(W, dtype=np.float64))["s"]
    top, _ = _top_masks(heldout, PriorityIndex(tpg))
    return {"ids": ids, "mask": mask, "attention": s, "top": top}


def check_shapes(train: Dataset, heldout: Dataset, W: Any) -> None:
    if (heldout.K, heldout.d) != (train.K, train.d):
        raise DatasetError(f"held-out set has K = {heldout.K}, d = {heldout.d}; the training "
                           f"set has K = {train.K}, d = {train.d}")
    if not np.array_equal(heldout.E, train.E):
        raise DatasetError("held-out set has other embeddings than the training set")
    if np.shape(W) != (train.d, train.d):
        raise DatasetError(f"weights: W must be {train.d} x {train.d}, got shape {np.shape(W)}")


def _top_masks(heldout: Dataset, index: PriorityIndex) -> tuple[np.ndarray, dict[str, int]]:
    """n x T mask of the positions holding a top-SCC token (padded layout), and the
    count of windows without one, by reason.

    Vectorised per query: a position is in the top SCC when its SCC reaches the SCC of
    every other position (two such SCCs would reach each other, so it is unique).  The
    same masks and counts as :func:`_top_masks_loop` (one window at a time), memory
    ``n T^2`` booleans at most per block of windows.
    """
    ids, mask, _ = heldout.padded()
    n, T = ids.shape
    top = np.zeros_like(mask)
    reason = np.full(n, "", dtype=object)
    q = ids[:, -1] if n else ids[:, :0].reshape(0)
    for k in np.unique(q).tolist():
        rows = np.flatnonzero(q == k)
        if k not in index.tpg:
            reason[rows] = "query unseen"
            continue
        scc_of, reach, _ = index._closure(k)
        lookup = np.full(heldout.K, -1, dtype=np.int64)
        for v, c in scc_of.items():
            lookup[v] = c
        for block in np.array_split(rows, max(1, len(rows) * T * T // 4_000_000 + 1)):
            top[block], reason[block] = _top_block(ids[block], mask[block], lookup, reach)
    excluded: dict[str, int] = {}
    for r in reason[reason != ""].tolist():
        excluded[r] = excluded.get(r, 0) + 1
    return top, excluded


def _top_block(ids: np.ndarray, mask: np.ndarray, lookup: np.ndarray,
               reach: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Top-SCC positions and the reason when none, for windows of one query."""
    c = lookup[ids]
    outside = np.any(mask & (c < 0), axis=1)
    c = np.where(mask & (c >= 0), c, 0)
    big = np.iinfo(np.int64).max
    lo = np.where(mask, ids, big).min(axis=1)
    hi = np.where(mask, ids, -1).max(axis=1)
    one = lo == hi
    R = reach[c[:, :, None], c[:, None, :]] | ~mask[:, None, :]  # p reaches t (or t padding)
    top = mask & R.all(axis=2) & ~outside[:, None] & ~one[:, None]
    why = np.where(outside, "token outside the graph",
                   np.where(one, "one token", np.where(top.any(axis=1), "", "incomparable")))
    return top, why.astype(object)


def _top_masks_loop(heldout: Dataset,
                    index: PriorityIndex) -> tuple[np.ndarray, dict[str, int]]:
    """:func:`_top_masks` one window at a time (the reference the tests compare with)."""
    ids, mask, _ = heldout.padded()
    top = np.zeros_like(mask)
    excluded: dict[str, int] = {}
    for i in range(heldout.n):
        toks = ids[i][mask[i]]
        scc, reason = index.top_scc(int(toks[-1]), {int(t) for t in toks})
        if scc is None:
            excluded[reason] = excluded.get(reason, 0) + 1
            continue
        top[i] = mask[i] & np.isin(ids[i], list(scc))
    return top, excluded


def _soft_tv(wl: WindowLoss, W: np.ndarray, W_fin: np.ndarray | None, top: np.ndarray,
             w: np.ndarray) -> tuple[float | None, str]:
    if W_fin is None:
        return None, "no W_fin for the training set"
    ids = wl.flat // wl.q
    lo = np.where(top, ids, np.iinfo(ids.dtype).max).min(axis=1, initial=np.iinfo(ids.dtype).max)
    hi = np.where(top, ids, -1).max(axis=1, initial=-1)
    distinct = hi > lo  # two or more distinct tokens of the top SCC
    if not distinct.any():
        return None, "no held-out window has two tokens of its top SCC"
    a, b = wl.scores(W)[distinct], wl.scores(W_fin)[distinct]
    m = top[distinct]
    a, b = np.where(m, a, -np.inf), np.where(m, b, -np.inf)
    p = np.exp(a - logsumexp(a, axis=1, keepdims=True))
    q = np.exp(b - logsumexp(b, axis=1, keepdims=True))
    tv = 0.5 * np.sum(np.abs(np.where(m, p - q, 0.0)), axis=1)
    wd = w[distinct] / w[distinct].sum()
    return float(wd @ tv), ""


def _cos(A: np.ndarray, B: np.ndarray) -> float | None:
    na, nb = float(np.linalg.norm(A)), float(np.linalg.norm(B))
    return float(np.sum(A * B) / (na * nb)) if na > 0 and nb > 0 else None


def _correlations(W: np.ndarray, W_svm: np.ndarray | None, W_fin: np.ndarray | None,
                  S_fin: Subspace | None, why: dict[str, str],
                  svm_reason: str) -> dict[str, float | None]:
    out: dict[str, float | None] = {"norm_W": float(np.linalg.norm(W))}
    fin_part = S_fin.project(W) if S_fin is not None else None
    out["corr_W_svm"] = _cos(W, W_svm) if W_svm is not None else None
    if W_svm is None:
        why["corr_W_svm"] = svm_reason or "no Graph-SVM for the training set"
    elif out["corr_W_svm"] is None:
        why["corr_W_svm"] = "W_svm = 0 (no acyclic edge) or W = 0"
    if fin_part is None or W_fin is None:
        out["corr_fin"] = None
        why["corr_fin"] = "no S_fin and W_fin for the training set"
    else:
        out["corr_fin"] = _cos(fin_part, W_fin)
        if out["corr_fin"] is None:
            why["corr_fin"] = "W_fin = 0 (no cyclic edge) or P_fin W = 0"
    if W_svm is not None and fin_part is not None and np.linalg.norm(W_svm) > 0:
        u = W_svm / np.linalg.norm(W_svm)
        along = float(np.sum(W * u))
        out["norm_along_svm"] = along
        out["norm_fin"] = float(np.linalg.norm(fin_part))
        out["norm_rest"] = float(np.linalg.norm(W - along * u - fin_part))
    return out


def _next_token(train: Dataset, heldout: Dataset, st: dict[str, np.ndarray],
                w: np.ndarray) -> dict[str, float | None]:
    """Accuracy and loss of the attention model and of unigram/bigram baselines."""
    K = train.K
    c_tr = window_weights(train) * _total(train)  # the windows' counts
    y_tr = np.array([s.label for s in train.samples])
    q_tr = np.array([s.query for s in train.samples])
    uni = np.bincount(y_tr, weights=c_tr, minlength=K) + 1.0
    uni /= uni.sum()
    big = np.zeros((K, K))
    np.add.at(big, (q_tr, y_tr), c_tr)
    n_q = big.sum(axis=1, keepdims=True)
    big = (big + uni[None, :]) / (n_q + 1.0)  # add-one, backing off to the unigram
    ids, mask, _ = heldout.padded()
    y = np.array([s.label for s in heldout.samples])
    q = ids[:, -1]
    s = st["s"]
    # the attention model's distribution: mass per token of the window
    flat = np.arange(heldout.n)[:, None] * K + ids
    P = np.bincount(flat[mask], weights=s[mask], minlength=heldout.n * K).reshape(-1, K)
    py = P[np.arange(heldout.n), y]
    with np.errstate(divide="ignore"):
        return {
            "next_token_accuracy": float(w @ (np.argmax(P, axis=1) == y)),
            "next_token_loss": float(w @ -np.log(py)),
            "unigram_accuracy": float(w @ (np.argmax(uni) == y)),
            "unigram_loss": float(w @ -np.log(uni[y])),
            "bigram_accuracy": float(w @ (np.argmax(big[q], axis=1) == y)),
            "bigram_loss": float(w @ -np.log(big[q, y])),
        }


def _total(ds: Dataset) -> float:
    counts = getattr(ds, "counts", None)
    return float(ds.n if counts is None else np.sum(counts))


def _plain(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


# -- the verdict on held-out windows ----------------------------------------------------------
def judge_heldout(m: RealTextMeasures, asymptotic: bool, regime: str,
                  outside: str = "") -> ClaimResult:
    """Claim C on held-out windows: attention concentrates on the top SCC.

    The theory says so for any input whose tokens lie in ``G^(k)`` and include one
    that reaches the others, in the limit of the trajectory; the thresholds are those
    ``check`` applies to the training samples (mean mass off the SCC at most 0.05 is
    consistent, at least 0.5 in the asymptotic regime contradicts).  ``outside`` (the
    weights were not trained by full-batch gradient descent, or the Graph-SVM is
    infeasible) makes the result a stated *outside the hypotheses*, never a judgement.
    """
    mass = m.values.get("top_scc_mass")
    metrics = {"top_scc_mass": mass, "hard_retrieval_accuracy":
               m.values.get("hard_retrieval_accuracy"), "windows_judged": m.judged}
    if outside:
        return ClaimResult("C", Verdict.INCONCLUSIVE, metrics | {"outside_hypotheses": True},
                           f"held-out windows: outside the hypotheses ({outside}); measured, "
                           "not judged")
    if mass is None:
        return ClaimResult("C", Verdict.INCONCLUSIVE, metrics,
                           "held-out windows: " + m.reasons.get("top_scc_mass", "none judged"))
    text = (f"held-out windows ({m.judged} judged): mean attention mass on the top SCC "
            f"{mass:.3g}, hard retrieval {metrics['hard_retrieval_accuracy']:.3g}")
    if asymptotic and mass <= MASS_BAD:
        return ClaimResult("C", Verdict.CONTRADICTS, metrics, f"{text} at {regime}")
    if asymptotic and mass >= MASS_OK:
        return ClaimResult("C", Verdict.CONSISTENT, metrics, text)
    tail = "not in the asymptotic regime" if not asymptotic else "between the thresholds"
    return ClaimResult("C", Verdict.INCONCLUSIVE, metrics, f"{text}: {tail} ({regime})")


# -- negative controls ----------------------------------------------------------------------------
def relabelled(ds: Dataset, seed: int) -> Dataset:
    """Every label redrawn uniformly from its own window's distinct tokens (labels stay
    realizable; the text's next-token signal is gone).  Counts are kept."""
    rng = np.random.default_rng(seed)
    samples = [(s.tokens, int(rng.choice(sorted(set(s.tokens))))) for s in ds.samples]
    out = Dataset.from_arrays(ds.E, samples, ds.name + " (labels redrawn)")
    return _with_counts(out, ds)


def permuted_vocabulary(ds: Dataset, seed: int) -> Dataset:
    """The same windows over a randomly permuted vocabulary (token v becomes
    ``perm[v]``; the embeddings stay by id): another corpus with the same statistics."""
    perm = np.random.default_rng(seed).permutation(ds.K)
    samples = [(tuple(int(perm[t]) for t in s.tokens), int(perm[s.label]))
               for s in ds.samples]
    return _with_counts(Dataset.from_arrays(ds.E, samples, ds.name + " (permuted)"), ds)


def random_like(W: np.ndarray, seed: int) -> np.ndarray:
    """Gaussian weights with the Frobenius norm of W."""
    G = np.random.default_rng(seed).standard_normal(np.shape(W))
    return G * (float(np.linalg.norm(W)) / float(np.linalg.norm(G)))


def _with_counts(out: Dataset, ds: Dataset) -> Dataset:
    """``out`` with the counts of ``ds`` (one per window, same order)."""
    return out.with_counts(ds.counts)


def training_objects(pred: Any) -> dict[str, Any]:
    """``W_svm``, ``W_fin``, ``S_fin`` and ``tpg`` from predictions, for :func:`measure`."""
    return {"W_svm": pred.W_svm, "W_fin": pred.W_fin, "S_fin": pred.fin.subspace,
            "tpg": getattr(pred, "tpg", None)}


def safe_predict(train: Dataset, columns: bool | None = None) -> tuple[Any, str]:
    """``(predictions, "")`` or ``(None, reason)`` when the theory has no prediction
    (an infeasible Graph-SVM with d < K is outside the hypotheses).

    ``columns`` (default: when the embeddings are orthonormal, e.g. one-hot) uses the
    column solvers (:func:`~ntp_mechanics.solvers.column_predictions.predict_columns`,
    memory proportional to edges and windows) instead of the joint :func:`predict`;
    both give what :func:`training_objects` needs (``tpg`` is then built by
    :func:`measure`)."""
    from ntp_mechanics.solvers.column_predictions import predict_columns
    from ntp_mechanics.solvers.predictions import predict

    if columns is None:
        columns = orthonormal(train.E)
    try:
        return (predict_columns(train) if columns else predict(train)), ""
    except PredictionError as exc:
        return None, f"{type(exc).__name__}: {exc}"


def orthonormal(E: np.ndarray) -> bool:
    """Whether the embedding rows are orthonormal (``E E^T = I``; one-hot is)."""
    E = np.asarray(E, dtype=np.float64)
    return E.shape[0] <= E.shape[1] and bool(
        np.allclose(E @ E.T, np.eye(E.shape[0]), rtol=0.0, atol=1e-12))
