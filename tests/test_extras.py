"""Optional extras: a command whose extra is missing says which one in one line, exit 2.

The packages of the ``dask`` extra are blocked in ``sys.modules`` (an import of a name
mapped to None raises ImportError), as if the core install had been made without it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import tomllib

from ntp_mechanics import __version__
from ntp_mechanics.app import claims as claims_cmd
from ntp_mechanics.app import cli

ROOT = Path(__file__).resolve().parents[1]
HINT = "ntp-mechanics sweep needs the 'dask' extra: pip install 'ntp-mechanics[dask]'"


@pytest.fixture
def no_dask(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in cli.EXTRAS["dask"]:
        monkeypatch.setitem(sys.modules, name, None)


def test_sweep_without_the_extra_is_one_line_exit_2(
        no_dask: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "runs"
    rc = cli.main(["sweep", "--out", str(out), "--grid", "K=3 d=3 n=2 T=3", "--trials", "1"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.strip().splitlines() == [f"ntp-mechanics: error: {HINT}"]
    assert not out.exists()  # checked before any work


def test_other_commands_need_no_extra(no_dask: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["claims"]) == 0
    assert "needs the" not in capsys.readouterr().err
    assert all(cli.needs_extra(c) is None for c in cli.COMMANDS if c not in cli.COMMAND_EXTRAS)


def test_an_import_error_of_an_extra_at_run_time_is_one_line(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A lazily imported extra package that fails inside a command: the same hint."""
    def run(args: object) -> int:
        import pyarrow.parquet  # noqa: F401

        return 0

    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setattr(claims_cmd, "run", run)
    assert cli.main(["claims"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "ntp-mechanics: error: ntp-mechanics claims needs the 'dask' extra: "
        "pip install 'ntp-mechanics[dask]'"]


def test_control_an_unrelated_import_error_is_not_disguised(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Control: a missing package that no extra installs is a bug, not a hint."""
    def run(args: object) -> int:
        raise ModuleNotFoundError("No module named 'nonexistent_pkg'", name="nonexistent_pkg")

    monkeypatch.setattr(claims_cmd, "run", run)
    with pytest.raises(ModuleNotFoundError):
        cli.main(["claims"])
    assert cli.extra_of(ModuleNotFoundError(name="nonexistent_pkg")) is None


def test_extras_table_matches_pyproject() -> None:
    """The CLI's table of extras is the one pyproject declares, package for package."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["optional-dependencies"]
    for extra, packages in cli.EXTRAS.items():
        reqs = " ".join(declared[extra]).lower()
        assert all(pkg in reqs for pkg in packages), (extra, reqs)
        core = " ".join(project["dependencies"]).lower()
        assert not any(pkg in core for pkg in packages), f"{extra} packages in the core"
    assert set(cli.COMMAND_EXTRAS.values()) <= set(declared)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"ntp-mechanics {__version__}"


def test_a_command_module_that_cannot_import_its_extra_still_exists(
        no_dask: None, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A command module importing an extra's package at import time keeps its name."""
    real = cli.importlib.import_module

    def fake(name: str) -> object:
        if name == "ntp_mechanics.app.sweep":
            raise ModuleNotFoundError("No module named 'pyarrow'", name="pyarrow")
        return real(name)

    monkeypatch.setattr(cli.importlib, "import_module", fake)
    monkeypatch.setattr(cli, "COMMAND_EXTRAS", {})
    assert cli.main(["sweep", "--out", "x", "--grid", "K=3"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [f"ntp-mechanics: error: {HINT}"]
