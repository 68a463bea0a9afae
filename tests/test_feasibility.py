"""The feasibility screen of the Graph-SVM (fact F1, K > d) and its Farkas certificates.

A certified query means the joint problem is infeasible: cross-checked against the
cvxpy row-space program (which must report infeasibility) on Hypothesis-drawn
overcomplete datasets.  Controls: independent embeddings (always feasible) never get a
certificate, and a certificate with one multiplier removed or rescaled is rejected.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import given, settings

from ntp_mechanics.kernel.fact_support import fact_datasets, overcomplete_datasets
from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.tpg import TokenPriorityGraphs
from ntp_mechanics.solvers.feasibility import infeasible_query
from ntp_mechanics.solvers.graph_svm import _solve_rowspace, reduced_constraints

INFEASIBLE = Dataset.from_arrays(np.array([[1.0], [0.5], [0.75]]),
                                 [((0, 1, 2), 0), ((1, 2), 1)])


def _residual(ds: Dataset, cert: object) -> float:
    E = ds.E
    rows = cert.edges
    r = len(cert.y)
    A = E[rows[:, 0]] - E[rows[:, 1]]
    return float(np.max(np.abs(A[:r].T @ cert.y + A[r:].T @ cert.nu)))


@given(overcomplete_datasets())
@settings(deadline=None, max_examples=30)
def test_certificate_implies_infeasible(ds: Dataset) -> None:
    cert = infeasible_query(ds)
    if cert is None:
        return
    assert cert.ok and _residual(ds, cert) <= 1e-8 and cert.y.sum() > 0
    tpg = TokenPriorityGraphs.from_dataset(ds)
    status = _solve_rowspace(ds.E, tpg, reduced_constraints(tpg), "fro", None)[2]
    assert status == "infeasible"


@given(fact_datasets())
@settings(deadline=None, max_examples=20)
def test_independent_embeddings_never_certified(ds: Dataset) -> None:
    assert infeasible_query(ds) is None  # F1: K <= d with independent rows is feasible


def test_known_infeasible_and_its_controls() -> None:
    cert = infeasible_query(INFEASIBLE)
    assert cert is not None and cert.ok and cert.query == 2
    assert "query token 2" in cert.message(3, 1, 1)
    # control: drop the largest multiplier - the rows no longer cancel
    y = cert.y.copy()
    y[np.argmax(y)] = 0.0
    E = INFEASIBLE.E
    rows = cert.edges
    A = E[rows[:, 0]] - E[rows[:, 1]]
    r = len(y)
    bad = dataclasses.replace(cert, y=y, total=float(y.sum()),
                              residual=float(np.max(np.abs(A[:r].T @ y + A[r:].T @ cert.nu))))
    assert not bad.ok
    # control: a zero combination proves nothing
    assert not dataclasses.replace(cert, y=0 * y, total=0.0).ok
