"""Hypothesis settings profiles, registered in one place.

* ``ci`` - fast and derandomised (the seed comes from the test), no deadline.
* ``dev`` - the default for local runs.
* ``thorough`` - many examples, for nightly runs.
* ``mutation`` - ``ci`` without shrinking, for ``ci/mutation.py``: a mutant is killed
  by the first failing example; a minimal one is not needed.

Select with ``pytest --hypothesis-profile=ci`` or ``NTP_HYPOTHESIS_PROFILE=ci``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

PROFILE_ENV = "NTP_HYPOTHESIS_PROFILE"

_common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=10, derandomize=True, print_blob=True, **_common)
settings.register_profile("dev", max_examples=25, **_common)
settings.register_profile("thorough", max_examples=100, **_common)
settings.register_profile(
    "mutation", max_examples=10, derandomize=True, database=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate], **_common,
)


def load_profile_from_env(default: str = "dev") -> str:
    name = os.environ.get(PROFILE_ENV, default)
    settings.load_profile(name)
    return name
