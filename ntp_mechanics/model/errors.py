"""The ways a command can fail, each mapped to a CLI exit code.

* :class:`BadInputError` (exit 2): the base class of every bad-input error - a
  malformed dataset, option, grid, trainer or claim declaration.  ``ntp-mechanics``
  maps it (and every subclass) to one line on stderr and exit code 2.
* :class:`DatasetError` (a :class:`BadInputError`, exit 2): malformed input, or a
  dataset outside the theory (a label absent from its own sequence).
* :class:`InfeasibleError` (exit 2): the Graph-SVM has no feasible point, possible only
  when the embeddings are linearly dependent (K > d, fact F1); there is no direction.
* :class:`InconclusiveError` (exit 3): a solver did not certify its answer (status not
  optimal, KKT residual or duality gap too large, overflow).  This is a statement about
  the numerics, never evidence against the theory.

Example
-------
>>> issubclass(DatasetError, BadInputError) and issubclass(DatasetError, ValueError)
True
"""

from __future__ import annotations

__all__ = ["BadInputError", "DatasetError", "InconclusiveError", "InfeasibleError",
           "PredictionError"]


class BadInputError(ValueError):
    """Input a command cannot use (one-line message; exit code 2)."""


class DatasetError(BadInputError):
    """A dataset that is malformed or outside the theory (one-line message)."""


class PredictionError(Exception):
    """Base class of solver failures."""


class InfeasibleError(PredictionError):
    """The Graph-SVM constraints cannot be met by any W."""


class InconclusiveError(PredictionError):
    """A solve finished but its certificate failed: the numerics cannot decide."""
