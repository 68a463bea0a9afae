"""Constraint generation for the Graph-SVM with any embeddings, against the joint QP.

On Hypothesis-drawn datasets with independent embeddings and with K > d (fact F1): the
same ``W_svm`` as the cvxpy program, the same feasibility verdict (the infeasible ones
end with a verified Farkas combination), and a certificate that rejects a slightly
wrong solution.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from ntp_mechanics.kernel.fact_support import fact_datasets, overcomplete_datasets
from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.errors import InconclusiveError, InfeasibleError
from ntp_mechanics.solvers.constraint_generation import (
    FactoredOperator,
    _certificate,
    _cyclic_generators,
    generated_graph_svm,
)
from ntp_mechanics.solvers.graph_svm import graph_svm
from ntp_mechanics.solvers.priority_arrays import PriorityArrays

REL_TOL = 1e-4


def _rel(A: np.ndarray, B: np.ndarray) -> float:
    return float(np.linalg.norm(A - B) / max(np.linalg.norm(B), 1.0))


@given(fact_datasets())
@settings(deadline=None, max_examples=25)
def test_matches_qp_independent(ds: Dataset) -> None:
    sol = generated_graph_svm(ds)
    assert sol.certificate is None or sol.certificate.ok
    assert _rel(sol.W, graph_svm(ds, method="qp").W) <= REL_TOL


@given(overcomplete_datasets())
@settings(deadline=None, max_examples=25)
def test_matches_qp_overcomplete(ds: Dataset) -> None:
    try:
        qp = graph_svm(ds, method="qp")
    except InconclusiveError:
        return
    except InfeasibleError:
        with pytest.raises(InfeasibleError):
            generated_graph_svm(ds)
        return
    assert _rel(generated_graph_svm(ds).W, qp.W) <= REL_TOL


def test_infeasible_only_across_queries() -> None:
    E = [[1.0], [0.5], [0.25]]  # each query alone is feasible, together they are not
    both = Dataset.from_arrays(E, [((0, 1, 2), 0), ((0, 1), 1)])
    for alone in ([((0, 1, 2), 0)], [((0, 1), 1)]):
        generated_graph_svm(Dataset.from_arrays(E, alone))
    with pytest.raises(InfeasibleError, match="combine to 0"):
        generated_graph_svm(both)


def test_certificate_rejects_wrong_solutions() -> None:
    rng = np.random.default_rng(1)
    E = rng.normal(size=(5, 3))  # K > d, feasible for this chain
    ds = Dataset.from_arrays(E, [((0, 1, 2), 0), ((3, 4), 3), ((1, 0, 4), 1)])
    sol = generated_graph_svm(ds)
    assert sol.certificate.ok and np.linalg.norm(sol.W) > 0  # premise
    pa = PriorityArrays.from_dataset(ds)
    work = np.array(sol.constraints, dtype=np.int64).reshape(-1, 3)
    cyc = _cyclic_generators(pa)
    op = FactoredOperator(ds.E, np.vstack([work, cyc]))
    lam, nu = sol.duals, np.zeros(len(cyc))
    assert _certificate(ds.E, pa, sol.W, op, lam, nu, lam / 2).ok
    assert not _certificate(ds.E, pa, 0.999 * sol.W, op, lam, nu, lam / 2).ok  # margins < 1
    assert not _certificate(ds.E, pa, 1.01 * sol.W, op, lam, nu, lam / 2).ok  # not optimal
    assert not _certificate(ds.E, pa, sol.W, op, lam, nu, -lam / 2).ok  # wrong signs
