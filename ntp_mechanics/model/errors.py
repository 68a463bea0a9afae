"""The ways a prediction can fail, each mapped to a CLI exit code.

* :class:`~ntp_mechanics.model.dataset.DatasetError` (exit 2): malformed input, or a dataset
  outside the theory (a label absent from its own sequence).
* :class:`InfeasibleError` (exit 2): the Graph-SVM has no feasible point, possible only
  when the embeddings are linearly dependent (K > d, fact F1); there is no direction.
* :class:`InconclusiveError` (exit 3): a solver did not certify its answer (status not
  optimal, KKT residual or duality gap too large, overflow).  This is a statement about
  the numerics, never evidence against the theory.
"""

from __future__ import annotations

from ntp_mechanics.model.dataset import DatasetError

__all__ = ["DatasetError", "InconclusiveError", "InfeasibleError", "PredictionError"]


class PredictionError(Exception):
    """Base class of solver failures."""


class InfeasibleError(PredictionError):
    """The Graph-SVM constraints cannot be met by any W."""


class InconclusiveError(PredictionError):
    """A solve finished but its certificate failed: the numerics cannot decide."""
