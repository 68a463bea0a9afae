"""The environment variables the package reads, in one place.

They carry a pytest session's settings into its worker processes (pytest-xdist) and
into the claim modules, which take no command-line options of their own.  The kernel
sits below the application, so every layer above can name them.

Example
-------
>>> VERDICT_LOG_ENV
'NTP_VERDICT_LOG'
"""

from __future__ import annotations

__all__ = ["DATABASE_ENV", "DIR_ENV", "GATE_ENV", "PROFILE_ENV", "VERDICT_LOG_ENV"]

VERDICT_LOG_ENV = "NTP_VERDICT_LOG"
"""When set, :func:`ntp_mechanics.kernel.verdict.record` appends every verdict to this file."""
PROFILE_ENV = "NTP_HYPOTHESIS_PROFILE"
"""The Hypothesis profile the pytest plugin loads (``ci``, ``dev``, ``thorough``)."""
GATE_ENV = "NTP_GATE_CONJECTURES"
"""``1``: a conjecture counterexample fails the run (as ``--gate-conjectures``)."""
DIR_ENV = "NTP_CONJECTURE_DIR"
"""Where conjecture records and counterexample files go (as ``--conjecture-dir``)."""
DATABASE_ENV = "NTP_HYPOTHESIS_DATABASE"
"""Hypothesis's example database for the session: a folder, or ``github:OWNER/REPO``
(:class:`hypothesis.database.GitHubArtifactDatabase`, read-only); see the plugin."""
