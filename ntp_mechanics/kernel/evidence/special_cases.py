"""Claim E, the special cases: acyclic graphs give ``W_fin = 0`` and the attention SVM.

:func:`attention_svm` is the attention SVM of Tarzanagh et al. (one selected token per
sequence), solved independently of the Graph-SVM so the two can be compared.
"""

from __future__ import annotations

import numpy as np

from ntp_mechanics.kernel.verdict import (
    ClaimResult,
    Verdict,
)
from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.errors import InconclusiveError
from ntp_mechanics.solvers.predictions import Predictions


# -- claim E: the special cases ---------------------------------------------------------
def attention_svm(ds: Dataset, select: str = "label") -> np.ndarray:
    """The attention SVM of Tarzanagh et al. (2023), written independently, per sample:

        min ||W||_F  s.t.  (e_{s_i} - e_{x_it})^T W e_{k_i} >= 1  for every x_it != s_i,

    with one selected token ``s_i`` per sequence: its label (``select="label"``, which
    claim E says is the Graph-SVM of acyclic graphs) or its query (``"query"``, a
    negative control).  Raises InconclusiveError when the solver does not finish.
    """
    import cvxpy as cp

    E = ds.E
    W = cp.Variable((ds.d, ds.d))
    rows, qs = [], []
    for s in ds.samples:
        sel = s.label if select == "label" else s.query
        for x in set(s.tokens) - {sel}:
            rows.append(E[sel] - E[x])
            qs.append(E[s.query])
    if not rows:
        return np.zeros((ds.d, ds.d))
    A = np.einsum("ra,rb->rab", np.array(rows), np.array(qs)).reshape(len(rows), -1)
    prob = cp.Problem(cp.Minimize(cp.sum_squares(W)), [A @ cp.vec(W, order="C") >= 1])
    prob.solve(solver=cp.CLARABEL)
    if prob.status != cp.OPTIMAL or W.value is None:
        raise InconclusiveError(f"attention SVM solver status {prob.status!r}")
    return np.asarray(W.value)


def judge_acyclic(pred: Predictions, W_att: np.ndarray, claim: str = "E") -> ClaimResult:
    """Claim E, acyclic graphs: ``S_fin = {0}``, ``W_fin = 0``, ``L* = 0`` and
    ``W_svm`` equals the attention SVM ``W_att`` (to solver tolerance)."""
    ns = float(np.linalg.norm(pred.W_svm))
    rel = float(np.linalg.norm(pred.W_svm - W_att)) / max(ns, float(np.linalg.norm(W_att)),
                                                           1e-12)
    m = {"dim_S_fin": pred.fin.subspace.dim, "norm_W_fin": float(np.linalg.norm(pred.W_fin)),
         "L_star": pred.fin.L_star, "norm_W_svm": ns, "relative_gap_to_attention_svm": rel}
    exact = pred.fin.subspace.dim == 0 and m["norm_W_fin"] == 0 and abs(pred.fin.L_star) < 1e-12
    if not exact:
        return ClaimResult(claim, Verdict.CONTRADICTS, m, "acyclic graphs but S_fin, W_fin or "
                           "L* is not trivial")
    if rel <= 1e-4:
        return ClaimResult(claim, Verdict.CONSISTENT, m,
                           f"W_svm = attention SVM (relative gap {rel:.1e})")
    if rel >= 1e-2:
        return ClaimResult(claim, Verdict.CONTRADICTS, m,
                           f"W_svm differs from the attention SVM (relative gap {rel:.3g})")
    return ClaimResult(claim, Verdict.INCONCLUSIVE, m,
                       f"relative gap {rel:.1e} between solver tolerance and a clear difference")
