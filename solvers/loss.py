"""The attention log-loss ``L(W)`` of THEORY.md section 1, exactly, in fp64 numpy.

Score of position t of sample i: ``a_it = e_{x_it}^T W e_{k_i}``; attention
``s_i = softmax(a_i)``; ``-log p_i(y_i) = logsumexp_t a_it - logsumexp_{t: x_it = y_i} a_it``
(fact F5: convex in W for any E).  The gradient is evaluated in the cancellation-free
form ``dL/da_t = s_t`` off the label and ``-s_t (1 - p) / p`` on it, with ``1 - p``
summed from the small terms, so it keeps full relative precision even when the loss is
``1e-20``: the certificates of the solvers depend on that.

Example
-------
>>> import numpy as np
>>> from ntp_mechanics.model.dataset import Dataset
>>> ds = Dataset.from_arrays(np.eye(2), [((0, 1), 0)])
>>> round(LogLoss(ds).value(np.zeros((2, 2))), 6)  # -log(1/2)
0.693147
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from ntp_mechanics.model.dataset import Dataset

__all__ = ["CoordinateLoss", "LogLoss"]


class LogLoss:
    """``L(W) = sum_i c_i loss_i / sum_i c_i`` of a dataset (``c = ds.counts``, the
    multiplicities of merged duplicate samples); ``keep`` (n x T bool, on the padded
    layout) restricts each sample to a subset of its positions, which gives the reduced
    loss ``L_fin``."""

    def __init__(self, ds: Dataset, keep: np.ndarray | None = None) -> None:
        ids, mask, label_mask = ds.padded()
        if keep is not None:
            mask = mask & keep
            label_mask = label_mask & keep
        self.n = ds.n
        self.E = ds.E
        self.ids = ids
        self.mask = mask
        self.label_mask = label_mask
        counts = np.asarray(ds.counts, dtype=float)
        self.w = counts / counts.sum()  # sample weights, summing to 1
        # scores and gradients go through the distinct queries: K d q, never n T d
        self._qs, self._qcol = np.unique(ids[:, -1], return_inverse=True)

    @property
    def keys(self) -> np.ndarray:
        """``n x T x d`` key embeddings (built on demand: n T d memory)."""
        return self.E[self.ids]

    @property
    def queries(self) -> np.ndarray:
        """``n x d`` query embeddings."""
        return self.E[self.ids[:, -1]]

    def scores(self, W: np.ndarray) -> np.ndarray:
        Zq = self.E @ (W @ self.E[self._qs].T)  # K x q: e_v^T W e_k
        a = Zq[self.ids, self._qcol.reshape(-1, 1)]
        return np.where(self.mask, a, -np.inf)

    def _parts(self, a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-sample loss, attention s, and ``dL_i/da`` (unscaled by 1/n)."""
        lse = logsumexp(a, axis=1)
        lse_y = logsumexp(np.where(self.label_mask, a, -np.inf), axis=1)
        s = np.exp(a - lse[:, None])
        off = np.where(self.label_mask, 0.0, s).sum(axis=1)  # 1 - p, without cancellation
        p = np.where(self.label_mask, s, 0.0).sum(axis=1)
        g = np.where(self.label_mask, -s * (off / p)[:, None], s)
        return lse - lse_y, s, g

    def value(self, W: np.ndarray) -> float:
        return float(self._parts(self.scores(W))[0] @ self.w)

    def per_sample(self, W: np.ndarray) -> np.ndarray:
        return self._parts(self.scores(W))[0]

    def attention(self, W: np.ndarray) -> np.ndarray:
        return self._parts(self.scores(W))[1]

    def grad(self, W: np.ndarray) -> np.ndarray:
        g = self._parts(self.scores(W))[2] * self.w[:, None]
        # sum_it g_it e_{x_it} e_{k_i}^T = E^T M E_q, M[v, k] summing g over (token, query)
        K, q = self.E.shape[0], len(self._qs)
        flat = (self.ids * q + self._qcol.reshape(-1, 1))[self.mask]
        M = np.bincount(flat, g[self.mask], K * q).reshape(K, q)
        return self.E.T @ M @ self.E[self._qs]

    def in_basis(self, basis: np.ndarray) -> CoordinateLoss:
        """The same loss as a function of coordinates c, ``W = sum_b c_b basis[b]``."""
        return CoordinateLoss(self, basis)


