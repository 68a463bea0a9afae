"""A negative control's premise is asserted (``claim_support.control_premise``).

On a fixed case a control closer to the theory than its stated gap fails the test; on
a drawn case it is a Hypothesis rejection, so a property whose every example has a
degenerate control ends ``Unsatisfiable`` instead of passing.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import FailedHealthCheck, Unsatisfiable

from ntp_mechanics.kernel.claim_support import control_examples, control_premise
from ntp_mechanics.model.dataset import Dataset

# Embeddings no strategy draws (rows of norms 1 and 3), so registering this case as
# fixed cannot turn a drawn example of a theorem module into a fixed one.
FIXED = Dataset.from_arrays(np.diag([1.0, 3.0]), [((1, 0), 1)], "fixed control case")
DRAWN = Dataset.from_arrays(np.eye(2), [((0, 1), 0)], "drawn control case")


@given(ds=st.just(DRAWN))
@control_examples(FIXED)
def _control(ds: Dataset) -> None:
    control_premise(ds, 0.1, 0.3, "a wrong answer too close")


def test_degenerate_control_fails_on_the_fixed_case() -> None:
    with pytest.raises(AssertionError, match=r"control premise.*fixed case"):
        _control()


def test_degenerate_control_on_drawn_cases_is_not_a_pass() -> None:
    @settings(max_examples=5, suppress_health_check=list(HealthCheck))
    @given(gap=st.floats(0.0, 0.29))
    def control(gap: float) -> None:
        control_premise(DRAWN, gap, 0.3, "a wrong answer too close")

    with pytest.raises((Unsatisfiable, FailedHealthCheck)):
        control()


def test_sound_control_passes_its_premise() -> None:
    @given(gap=st.floats(0.3, 2.0))
    def control(gap: float) -> None:
        control_premise(FIXED, gap, 0.3, "a wrong answer far enough")
        control_premise(DRAWN, gap, 0.3, "a wrong answer far enough")

    control()


def test_unbuilt_control_fails_on_the_fixed_case() -> None:
    with pytest.raises(AssertionError, match="not built"):
        control_premise(FIXED, None, 0.3, "a control that could not be built")
