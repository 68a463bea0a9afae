"""Embedding matrices: Hypothesis strategies for the rows ``e_v`` of ``E`` (K x d).

An *embedding matrix* ``E`` (THEORY.md section 1) holds one row per token.  The
theory's facts need linearly independent rows (``K <= d``, fact F1); conjecture C2
asks about overcomplete ones (``K > d``).  Every strategy here returns a fresh fp64
numpy array of shape ``(K, d)`` and takes its randomness from one drawn integer seed
fed to :func:`numpy.random.default_rng`, so a failing case shrinks (towards seed 0,
towards the identity where a family has one) and replays exactly.

Families
--------
``orthonormal``     rows orthonormal: ``E E^T = I`` (a random rotation of ``I[:K]``).
``unit_norm``       random unit rows (Gaussian, normalised), kept only when
                    ``cond(E E^T) <= max_cond``.
``equicorrelated``  unit rows with ``e_i . e_j = rho`` for all ``i != j``
                    (``E E^T = (1 - rho) I + rho 11^T``; PSD for ``rho >= -1/(K-1)``).
``overcomplete``    ``K > d`` random unit rows, pairwise ``|cos| <= max_coherence``.

Source: Li et al., *Mechanics of Next Token Prediction with Self-Attention*,
AISTATS 2024 (experiments use random unit-norm embeddings, K = d = 8).

Example
-------
>>> from hypothesis import given
>>> @given(embeddings(3, 4, family="orthonormal"))
... def test_rows_orthonormal(E):
...     assert np.allclose(E @ E.T, np.eye(3))
>>> test_rows_orthonormal()
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

__all__ = [
    "DEFAULT_MAX_COND",
    "FAMILIES",
    "FULL_RANK_FAMILIES",
    "EmbeddingsArg",
    "as_embedding_strategy",
    "embedding_family",
    "embeddings",
    "equicorrelated",
    "gram_condition",
    "orthonormal",
    "overcomplete",
    "unit_norm",
]

FULL_RANK_FAMILIES: tuple[str, ...] = ("orthonormal", "unit_norm", "equicorrelated")
"""Families with linearly independent rows (``K <= d``): the default."""
FAMILIES: tuple[str, ...] = (*FULL_RANK_FAMILIES, "overcomplete")

DEFAULT_MAX_COND = 1e3
"""Default bound on ``cond(E E^T)`` for :func:`unit_norm` (square Gaussian draws
exceed it about a third of the time at K = d = 8; those draws are redrawn)."""

_RETRIES = 64  # redraws from the same seeded generator before rejecting the example
_SEEDS = st.integers(0, 2**32 - 1)

EmbeddingsArg = (
    None | np.ndarray | SearchStrategy[np.ndarray] | Callable[[int], SearchStrategy[np.ndarray]]
)
"""What ``embeddings=`` accepts across the generators (see :func:`as_embedding_strategy`)."""


# -- helpers -----------------------------------------------------------------------------
def _check_dims(K: int, d: int) -> None:
    if not (isinstance(K, int) and K >= 1 and isinstance(d, int) and d >= 1):
        raise InvalidArgument(f"K and d must be positive integers, got K={K!r}, d={d!r}")


def _rotation(rng: np.random.Generator, d: int) -> np.ndarray:
    """A Haar-random d x d orthogonal matrix (QR of a Gaussian, signs fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def _unit_rows(rng: np.random.Generator, K: int, d: int) -> np.ndarray:
    E = rng.standard_normal((K, d))
    return E / np.linalg.norm(E, axis=1, keepdims=True)


def gram_condition(E: np.ndarray) -> float:
    """``cond(E E^T)`` (infinite when the rows are linearly dependent)."""
    return float(np.linalg.cond(E @ E.T))


# -- families ----------------------------------------------------------------------------
def orthonormal(K: int, d: int | None = None) -> SearchStrategy[np.ndarray]:
    """K x d matrices with orthonormal rows (needs ``K <= d``); shrinks to ``I[:K]``."""
    d = K if d is None else d
    _check_dims(K, d)
    if K > d:
        raise InvalidArgument(f"orthonormal rows need K <= d, got K={K}, d={d}")

    @st.composite
    def _draw(draw: st.DrawFn) -> np.ndarray:
        if not draw(st.booleans()):
            return np.eye(K, d)
        rng = np.random.default_rng(draw(_SEEDS))
        return np.ascontiguousarray(_rotation(rng, d)[:K])

    return _draw()


def unit_norm(
    K: int, d: int | None = None, max_cond: float = DEFAULT_MAX_COND
) -> SearchStrategy[np.ndarray]:
    """Random unit-norm rows (``K <= d``) with ``cond(E E^T) <= max_cond``.

    Near-singular draws are redrawn from the same seeded generator (up to 64 times;
    then the example is rejected), so the bound is a guarantee, not a hope.
    """
    d = K if d is None else d
    _check_dims(K, d)
    if K > d:
        raise InvalidArgument(f"unit_norm needs K <= d (use overcomplete), got K={K}, d={d}")
    if not max_cond >= 1:
        raise InvalidArgument(f"max_cond must be >= 1, got {max_cond!r}")

    @st.composite
    def _draw(draw: st.DrawFn) -> np.ndarray:
        rng = np.random.default_rng(draw(_SEEDS))
        for _ in range(_RETRIES):
            E = _unit_rows(rng, K, d)
            if gram_condition(E) <= max_cond:
                return E
        assume(False)
        raise AssertionError("unreachable")  # pragma: no cover

    return _draw()


def equicorrelated(
    K: int, d: int | None = None, rho: float | SearchStrategy[float] | None = None
) -> SearchStrategy[np.ndarray]:
    """Unit rows with pairwise inner product ``rho``, randomly rotated in R^d.

    ``E E^T = (1 - rho) I + rho 11^T`` is PSD iff ``-1/(K-1) <= rho <= 1``; its rank
    (K, or K-1 at the lower end, or 1 at ``rho = 1``) must not exceed ``d``.  With
    ``rho=None`` it is drawn from ``[-0.9/(K-1), 0.9]`` (shrinking to 0).
    """
    d = K if d is None else d
    _check_dims(K, d)
    lo = -1.0 / (K - 1) if K > 1 else -1.0
    if rho is None:
        rho = st.floats(0.9 * lo, 0.9) if K > 1 else st.just(0.0)
    elif not isinstance(rho, SearchStrategy):
        if not lo <= rho <= 1:
            raise InvalidArgument(f"rho={rho} makes E E^T indefinite; need {lo:.4g} <= rho <= 1")
        if _equi_rank(K, float(rho)) > d:
            raise InvalidArgument(f"rho={rho} needs d >= {_equi_rank(K, float(rho))}, got {d}")
        rho = st.just(float(rho))

    @st.composite
    def _draw(draw: st.DrawFn) -> np.ndarray:
        r = draw(rho)
        assume(lo <= r <= 1 and _equi_rank(K, r) <= d)
        rng = np.random.default_rng(draw(_SEEDS))
        return _equicorrelated_rows(K, d, r, rng)

    return _draw()


def _equi_rank(K: int, rho: float) -> int:
    gram = (1 - rho) * np.eye(K) + rho * np.ones((K, K))
    return int(np.sum(np.linalg.eigvalsh(gram) > 1e-10))


def _equicorrelated_rows(K: int, d: int, rho: float, rng: np.random.Generator) -> np.ndarray:
    gram = (1 - rho) * np.eye(K) + rho * np.ones((K, K))
    lam, V = np.linalg.eigh(gram)
    keep = lam > 1e-10
    E0 = V[:, keep] * np.sqrt(lam[keep])  # K x r with E0 E0^T = gram
    E = np.zeros((K, d))
    E[:, : E0.shape[1]] = E0
    E = E @ _rotation(rng, d)
    return E / np.linalg.norm(E, axis=1, keepdims=True)


def overcomplete(
    K: int, d: int | None = None, max_coherence: float = 0.99
) -> SearchStrategy[np.ndarray]:
    """``K > d`` random unit rows (conjecture C2, Graph-SVM infeasibility).

    Rows are kept pairwise distinguishable: ``|e_i . e_j| <= max_coherence``.  With
    ``d=None``, d is drawn from ``[max(1, ceil(K/2)), K-1]``.
    """
    if not (isinstance(K, int) and K >= 2):
        raise InvalidArgument(f"overcomplete embeddings need K >= 2, got K={K!r}")
    if d is not None:
        _check_dims(K, d)
        if d >= K:
            raise InvalidArgument(f"overcomplete needs K > d, got K={K}, d={d}")
        if d == 1 and max_coherence < 1:
            raise InvalidArgument("with d = 1 all rows are +-1: set max_coherence=1")
    dims = st.just(d) if d is not None else st.integers(max(2, -(-K // 2)), K - 1)
    if d is None and K == 2:
        dims = st.just(1)

    @st.composite
    def _draw(draw: st.DrawFn) -> np.ndarray:
        dd = draw(dims)
        coh = 1.0 if dd == 1 else max_coherence
        rng = np.random.default_rng(draw(_SEEDS))
        for _ in range(_RETRIES):
            E = _unit_rows(rng, K, dd)
            C = np.abs(E @ E.T) - np.eye(K)
            if C.max() <= coh:
                return E
        assume(False)
        raise AssertionError("unreachable")  # pragma: no cover

    return _draw()


_FAMILY_FNS: dict[str, Callable[..., SearchStrategy[np.ndarray]]] = {
    "orthonormal": orthonormal,
    "unit_norm": unit_norm,
    "equicorrelated": equicorrelated,
    "overcomplete": overcomplete,
}


def embeddings(
    K: int, d: int | None = None, family: str | Sequence[str] | None = None
) -> SearchStrategy[np.ndarray]:
    """K x d embeddings from one of ``family`` (a name, several names, or None).

    ``family=None`` means every family that fits: the full-rank ones when ``d`` is
    None or ``d >= K``, ``overcomplete`` when ``d < K``.  ``family="any"`` adds
    ``overcomplete`` to the choice.  With ``d=None`` a full-rank family uses
    ``d = K + {0, 1, 2}`` (shrinking to ``d = K``).
    """
    names = _family_names(K, d, family)
    strategies = [_family_strategy(name, K, d) for name in names]
    return st.one_of(strategies) if len(strategies) > 1 else strategies[0]


def _family_names(K: int, d: int | None, family: str | Sequence[str] | None) -> tuple[str, ...]:
    if family is None or family == "any":
        names = FAMILIES if family == "any" and K >= 2 else FULL_RANK_FAMILIES
        if d is not None:
            names = ("overcomplete",) if d < K else FULL_RANK_FAMILIES
        return names
    names = (family,) if isinstance(family, str) else tuple(family)
    bad = [n for n in names if n not in _FAMILY_FNS]
    if bad or not names:
        raise InvalidArgument(f"unknown embedding family {bad or names!r}; choose from {FAMILIES}")
    return names


def _family_strategy(name: str, K: int, d: int | None) -> SearchStrategy[np.ndarray]:
    if name == "overcomplete" or d is not None:
        return _FAMILY_FNS[name](K, d)
    fn = _FAMILY_FNS[name]
    return st.integers(0, 2).flatmap(lambda extra: fn(K, K + extra))


def as_embedding_strategy(arg: object, K: int, d: int | None = None) -> SearchStrategy[np.ndarray]:
    """Normalise an ``embeddings=`` argument into a strategy for K-row matrices.

    ``None`` -> :func:`embeddings` ``(K, d)``; an array -> that array (K rows
    required); a strategy -> itself; a callable -> ``arg(K)``.
    """
    if arg is None:
        return embeddings(K, d)
    if isinstance(arg, SearchStrategy):
        strategy = arg
    elif callable(arg):
        strategy = arg(K)
    else:
        E = np.asarray(arg, dtype=np.float64)
        if E.ndim != 2 or E.shape[0] != K:
            raise InvalidArgument(f"embeddings must be {K} x d, got shape {E.shape}")
        strategy = st.just(E)
    return strategy.map(lambda E: _check_rows(E, K))


def _check_rows(E: np.ndarray, K: int) -> np.ndarray:
    E = np.asarray(E, dtype=np.float64)
    if E.ndim != 2 or E.shape[0] != K:
        raise InvalidArgument(f"embedding strategy produced shape {E.shape}, need {K} rows")
    return E


def embedding_family(E: np.ndarray, tol: float = 1e-9) -> str:
    """Best-guess family of ``E`` (for ``hypothesis.event`` labels).

    ``overcomplete`` if K > d, else ``orthonormal`` if ``E E^T = I``, else
    ``equicorrelated`` if the rows are unit and all pairwise products agree, else
    ``unit_norm`` if the rows are unit, else ``general``.
    """
    E = np.asarray(E, dtype=np.float64)
    K, d = E.shape
    if K > d:
        return "overcomplete"
    G = E @ E.T
    if np.allclose(G, np.eye(K), atol=tol):
        return "orthonormal"
    if not np.allclose(np.diag(G), 1.0, atol=tol):
        return "general"
    off = G[~np.eye(K, dtype=bool)]
    if K > 1 and np.ptp(off) <= tol:
        return "equicorrelated"
    return "unit_norm"
