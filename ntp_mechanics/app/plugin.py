"""The ntp-mechanics pytest plugin, registered through the ``pytest11`` entry point.

Installing the package is all a repository needs: no ``conftest.py`` and no
configuration.  The plugin

* registers the markers ``theorem``, ``fact``, ``conjecture``, ``slow`` and ``gpu``
  (``gpu`` tests skip where ``torch.cuda.is_available()`` is False);
* selects Hypothesis settings without touching a user's own: the profiles ``ci``,
  ``dev`` and ``thorough`` (:mod:`ntp_mechanics.generators.profiles`) are registered
  only when the session names one (``--hypothesis-profile`` or
  ``$NTP_HYPOTHESIS_PROFILE``, which it then loads); otherwise the package's own claim
  modules (:mod:`ntp_mechanics.theorems`) are imported under ``dev`` - no deadline,
  their examples take seconds - and every other module under the user's settings;
* uses the example database named by ``$NTP_HYPOTHESIS_DATABASE`` (:func:`example_database`:
  a folder, or ``github:OWNER/REPO[/ARTIFACT]`` for the artifact a CI run uploaded), so
  a counterexample found on CI replays on a laptop;
* collects claim modules by their file names (``claim_<ID>_*.py``, ``fact_<ID>_*.py``,
  ``conjecture_<ID>_*.py``) wherever they are, so ``pytest --pyargs
  ntp_mechanics.theorems`` and a user's own ``conjecture_C9_mine.py`` run as they are;
* loads the conjecture plugin (:mod:`ntp_mechanics.app.conjecture_plugin`):
  ``--gate-conjectures``, ``--conjecture-dir``, counterexample files and the
  ``conjectures`` section of the terminal summary;
* hands each test's verdicts (:func:`ntp_mechanics.kernel.verdict.record`) to the
  report of the phase that recorded them, as its attribute ``ntp_verdicts``
  (:data:`ntp_mechanics.app.suite_run.VERDICTS`), which pytest-xdist carries from its
  workers to the controller; ``gate`` and ``report`` read them there;
* ``--ntp-trainer MODULE:FUNCTION``: runs claims B-E on the user's trainer
  (:mod:`ntp_mechanics.theorems.trainer_claims`, added to the run); a trainer that
  cannot be imported, raises or returns a wrong shape ends the run with exit code 2;
  ``--ntp-init-norm B0`` states its initialisation's norm bound (as ``check
  --init-norm``).

Loading it costs neither torch nor cvxpy.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest

from ntp_mechanics.app.suite_run import VERDICTS
from ntp_mechanics.kernel.claims import CLAIM_FILE, theorems_dir
from ntp_mechanics.kernel.environment import DATABASE_ENV, PROFILE_ENV

pytest_plugins = ["ntp_mechanics.app.conjecture_plugin"]

MARKERS = (
    "theorem: a claim of the paper (A-E)",
    "fact: an exact consequence of the definitions (F1-F8)",
    "slow: long-running (trains attention for thousands of steps)",
    "gpu: needs CUDA; skipped when torch.cuda.is_available() is False",
)
LOCAL_DATABASE = ".hypothesis/examples"  # Hypothesis's own default folder


def example_database(spec: str) -> Any:
    """The Hypothesis example database ``spec`` names.

    ``github:OWNER/REPO`` (optionally ``/ARTIFACT``, default ``hypothesis-example-db``):
    the local folder ``.hypothesis/examples`` read-write, multiplexed with the latest
    artifact of that name uploaded by the repository's GitHub Actions runs, read-only
    (:class:`hypothesis.database.GitHubArtifactDatabase`; needs ``$GITHUB_TOKEN``; no
    network until a test runs).  Anything else is a folder, read-write.

    >>> type(example_database("github:me/repo")).__name__
    'MultiplexedDatabase'
    """
    from hypothesis.database import (
        DirectoryBasedExampleDatabase,
        GitHubArtifactDatabase,
        MultiplexedDatabase,
        ReadOnlyDatabase,
    )

    if not spec.startswith("github:"):
        return DirectoryBasedExampleDatabase(spec)
    owner, _, rest = spec.removeprefix("github:").partition("/")
    repo, _, artifact = rest.partition("/")
    if not owner or not repo:
        raise pytest.UsageError(f"{DATABASE_ENV}={spec!r}: expected github:OWNER/REPO[/ARTIFACT]")
    shared = GitHubArtifactDatabase(owner, repo, artifact_name=artifact or "hypothesis-example-db")
    return MultiplexedDatabase(DirectoryBasedExampleDatabase(LOCAL_DATABASE),
                               ReadOnlyDatabase(shared))


_TRAINER_BROKEN = pytest.StashKey[str]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("ntp-mechanics").addoption(
        "--ntp-trainer", dest="ntp_trainer", default=None, metavar="MODULE:FUNCTION",
        help="check claims B-E on FUNCTION(dataset) -> W (d x d, score e_x^T W e_query), "
             "MODULE importable from the current folder")
    parser.getgroup("ntp-mechanics").addoption(
        "--ntp-init-norm", dest="ntp_init_norm", type=float, default=None, metavar="B0",
        help="bound on the trainer's ||W(0)|| for the sound rules (default sqrt(d), "
             "PyTorch's default init; 0 for a zero start)")


@pytest.hookimpl(tryfirst=True)  # before Hypothesis's plugin loads --hypothesis-profile
def pytest_configure(config: pytest.Config) -> None:
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    spec = config.getoption("ntp_trainer", None)
    if spec:
        _add_trainer_claims(config, spec)
    from hypothesis import settings

    from ntp_mechanics.generators import profiles

    option = config.getoption("hypothesis_profile", None)
    env = os.environ.get(PROFILE_ENV)
    asked = tuple(n for n in (option, env) if n in profiles.PROFILES)
    profiles.register(asked)  # only the names this session asks for (and OWN)
    _CHOSEN.update(asked)
    database = os.environ.get(DATABASE_ENV)
    if database:
        # a database needs random generation: derandomize=True implies database=None
        db = example_database(database)
        target = option or env or settings.get_current_profile_name()
        for name in {target, profiles.OWN}:
            settings.register_profile(name, settings.get_profile(name), derandomize=False,
                                      database=db)
    if env and not option:  # Hypothesis's own option wins; its plugin applies it next
        settings.load_profile(env)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, Any, None]:
    """Import the package's own claim modules under ``dev`` unless the session chose
    one of the package's profiles: Hypothesis reads the active profile when a test is
    decorated, so this sets theirs and leaves the user's modules alone."""
    path = getattr(collector, "path", None)
    own = isinstance(collector, pytest.File) and path is not None and _own_claim_module(path)
    from hypothesis import settings

    from ntp_mechanics.generators import profiles

    current = settings.get_current_profile_name()
    if not own or current in _CHOSEN:
        yield
        return
    settings.load_profile(profiles.OWN)
    try:
        yield
    finally:
        settings.load_profile(current)


