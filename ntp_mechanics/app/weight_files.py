"""Weight files: a trained key-query matrix ``W`` from JSON, ``.npz``, torch or safetensors.

Convention (THEORY.md section 1, Li et al., AISTATS 2024): position t of a sequence
scores ``e_{x_t}^T W e_query`` where ``e_query`` is the embedding of its last token;
row index of W pairs with the attended token, column index with the query.  A bias-free
``nn.Linear(d, d)`` used as ``score_t = x_t^T (linear(z))`` has exactly this ``W`` as
its ``.weight``.

Formats, chosen by suffix (:func:`read_tensors`):

* ``.json`` - this package's format (below); any key holding a matrix is a tensor;
* ``.npz`` - numpy archive (read without pickle);
* ``.pt`` / ``.pth`` - a torch state dict (nested dicts give dotted names, as
  ``qklist.0.weight``) or a bare tensor, read with ``torch.load(weights_only=True)``;
* ``.safetensors``.

Which tensor (:func:`select_matrix`): ``key`` names it (``W`` by default, or the only
tensor of the file).  Factor forms:

* separate key and query matrices ``W_k``, ``W_q`` (m x d each, ``nn.Linear(d, m)``
  weights) with unscaled score ``(W_k x_t)^T (W_q z)``: ``W = W_k^T W_q``;
* the in-projection of a single-head ``torch.nn.MultiheadAttention(d, 1)``
  (``in_proj_weight``, 3d x d, rows ``[W_q; W_k; W_v]``): torch scores position t
  for query z as ``(W_q z)^T (W_k x_t) / sqrt(d)``, so ``W = W_k^T W_q / sqrt(d)``.
  A non-zero query bias adds a term linear in ``x_t`` that no W represents and is
  refused (the key bias adds a constant per query and cancels in the softmax).

The JSON format::

    {"convention": "score(t) = e_{x_t}^T W e_{query}",
     "W": [[d floats], ... d rows],
     "history": [{"step": 0, "loss": 0.69, "norm": 0.0}, ...],
     "config": {"optimizer": "ngd", "lr": 0.01, ...},
     "device": "cpu",
     "factors": {"K": [...], "Q": [...]}}   # only for the K Q^T parametrisation

Only ``"W"`` is required when reading; the other keys are provenance.  JSON and
``.npz`` files are read without torch, so commands that only read them stay fast.

Every problem (unknown tensor name, wrong shape, NaN or infinity, a file that is not
what its suffix says) raises :class:`~ntp_mechanics.model.dataset.DatasetError` with a
one-line message.

Example
-------
>>> import numpy as np, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "w.json")
>>> save_weights(path, np.eye(2))
>>> load_weights(path, 2)
array([[1., 0.],
       [0., 1.]])
>>> np.savez(os.path.join(os.path.dirname(path), "w.npz"), k=np.eye(2), q=2 * np.eye(2))
>>> load_weights(os.path.join(os.path.dirname(path), "w.npz"), 2, key_query=("k", "q"))
array([[2., 0.],
       [0., 2.]])
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ntp_mechanics.model.dataset import DatasetError

if TYPE_CHECKING:
    from ntp_mechanics.solvers.training import TrainResult

__all__ = [
    "CONVENTION",
    "SUFFIXES",
    "load_weights",
    "parse_weights",
    "read_tensors",
    "read_weights",
    "save_weights",
    "select_matrix",
    "weights_dict",
]

SUFFIXES = (".json", ".npz", ".pt", ".pth", ".safetensors")

CONVENTION = "score(t) = e_{x_t}^T W e_{query}"


def weights_dict(
    W: np.ndarray,
    history: Sequence[Mapping[str, Any]] = (),
    config: Mapping[str, Any] | None = None,
    device: str = "",
    factors: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, Any]:
    """The JSON object for ``W`` and its provenance (numpy scalars become floats)."""
    out: dict[str, Any] = {"convention": CONVENTION, "W": np.asarray(W, float).tolist()}
    out["history"] = [{k: _plain(v) for k, v in row.items()} for row in history]
    out["config"] = {k: _plain(v) for k, v in (config or {}).items()}
    out["device"] = device
    if factors is not None:  # W = K Q^T, kept for conjecture C1 (balancedness, rank)
        out["factors"] = {"K": factors[0].tolist(), "Q": factors[1].tolist()}
    return out


def save_weights(path: str | Path, result: TrainResult | np.ndarray) -> None:
    """Write a :class:`~ntp_mechanics.solvers.training.TrainResult` (or a bare matrix) as JSON."""
    if isinstance(result, np.ndarray):
        obj = weights_dict(result)
    else:
        obj = weights_dict(
            result.W,
            result.history,
            dataclasses.asdict(result.config),
            result.device,
            result.factors,
        )
    try:
        text = json.dumps(obj, indent=1, allow_nan=False)
    except ValueError:
        raise DatasetError("weights: refusing to write NaN or infinity") from None
    try:
        Path(path).write_text(text + "\n")
    except OSError as exc:
        raise DatasetError(f"cannot write {path}: {exc.strerror}") from None


def read_weights(path: str | Path) -> dict[str, Any]:
    """The whole weights object; unreadable or malformed files raise DatasetError."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror}") from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"weights: not valid JSON: {exc.msg} (line {exc.lineno})") from None
    if not isinstance(obj, Mapping):
        raise DatasetError("weights: file must hold a JSON object with the key 'W'")
    if "W" not in obj:
        raise DatasetError("weights: missing the key 'W'")
    return dict(obj)


