"""The Graph-SVM: the hard-retrieval direction ``W_svm`` (THEORY.md section 3).

    W_svm = argmin ||W||   s.t.  (e_i - e_j)^T W e_k = 0   for cyclic edges i -> j of G^(k),
                                 (e_i - e_j)^T W e_k >= 1  for acyclic edges,

with the Frobenius norm (``W_svm``) or the nuclear norm (``W_svm_*``).

Formulation (THEORY.md section 7: structure is where the speed is).  Within an SCC all
tokens must score alike, so a query's constraints only see one score per SCC, and an
acyclic constraint between SCCs A -> B is implied by a path A -> C -> B: we keep the
edges of the transitive reduction of each condensation, deduplicated.  For linearly
independent embeddings (K <= d) the problem is posed in score space: the variables are
the SCC scores ``s``; the scores ``z = P s`` of the (token, query) pairs that occur are
realised by the minimum-norm ``W = sum_p alpha_p e_v e_k^T`` with
``||W||_F^2 = z^T H^{-1} z``, ``H = (E E^T) ⊗ (E E^T)`` restricted to those pairs.  For
dependent embeddings (K > d) or the nuclear norm, the variable is ``Y`` in
``W = U Y U^T`` (U an orthonormal basis of the row space of E), which loses nothing:
the constraints only see ``U^T W U`` and projecting shrinks both norms.

By default (``method="auto"``) the Frobenius problem with independent embeddings is
solved by its matrix-free dual (:mod:`ntp_mechanics.solvers.svm_dual`: L-BFGS-B, then
an exact solve on the active set), O(K^2 d) per evaluation, which reaches K = 256 in
seconds; the cvxpy programs above stay for the nuclear norm, K > d, a failed dual
certificate, and ``method="qp"`` (the cross-check).

Every solve is certified: solver status, primal feasibility on *every* original edge,
dual feasibility, a duality gap and the KKT stationarity residual.  A failed certificate
raises :class:`InconclusiveError`; an infeasible problem :class:`InfeasibleError`.

Source: Li et al., AISTATS 2024, eq. (Graph-SVM); Tarzanagh et al., 2023.

Example
-------
>>> import numpy as np
>>> from ntp_mechanics.model.dataset import Dataset
>>> ds = Dataset.from_arrays(np.eye(2), [((0, 1), 0)])  # one acyclic edge 0 -> 1 of G^(1)
>>> np.round(graph_svm(ds).W, 6)
array([[ 0. ,  0.5],
       [ 0. , -0.5]])
"""

from __future__ import annotations

import time

import networkx as nx
import numpy as np
from scipy.linalg import cho_factor, cho_solve

from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.errors import InconclusiveError, InfeasibleError
from ntp_mechanics.model.tpg import Edge, TokenPriorityGraphs
from ntp_mechanics.solvers.feasibility import infeasible_query
from ntp_mechanics.solvers.subspaces import Subspace
from ntp_mechanics.solvers.svm_certificate import (
    COND_MAX,
    Certificate,
    GraphSVM,
)
from ntp_mechanics.solvers.svm_dual import solve_dual

__all__ = ["METHODS", "Certificate", "GraphSVM", "certify", "graph_svm", "reduced_constraints"]

METHODS = ("auto", "dual", "qp")

def reduced_constraints(tpg: TokenPriorityGraphs) -> list[Edge]:
    """One representative edge per arc of the transitive reduction of each condensation."""
    out = []
    for k, g in tpg.items():
        C = g.condensation
        edges = sorted(g.acyclic_edges, reverse=True)  # smallest edge wins as representative
        reps = {(g.scc_of[i], g.scc_of[j]): (i, j) for i, j in edges}
        for a, b in sorted(nx.transitive_reduction(C).edges):
            i, j = reps[(a, b)]
            out.append((i, j, k))
    return out


