"""The ``predict`` command: output format, exit codes, one-line errors without tracebacks.

In-process runs go through :func:`ntp_mechanics.app.cli.main`; a few subprocess runs of
``python -m ntp_mechanics predict`` check the real entry point (each pays the cvxpy
import, so only a handful).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ntp_mechanics.app.cli import main
from ntp_mechanics.model.errors import InconclusiveError

Writer = Callable[..., Path]

CHAIN = {
    "embeddings": np.eye(3).tolist(),
    "samples": [{"tokens": [0, 1, 2], "label": 0}, {"tokens": [1, 2], "label": 1}],
}
CYCLE = {
    "name": "two-cycle",
    "embeddings": np.eye(3).tolist(),
    "samples": [{"tokens": [0, 1, 2], "label": 0}, {"tokens": [1, 0, 2], "label": 1}],
}
INFEASIBLE = {
    "embeddings": [[1.0], [0.5], [0.75]],  # K = 3 > d = 1, see test_graph_svm
    "samples": [{"tokens": [0, 1, 2], "label": 0}, {"tokens": [1, 2], "label": 1}],
}
KEYS = {
    "W_svm",
    "W_fin",
    "sccs",
    "norm_W_svm",
    "L_star",
    "dim_S_fin",
    "dim_S_all",
    "acyclic_edges",
    "cyclic_edges",
    "margins",
    "certificates",
    "solver",
}


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_predict_writes_all_keys(write_json: Writer, capsys: pytest.CaptureFixture[str]) -> None:
    src, dst = write_json(CYCLE), write_json("", "pred.json")
    code, _, err = _run(["predict", str(src), "--out", str(dst)], capsys)
    assert code == 0 and "wrote" in err
    pred = json.loads(dst.read_text())
    assert KEYS <= set(pred) and "W_svm_nuc" not in pred
    assert pred["sccs"] == {"2": [[0, 1], [2]]}  # highest priority first
    assert pred["dim_S_fin"] == 1 and pred["dim_S_all"] == 2
    assert pred["cyclic_edges"] == [[0, 1, 2], [1, 0, 2]]
    assert sorted(pred["acyclic_edges"]) == [[0, 2, 2], [1, 2, 2]]
    W = np.array(pred["W_svm"])
    for key, m in pred["margins"].items():
        edge, k = key.split("|")
        i, j = map(int, edge.split("->"))
        assert m == pytest.approx((W[i, :] - W[j, :])[int(k)], abs=1e-9)  # E = I
    assert pred["margins"]["0->1|2"] == pytest.approx(0, abs=1e-8)
    assert pred["margins"]["0->2|2"] >= 1 - 1e-8
    assert pred["L_star"] == pytest.approx(math.log(2), abs=1e-8)  # 0, 1 tie by symmetry


def test_chain_sccs_and_stdout(write_json: Writer, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["predict", str(write_json(CHAIN))], capsys)
    pred = json.loads(out)
    assert code == 0 and pred["sccs"] == {"2": [[0], [1], [2]]}
    assert pred["dim_S_fin"] == 0 and not np.any(pred["W_fin"]) and pred["L_star"] == 0.0
    assert pred["margins"]["0->2|2"] >= 2 - 1e-6  # F3: 0 => 1 => 2 adds two margins


def test_nuclear_flag(write_json: Writer, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["predict", str(write_json(CHAIN)), "--nuclear"], capsys)
    pred = json.loads(out)
    assert code == 0 and "W_svm_nuc" in pred and "W_svm_nuc" in pred["certificates"]
    nuc = np.linalg.norm(np.array(pred["W_svm_nuc"]), "nuc")
    assert nuc <= np.linalg.norm(np.array(pred["W_svm"]), "nuc") + 1e-6


def _nan_text(literal: str) -> str:
    return json.dumps(CHAIN).replace("1.0", literal, 1)


BAD_INPUTS: dict[str, object] = {
    "invalid JSON": '{"embeddings": [[1, 0]], "samples": [',
    "empty file": "",
    "top-level list": [1, 2, 3],
    "missing embeddings": {"samples": CHAIN["samples"]},
    "missing samples": {"embeddings": CHAIN["embeddings"]},
    "ragged embeddings": {**CHAIN, "embeddings": [[1, 0, 0], [0, 1], [0, 0, 1]]},
    "NaN literal": _nan_text("NaN"),
    "Infinity literal": _nan_text("Infinity"),
    "-Infinity literal": _nan_text("-Infinity"),
    "huge number overflows to inf": _nan_text("1e999"),
    "token out of range": {**CHAIN, "samples": [{"tokens": [0, 3], "label": 0}]},
    "negative token": {**CHAIN, "samples": [{"tokens": [-1, 2], "label": 2}]},
    "label out of range": {**CHAIN, "samples": [{"tokens": [0], "label": 9}]},
    "empty sequence": {**CHAIN, "samples": [{"tokens": [], "label": 0}]},
    "no samples": {**CHAIN, "samples": []},
    "label absent from its sequence": {**CHAIN, "samples": [{"tokens": [0, 1], "label": 2}]},
    "tokens not a list": {**CHAIN, "samples": [{"tokens": 3, "label": 0}]},
    "string token": {**CHAIN, "samples": [{"tokens": ["0", 1], "label": 1}]},
    "float label": {**CHAIN, "samples": [{"tokens": [0, 1], "label": 1.5}]},
    "null label": {**CHAIN, "samples": [{"tokens": [0, 1], "label": None}]},
    "string embedding": {**CHAIN, "embeddings": "identity"},
    "string in embedding row": {**CHAIN, "embeddings": [[1, 0, "a"], [0, 1, 0], [0, 0, 1]]},
    "empty embeddings": {**CHAIN, "embeddings": []},
    "samples not a list": {**CHAIN, "samples": {"tokens": [0], "label": 0}},
    "K > d infeasible": INFEASIBLE,
}


def _assert_one_line_error(code: int, err: str) -> None:
    assert code == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ntp-mechanics: error: "), err


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_exits_2(
    case: str, write_json: Writer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    dst = tmp_path / "pred.json"
    code, out, err = _run(["predict", str(write_json(BAD_INPUTS[case])), "--out", str(dst)], capsys)
    _assert_one_line_error(code, err)
    assert not dst.exists() and not out  # nothing half-written


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["predict", str(tmp_path / "absent.json")], capsys)
    _assert_one_line_error(code, err)
    assert "cannot read" in err


def test_directory_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _assert_one_line_error(*_run(["predict", str(tmp_path)], capsys)[::2])


def test_infeasible_message_names_the_cause(
    write_json: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, err = _run(["predict", str(write_json(INFEASIBLE))], capsys)
    assert "infeasible" in err and "query token 2" in err


@pytest.mark.parametrize(("method", "module", "name"), [
    ("joint", "predictions", "graph_svm"),
    ("columns", "column_predictions", "column_graph_svm"),
])
def test_inconclusive_exits_3(
    method: str, module: str, name: str,
    write_json: Writer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    def fail(*args: object, **kwargs: object) -> None:
        raise InconclusiveError("certificate failed: gap 1e-2\nsecond line")

    monkeypatch.setattr(importlib.import_module(f"ntp_mechanics.solvers.{module}"), name, fail)
    code, _, err = _run(["predict", str(write_json(CHAIN)), "--method", method], capsys)
    assert code == 3 and "Traceback" not in err
    assert err.strip() == "ntp-mechanics: error: inconclusive: certificate failed: gap 1e-2"


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["predict"])
    assert info.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


# -- the real entry point ---------------------------------------------------------------
def _module(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ntp_mechanics", "predict", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_subprocess_ok(write_json: Writer, tmp_path: Path) -> None:
    dst = tmp_path / "out.json"
    proc = _module(str(write_json(CYCLE)), "--out", str(dst), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert KEYS <= set(json.loads(dst.read_text()))


@pytest.mark.parametrize(
    "case", ["NaN literal", "K > d infeasible", "label absent from its sequence"]
)
def test_subprocess_bad_input(case: str, write_json: Writer, tmp_path: Path) -> None:
    proc = _module(str(write_json(BAD_INPUTS[case])), cwd=tmp_path)
    _assert_one_line_error(proc.returncode, proc.stderr)
    assert proc.stdout == ""


def test_subprocess_missing_file(tmp_path: Path) -> None:
    proc = _module(str(tmp_path / "absent.json"), cwd=tmp_path)
    _assert_one_line_error(proc.returncode, proc.stderr)


# -- vocabulary scale: the column path, the .npz output, the memory estimate -------------
def test_column_and_joint_paths_agree(write_json: Writer, capsys: pytest.CaptureFixture[str]
                                      ) -> None:
    src = write_json(CYCLE)
    _, col, _ = _run(["predict", str(src), "--method", "columns"], capsys)
    _, joint, _ = _run(["predict", str(src), "--method", "joint"], capsys)
    a, b = json.loads(col), json.loads(joint)
    assert a["solver"]["W_svm"]["formulation"] == "by-column"
    assert b["solver"]["W_svm"]["formulation"] != "by-column"
    assert np.allclose(a["W_svm"], b["W_svm"], atol=1e-6)
    assert np.allclose(a["W_fin"], b["W_fin"], atol=1e-8)
    assert a["sccs"] == b["sccs"] and a["margins"].keys() == b["margins"].keys()
    for out in (a, b):
        assert set(out["solver"]["phases"]) == {"load", "graphs", "W_svm", "W_fin"}


def test_npz_output(write_json: Writer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
                    ) -> None:
    dst = tmp_path / "pred.npz"
    code, _, err = _run(["predict", str(write_json(CYCLE)), "--out", str(dst)], capsys)
    assert code == 0 and "W_svm" in err and not (tmp_path / "pred.npz.part").exists()
    with np.load(dst) as z:
        summary = json.loads(str(z["summary"]))
        edges, margins, cyc = z["edges"], z["margins"], z["cyclic"]
        W = z["W_svm"]
    assert summary["dim_S_fin"] == 1 and summary["certificates"]["W_svm"]["gap"] <= 1e-5
    assert np.allclose(margins, W[edges[:, 0], edges[:, 2]] - W[edges[:, 1], edges[:, 2]])
    assert np.all(np.abs(margins[cyc]) <= 1e-8) and np.all(margins[~cyc] >= 1 - 1e-8)


@pytest.mark.parametrize("method", ["columns", "joint"])
def test_too_large_exits_2(method: str, write_json: Writer, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
                           ) -> None:
    import ntp_mechanics.solvers.memory as memory

    monkeypatch.setattr(memory, "available_bytes", lambda: 1000)
    dst = tmp_path / "pred.json"
    code, _, err = _run(["predict", str(write_json(CYCLE)), "--out", str(dst),
                         "--method", method], capsys)
    _assert_one_line_error(code, err)
    assert "needs about" in err and "available" in err and " fit" in err and not dst.exists()


def test_columns_need_orthonormal(write_json: Writer, capsys: pytest.CaptureFixture[str]
                                  ) -> None:
    ds = {**CHAIN, "embeddings": [[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]}
    code, _, err = _run(["predict", str(write_json(ds)), "--method", "columns"], capsys)
    _assert_one_line_error(code, err)
    assert "orthonormal" in err


def test_workers_must_be_positive(write_json: Writer, capsys: pytest.CaptureFixture[str]
                                  ) -> None:
    code, _, err = _run(["predict", str(write_json(CYCLE)), "--workers", "0"], capsys)
    _assert_one_line_error(code, err)
    assert "--workers" in err
