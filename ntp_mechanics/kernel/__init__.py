"""The verification kernel that theorem modules import.

* :mod:`ntp_mechanics.kernel.verdict` - verdicts (consistent / contradicts /
  inconclusive), decay extrapolation, ``record`` (a test's verdicts).
* :mod:`ntp_mechanics.kernel.evidence` - the judges of claims A-E and their controls.
* :mod:`ntp_mechanics.kernel.claims` - the claim registry: every claim as its own
  module declares it (``CLAIM = dict(...)``, read with :mod:`ast`), ids and their syntax.
* :mod:`ntp_mechanics.kernel.ledger` - a run's evidence per claim and the one rule for
  a claim's status (``claim_status``), shared by ``gate`` and ``report``.
* :mod:`ntp_mechanics.kernel.verdict_log` - the verdict log's writing and reading.
* :mod:`ntp_mechanics.kernel.environment` - the environment variables the package reads.
* :mod:`ntp_mechanics.kernel.checking` - ``check``: the verdict on trained weights.
* :mod:`ntp_mechanics.kernel.gallery` - the paper's named small cases and seeded
  random datasets, shared by ``theorems/`` and ``tests/``.
* :mod:`ntp_mechanics.kernel.conjectures` - the conjecture API (``conjecture``,
  ``observe``, ``inconclusive``, ``vacuous``, ``settle``); its pytest hooks are in the
  application layer (:mod:`ntp_mechanics.app.conjecture_plugin`).
* :mod:`ntp_mechanics.kernel.fact_support`, :mod:`ntp_mechanics.kernel.claim_support` -
  strategies and helpers shared by the fact and claim modules.

The kernel imports the data model, the solvers and the generators; never the application.
"""
