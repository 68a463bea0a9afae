"""The regularization path ``W_R = argmin_{||W||_F <= R} L(W)`` (THEORY.md section 3).

Claim A: if ``W_svm != 0`` then ``W_R / R -> W_svm / ||W_svm||`` and
``P_fin W_R -> W_fin`` as ``R -> infinity``.  ``L`` depends on W only through its
projection on ``S_all`` (fact F6), so the minimiser is sought there, in an orthonormal
basis, as an exponential-cone program with one second-order-cone constraint.

Certificate (per radius; the path never raises for numerical trouble, it marks points):

* the Frank-Wolfe duality gap ``g.c + R ||g||`` bounds the suboptimality in loss;
* the KKT residual ``||g + mu c|| / ||g||`` (``mu >= 0``; ``c`` on the sphere, or
  ``||g||`` small inside) is scale-free, so it still sees a wrong direction at large R,
  where the loss itself is flat to fp64 (THEORY.md section 7: at R >= 160 a solver
  silently returned wrong points);
* no attention weight has underflowed (below 1e-250), and the gradient is not lost in
  the rounding of the terms it sums (``||g|| >= 1e-8 * grad_scale``): past either limit
  fp64 no longer sees the positions that fix the direction, and the KKT test would
  certify a wrong point.

Inside the ball (``W_svm = 0`` and R beyond ``||W_fin||``) the point is certified by
curvature instead: ``||g|| / lambda_min(H)`` bounds its distance to the minimiser.

Two solvers, one certificate.  ``method="newton"`` (default) works on W itself with
memory proportional to windows and edges (:class:`WindowLoss`: scores are gathered from
``Z = E W E_q^T``, gradients scattered back, Hessian-vector products matrix-free) and
runs Riemannian Newton on the sphere ``||W||_F = R``: the gradient and every
Hessian-vector product of L lie in ``S_all`` (each is a sum of ``(e_x - e_y) e_k^T``
over a window's tokens), so iterates started in ``S_all`` stay there without a basis.
Each step solves ``P (H + mu I) P v = -(g + mu W)`` (``P`` the tangent projection,
``mu = -<g, W>/R^2``) by conjugate gradients, then retracts to the sphere; radii are
taken in ascending order, each started from the previous point scaled (continuation),
with intermediate radii inserted where a step fails.  Windows carry weights (the
dataset's ``counts`` when it has them): ``L = sum_i c_i loss_i / sum_i c_i``.
``method="conic"`` solves the exponential-cone program instead (small cases; the
cross-check of the tests): where it loses accuracy, the scaled previous certified point
seeds Newton, and its result passes the same certificate or is marked.

Example
-------
>>> import numpy as np
>>> from ntp_mechanics.model.dataset import Dataset
>>> ds = Dataset.from_arrays(np.eye(2), [((0, 1), 0)])
>>> pt = solve_radius(ds, 4.0)
>>> pt.certified, np.round(pt.W / 4.0, 3) + 0.0  # + 0.0: no signed zeros
(True, array([[ 0.   ,  0.707],
       [ 0.   , -0.707]]))
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import cvxpy as cp
import numpy as np
from scipy.special import logsumexp

from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.tpg import TokenPriorityGraphs
from ntp_mechanics.solvers.backend import solve
from ntp_mechanics.solvers.conic import loss_expression, newton_polish
from ntp_mechanics.solvers.loss import CoordinateLoss, LogLoss
from ntp_mechanics.solvers.subspaces import Subspace

__all__ = ["RegPathPoint", "WindowLoss", "regularization_path", "solve_radius",
           "window_weights"]

GAP_TOL = 1e-9
KKT_TOL = 1e-6
UNDERFLOW = 1e-250  # an attention weight below this no longer counts in fp64 sums
RESOLUTION = 1e-8  # ||grad|| / grad_scale below this: the gradient is rounding noise
CURVATURE_MIN = 1e-8  # interior points: smallest Hessian eigenvalue on S_all
INTERIOR_DIST = 1e-6  # interior points: ||grad|| / curvature, a bound on the distance
METHODS = ("newton", "conic")
NEWTON_ITERS = 60  # Riemannian Newton steps per radius
CG_ITERS = 400  # conjugate-gradient steps per Newton step (the Hessian is matrix-free)
MAX_SPLITS = 6  # a failed radius is approached through up to 2^6 intermediate radii
PROGRESS_SIZE = 10**6  # windows x T from which a terminal shows a bar by default


@dataclass(frozen=True)
class RegPathPoint:
    R: float
    W: np.ndarray
    loss: float
    gap: float
    kkt_residual: float
    status: str
    certified: bool
    reason: str = ""


def window_weights(ds: Dataset) -> np.ndarray:
    """Per-window weights ``c_i / sum c`` (``ds.counts`` when present, else uniform).

    Examples
    --------
    >>> import numpy as np
    >>> from ntp_mechanics.model.dataset import Dataset
    >>> window_weights(Dataset.from_arrays(np.eye(2), [((0, 1), 0), ((1,), 1)])).tolist()
    [0.5, 0.5]
    """
    counts = getattr(ds, "counts", None)
    c = np.ones(ds.n) if counts is None else np.asarray(counts, dtype=np.float64)
    if c.shape != (ds.n,) or not np.all(np.isfinite(c)) or np.any(c < 0) or c.sum() <= 0:
        raise ValueError("counts must be n non-negative finite numbers, not all zero")
    return c / c.sum()


class WindowLoss:
    """The weighted attention log-loss of a dataset with memory ``O(n T + K q)``.

    Scores ``a_it = Z[x_it, k_i]`` are gathered from ``Z = E W E_q^T`` (``E_q``: the
    embeddings of the q distinct queries), and gradients are scattered back into a
    K x q table, so no ``n x T x d`` array is ever formed.

    Examples
    --------
    >>> import numpy as np
    >>> from ntp_mechanics.model.dataset import Dataset
    >>> wl = WindowLoss(Dataset.from_arrays(np.eye(2), [((0, 1), 0)]))
    >>> round(wl.value(np.zeros((2, 2))), 6)
    0.693147
    """

    def __init__(self, ds: Dataset, weights: np.ndarray | None = None) -> None:
        ids, mask, label = ds.padded()
        self.E = np.asarray(ds.E, dtype=np.float64)
        qs, col = np.unique(ids[:, -1], return_inverse=True)
        self.Eq = self.E[qs]
        self.q = len(qs)
        self.flat = ids * self.q + col.reshape(-1, 1)  # index into the K x q table
        self.mask, self.label = mask, label
        self.off = mask & ~label
        self.w = window_weights(ds) if weights is None else weights
        # per-position size of the gradient's terms: ||(e_x - e_y) e_k^T||
        y = ids[np.arange(ds.n), label.argmax(axis=1)]
        diff = np.linalg.norm(self.E[ids] - self.E[y][:, None, :], axis=-1) if ds.n else ids
        self.term = np.where(mask, diff, 0.0) * np.linalg.norm(self.Eq, axis=1)[col][:, None]

    def scores(self, W: np.ndarray) -> np.ndarray:
        Z = self.E @ (W @ self.Eq.T)  # K x q
        return np.where(self.mask, Z.reshape(-1)[self.flat], -np.inf)

    def adjoint(self, g: np.ndarray) -> np.ndarray:
        """``sum_it g_it e_{x_it} e_{k_i}^T`` (d x d) from n x T coefficients."""
        table = np.bincount(self.flat.reshape(-1), weights=g.reshape(-1),
                            minlength=self.E.shape[0] * self.q)
        return self.E.T @ table.reshape(-1, self.q) @ self.Eq

    def state(self, W: np.ndarray) -> dict[str, np.ndarray]:
        """Attention, per-window loss (cancellation-free) and ``dL/da`` at W."""
        a = self.scores(W)
        lse = logsumexp(a, axis=1)
        s = np.exp(a - lse[:, None])
        off = np.where(self.off, s, 0.0).sum(axis=1)  # 1 - p without cancellation
        p = np.where(self.label, s, 0.0).sum(axis=1)
        with np.errstate(divide="ignore"):
            per = np.where(off < 0.5, np.log1p(off / np.maximum(p, 1e-300)), -np.log(p))
        g = np.where(self.label, -s * (off / np.maximum(p, 1e-300))[:, None], s)
        g = np.where(self.mask, g, 0.0) * self.w[:, None]
        return {"s": np.where(self.mask, s, 0.0), "per": per, "g": g}

    def value(self, W: np.ndarray) -> float:
        return float(self.w @ self.state(W)["per"])

    def grad(self, W: np.ndarray, st: dict[str, np.ndarray] | None = None) -> np.ndarray:
        return self.adjoint((st or self.state(W))["g"])

    def hess_vec(self, st: dict[str, np.ndarray], V: np.ndarray) -> np.ndarray:
        """``H V``: the Hessian is the attention covariance of the score changes (the
        label term vanishes: a window's label positions share one score)."""
        delta = np.where(self.mask, self.scores(V), 0.0)
        s = st["s"]
        h = s * (delta - np.sum(s * delta, axis=1, keepdims=True)) * self.w[:, None]
        return self.adjoint(h)

    def min_attention(self, st: dict[str, np.ndarray]) -> float:
        return float(st["s"][self.mask].min())

    def grad_scale(self, st: dict[str, np.ndarray]) -> float:
        """``sum_it |dL/da_it| ||(e_x - e_y) e_k^T||``: the size of the gradient's terms."""
        return float(np.sum(np.abs(st["g"]) * self.term))


def regularization_path(
    ds: Dataset,
    radii: Iterable[float],
    tpg: TokenPriorityGraphs | None = None,
    solver: str | None = None,
    method: str = "newton",
    progress: bool | None = None,
) -> list[RegPathPoint]:
    """Certified points ``W_R`` at each radius (see the module docstring).

    Parameters
    ----------
    ds : the dataset (its ``counts``, when present, weight the windows).
    radii : the radii R; solved in ascending order (continuation), returned in order.
    tpg : its token-priority graphs (needed by ``method="conic"`` and interior points).
    solver : cvxpy solver for ``method="conic"``.
    method : ``"newton"`` (matrix-free, default) or ``"conic"`` (exponential cone).
    progress : a bar per radius on stderr (None: for ``n T >= 10^6`` on a terminal).

    Returns
    -------
    list[RegPathPoint]
        One per radius; an uncertified point says why in ``reason``.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    radii = [float(r) for r in radii]
    if method == "newton":
        return _newton_path(ds, radii, tpg, _bar(ds, len(radii), progress))
    loss = LogLoss(ds)
    if not _weighs(loss, ds):
        raise ValueError("this build's exponential-cone loss does not weight windows by "
                         "their counts; use method='newton'")
    tpg = tpg or TokenPriorityGraphs.from_dataset(ds)
    cl = loss.in_basis(Subspace.all_edges(ds.E, tpg).basis)
    points: list[RegPathPoint] = []
    last: tuple[float, np.ndarray] | None = None
    for R in radii:
        pt = _solve(cl, R, solver)
        if not pt.certified and last is not None:
            # Continuation: the path is smooth in R, so the scaled last certified point is
            # a Newton start where the conic solver lost accuracy; it is certified alike.
            pt = _polish_from(cl, last[1] * (R / last[0]), R, pt)
        if pt.certified:
            last = (R, Subspace(cl.basis).coords(pt.W))
        points.append(pt)
    return points


# -- the matrix-free Newton path -----------------------------------------------------------
def _bar(ds: Dataset, total: int, progress: bool | None) -> Any:
    """A tqdm bar over the radii, or None."""
    if progress is None:
        progress = ds.n * ds.max_len >= PROGRESS_SIZE and bool(sys.stderr and sys.stderr.isatty())
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="radius", desc="regularization path", file=sys.stderr,
                leave=False)


def _newton_path(
    ds: Dataset, radii: list[float], tpg: TokenPriorityGraphs | None, bar: Any = None
) -> list[RegPathPoint]:
    wl = WindowLoss(ds)
    d = ds.d
    G0 = wl.grad(np.zeros((d, d)))
    out: dict[int, RegPathPoint] = {}
    if not np.any(wl.off) or not np.linalg.norm(G0) > 0:
        for i, R in enumerate(radii):
            zero = np.zeros((d, d))
            out[i] = RegPathPoint(R, zero, wl.value(zero), 0.0, 0.0, "trivial", True)
        if bar is not None:
            bar.close()
        return [out[i] for i in range(len(radii))]
    last_R, last_W = 0.0, -G0 / np.linalg.norm(G0)  # the path's tangent at R = 0
    for i in sorted(range(len(radii)), key=radii.__getitem__):
        R = radii[i]
        pt, W = _reach(wl, last_R, last_W, R)
        if pt.status.startswith("interior"):
            pt = _interior(ds, tpg, wl, W, R)
        out[i] = pt
        if pt.certified:
            last_R, last_W = R, pt.W
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return [out[i] for i in range(len(radii))]


def _reach(wl: WindowLoss, R0: float, W0: np.ndarray, R: float) -> tuple[RegPathPoint, np.ndarray]:
    """Solve at R from the point W0 of radius R0, through intermediate radii if needed.

    A point past fp64 resolution (attention underflowed, gradient lost in rounding) is
    not retried: smaller steps in R cannot bring the lost digits back.
    """
    best: tuple[RegPathPoint, np.ndarray] | None = None
    for split in range(MAX_SPLITS + 1):
        n_steps = 2**split
        steps = (np.geomspace(R0, R, n_steps + 1)[1:] if R0 > 0
                 else np.linspace(R / n_steps, R, n_steps))
        W = W0 / np.linalg.norm(W0)
        pt = None
        for r in steps:
            W, status = _sphere_newton(wl, W * r, r)
            pt = _certify_window(wl, W, r, status)
            if not (pt.certified or status.startswith("interior")):
                break
        assert pt is not None
        if pt.R == R and (pt.certified or pt.status.startswith("interior")):
            return pt, W
        best = best or (pt if pt.R == R else _uncertified(wl, W, R, pt.reason), W)
        if _past_resolution(wl, W):
            break
    return best


def _past_resolution(wl: WindowLoss, W: np.ndarray) -> bool:
    st = wl.state(W)
    gnorm = float(np.linalg.norm(wl.grad(W, st)))
    return wl.min_attention(st) <= UNDERFLOW or gnorm < RESOLUTION * wl.grad_scale(st)


def _sphere_newton(wl: WindowLoss, W: np.ndarray, R: float) -> tuple[np.ndarray, str]:
    """Riemannian Newton-CG for ``min L(W)`` on ``||W||_F = R``, from W (on the sphere)."""
    W = W * (R / np.linalg.norm(W))
    for it in range(NEWTON_ITERS):
        st = wl.state(W)
        G = wl.grad(W, st)
        mu = -float(np.sum(G * W)) / (R * R)
        rg = G + mu * W
        gn, rn = float(np.linalg.norm(G)), float(np.linalg.norm(rg))
        if gn == 0 or rn <= 1e-3 * KKT_TOL * gn:
            # a gradient pointing outwards: the minimiser over the ball is inside
            return W, "interior" if mu < 0 else f"newton ({it} steps)"
        v = _tangent_cg(wl, st, W, R, mu, rg, rn)
        W_new = _line_search(wl, W, R, v, rg, st, rn)
        if W_new is None:
            break
        W = W_new
    st = wl.state(W)
    G = wl.grad(W, st)
    if np.sum(G * W) > 0:  # the gradient points outwards: the minimiser is inside
        return W, "interior"
    return W, f"newton ({NEWTON_ITERS} steps)"


def _tangent_cg(wl: WindowLoss, st: dict, W: np.ndarray, R: float, mu: float,
                rg: np.ndarray, rn: float) -> np.ndarray:
    """Truncated CG for ``P (H + mu I) P v = -rg``; stops at negative curvature."""
    def proj(V: np.ndarray) -> np.ndarray:
        return V - (np.sum(V * W) / (R * R)) * W

    def op(V: np.ndarray) -> np.ndarray:
        return proj(wl.hess_vec(st, V) + mu * V)

    tol = min(0.1, math.sqrt(rn / max(float(np.linalg.norm(wl.grad(W, st))), 1e-300))) * rn
    v = np.zeros_like(W)
    r = -rg.copy()
    p = r.copy()
    rr = float(np.sum(r * r))
    for _ in range(CG_ITERS):
        Ap = op(p)
        curv = float(np.sum(p * Ap))
        if curv <= 0:
            return v if v.any() else -rg
        alpha = rr / curv
        v += alpha * p
        r -= alpha * Ap
        rr_new = float(np.sum(r * r))
        if math.sqrt(rr_new) <= tol:
            break
        p = r + (rr_new / rr) * p
        rr = rr_new
    return v


def _line_search(wl: WindowLoss, W: np.ndarray, R: float, v: np.ndarray, rg: np.ndarray,
                 st: dict, rn: float) -> np.ndarray | None:
    """Backtracking along the retraction: Armijo on L, then (once L is flat to fp64)
    on the Riemannian gradient norm."""
    L = float(wl.w @ st["per"])
    slope = float(np.sum(rg * v))
    t = 1.0
    while t > 1e-8:
        Wt = W + t * v
        Wt *= R / np.linalg.norm(Wt)
        Lt = wl.value(Wt)
        if np.isfinite(Lt) and Lt <= L + 1e-4 * t * slope and Lt < L:
            return Wt
        t /= 2
    t = 1.0
    while t > 1e-8:
        Wt = W + t * v
        Wt *= R / np.linalg.norm(Wt)
        G = wl.grad(Wt)
        mu = -float(np.sum(G * Wt)) / (R * R)
        if np.linalg.norm(G + mu * Wt) < rn:
            return Wt
        t /= 2
    return None


def _certify_window(wl: WindowLoss, W: np.ndarray, R: float, status: str) -> RegPathPoint:
    """The sphere certificate of :func:`_certify`, from the matrix-free loss."""
    st = wl.state(W)
    L = float(wl.w @ st["per"])
    g = wl.grad(W, st).reshape(-1)
    return _sphere_certificate(L, g, W.reshape(-1), R, status, wl.min_attention(st),
                               wl.grad_scale(st), W)


def _uncertified(wl: WindowLoss, W: np.ndarray, R: float, reason: str) -> RegPathPoint:
    return RegPathPoint(R, W, wl.value(W), math.nan, math.nan, "failed", False, reason)


def _interior(ds: Dataset, tpg: TokenPriorityGraphs | None, wl: WindowLoss, W: np.ndarray,
              R: float) -> RegPathPoint:
    """A minimiser inside the ball (no acyclic edge): Newton in a basis of S_all,
    certified by curvature.  Needs the dense basis: only for small S_all."""
    tpg = tpg or TokenPriorityGraphs.from_dataset(ds)
    basis = Subspace.all_edges(ds.E, tpg)
    loss = LogLoss(ds)
    if not _weighs(loss, ds):
        return _uncertified(wl, W, R, "interior point of a weighted dataset: not certified")
    cl = loss.in_basis(basis.basis)
    with np.errstate(all="ignore"):
        c = newton_polish(cl, basis.coords(W))
        if np.linalg.norm(c) > R:
            return _certify(cl, c * (R / np.linalg.norm(c)), R, "interior, on the sphere")
        return _certify(cl, c, R, "interior")


def _weighs(loss: LogLoss, ds: Dataset) -> bool:
    """Whether the dense loss agrees with the window weights (uniform, or weighted)."""
    w = getattr(loss, "w", None)
    return bool(np.ptp(window_weights(ds)) == 0 or
                (w is not None and np.allclose(w, window_weights(ds), rtol=1e-12, atol=0)))


# -- the exponential-cone program (small cases, cross-check) -----------------------------
def _polish_from(
    cl: CoordinateLoss, c0: np.ndarray, R: float, fallback: RegPathPoint
) -> RegPathPoint:
    with np.errstate(all="ignore"):
        pt = _certify(cl, newton_polish(cl, c0, radius=R), R, "continuation")
    return pt if pt.certified else fallback


def solve_radius(ds: Dataset, R: float, tpg: TokenPriorityGraphs | None = None,
                 method: str = "newton") -> RegPathPoint:
    return regularization_path(ds, [R], tpg, method=method)[0]


def _solve(cl: CoordinateLoss, R: float, solver: str | None) -> RegPathPoint:
    m, d = cl.basis.shape[0], cl.loss.keys.shape[-1]
    if m == 0:
        return RegPathPoint(R, np.zeros((d, d)), cl.value(np.zeros(0)), 0.0, 0.0, "trivial", True)
    c = cp.Variable(m)
    value, constraints = loss_expression(cl, c)
    prob = cp.Problem(cp.Minimize(value), [*constraints, cp.norm(c) <= R])
    try:
        solve(prob, solver)
    except cp.SolverError as exc:
        return _failed(cl, R, f"solver error: {exc}")
    if prob.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or c.value is None:
        return _failed(cl, R, f"solver status {prob.status!r}")
    c0 = np.asarray(c.value, dtype=float)
    on_sphere = np.linalg.norm(c0) > R * (1 - 1e-5)
    with np.errstate(all="ignore"):
        c1 = newton_polish(cl, c0, radius=R if on_sphere else None)
        if np.linalg.norm(c1) > R * (1 + 1e-12):
            c1 = c1 * (R / np.linalg.norm(c1))
        return _certify(cl, c1, R, prob.status)


def _certify(cl: CoordinateLoss, c: np.ndarray, R: float, status: str) -> RegPathPoint:
    L, g, H = cl.value_grad_hess(c)
    if np.linalg.norm(c) < R * (1 - 1e-6):
        return _certify_interior(cl, c, R, status, L, g, H)
    return _sphere_certificate(L, g, c, R, status, cl.min_attention(c), cl.grad_scale(c),
                               cl.W(c))


def _sphere_certificate(L: float, g: np.ndarray, c: np.ndarray, R: float, status: str,
                        s_min: float, scale: float, W: np.ndarray) -> RegPathPoint:
    """Gap, KKT residual, underflow and resolution at a point ``c`` of the sphere."""
    gnorm = float(np.linalg.norm(g))
    gap = float(g @ c + R * gnorm)
    mu = max(0.0, -float(g @ c) / float(c @ c))
    kkt = float(np.linalg.norm(g + mu * c)) / gnorm if gnorm > 0 else 0.0
    finite = bool(np.isfinite(L) and np.isfinite(gap) and np.isfinite(kkt))
    resolved = gnorm >= RESOLUTION * scale
    ok = finite and gap <= GAP_TOL and kkt <= KKT_TOL and s_min > UNDERFLOW and resolved
    reason = (
        ""
        if ok
        else (
            f"gap {gap:.1e}, KKT residual {kkt:.1e}, min attention {s_min:.1e}"
            + ("" if resolved else ", gradient below fp64 resolution")
        )
    )
    return RegPathPoint(R, W, L, gap, kkt, status, ok, reason)


def _certify_interior(
    cl: CoordinateLoss, c: np.ndarray, R: float, status: str, L: float, g: np.ndarray, H: np.ndarray
) -> RegPathPoint:
    """Inside the ball the minimiser is a stationary point (W_svm = 0: it is W_fin).

    The gradient there is rounding noise, so it is certified by curvature: with
    ``lambda_min(H) > 0`` the distance to the minimiser is at most ``||g|| / lambda_min``.
    A flat direction (lambda_min ~ 0) means the point may be anywhere along it.
    """
    gnorm = float(np.linalg.norm(g))
    lam_min = float(np.linalg.eigvalsh(H)[0]) if len(c) else np.inf
    dist = gnorm / lam_min if lam_min > 0 else np.inf
    ok = bool(np.isfinite(L) and lam_min > CURVATURE_MIN and dist <= INTERIOR_DIST)
    reason = "" if ok else f"interior point: min curvature {lam_min:.1e}, distance bound {dist:.1e}"
    return RegPathPoint(R, cl.W(c), L, gnorm * R, dist, status, ok, reason)


def _failed(cl: CoordinateLoss, R: float, reason: str) -> RegPathPoint:
    d = cl.basis.shape[1]
    nan = float("nan")
    return RegPathPoint(R, np.full((d, d), np.nan), nan, nan, nan, "failed", False, reason)
