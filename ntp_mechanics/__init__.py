"""ntp-mechanics: property-based verification of *Mechanics of Next Token Prediction
with Self-Attention* (Li, Huang, Ildiz, Rawat, Oymak, AISTATS 2024).

The public API, what a user's own tests import (with :mod:`ntp_mechanics.strategies`
for the Hypothesis strategies):

* :class:`Dataset`, :func:`load_dataset` - the dataset value type and its JSON format;
* :func:`predict` - the theory's certified predictions for a dataset (``.W_svm``,
  ``.W_fin``, ``.sccs``, ``.tpg``, ...);
* :func:`train` and :class:`TrainConfig` - attention trained by gradient descent
  (fp64 PyTorch);
* :func:`check` and :class:`CheckResult` - the verdict of claims B-E on weights
  trained anywhere, from any initialisation (what ``ntp-mechanics check`` prints);
* the conjecture API: :func:`conjecture` (decorator), :func:`observe`,
  :func:`inconclusive`, :func:`vacuous`, :func:`settle`.

Names are imported on first use, so ``import ntp_mechanics`` costs neither torch nor
cvxpy.

Example
-------
>>> import numpy as np
>>> from ntp_mechanics import Dataset, predict
>>> ds = Dataset.from_arrays(np.eye(3), [((0, 1, 2), 0), ((1, 0, 2), 1)])
>>> p = predict(ds)
>>> p.sccs
{2: ((0, 1), (2,))}
>>> float(np.linalg.norm(p.W_svm)) > 0
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS = {
    "Dataset": "ntp_mechanics.model.dataset",
    "DatasetError": "ntp_mechanics.model.dataset",
    "load_dataset": "ntp_mechanics.model.dataset",
    "Predictions": "ntp_mechanics.solvers.predictions",
    "predict": "ntp_mechanics.solvers.predictions",
    "TrainConfig": "ntp_mechanics.solvers.training",
    "TrainResult": "ntp_mechanics.solvers.training",
    "train": "ntp_mechanics.solvers.training",
    "train_batch": "ntp_mechanics.solvers.training",
    "Verdict": "ntp_mechanics.kernel.verdict",
    "ClaimResult": "ntp_mechanics.kernel.verdict",
    "check": "ntp_mechanics.kernel.checking",
    "CheckResult": "ntp_mechanics.kernel.checking",
    "conjecture": "ntp_mechanics.kernel.conjectures",
    "observe": "ntp_mechanics.kernel.conjectures",
    "inconclusive": "ntp_mechanics.kernel.conjectures",
    "vacuous": "ntp_mechanics.kernel.conjectures",
    "settle": "ntp_mechanics.kernel.conjectures",
}
__all__ = [
    "CheckResult",
    "ClaimResult",
    "Dataset",
    "DatasetError",
    "Predictions",
    "TrainConfig",
    "TrainResult",
    "Verdict",
    "check",
    "conjecture",
    "inconclusive",
    "load_dataset",
    "observe",
    "predict",
    "settle",
    "train",
    "train_batch",
    "vacuous",
]  # the keys of _EXPORTS, spelled out for linters

if TYPE_CHECKING:
    from ntp_mechanics.kernel.checking import CheckResult, check
    from ntp_mechanics.kernel.conjectures import (
        conjecture,
        inconclusive,
        observe,
        settle,
        vacuous,
    )
    from ntp_mechanics.kernel.verdict import ClaimResult, Verdict
    from ntp_mechanics.model.dataset import Dataset, DatasetError, load_dataset
    from ntp_mechanics.solvers.predictions import Predictions, predict
    from ntp_mechanics.solvers.training import TrainConfig, TrainResult, train, train_batch


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'ntp_mechanics' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
