"""The weights JSON file: a trained key-query matrix ``W`` and how it was obtained.

Convention (THEORY.md section 1, Li et al., AISTATS 2024): position t of a sequence
scores ``e_{x_t}^T W e_query`` where ``e_query`` is the embedding of its last token;
row index of W pairs with the attended token, column index with the query.

The format::

    {"convention": "score(t) = e_{x_t}^T W e_{query}",
     "W": [[d floats], ... d rows],
     "history": [{"step": 0, "loss": 0.69, "norm": 0.0}, ...],
     "config": {"optimizer": "ngd", "lr": 0.01, ...},
     "device": "cpu",
     "factors": {"K": [...], "Q": [...]}}   # only for the K Q^T parametrisation

Only ``"W"`` is required when reading; the other keys are provenance.  Nothing here
imports torch, so commands that only read weights stay fast.

Example
-------
>>> import numpy as np, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "w.json")
>>> save_weights(path, np.eye(2))
>>> load_weights(path, 2)
array([[1., 0.],
       [0., 1.]])
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
    "load_weights",
    "parse_weights",
    "read_weights",
    "save_weights",
    "weights_dict",
]

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


def load_weights(path: str | Path, d: int | None) -> np.ndarray:
    """``W`` from a weights file, checked to be a finite d x d matrix (any square if None)."""
    return parse_weights(read_weights(path)["W"], d)


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