def _own_claim_module(path: Path) -> bool:
    return bool(CLAIM_FILE.match(path.name)) and path.parent.resolve() == _THEOREMS


_THEOREMS = theorems_dir().resolve()
_CHOSEN: set[str] = set()  # the package's profiles this session asked for by name


def _add_trainer_claims(config: pytest.Config, spec: str) -> None:
    """Import the trainer now (exit 2 if broken) and collect the trainer's claims."""
    from ntp_mechanics.kernel.user_trainer import TrainerError, load_trainer

    try:
        load_trainer(spec)
    except TrainerError as exc:
        pytest.exit(str(exc), returncode=2)
    module = str(theorems_dir() / "trainer_claims.py")
    if module not in config.args:
        config.args.append(module)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo) -> Generator[None, Any, None]:
    """Attach the verdicts recorded in this phase to its report; remember a broken
    trainer (the run then ends with exit code 2, not 1)."""
    from ntp_mechanics.kernel.verdict import take_verdicts  # numpy: not at plugin load

    outcome = yield
    verdicts = take_verdicts()
    if verdicts:
        outcome.get_result().__dict__[VERDICTS] = verdicts
    if call.excinfo is not None and item.config.getoption("ntp_trainer", None):
        from ntp_mechanics.kernel.user_trainer import TrainerError

        if call.excinfo.errisinstance(TrainerError):
            item.config.stash[_TRAINER_BROKEN] = str(call.excinfo.value)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _TRAINER_BROKEN in session.config.stash:
        session.exitstatus = 2


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    """Claim modules are test modules whatever the repository's ``python_files``."""
    if file_path.suffix != ".py" or not CLAIM_FILE.match(file_path.name):
        return None
    patterns = parent.config.getini("python_files")
    if any(fnmatch(file_path.name, p) for p in patterns) or parent.session.isinitpath(file_path):
        return None  # pytest's own collector takes it
    return pytest.Module.from_parent(parent, path=file_path)


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
