"""Inputs for the verification suite: datasets, graphs, embeddings, strategies.

Kept light on purpose: importing :mod:`generators` loads neither Hypothesis nor torch
(the CLI imports :mod:`ntp_mechanics.model.dataset` only).  Import the modules directly:

* :mod:`ntp_mechanics.model.dataset` - the :class:`Dataset` value type and its JSON format.
* :mod:`ntp_mechanics.generators.profiles` - Hypothesis settings profiles (``ci``, ``dev``,
  ``thorough``; select with ``NTP_HYPOTHESIS_PROFILE`` or ``--hypothesis-profile``).
* :mod:`ntp_mechanics.generators.graphs` - :class:`GraphSpec` and ``token_graphs()``: realisable
  token-priority graphs drawn structure-first (SCCs, depth, forced edges).
* :mod:`ntp_mechanics.generators.realise` - ``realise()``/``realisations()``: datasets whose
  token-priority graphs are exactly a given spec.
* :mod:`ntp_mechanics.generators.datasets` - ``paper_datasets()`` (the paper's random sequences),
  ``datasets()`` (either route), ``to_example()`` and ``describe()``.
* :mod:`ntp_mechanics.generators.embeddings` - embedding matrices: ``orthonormal``, ``unit_norm``,
  ``equicorrelated``, ``overcomplete`` and ``embeddings()``.
* :mod:`ntp_mechanics.generators.automaton` - ``automaton_inputs()``: fresh sequences with and
  without a dominating token, for claim C.
"""