def parse_weights(raw: Any, d: int | None = None) -> np.ndarray:
    """Validate a JSON value as a (d x d) finite matrix and return it as fp64."""
    if not isinstance(raw, list) or not raw or not all(isinstance(r, list) for r in raw):
        raise DatasetError("weights: W must be a non-empty list of rows")
    if not all(_is_number(x) for r in raw for x in r):
        raise DatasetError("weights: W must contain only numbers")
    widths = {len(r) for r in raw}
    if len(widths) != 1:
        raise DatasetError(f"weights: W has ragged rows (lengths {sorted(widths)})")
    rows, cols = len(raw), widths.pop()
    want = d if d is not None else rows
    if (rows, cols) != (want, want):
        raise DatasetError(f"weights: W must be a {want} x {want} matrix, got {rows} x {cols}")
    W = np.array(raw, dtype=np.float64)
    if not np.all(np.isfinite(W)):
        raise DatasetError("weights: W contains NaN or infinity")
    return W


def load_weights(
    path: str | Path,
    d: int | None,
    key: str | None = None,
    *,
    key_query: tuple[str, str] | None = None,
    in_proj: str | None = None,
) -> np.ndarray:
    """``W`` (score convention) from a weights file of any supported format.

    Parameters
    ----------
    path : str or Path
        ``.json``, ``.npz``, ``.pt``/``.pth`` or ``.safetensors``.
    d : int or None
        Embedding dimension (any square matrix when None; factor forms need it).
    key : str, optional
        Name of the d x d tensor (default ``W``, or the file's only tensor).
    key_query : (str, str), optional
        Names of separate key and query matrices: ``W = W_k^T W_q``.
    in_proj : str, optional
        Name of a single-head ``MultiheadAttention`` ``in_proj_weight``:
        ``W = W_k^T W_q / sqrt(d)``.

    Returns
    -------
    numpy.ndarray
        The finite fp64 matrix W.

    Raises
    ------
    DatasetError
        One line naming the problem (unreadable file, wrong format, unknown name,
        wrong shape, NaN or infinity).
    """
    suffix = Path(path).suffix.lower()
    if suffix == ".json" and key is None and key_query is None and in_proj is None:
        return parse_weights(read_weights(path)["W"], d)
    return select_matrix(read_tensors(path), d, key, key_query=key_query, in_proj=in_proj)


