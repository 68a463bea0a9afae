"""The pytest plugin leaves a user's Hypothesis settings alone and gives the package's
own claim modules settings they can run under; ``$NTP_HYPOTHESIS_DATABASE`` selects
the example database.

Each test runs ``python -m pytest`` in a temporary folder (no conftest, no
configuration) with a minimal environment: no ``$CI`` (which would make Hypothesis
load its own ``ci`` profile) and no ``NTP_*`` variable unless the test sets one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ntp_mechanics.app.plugin import example_database
from ntp_mechanics.kernel.environment import DATABASE_ENV, PROFILE_ENV

OURS = "ntp_mechanics.theorems.fact_F2_zero_iff_no_acyclic"

USER_TESTS = f'''
import sys
import time

from hypothesis import Phase, given, settings, strategies as st


def test_ours_have_no_deadline():
    # by file name: an editable install may import it as theorems.fact_F2_...
    mod = next(m for n, m in sys.modules.items() if n.endswith(".{OURS.rsplit('.', 1)[1]}"))
    tests = [v for k, v in vars(mod).items() if k.startswith("test_") and hasattr(v, "hypothesis")]
    assert tests and all(t._hypothesis_internal_use_settings.deadline is None for t in tests)


def test_user_profile_untouched():
    print("PROFILE", settings.get_current_profile_name(), settings.get_profile("ci").max_examples)


@settings(max_examples=2, phases=[Phase.generate])  # no shrinking: seconds, not minutes
@given(st.integers())
def test_user_slow(x):
    time.sleep(0.25)  # over Hypothesis's default 200 ms deadline
'''


def run_pytest(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: os.environ[k] for k in ("PATH", "HOME") if k in os.environ}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-s",
                           *args], cwd=tmp_path, env=base | {"OMP_NUM_THREADS": "1"} | env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_user_settings_kept_and_own_modules_get_dev(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(USER_TESTS)
    args = ("--pyargs", OURS, "test_user.py", "-k", "user or ours")
    plain = run_pytest(tmp_path, *args)
    out = plain.stdout + plain.stderr
    # the user's default profile is active, Hypothesis's own ci profile intact, and the
    # user's slow test meets Hypothesis's default deadline
    assert "PROFILE default 100" in out
    assert "DeadlineExceeded" in out and "1 failed, 2 passed" in out, out[-3000:]
    # control: naming the package's profile applies it to the whole session
    named = run_pytest(tmp_path, *args, **{PROFILE_ENV: "dev"})
    out = named.stdout + named.stderr
    assert named.returncode == 0 and "PROFILE dev 100" in out, out[-3000:]


FAILING = '''
from hypothesis import given, strategies as st


@given(st.integers(0, 10**6))
def test_small(x):
    assert x < 1000
'''


def test_database_variable_saves_counterexamples(tmp_path: Path) -> None:
    (tmp_path / "test_fail.py").write_text(FAILING)
    run = run_pytest(tmp_path, "test_fail.py", **{PROFILE_ENV: "ci"})
    assert run.returncode == 1
    assert not (tmp_path / "db").exists()
    db = tmp_path / "db"
    for _ in range(2):  # found, saved; then replayed from the folder
        run = run_pytest(tmp_path, "test_fail.py", "--hypothesis-show-statistics",
                         **{PROFILE_ENV: "ci", DATABASE_ENV: str(db)})
        assert run.returncode == 1 and "x=1000" in run.stdout, run.stdout[-3000:]
        assert any(p.is_file() for p in db.rglob("*"))
    assert "during reuse phase" in run.stdout


def test_example_database_specs() -> None:
    from hypothesis.database import DirectoryBasedExampleDatabase, MultiplexedDatabase

    assert isinstance(example_database("some/folder"), DirectoryBasedExampleDatabase)
    multi = example_database("github:me/repo/my-db")
    assert isinstance(multi, MultiplexedDatabase)
    shared = multi._wrapped[1]._wrapped  # read-only wrapper around the GitHub artifact
    assert (shared.owner, shared.repo, shared.artifact_name) == ("me", "repo", "my-db")
    with pytest.raises(pytest.UsageError, match="OWNER/REPO"):
        example_database("github:me")
