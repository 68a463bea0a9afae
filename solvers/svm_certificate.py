"""The certified Graph-SVM solution and its certificate, apart from the solvers that make it.

A Graph-SVM solution (THEORY.md section 3) is trusted only with a :class:`Certificate`:
primal feasibility on every original edge, dual feasibility (multiplier signs), the
duality gap, the KKT stationarity residual and complementary slackness, each against
the tolerances below (margins are O(1), so absolute and relative coincide).  Every
Graph-SVM method of the package (:mod:`~ntp_mechanics.solvers.graph_svm`,
:mod:`~ntp_mechanics.solvers.column_svm`,
:mod:`~ntp_mechanics.solvers.constraint_generation`) returns a :class:`GraphSVM`.

Example
-------
>>> Certificate(0.0, 0.0, 1e-9, 1e-9, 0.0).ok, Certificate(1e-3, 0.0, 0.0, 0.0, 0.0).ok
(True, False)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ntp_mechanics.model.tpg import Edge

__all__ = ["COND_MAX", "FEAS_TOL", "GAP_TOL", "KKT_TOL", "Certificate", "GraphSVM"]

FEAS_TOL = 1e-6  # primal feasibility of margins (absolute; margins are O(1))
GAP_TOL = 1e-5  # relative duality gap
KKT_TOL = 1e-4  # relative stationarity residual
COND_MAX = 1e7  # score-space formulation needs well-conditioned E E^T


@dataclass(frozen=True)
class Certificate:
    """Evidence that a Graph-SVM solution is optimal (all relative to O(1) margins)."""

    primal_violation: float
    dual_violation: float
    gap: float
    kkt_residual: float
    complementarity: float

    @property
    def ok(self) -> bool:
        return (
            self.primal_violation <= FEAS_TOL
            and self.dual_violation <= FEAS_TOL
            and self.gap <= GAP_TOL
            and self.kkt_residual <= KKT_TOL
            and self.complementarity <= KKT_TOL
        )


@dataclass(frozen=True)
class GraphSVM:
    """A certified Graph-SVM solution."""

    W: np.ndarray
    norm: str
    constraints: tuple[Edge, ...]  # one representative acyclic edge per reduced constraint
    duals: np.ndarray  # lambda >= 0, one per constraint
    formulation: str
    status: str
    solve_time: float
    certificate: Certificate | None = field(default=None)

    def margin(self, E: np.ndarray, i: int, j: int, k: int) -> float:
        return float((E[i] - E[j]) @ self.W @ E[k])
