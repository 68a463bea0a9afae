"""The cyclic subspace ``S_fin`` and the edge span ``S_all`` (THEORY.md section 3).

``S_fin = span{(e_i - e_j) e_k^T : i -> j cyclic in G^(k)}`` and ``S_all`` the same span
over all edges.  Because ``span{e_i - e_j : edges of one component}`` equals the span of
the differences from one root of that component, the generators are built per query
from SCCs (for ``S_fin``) or weakly connected components (for ``S_all``), not per edge:
at most K generators per query instead of one per edge.

Example
-------
>>> import numpy as np
>>> from ntp_mechanics.model.dataset import Dataset
>>> from ntp_mechanics.model.tpg import TokenPriorityGraphs
>>> ds = Dataset.from_arrays(np.eye(3), [((0, 1, 2), 0), ((1, 0, 2), 1)])
>>> tpg = TokenPriorityGraphs.from_dataset(ds)
>>> Subspace.cyclic(ds.E, tpg).dim, Subspace.all_edges(ds.E, tpg).dim
(1, 2)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import networkx as nx
import numpy as np

from ntp_mechanics.model.tpg import TokenPriorityGraphs

__all__ = ["Subspace"]


@dataclass(frozen=True)
class Subspace:
    """A subspace of d x d matrices with an orthonormal (Frobenius) basis ``m x d x d``."""

    basis: np.ndarray

    @property
    def dim(self) -> int:
        return self.basis.shape[0]

    @classmethod
    def spanned_by(
        cls, generators: np.ndarray, d: int, rtol: float = 1e-6, gram: np.ndarray | None = None
    ) -> Subspace:
        """Orthonormal basis of the span; directions below ``rtol`` (relative singular
        value) are dependent.  Eigen-decomposes the small Gram matrix (the generators
        are few, d^2 is large; ``gram`` may pass it when it is known in closed form),
        then re-orthonormalises once to recover full accuracy."""
        if len(generators) == 0:
            return cls(np.zeros((0, d, d)))
        X = generators.reshape(len(generators), -1)
        w, V = np.linalg.eigh(X @ X.T if gram is None else gram)
        keep = w > rtol**2 * max(w[-1], 1.0)
        B = (V[:, keep].T @ X) / np.sqrt(w[keep])[:, None]
        w2, V2 = np.linalg.eigh(B @ B.T)
        B = (V2.T @ B) / np.sqrt(w2)[:, None]
        return cls(np.ascontiguousarray(B).reshape(len(B), d, d))

    @classmethod
    def _from_components(cls, E: np.ndarray, parts: Iterable[tuple[int, list[int]]]) -> Subspace:
        rows = [(i, c[0], k) for k, c in parts for i in c[1:]]
        d = E.shape[1]
        if not rows:
            return cls(np.zeros((0, d, d)))
        i, r, k = np.array(rows).T
        A, B = E[i] - E[r], E[k]
        # <a b^T, a' b'^T> = (a . a')(b . b'): the Gram matrix without the d^2 vectors
        gram = (A @ A.T) * (B @ B.T)
        return cls.spanned_by(A[:, :, None] * B[:, None, :], d, gram=gram)

    @classmethod
    def cyclic(cls, E: np.ndarray, tpg: TokenPriorityGraphs) -> Subspace:
        """``S_fin``: differences within each SCC of each ``G^(k)``, times ``e_k^T``."""
        return cls._from_components(E, ((k, list(c)) for k, g in tpg.items() for c in g.sccs))

    @classmethod
    def all_edges(cls, E: np.ndarray, tpg: TokenPriorityGraphs) -> Subspace:
        """``S_all``: differences within each weak component of each ``G^(k)``."""
        parts = (
            (k, sorted(c)) for k, g in tpg.items() for c in nx.weakly_connected_components(g.graph)
        )
        return cls._from_components(E, parts)

    def coords(self, W: np.ndarray) -> np.ndarray:
        return np.tensordot(self.basis, W, axes=([1, 2], [0, 1]))

    def matrix(self, c: np.ndarray) -> np.ndarray:
        return np.tensordot(c, self.basis, axes=1)

    def project(self, W: np.ndarray) -> np.ndarray:
        """Orthogonal (Frobenius) projection of W onto the subspace."""
        return self.matrix(self.coords(W))

    def complement_in(self, outer: Subspace) -> Subspace:
        """Orthonormal basis of ``outer ⊖ self`` (assumes self ⊂ outer)."""
        B = outer.basis.reshape(outer.dim, -1)
        if self.dim:
            S = self.basis.reshape(self.dim, -1)
            B = B - (B @ S.T) @ S
        d = outer.basis.shape[1]
        return Subspace.spanned_by(B, d, rtol=1e-8)
