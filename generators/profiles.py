"""Hypothesis settings profiles of the verification suite, built in one place.

* ``ci`` - 10 examples, derandomised (the seed comes from the test), for CI.
* ``dev`` - 25 examples, the default for the package's own claim modules.
* ``thorough`` - 100 examples, for nightly runs.
* ``mutation`` - ``ci`` without shrinking, for ``ci/mutation.py``: a mutant is killed
  by the first failing example; a minimal one is not needed.

None has a deadline: one example of a claim module solves convex programs or trains
for thousands of steps, far beyond Hypothesis's default 200 ms.  Each is built on
Hypothesis's ``default`` profile, never on whatever profile is active.

Importing this module registers nothing: Hypothesis ships a ``ci`` profile of its own
(active by default when ``$CI`` is set), and a user's tests must keep it unless they
ask for ours.  The pytest plugin (:mod:`ntp_mechanics.app.plugin`) calls
:func:`register` when a session asks for one of these names
(``--hypothesis-profile=ci`` or ``NTP_HYPOTHESIS_PROFILE=ci``), and runs the package's
own claim modules under ``dev`` (:data:`OWN`) otherwise.

>>> PROFILES["ci"].deadline is None and PROFILES["ci"].max_examples
10
"""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, settings

__all__ = ["DEFAULT", "OWN", "PROFILES", "register"]

DEFAULT = "dev"
OWN = "ntp-mechanics"
"""A name no user profile has: ``dev``, under which the package's claim modules import
when the session's profile is not one of :data:`PROFILES`."""

_base = settings.get_profile("default")
_common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])
PROFILES: dict[str, settings] = {
    "ci": settings(_base, max_examples=10, derandomize=True, print_blob=True, **_common),
    "dev": settings(_base, max_examples=25, **_common),
    "thorough": settings(_base, max_examples=100, **_common),
    "mutation": settings(_base, max_examples=10, derandomize=True, database=None,
                         phases=[Phase.explicit, Phase.reuse, Phase.generate], **_common),
}


def register(names: tuple[str, ...] = tuple(PROFILES)) -> None:
    """Register these profiles (and :data:`OWN`) with Hypothesis under their names."""
    for name in names:
        settings.register_profile(name, PROFILES[name])
    settings.register_profile(OWN, PROFILES[DEFAULT])
