"""The verification kernel that theorem modules import.

* :mod:`ntp_mechanics.kernel.verdict` - verdicts (consistent / contradicts /
  inconclusive), decay extrapolation, the verdict log.
* :mod:`ntp_mechanics.kernel.evidence` - the judges of claims A-E and their controls.
* :mod:`ntp_mechanics.kernel.claims` - the claim ledger: ids and their syntax, kinds,
  statements, modules, environment names, the verdict log, per-claim grouping.
* :mod:`ntp_mechanics.kernel.gallery` - the paper's named small cases and seeded
  random datasets, shared by ``theorems/`` and ``tests/``.
* :mod:`ntp_mechanics.kernel.conjectures` - the conjecture API (``conjecture``,
  ``observe``, ``inconclusive``, ``vacuous``, ``settle``).
* :mod:`ntp_mechanics.kernel.fact_support`, :mod:`ntp_mechanics.kernel.claim_support` -
  strategies and helpers shared by the fact and claim modules.

The kernel imports the data model, the solvers and the generators; never the application.
"""