def graph_svm(
    ds: Dataset,
    tpg: TokenPriorityGraphs | None = None,
    norm: str = "fro",
    solver: str | None = None,
    S_fin: Subspace | None = None,
    method: str = "auto",
) -> GraphSVM:
    """Solve and certify the Graph-SVM of ``ds``.

    Parameters
    ----------
    ds : the dataset.
    tpg : its token-priority graphs (built when omitted).
    norm : ``"fro"`` (``W_svm``) or ``"nuc"`` (``W_svm_*``).
    solver : cvxpy solver name for the conic paths (default: the backend's).
    S_fin : the cyclic subspace, when the caller has it already (the certificate needs it).
    method : ``"dual"`` - the matrix-free dual (:mod:`ntp_mechanics.solvers.svm_dual`),
        Frobenius norm and independent embeddings only; ``"qp"`` - the cvxpy programs
        (score space, or row space for K > d and the nuclear norm); ``"auto"`` (default)
        - the dual where it applies, falling back to the QP if its certificate fails.

    Returns
    -------
    GraphSVM
        With ``formulation`` naming the path taken (``"dual"``, ``"score-space"``,
        ``"row-space"``) and a passing :class:`Certificate`.

    Raises
    ------
    InfeasibleError
        No W meets the constraints (possible only for dependent embeddings, fact F1).
    InconclusiveError
        The solver's status or the certificate failed.
    """
    if norm not in ("fro", "nuc"):
        raise ValueError(f"norm must be 'fro' or 'nuc', got {norm!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    tpg = tpg or TokenPriorityGraphs.from_dataset(ds)
    E = ds.E
    cons = reduced_constraints(tpg)
    if not cons:  # fact F2's trivial direction: only equalities, W = 0 is optimal
        return GraphSVM(np.zeros((ds.d, ds.d)), norm, (), np.zeros(0), "none", "trivial", 0.0)
    if not _independent(E):  # fact F1: may be infeasible; a certified screen decides fast
        cert = infeasible_query(ds)
        if cert is not None:
            raise InfeasibleError(cert.message(ds.K, ds.d, int(np.linalg.matrix_rank(E))))
    S_fin = S_fin if S_fin is not None else Subspace.cyclic(E, tpg)
    dual_applies = norm == "fro" and _independent(E)
    if method == "dual" and not dual_applies:
        raise ValueError("method 'dual' needs norm 'fro' and linearly independent embeddings")
    if method != "qp" and dual_applies:
        sol = _dual_solution(E, tpg, cons, S_fin)
        if sol.certificate is not None and sol.certificate.ok:
            return sol
        if method == "dual":
            raise InconclusiveError(f"Graph-SVM certificate failed: {sol.certificate}")
    if method == "auto" and norm == "fro" and not dual_applies:
        from ntp_mechanics.solvers.constraint_generation import generated_graph_svm

        try:  # dependent embeddings: constraint generation, the QP only if it fails
            return generated_graph_svm(ds)
        except InconclusiveError:
            pass
    return _qp_solution(ds, tpg, cons, norm, solver, S_fin)


def _dual_solution(
    E: np.ndarray, tpg: TokenPriorityGraphs, cons: list[Edge], S_fin: Subspace
) -> GraphSVM:
    t0 = time.perf_counter()
    W, mu, steps = solve_dual(E, np.array(cons), np.array(_cyclic_pairs(tpg)).reshape(-1, 3))
    elapsed = time.perf_counter() - t0
    lam = 2.0 * mu  # multipliers of ||W||^2 (the dual works with 1/2 ||W||^2)
    cert = certify(E, tpg, W, cons, lam, "fro", None, S_fin)
    return GraphSVM(W, "fro", tuple(cons), lam, "dual", f"active-set ({steps})", elapsed, cert)


def _qp_solution(
    ds: Dataset,
    tpg: TokenPriorityGraphs,
    cons: list[Edge],
    norm: str,
    solver: str | None,
    S_fin: Subspace,
) -> GraphSVM:
    import cvxpy as cp  # the conic paths only: the dual and column paths never import it

    E = ds.E
    t0 = time.perf_counter()
    if norm == "fro" and _independent(E):
        W, lam, status = _solve_scores(E, tpg, cons, solver)
        form, nu = "score-space", None
    else:
        W, lam, status, nu = _solve_rowspace(E, tpg, cons, norm, solver)
        form = "row-space"
    elapsed = time.perf_counter() - t0
    if status == cp.INFEASIBLE:
        raise InfeasibleError(_infeasibility_cause(ds, tpg, cons))
    if status != cp.OPTIMAL:
        raise InconclusiveError(f"Graph-SVM solver status {status!r}")
    cert = certify(E, tpg, W, cons, lam, norm, nu, S_fin)
    sol = GraphSVM(W, norm, tuple(cons), lam, form, status, elapsed, cert)
    if not cert.ok:
        raise InconclusiveError(f"Graph-SVM certificate failed: {cert}")
    return sol


def _independent(E: np.ndarray) -> bool:
    K, d = E.shape
    if K > d:
        return False
    if K == d and np.count_nonzero(E) == K and np.all(np.diagonal(E) == 1.0):
        return True  # one-hot: skip the K^2 d Gram matrix
    return bool(np.linalg.cond(E @ E.T) <= COND_MAX)


def _solve_scores(
    E: np.ndarray, tpg: TokenPriorityGraphs, cons: list[Edge], solver: str | None
) -> tuple[np.ndarray, np.ndarray, str]:
    import cvxpy as cp

    from ntp_mechanics.solvers.backend import solve

    # One score variable per (query, SCC); P maps them to (token, query) pairs.
    pairs, scc_var = [], {}
    for k, g in tpg.items():
        for c in g.condensation.nodes:
            scc_var[(k, c)] = len(scc_var)
        pairs += [(v, k) for v in sorted(g.graph.nodes)]
    P = np.zeros((len(pairs), len(scc_var)))
    for p, (v, k) in enumerate(pairs):
        P[p, scc_var[(k, tpg[k].scc_of[v])]] = 1.0
    G = E @ E.T
    vs, ks = np.array(pairs).T
    H = G[np.ix_(vs, vs)] * G[np.ix_(ks, ks)]  # SPD: E has independent rows
    Hinv_P = cho_solve(cho_factor(H), P)
    R = _sqrt_psd(P.T @ Hinv_P)  # ||W||_F^2 = s^T Q s = ||R s||^2
    D = np.zeros((len(cons), len(scc_var)))
    for r, (i, j, k) in enumerate(cons):
        D[r, scc_var[(k, tpg[k].scc_of[i])]] += 1.0
        D[r, scc_var[(k, tpg[k].scc_of[j])]] -= 1.0

    s = cp.Variable(len(scc_var))
    margins = D @ s >= 1
    prob = cp.Problem(cp.Minimize(cp.sum_squares(R @ s)), [margins])
    solve(prob, solver)
    if prob.status != cp.OPTIMAL:
        return np.zeros((E.shape[1],) * 2), np.zeros(len(cons)), prob.status
    alpha = Hinv_P @ s.value  # W = sum_p alpha_p e_v e_k^T
    W = np.einsum("p,pd,pe->de", alpha, E[vs], E[ks])
    return W, np.asarray(margins.dual_value, dtype=float), prob.status


def _sqrt_psd(Q: np.ndarray) -> np.ndarray:
    """R with ``R^T R = Q``: Cholesky, or a clipped eigen-root if Q is only semidefinite."""
    try:
        return np.linalg.cholesky(Q).T
    except np.linalg.LinAlgError:
        w, V = np.linalg.eigh((Q + Q.T) / 2)
        return np.sqrt(np.clip(w, 0, None))[:, None] * V.T


def _edge_rows(Fa: np.ndarray, edges: list[Edge]) -> np.ndarray:
    """Rows g_e with ``g_e . vec(Y) = (f_i - f_j)^T Y f_k`` (column-major vec)."""
    if not edges:
        return np.zeros((0, Fa.shape[1] ** 2))
    i, j, k = np.array(edges).T
    return np.einsum("ea,eb->eba", Fa[i] - Fa[j], Fa[k]).reshape(len(edges), -1)


def _cyclic_pairs(tpg: TokenPriorityGraphs) -> list[Edge]:
    """Root-to-member pairs spanning each SCC: equivalent to all cyclic equalities."""
    return [(c[0], v, k) for k, g in tpg.items() for c in g.sccs for v in c[1:]]


def _solve_rowspace(
    E: np.ndarray, tpg: TokenPriorityGraphs, cons: list[Edge], norm: str, solver: str | None
) -> tuple[np.ndarray, np.ndarray, str, np.ndarray]:
    """Returns W, the margin duals, the status and the duals of the cyclic equalities."""
    import cvxpy as cp

    from ntp_mechanics.solvers.backend import solve

    _, sv, Vt = np.linalg.svd(E, full_matrices=False)
    r = int(np.sum(sv > 1e-10 * sv[0]))
    U = Vt[:r].T  # d x r
    F = E @ U
    Y = cp.Variable((r, r))
    y = cp.vec(Y, order="F")
    margins = _edge_rows(F, cons) @ y >= 1
    eq = _edge_rows(F, _cyclic_pairs(tpg))
    equal = eq @ y == 0
    constraints = [margins, equal] if len(eq) else [margins]
    objective = cp.sum_squares(Y) if norm == "fro" else cp.normNuc(Y)
    prob = cp.Problem(cp.Minimize(objective), constraints)
    solve(prob, solver)
    if prob.status != cp.OPTIMAL:
        return np.zeros((E.shape[1],) * 2), np.zeros(len(cons)), prob.status, np.zeros(0)
    nu = np.asarray(equal.dual_value, dtype=float) if len(eq) else np.zeros(0)
    return U @ Y.value @ U.T, np.asarray(margins.dual_value, dtype=float), prob.status, nu


def certify(
    E: np.ndarray,
    tpg: TokenPriorityGraphs,
    W: np.ndarray,
    cons: list[Edge],
    lam: np.ndarray,
    norm: str,
    nu: np.ndarray | None,
    S_fin: Subspace,
) -> Certificate:
    """Primal and dual feasibility, duality gap and KKT residual of a candidate solution."""
    Z = E @ W @ E.T  # every margin is a difference of two scores (THEORY.md section 9)
    viol = max(
        float(np.max(np.abs(_margins(Z, tpg.cyclic_edges())), initial=0.0)),
        float(np.max(1.0 - _margins(Z, tpg.acyclic_edges()), initial=0.0)),
    )
    lam_pos = np.clip(lam, 0, None)
    dual_viol = float(max(0.0, -lam.min()))
    # Lambda = sum_e lambda_e A_e; the cyclic multipliers can absorb any S_fin component.
    Lam = _weighted_sum(lam_pos, E, cons)
    Lam_perp = Lam - S_fin.project(Lam)
    margins = _margins(Z, cons)
    compl = float(np.max(np.abs(lam_pos * (margins - 1.0)))) / max(1.0, lam_pos.max())
    if norm == "fro":
        primal = float(np.sum(W * W))
        dual = float(lam_pos.sum() - 0.25 * np.sum(Lam_perp * Lam_perp))
        stat = np.linalg.norm(2 * W - Lam_perp) / max(np.linalg.norm(2 * W), 1e-12)
    else:
        # The nuclear dual: max sum(lambda) s.t. ||Lambda + N||_op <= 1 for some N in S_fin;
        # N comes from the solver's equality duals (cvxpy's Lagrangian adds nu^T h), and
        # lambda is scaled into the dual ball so the bound is valid whatever N is.
        primal = float(np.linalg.norm(W, "nuc"))
        pairs = _cyclic_pairs(tpg)
        N = _weighted_sum(nu, E, pairs) if pairs else 0.0
        op = np.linalg.norm(Lam - N, 2)
        dual = float(lam_pos.sum() / max(op, 1.0))
        # Stationarity: Lambda_perp is a subgradient direction, i.e. <Lambda_perp, W> = ||W||_*.
        stat = abs(float(np.sum(Lam_perp * W)) - primal) / max(primal, 1e-12)
    gap = max(0.0, primal - dual) / max(primal, 1e-12)
    return Certificate(float(viol), dual_viol, gap, float(stat), compl)


def _margins(Z: np.ndarray, edges: list[Edge]) -> np.ndarray:
    """``Z[i, k] - Z[j, k]`` for every edge ``(i, j, k)``."""
    if not edges:
        return np.zeros(0)
    i, j, k = np.array(edges).T
    return Z[i, k] - Z[j, k]


def _weighted_sum(w: np.ndarray, E: np.ndarray, edges: list[Edge]) -> np.ndarray:
    """``sum_e w_e (e_i - e_j) e_k^T = E^T Λ E`` with Λ the K x K matrix of weights."""
    K = E.shape[0]
    i, j, k = np.array(edges).reshape(-1, 3).T
    flat = np.bincount(i * K + k, w, K * K) - np.bincount(j * K + k, w, K * K)
    return E.T @ flat.reshape(K, K) @ E


def _edge_factors(E: np.ndarray, edges: list[Edge]) -> tuple[np.ndarray, np.ndarray]:
    i, j, k = np.array(edges).T
    return E[i] - E[j], E[k]


def _infeasibility_cause(ds: Dataset, tpg: TokenPriorityGraphs, cons: list[Edge]) -> str:
    rank = np.linalg.matrix_rank(ds.E)
    for k in tpg:
        sub = TokenPriorityGraphs({k: tpg[k]})
        sub_cons = [c for c in cons if c[2] == k]
        if sub_cons and _solve_rowspace(ds.E, sub, sub_cons, "fro", None)[2] == "infeasible":
            return (
                f"Graph-SVM infeasible: K={ds.K} embeddings of rank {rank} in d={ds.d} cannot "
                f"order the priorities of query token {k} (linearly dependent embeddings)"
            )
    return (
        f"Graph-SVM infeasible: K={ds.K} embeddings of rank {rank} in d={ds.d} cannot meet the "
        "priority constraints of all query tokens at once (linearly dependent embeddings)"
    )
