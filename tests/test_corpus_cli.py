"""``ntp-mechanics corpus`` through the command line: what it writes, and every bad input
as one line on stderr with exit 2 and nothing already written lost."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ntp_mechanics.app.cli import main
from ntp_mechanics.model.dataset import load_dataset

TEXT = "the cat sat on the mat and the cat ate the rat; the mat sat on the cat.\n" * 3


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(["corpus", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture
def text(tmp_path: Path) -> Path:
    p = tmp_path / "t.txt"
    p.write_text(TEXT)
    return p


def test_writes_datasets_and_summary(tmp_path: Path, text: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    rc, stdout, _ = _run(capsys, str(text), "--unit", "word", "--window", "4", "--held-out",
                         "0.25", "--embeddings", "gaussian:3", "--out", str(out))
    assert rc == 0 and "corpus.json" in stdout
    doc = json.loads((out / "corpus.json").read_text())
    for key in ("K", "d", "windows", "kept_fraction", "edges", "acyclic_edges",
                "cyclic_edges", "scc_sizes", "datasets", "vocabulary", "timings_s"):
        assert key in doc, key
    train, held = (load_dataset(doc["datasets"][r]) for r in ("train", "heldout"))
    assert (train.K, train.d) == (doc["K"], doc["d"]) == (len(doc["vocabulary"]), 3)
    assert train.counts.sum() + held.counts.sum() == doc["windows"]
    assert train.n + held.n == doc["distinct_windows"]
    assert doc["acyclic_edges"] + doc["cyclic_edges"] == doc["edges"] > 0
    assert doc["vocabulary"][0] == "the"  # id 0 is the most frequent word
    # a training window drawn as text: its label occurs in it
    s = train.samples[0]
    assert doc["vocabulary"][s.label] in [doc["vocabulary"][t] for t in s.tokens]


def test_default_is_the_embedded_corpus(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, _ = _run(capsys, "--window", "4", "--vocab", "30", "--out", str(tmp_path / "o"))
    doc = json.loads((tmp_path / "o" / "corpus.json").read_text())
    assert rc == 0 and doc["source"] == ["pydoc_data.topics"] and doc["K"] == 30
    assert 0 < doc["kept_fraction"] < 1 and doc["windows_total"] > 100_000


def test_predict_and_train_read_the_written_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                           ) -> None:
    (tmp_path / "t.txt").write_text("abcabcabd abcab cab")
    assert _run(capsys, str(tmp_path / "t.txt"), "--window", "3", "--held-out", "0",
                "--out", str(tmp_path / "o"))[0] == 0
    assert main(["predict", str(tmp_path / "o" / "train.npz")]) == 0
    assert main(["train", str(tmp_path / "o" / "train.npz"), "--steps", "5", "--device", "cpu",
                 "--out", str(tmp_path / "w.json")]) == 0


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    binary = tmp_path / "bin.dat"
    binary.write_bytes(bytes(range(256)) * 4)
    nolabel = tmp_path / "nolabel.txt"
    nolabel.write_text("abcdefghijklmnopqrstuvwxyz")
    good = tmp_path / "good.txt"
    good.write_text(TEXT)
    K = len(set(TEXT))
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, E=np.ones((K + 1, 4)), F=np.ones((K, 4)))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    g = str(good)
    return {
        "empty file": ([str(empty)], "is empty"),
        "binary file": ([str(binary)], "not UTF-8"),
        "no window holds its label": ([str(nolabel), "--window", "3"], "contains its label"),
        "unknown unit": ([g, "--unit", "byte"], "unknown unit"),
        "window 0": ([g, "--window", "0"], "out of range"),
        "window too long": ([g, "--window", "100000"], "out of range"),
        "window longer than the text": ([g, "--window", "4000"], "too few"),
        "vocab 0": ([g, "--vocab", "0"], "out of range"),
        "held-out 1": ([g, "--held-out", "1"], "out of range"),
        "embedding wrong shape": ([g, "--embeddings", f"{wrong}:E"], "need"),
        "embedding without key": ([g, "--embeddings", f"{wrong}:G"], "has no array 'G'"),
        "embedding key needed": ([g, "--embeddings", str(wrong)], "name one"),
        "embedding file missing": ([g, "--embeddings", str(tmp_path / "no.npz")], "cannot read"),
        "embedding spec": ([g, "--embeddings", "gaussian:x"], "integer"),
        "missing text": ([str(tmp_path / "none.txt")], "cannot read"),
        "out is a file": ([g, "--out", str(blocker)], "not a directory"),
        "out under a file": ([g, "--out", str(blocker / "sub")], "not a directory"),
    }


CASES = sorted([
    "empty file", "binary file", "no window holds its label", "unknown unit", "window 0",
    "window too long", "window longer than the text", "vocab 0", "held-out 1",
    "embedding wrong shape", "embedding without key", "embedding key needed",
    "embedding file missing", "embedding spec", "missing text", "out is a file",
    "out under a file"])


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, case: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    argv, fragment = _bad_inputs(tmp_path)[case]
    if "--out" not in argv:
        argv = [*argv, "--out", str(tmp_path / "out")]
    rc, _, err = _run(capsys, *argv)
    assert rc == 2, err
    assert err.count("\n") == 1 and fragment in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()  # nothing created on bad input


def test_good_control_of_the_bad_inputs(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """The fixtures the bad cases alter are themselves accepted."""
    _bad_inputs(tmp_path)
    K = len(set(TEXT))
    ok = tmp_path / "ok.npz"
    np.savez(ok, E=np.ones((K, 4)))
    rc, _, err = _run(capsys, str(tmp_path / "good.txt"), "--window", "8", "--embeddings",
                      f"{ok}:E", "--out", str(tmp_path / "o"))
    assert rc == 0, err


def test_existing_corpus_is_not_lost(tmp_path: Path, text: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert _run(capsys, str(text), "--window", "4", "--out", str(out))[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    # refused without --force; a bad input with --force fails before writing anything
    rc, _, err = _run(capsys, str(text), "--window", "6", "--out", str(out))
    assert rc == 2 and "--force" in err
    rc, _, err = _run(capsys, str(text), "--window", "6", "--embeddings", "gaussian:0",
                      "--force", "--out", str(out))
    assert rc == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    # and --force does replace it (the control: the refusals above were not no-ops)
    assert _run(capsys, str(text), "--window", "6", "--force", "--out", str(out))[0] == 0
    assert json.loads((out / "corpus.json").read_text())["window"] == 6
    assert sorted(p.name for p in out.iterdir()) == sorted(before)  # no temporary left
