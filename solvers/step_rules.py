"""Gradient descent on ``L(W)`` with three step rules: fixed, normalised and Polyak (fp64 numpy).

The update is ``W <- W - eta_t grad L(W)`` from ``W = 0`` (or a given start) with

* ``"gd"``: ``eta_t = lr`` (plain GD; ``lr <= 1 / smoothness`` is the descent-lemma step);
* ``"ngd"``: ``eta_t = lr / ||grad L||_F`` (normalised GD: every step has length ``lr``);
* ``"ngd-harmonic"``: ``eta_t = lr / ((t + 1) ||grad L||_F)`` (step lengths ``lr/(t+1)``,
  so ``||W||`` grows only like ``lr log t``: a schedule outside the constant-step rule);
* ``"polyak"``: ``eta_t = (L(W) - L_star) / ||grad L||_F^2`` (the Polyak step with the
  optimal value ``L_star``; 0 when no graph has a cyclic edge, fact F7).

The loss is evaluated as ``log1p((1 - p) / p)`` with ``1 - p`` summed from the
off-label attention weights, so a Polyak step keeps full relative precision when the
loss is far below ``1e-16`` (``logsumexp`` differences would round it to 0).  The
gradient is :meth:`ntp_mechanics.solvers.loss.LogLoss.grad` (cancellation-free).

Example
-------
>>> import numpy as np
>>> from ntp_mechanics.model.dataset import Dataset
>>> ds = Dataset.from_arrays(np.eye(2), [((0, 1), 0)])
>>> its = descend(ds, "ngd", 0.5, (4,))
>>> round(float(np.linalg.norm(its[4])), 6)  # four steps of length 0.5
2.0
"""

from __future__ import annotations

import numpy as np

from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.solvers.loss import LogLoss

__all__ = ["RULES", "descend", "precise_loss"]

RULES = ("gd", "ngd", "ngd-harmonic", "polyak")


def precise_loss(loss: LogLoss, W: np.ndarray) -> float:
    """``L(W)`` as the mean of ``log1p(off_i / p_i)`` (full relative precision near 0)."""
    s = loss.attention(W)
    off = np.where(loss.label_mask, 0.0, s).sum(axis=1)
    p = np.where(loss.label_mask, s, 0.0).sum(axis=1)
    return float(np.mean(np.log1p(off / p)))


def descend(ds: Dataset, rule: str, lr: float, record_at: tuple[int, ...],
            W0: np.ndarray | None = None, L_star: float = 0.0) -> dict[int, np.ndarray]:
    """Run ``max(record_at)`` steps of ``rule``; return ``{step: W}`` at ``record_at`` and 0.

    Parameters
    ----------
    ds : Dataset
        The training set.
    rule : {"gd", "ngd", "ngd-harmonic", "polyak"}
        The step rule (module docstring).
    lr : float
        The step (``"gd"``) or step length (``"ngd"``, ``"ngd-harmonic"``); unused by
        ``"polyak"``.
    record_at : tuple of int
        Steps whose iterate is returned.
    W0 : ndarray, optional
        The start (default 0).
    L_star : float
        The optimal value for the Polyak step.

    Returns
    -------
    dict
        ``{step: W}``.  A run whose gradient vanishes in fp64 (every off-label weight
        underflowed) stops there: later steps are absent, never faked.

    Raises
    ------
    ValueError
        For an unknown rule or a negative step.
    FloatingPointError
        When the iterates stop being finite.
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    if lr < 0 or not np.isfinite(lr):
        raise ValueError(f"lr must be finite and >= 0, got {lr!r}")
    loss = LogLoss(ds)
    W = np.zeros((ds.d, ds.d)) if W0 is None else np.array(W0, dtype=float)
    record = {0, *record_at}
    out: dict[int, np.ndarray] = {}
    for t in range(max(record) + 1):
        if t in record:
            out[t] = W.copy()
        if t == max(record):
            break
        g = loss.grad(W)
        gn = float(np.linalg.norm(g))
        if gn == 0.0:
            break
        if rule == "gd":
            eta = lr
        elif rule == "ngd":
            eta = lr / gn
        elif rule == "ngd-harmonic":
            eta = lr / ((t + 1) * gn)
        else:
            eta = max(precise_loss(loss, W) - L_star, 0.0) / gn**2
        W = W - eta * g
        if not np.all(np.isfinite(W)):
            raise FloatingPointError(f"{rule}: the iterate is not finite at step {t + 1}")
    return out