def read_tensors(path: str | Path) -> dict[str, np.ndarray]:
    """Every named numeric array of a weights file, as float64, by format (suffix).

    Raises
    ------
    DatasetError
        Unknown suffix, unreadable file, or content not of the suffix's format.
    FileNotFoundError
        No such file.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in SUFFIXES:
        raise DatasetError(f"weights: unknown format {suffix or '(no suffix)'!r} of {p.name} "
                           f"(expected one of {', '.join(SUFFIXES)})")
    if not p.is_file():
        raise FileNotFoundError(f"no such weights file: {p}")
    reader = {".json": _json_tensors, ".npz": _npz_tensors, ".pt": _torch_tensors,
              ".pth": _torch_tensors, ".safetensors": _safetensors_tensors}[suffix]
    return reader(p)


def select_matrix(
    tensors: Mapping[str, np.ndarray],
    d: int | None,
    key: str | None = None,
    *,
    key_query: tuple[str, str] | None = None,
    in_proj: str | None = None,
) -> np.ndarray:
    """W in the score convention from named tensors (see the module docstring).

    Raises
    ------
    DatasetError
        Unknown name (the message lists the available ones), wrong shape, NaN.
    """
    if in_proj is not None:
        return _from_in_proj(tensors, d, in_proj)
    if key_query is not None:
        Wk = _matrix(tensors, key_query[0], (None, d))
        Wq = _matrix(tensors, key_query[1], (Wk.shape[0], Wk.shape[1]))
        return Wk.T @ Wq
    if key is None:
        if "W" in tensors:
            key = "W"
        elif len(tensors) == 1:
            key = next(iter(tensors))
        else:
            raise DatasetError(f"weights: the file holds several tensors, choose one with "
                               f"--key: {_names(tensors)}")
    return _matrix(tensors, key, (d, d))


def _from_in_proj(tensors: Mapping[str, np.ndarray], d: int | None, name: str) -> np.ndarray:
    """``W = W_k^T W_q / sqrt(d)`` from ``in_proj_weight = [W_q; W_k; W_v]``."""
    P = _matrix(tensors, name, (None, d))
    e = P.shape[1]
    if P.shape[0] != 3 * e:
        raise DatasetError(f"weights: {name} must be a {3 * e} x {e} in_proj_weight "
                           f"([W_q; W_k; W_v]), got {P.shape[0]} x {e}")
    Wq, Wk = P[:e], P[e:2 * e]
    bias = name.removesuffix("in_proj_weight") + "in_proj_bias"
    if bias != name and bias in tensors:
        b = np.asarray(tensors[bias], dtype=np.float64).reshape(-1)
        if b.shape != (3 * e,) or not np.all(np.isfinite(b)):
            raise DatasetError(f"weights: {bias} must be {3 * e} finite numbers")
        if np.any(b[:e] != 0):
            raise DatasetError(f"weights: {bias} has a non-zero query bias: the score is not "
                               "e_x^T W e_query for any W (train with bias=False)")
    return Wk.T @ Wq / math.sqrt(e)


def _matrix(tensors: Mapping[str, np.ndarray], name: str,
            shape: tuple[int | None, int | None]) -> np.ndarray:
    """The tensor ``name`` checked to be a finite 2-D matrix of ``shape`` (None: any)."""
    if name not in tensors:
        raise DatasetError(f"weights: no tensor named {name!r}; available: {_names(tensors)}")
    M = tensors[name]
    if M.ndim != 2:
        raise DatasetError(f"weights: {name} must be a matrix, got shape {tuple(M.shape)}")
    if any(want is not None and got != want for got, want in zip(M.shape, shape, strict=True)):
        want = " x ".join("m" if w is None else str(w) for w in shape)
        raise DatasetError(f"weights: {name} must be a {want} matrix, "
                           f"got {M.shape[0]} x {M.shape[1]}")
    if not np.all(np.isfinite(M)):
        raise DatasetError(f"weights: {name} contains NaN or infinity")
    return M


def _names(tensors: Mapping[str, np.ndarray], limit: int = 20) -> str:
    shown = [f"{k} {'x'.join(map(str, v.shape)) or 'scalar'}" for k, v in tensors.items()]
    more = f", ... ({len(shown) - limit} more)" if len(shown) > limit else ""
    return (", ".join(shown[:limit]) + more) if shown else "(none)"


def _numeric(value: Any) -> np.ndarray | None:
    """A float64 array for a numeric value; None for anything else (skipped)."""
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError):
        return None
    if arr.dtype.kind not in "biuf" or arr.dtype == np.bool_:
        return None
    return arr.astype(np.float64)


def _json_tensors(path: Path) -> dict[str, np.ndarray]:
    obj = read_weights(path)
    flat = _flatten(obj)
    out = {}
    for name, v in flat.items():
        if isinstance(v, list) and v and all(isinstance(r, list) for r in v):
            arr = _numeric(v) if all(_is_number(x) for r in v for x in r) else None
            if arr is not None and arr.ndim == 2:
                out[name] = arr
    return out


def _npz_tensors(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as z:
            if not hasattr(z, "files"):
                raise DatasetError(f"weights: {path.name} is a .npy array, not an .npz archive")
            return {k: a for k in z.files if (a := _numeric(z[k])) is not None}
    except DatasetError:
        raise
    except (ValueError, OSError, EOFError) as exc:
        raise DatasetError(f"weights: {path.name} is not an .npz archive "
                           f"({_first_line(exc)})") from None


def _torch_tensors(path: Path) -> dict[str, np.ndarray]:
    import torch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a foreign or unsafe file
        raise DatasetError(f"weights: {path.name} is not a torch checkpoint readable with "
                           f"weights_only=True ({_first_line(exc)})") from None
    if isinstance(obj, torch.Tensor):
        obj = {"W": obj}
    flat = _flatten(obj)
    return {k: v.detach().to(torch.float64).numpy() for k, v in flat.items()
            if isinstance(v, torch.Tensor) and _real(v)}


def _safetensors_tensors(path: Path) -> dict[str, np.ndarray]:
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        raw = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise DatasetError(f"weights: {path.name} is not a safetensors file "
                           f"({_first_line(exc)})") from None
    return {k: v.to(torch.float64).numpy() for k, v in raw.items() if _real(v)}


def _real(t: Any) -> bool:
    """A real numeric torch tensor (not complex, not bool)."""
    import torch

    return not t.dtype.is_complex and t.dtype != torch.bool


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts and lists to dotted names (``qklist.0.weight``), leaves kept."""
    if isinstance(obj, Mapping):
        items = ((str(k), v) for k, v in obj.items())
    elif isinstance(obj, (list, tuple)) and obj and not all(_is_number(x) or isinstance(x, list)
                                                            for x in obj):
        items = ((str(i), v) for i, v in enumerate(obj))
    else:
        return {prefix: obj} if prefix else {}
    out: dict[str, Any] = {}
    for k, v in items:
        out |= _flatten(v, f"{prefix}.{k}" if prefix else k)
    return out


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _plain(v: Any) -> Any:
    """JSON-ready value: numpy scalars/arrays to Python, tuples to lists."""
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v
