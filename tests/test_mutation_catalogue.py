"""The mutant catalogue of ``ci/mutation.py`` is in step with the code.

Every mutant's snippet occurs exactly once in its file (else the mutation run would
report it STALE), its replacement differs, its test selection names existing files,
and every mutant marked equivalent says why.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
AREAS = {"solvers", "kernel", "generators", "model", "corpora"}


def _tool():
    spec = importlib.util.spec_from_file_location("ntp_mutation", ROOT / "ci" / "mutation.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


TOOL = _tool()
MUTANTS = TOOL.load_catalogue()


@pytest.mark.parametrize("m", MUTANTS, ids=lambda m: m.id)
def test_snippet_present_exactly_once(m) -> None:
    assert TOOL.occurrences(m) == 1, f"{m.id}: update ci/mutants.py ({m.file} changed)"
    assert m.replacement != m.original and m.area in AREAS and m.description
    for t in m.tests:
        assert (ROOT / t.split("::")[0]).exists(), t


def test_catalogue_covers_every_area_and_explains_equivalents() -> None:
    assert {m.area for m in MUTANTS} == AREAS
    assert all(len(m.equivalent) > 20 for m in MUTANTS if m.equivalent)
    assert len({m.id for m in MUTANTS}) == len(MUTANTS)


def test_mutant_is_applied_and_restored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "module.py"
    target.write_text("x = 1\n")
    monkeypatch.setattr(TOOL, "ROOT", tmp_path)
    monkeypatch.setattr(TOOL, "BACKUP", tmp_path / ".mutation-backup")
    m = TOOL.Mutant("m", "solvers", "module.py", "x = 1", "x = 2", "d", ("t",))
    with TOOL.Applied(m):
        assert target.read_text() == "x = 2\n"
        assert (tmp_path / ".mutation-backup" / "module.py").read_text() == "x = 1\n"
    assert target.read_text() == "x = 1\n" and not (tmp_path / ".mutation-backup").exists()
    # an interrupted run leaves its backup: the next run restores the file first
    (tmp_path / ".mutation-backup").mkdir()
    (tmp_path / ".mutation-backup" / "module.py").write_text("x = 1\n")
    target.write_text("x = 2\n")
    assert TOOL.restore_leftovers() == ["module.py"] and target.read_text() == "x = 1\n"
