"""ntp-mechanics: property-based verification of *Mechanics of Next Token Prediction
with Self-Attention* (Li, Huang, Ildiz, Rawat, Oymak, AISTATS 2024).

The command line lives in :mod:`ntp_mechanics.app.cli`; each subcommand is a module of
this package (``predict``, ``train``, ``check``, ``claims``, ``report``).
"""

__version__ = "0.1.0"
