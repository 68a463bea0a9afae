"""Root pytest configuration: Hypothesis profiles, the conjecture plugin, the ``gpu`` marker.

Profiles are registered in :mod:`generators.profiles`.  The active one comes from
``--hypothesis-profile NAME`` (Hypothesis's own pytest option, which wins) or the
environment variable ``NTP_HYPOTHESIS_PROFILE``; the default is ``dev``.
"""

from __future__ import annotations

import pytest

from generators.profiles import load_profile_from_env

load_profile_from_env()

# conjectures (C1-C3) are reported, not asserted: --gate-conjectures, counterexample files
pytest_plugins = ["ntp_mechanics.conjectures"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not any(item.get_closest_marker("gpu") for item in items):
        return
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA (torch.cuda.is_available() is False)")
    for item in items:
        if item.get_closest_marker("gpu"):
            item.add_marker(skip)
