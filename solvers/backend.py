"""How every cvxpy problem of the suite is solved: one place for solver choice.

Clarabel (an interior-point conic solver) is the default: it is accurate enough for the
certificates (about 1e-8) and handles the QP, second-order and exponential cones used
here.  Its ``faer`` linear-system backend (multi-threaded, supernodal) is several times
faster than the default ``qdldl`` on the dense quadratic of the score-space Graph-SVM;
older Clarabel builds without it fall back to the default.

Example
-------
>>> import cvxpy as cp
>>> x = cp.Variable()
>>> solve(cp.Problem(cp.Minimize(cp.square(x - 1))))
'optimal'
"""

from __future__ import annotations

import cvxpy as cp

__all__ = ["solve"]

_FAST = {"direct_solve_method": "faer"}


def solve(problem: cp.Problem, solver: str | None = None) -> str:
    """Solve ``problem`` and return its status; a solver crash is status ``"solver_error"``."""
    try:
        if solver in (None, cp.CLARABEL):
            try:
                problem.solve(solver=cp.CLARABEL, **_FAST)
            except (cp.SolverError, TypeError, ValueError):
                problem.solve(solver=cp.CLARABEL)
        else:
            problem.solve(solver=solver)
    except cp.SolverError:
        return "solver_error"
    return str(problem.status)
