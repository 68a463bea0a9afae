"""A user's trainer, named ``MODULE:FUNCTION``, called on a dataset and checked.

A *trainer* is any function ``FUNCTION(dataset) -> W`` that trains one attention
layer on a :class:`~ntp_mechanics.model.dataset.Dataset` (``dataset.E`` is K x d,
``dataset.samples`` each with ``.tokens`` and ``.label``) and returns the d x d
key-query matrix in the score convention ``a_t = e_{x_t}^T W e_query`` (THEORY.md
section 1), as a numpy array, a nested list or a torch tensor.  From any
initialisation: the verdict judges ``P_{S_all} W`` (:func:`ntp_mechanics.check`).

``ntp-mechanics test --trainer MODULE:FUNCTION`` and ``pytest --ntp-trainer
MODULE:FUNCTION`` run :mod:`ntp_mechanics.theorems.trainer_claims` with it.  MODULE
is imported with the current folder on ``sys.path``.  A trainer that cannot be
imported, raises, or returns something other than a finite d x d matrix raises
:class:`TrainerError` (exit 2): a broken trainer is bad input, not a counterexample.

Example
-------
>>> import numpy as np
>>> from ntp_mechanics.model.dataset import Dataset
>>> ds = Dataset.from_arrays(np.eye(2), [((0, 1), 0)])
>>> trained_weights(lambda d: [[1, 0], [0, 1]], ds)
array([[1., 0.],
       [0., 1.]])
>>> try:
...     load_trainer("no_such_module_here:f")
... except TrainerError as exc:
...     print(exc)
trainer: cannot import no_such_module_here (No module named 'no_such_module_here')
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.errors import BadInputError

__all__ = ["Trainer", "TrainerError", "load_trainer", "trained_weights"]

Trainer = Callable[[Dataset], Any]


class TrainerError(BadInputError):
    """The user's trainer cannot be imported, raised, or returned a wrong value."""


def load_trainer(spec: str) -> Trainer:
    """The function ``FUNCTION`` of ``MODULE`` (``MODULE:FUNCTION``, dotted both sides).

    Parameters
    ----------
    spec : str
        ``"package.module:function"``; the current folder is importable.

    Returns
    -------
    callable
        The trainer.

    Raises
    ------
    TrainerError
        Malformed spec, module not importable, or no such callable.
    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise TrainerError(f"trainer: expected MODULE:FUNCTION, got {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:  # the user's module may fail in any way while importing
        raise TrainerError(f"trainer: cannot import {module_name} ({_line(exc)})") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise TrainerError(f"trainer: {module_name} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise TrainerError(f"trainer: {spec} is not callable")
    return obj


def trained_weights(trainer: Trainer, ds: Dataset) -> np.ndarray:
    """``trainer(ds)`` as a finite fp64 d x d matrix.

    Parameters
    ----------
    trainer : callable
        ``trainer(dataset) -> W`` (array-like or torch tensor).
    ds : Dataset
        The dataset to train on.

    Returns
    -------
    numpy.ndarray
        W, d x d, fp64.

    Raises
    ------
    TrainerError
        The trainer raised, or returned no finite d x d matrix.
    """
    where = f"on a dataset with K = {ds.K}, d = {ds.d}, n = {ds.n}"
    try:
        out = trainer(ds)
    except Exception as exc:  # any failure of the user's code is reported, not judged
        raise TrainerError(f"trainer raised {type(exc).__name__} {where}: {_line(exc)}") from None
    if hasattr(out, "detach"):  # a torch tensor, without importing torch here
        out = out.detach().cpu().double().numpy()
    try:
        W = np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError):
        raise TrainerError(f"trainer returned {type(out).__name__}, not a {ds.d} x {ds.d} "
                           f"matrix, {where}") from None
    if W.shape != (ds.d, ds.d):
        raise TrainerError(f"trainer returned shape {W.shape}, expected ({ds.d}, {ds.d}), "
                           f"{where}")
    if not np.all(np.isfinite(W)):
        raise TrainerError(f"trainer returned NaN or infinity {where}")
    return W


def _line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
