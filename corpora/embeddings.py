"""Embedding matrices for a corpus vocabulary: one-hot, random Gaussian, or a user's.

``spec`` is one of

* ``onehot`` - ``E = I_K`` (d = K);
* ``gaussian:D`` - K x D standard normal rows scaled to unit norm, seeded;
* ``PATH`` or ``PATH:KEY`` - a matrix from a ``.npz``, ``.safetensors`` or ``.pt``
  file (``KEY`` names the array; optional when the file holds exactly one).  Its row v
  is the embedding of the corpus token with id v (the ``vocabulary`` of ``corpus.json``
  lists the tokens by id), so it must be K x d for the corpus vocabulary.

Example
-------
>>> E = embedding_matrix("gaussian:3", K=4, seed=0)
>>> E.shape, bool(np.allclose(np.linalg.norm(E, axis=1), 1))
((4, 3), True)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ntp_mechanics.corpora.text import CorpusError

__all__ = ["MAX_EMBEDDING_BYTES", "embedding_matrix", "parse_spec"]

MAX_EMBEDDING_BYTES = 4 << 30  # a larger E would not leave room for any solver
_SUFFIXES = (".npz", ".safetensors", ".pt", ".pth")


def parse_spec(spec: str) -> tuple[str, Any]:
    """``("onehot", None)``, ``("gaussian", D)`` or ``("file", (path, key))``."""
    if spec == "onehot":
        return "onehot", None
    if spec.startswith("gaussian:"):
        try:
            D = int(spec.split(":", 1)[1])
        except ValueError:
            raise CorpusError(f"--embeddings {spec}: D must be an integer") from None
        if D < 1:
            raise CorpusError(f"--embeddings {spec}: D must be at least 1")
        return "gaussian", D
    path, key = spec, None
    if not Path(spec).exists() and ":" in spec:
        path, key = spec.rsplit(":", 1)
    if Path(path).suffix not in _SUFFIXES:
        raise CorpusError(f"--embeddings {spec}: expected onehot, gaussian:D or a "
                          f"{'/'.join(_SUFFIXES)} file with an optional :KEY")
    return "file", (Path(path), key)


def embedding_matrix(spec: str, K: int, seed: int) -> np.ndarray:
    """The K x d fp64 matrix named by ``spec`` for a vocabulary of ``K`` tokens."""
    kind, arg = parse_spec(spec)
    d = K if kind == "onehot" else arg if kind == "gaussian" else None
    if d is not None and K * d * 8 > MAX_EMBEDDING_BYTES:
        raise CorpusError(f"--embeddings {spec}: a {K} x {d} matrix needs "
                          f"{K * d * 8 / 2**30:.1f} GiB; use a smaller --vocab or gaussian:D")
    if kind == "onehot":
        return np.eye(K)
    if kind == "gaussian":
        E = np.random.default_rng([seed, 0xE]).standard_normal((K, arg))
        return E / np.linalg.norm(E, axis=1, keepdims=True)
    path, key = arg
    E = _load_matrix(path, key)
    if E.ndim != 2 or E.shape[0] != K or E.shape[1] < 1:
        raise CorpusError(f"{path}{':' + key if key else ''}: embedding matrix of shape "
                          f"{tuple(E.shape)}, need {K} x d (one row per corpus token id)")
    if not np.isfinite(E).all():
        raise CorpusError(f"{path}: the embedding matrix contains NaN or infinity")
    return E


def _load_matrix(path: Path, key: str | None) -> np.ndarray:
    if not path.is_file():
        raise CorpusError(f"cannot read {path}: no such file")
    try:
        arrays = _load_arrays(path)
    except CorpusError:
        raise
    except Exception as exc:  # each format fails its own way; all mean "not readable"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CorpusError(f"cannot read {path}: {first}") from None
    if key is None:
        if len(arrays) != 1:
            raise CorpusError(f"{path} holds {len(arrays)} arrays; name one as "
                              f"{path}:KEY (keys: {', '.join(sorted(arrays)[:8])})")
        key = next(iter(arrays))
    if key not in arrays:
        raise CorpusError(f"{path} has no array {key!r} (keys: {', '.join(sorted(arrays)[:8])})")
    E = np.asarray(arrays[key])
    if E.dtype.kind not in "fiu":
        raise CorpusError(f"{path}:{key} is not a real number array ({E.dtype})")
    return E.astype(np.float64)


def _load_arrays(path: Path) -> dict[str, Any]:
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    if path.suffix == ".safetensors":
        from safetensors.numpy import load_file

        return dict(load_file(str(path)))
    import torch  # only for .pt files

    obj = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(obj, torch.Tensor):
        obj = {"": obj}
    if not isinstance(obj, dict):
        raise CorpusError(f"{path} holds a {type(obj).__name__}, not a tensor or a dict")
    return {str(k): v.detach().to(torch.float64).numpy() for k, v in obj.items()
            if isinstance(v, torch.Tensor)}
