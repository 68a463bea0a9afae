"""The experiment's vocabularies: what a trial can draw and how it starts.

The paper's own choices are the first of each (``"cyclic"``/``"acyclic"`` datasets,
unit-norm embeddings, ``W(0) = 0``); its training protocol (normalised GD, lr 0.01,
4000 steps) is :data:`ntp_mechanics.solvers.training.PAPER_PROTOCOL`.  The grid
(:mod:`~ntp_mechanics.app.experiment.grid`) and the trial
(:mod:`~ntp_mechanics.app.experiment.paper`) both read these names from here.

Example
-------
>>> DRAWS
('cyclic', 'acyclic', 'any')
"""

from __future__ import annotations

__all__ = ["DRAWS", "EMBEDDINGS", "EQUICORRELATION", "INITS", "KINDS"]

KINDS = ("cyclic", "acyclic")
DRAWS = (*KINDS, "any")
"""Dataset kinds a trial can draw: the paper's two and ``"any"`` (the paper's draw,
redrawn only when no edge is acyclic, so that ``W_svm != 0``)."""
EMBEDDINGS = ("unit-norm", "orthonormal", "equicorrelated")
"""Embedding draws: Gaussian rows normalised (the paper's); orthonormal rows (``d >= K``);
unit rows with every pairwise inner product ``EQUICORRELATION`` (``d >= K``)."""
EQUICORRELATION = 0.5
INITS = ("zero", "default", "scale")
"""``W(0)``: zero (the paper's); ``"default"``: Gaussian entries with the standard deviation
``1/sqrt(3d)`` of PyTorch's default ``nn.Linear`` init (the authors' code); ``"scale"``:
Gaussian entries of standard deviation ``init_scale``."""
