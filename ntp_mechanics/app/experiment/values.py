"""The values a sweep's SPEC is made of, and the one error a malformed SPEC raises.

Shared by the drawn grid (:mod:`~ntp_mechanics.app.experiment.grid`) and the corpus
grid (:mod:`~ntp_mechanics.app.experiment.corpus_grid`).

Example
-------
>>> int_or_k("8"), int_or_k("2K"), positive_float("auto"), positive_float("0.5")
(8, '2K', 'auto', 0.5)
"""

from __future__ import annotations

import math
import re

from ntp_mechanics.model.errors import BadInputError

__all__ = ["SweepError", "int_or_k", "positive_float"]


class SweepError(BadInputError):
    """A malformed SPEC, an unknown parameter or value, an unreachable cluster
    (the command line answers exit 2 with one line)."""


def int_or_k(text: str) -> int | str:
    """An integer, or ``K`` / ``cK`` (a multiple of the vocabulary size)."""
    if re.fullmatch(r"\d+", text):
        return int(text)
    if re.fullmatch(r"\d*K", text):
        return text
    raise ValueError("an integer or a multiple of K (K, 2K, ...)")


def positive_float(text: str) -> float | str:
    if text == "auto":
        return text
    try:
        x = float(text)
    except ValueError:
        x = math.nan
    if not (math.isfinite(x) and x > 0):
        raise ValueError("a positive number")
    return x