class CoordinateLoss:
    """``c -> L(sum_b c_b B_b)`` with exact gradient and Hessian (for Newton polishing)."""

    def __init__(self, loss: LogLoss, basis: np.ndarray) -> None:
        self.loss = loss
        self.basis = basis  # m x d x d
        # phi_itb = e_{x_it}^T B_b e_{k_i} = (E B_b E^T)[x_it, k_i]: m score tables over the
        # queries that matter, O(m d^2 q + m K d q), instead of an n T d^2 array of outer
        # products (15 GB at K = 256).  A sample whose kept positions all hold its label
        # has zero gradient and curvature whatever its features: they stay 0.
        self.features = _features(loss, basis)

    def W(self, c: np.ndarray) -> np.ndarray:
        return np.tensordot(c, self.basis, axes=1)

    def _scores(self, c: np.ndarray) -> np.ndarray:
        return np.where(self.loss.mask, self.features @ c, -np.inf)

    def value(self, c: np.ndarray) -> float:
        return float(self.loss._parts(self._scores(c))[0] @ self.loss.w)

    def min_attention(self, c: np.ndarray) -> float:
        """Smallest attention weight on a kept position (0.0 means fp64 underflow)."""
        s = self.loss._parts(self._scores(c))[1]
        return float(s[self.loss.mask].min())

    def grad_scale(self, c: np.ndarray) -> float:
        """``(1/n) sum |dL/da_it| ||phi_it||``: the size of the terms the gradient sums.

        fp64 rounding leaves an error of about 1e-16 times this in the gradient, so a
        gradient far below it (cancellation, as at ``W_fin``) carries no direction.
        """
        g = self.loss._parts(self._scores(c))[2] * self.loss.w[:, None]
        return float(np.sum(np.abs(g) * np.linalg.norm(self.features, axis=-1)))

    def value_grad(self, c: np.ndarray) -> tuple[float, np.ndarray]:
        per, _, g = self.loss._parts(self._scores(c))
        w, m = self.loss.w, self.features.shape[-1]
        grad = (g * w[:, None]).reshape(-1) @ self.features.reshape(-1, m)
        return float(per @ w), grad

    def value_grad_hess(self, c: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        per, s, g = self.loss._parts(self._scores(c))
        w, m = self.loss.w, self.features.shape[-1]
        F = self.features.reshape(-1, m)
        grad = (g * w[:, None]).reshape(-1) @ F
        mean = np.einsum("nt,ntb->nb", s, self.features, optimize=True)
        # Hessian = covariance of the features under attention (label terms cancel:
        # all label positions share one feature vector), weighted by the counts.
        hess = (F * (s * w[:, None]).reshape(-1, 1)).T @ F - mean.T @ (mean * w[:, None])
        return float(per @ w), grad, hess


def _features(loss: LogLoss, basis: np.ndarray) -> np.ndarray:
    n, T = loss.ids.shape
    out = np.zeros((n, T, len(basis)))
    live = np.flatnonzero((loss.mask & ~loss.label_mask).any(axis=1))
    if len(basis) == 0 or len(live) == 0:
        return out
    qs, col = np.unique(loss.ids[live, -1], return_inverse=True)
    Z = loss.E @ np.matmul(basis, loss.E[qs].T)  # m x K x q
    rows = loss.ids[live]  # len(live) x T
    out[live] = np.moveaxis(Z[:, rows, col.reshape(-1, 1)], 0, -1)
    return out
