"""Wrong predictions for the negative controls: each must be rejected by its claim's judge.
"""

from __future__ import annotations

import numpy as np

from ntp_mechanics.kernel.evidence.common import (
    unit,
)
from ntp_mechanics.solvers.loss import LogLoss
from ntp_mechanics.solvers.predictions import Predictions


# -- wrong predictions for negative controls ------------------------------------------
def dropped_constraint_direction(pred: Predictions) -> np.ndarray | None:
    """Unit direction of the Graph-SVM with its most binding acyclic constraint dropped.

    The constraint with the largest dual is an arc of a transitive reduction, so no
    other path implies it: removing every edge between its two SCCs removes it.
    Returns None when W_svm = 0 or the modified problem cannot be certified.
    """
    from ntp_mechanics.model.tpg import PriorityGraph, TokenPriorityGraphs
    from ntp_mechanics.solvers.graph_svm import graph_svm

    svm = pred.svm
    if len(svm.constraints) == 0:
        return None
    i, j, k = svm.constraints[int(np.argmax(svm.duals))]
    g = pred.tpg[k]
    a, b = g.scc_of[i], g.scc_of[j]
    graph = g.graph.copy()
    graph.remove_edges_from(
        [(u, v) for u, v in g.graph.edges if g.scc_of[u] == a and g.scc_of[v] == b]
    )
    graphs = dict(pred.tpg.graphs) | {k: PriorityGraph(k, graph)}
    try:
        W = graph_svm(pred.dataset, TokenPriorityGraphs(graphs)).W
    except Exception:  # an uncertified control is no control
        return None
    return unit(W)


def unreduced_finite_component(pred: Predictions) -> np.ndarray:
    """``argmin_{W in S_fin} L(W)`` of the *full* loss: soft composition without the
    hard-retrieval step (a wrong theory of W_fin, used as a negative control).

    The full loss is at least ``L_fin`` on S_fin, so it is coercive there and the
    minimiser exists; Newton's method from ``W_fin`` finds it.
    """
    from ntp_mechanics.solvers.conic import newton_polish

    S = pred.fin.subspace
    if S.dim == 0:
        return np.zeros_like(pred.W_fin)
    cl = LogLoss(pred.dataset).in_basis(S.basis)
    c = newton_polish(cl, S.coords(pred.W_fin), iters=60)
    return cl.W(c)
