"""``ntp-mechanics check`` and ``claims``, and the verdict rules they rest on.

``check`` must say CONSISTENT (exit 0) for weights from the paper's protocol
(normalised GD, lr 0.01, 4000 steps from zero) whoever implemented it, CONTRADICTS
(exit 1) for negated weights, weights trained on another dataset of the same shape and
random weights of a large norm, INCONCLUSIVE (exit 3) for barely trained weights, and
exit 2 for bad input.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ntp_mechanics.app.cli import main
from ntp_mechanics.generators import seeded
from ntp_mechanics.kernel.verdict import ClaimResult, Verdict, judge_decay, limit_of_decaying
from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.solvers.loss import LogLoss

SCALES = [1, 2, 4, 8, 16]


def paper_dataset(seed: int, K: int = 6, d: int = 6, n: int = 6, T: int = 4) -> Dataset:
    """The paper's protocol: unit-norm embeddings, uniform tokens, label from the sequence."""
    return seeded.paper_dataset(seed, K, d, n, T, max_cond=1e3)


def ngd_torch(ds: Dataset, steps: int = 4000) -> np.ndarray:
    from ntp_mechanics.solvers.training import TrainConfig, train

    return train(ds, TrainConfig(optimizer="ngd", lr=0.01, steps=steps, device="cpu")).W


def ngd_numpy(ds: Dataset, steps: int = 4000, lr: float = 0.01) -> np.ndarray:
    """An independent implementation: the exact fp64 gradient of ntp_mechanics.solvers.loss."""
    loss, W = LogLoss(ds), np.zeros((ds.d, ds.d))
    for _ in range(steps):
        g = loss.grad(W)
        W = W - lr * g / np.linalg.norm(g)
    return W


def run_check(tmp_path: Path, ds: Dataset, W: np.ndarray, *extra: str) -> int:
    ds.save(tmp_path / "ds.json")
    (tmp_path / "w.json").write_text(json.dumps({"W": np.asarray(W).tolist()}))
    return main(["check", str(tmp_path / "ds.json"), "--weights", str(tmp_path / "w.json"),
                 *extra])


@pytest.fixture(scope="module")
def trained() -> tuple[Dataset, np.ndarray]:
    ds = paper_dataset(3)
    return ds, ngd_torch(ds)


def test_paper_protocol_weights_are_consistent(tmp_path: Path, trained) -> None:
    ds, W = trained
    assert run_check(tmp_path, ds, W) == 0


def test_independent_numpy_implementation_is_consistent(tmp_path: Path) -> None:
    ds = paper_dataset(4)
    assert run_check(tmp_path, ds, ngd_numpy(ds)) == 0


def test_plain_gd_weights_are_consistent(tmp_path: Path) -> None:
    from ntp_mechanics.solvers.training import TrainConfig, train

    ds = paper_dataset(6)
    W = train(ds, TrainConfig(optimizer="gd", lr=1.0, steps=20_000, device="cpu")).W
    assert run_check(tmp_path, ds, W) == 0


def test_negated_weights_contradict(tmp_path: Path, trained) -> None:
    ds, W = trained
    assert run_check(tmp_path, ds, -W) == 1


def test_weights_of_another_dataset_contradict(tmp_path: Path, trained) -> None:
    ds, _ = trained
    assert run_check(tmp_path, ds, ngd_torch(paper_dataset(5))) == 1


def test_random_large_weights_contradict(tmp_path: Path, trained) -> None:
    ds, W = trained
    R = np.random.default_rng(0).standard_normal(W.shape)
    assert run_check(tmp_path, ds, R * np.linalg.norm(W) / np.linalg.norm(R)) == 1


def test_barely_trained_weights_are_inconclusive(tmp_path: Path, trained) -> None:
    ds, _ = trained
    assert run_check(tmp_path, ds, ngd_torch(ds, steps=10)) == 3


def test_strongly_connected_dataset(tmp_path: Path) -> None:
    ds = Dataset.from_arrays(np.eye(3), [((0, 1, 2), 0), ((1, 2, 2), 1), ((0, 2), 2)])
    W = ngd_torch(ds)
    assert run_check(tmp_path, ds, W) == 0
    # -W_fin is sound to reject only for a known start: from zero, L(-W) > L(0)
    assert run_check(tmp_path, ds, -W, "--init-norm", "0") == 1
    assert run_check(tmp_path, ds, -W) == 3


def test_bad_input_exits_2(tmp_path: Path, trained, capsys: pytest.CaptureFixture) -> None:
    ds, _ = trained
    assert run_check(tmp_path, ds, np.eye(3)) == 2
    assert "must be a 6 x 6 matrix" in capsys.readouterr().err
    assert main(["check", str(tmp_path / "missing.json"), "--weights", "x.json"]) == 2


def test_json_report(tmp_path: Path, trained, capsys: pytest.CaptureFixture) -> None:
    ds, W = trained
    assert run_check(tmp_path, ds, W, "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "consistent"
    assert {c["claim"] for c in report["claims"]} >= {"B", "C", "D"}
    assert report["metrics"]["path_err"] < 0.2


def test_claims_registry(capsys: pytest.CaptureFixture) -> None:
    assert main(["claims", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    ids = [r["id"] for r in rows]
    assert ids == ["A", "B", "C", "D", "E", *(f"F{i}" for i in range(1, 9)),
                   *(f"C{i}" for i in range(1, 9))]
    for r in rows:
        if r["module"] is not None:
            assert r["module"].startswith("theorems/") and r["module"].endswith(".py")
    assert all(r["module"] for r in rows if r["kind"] == "theorem")


# -- the verdict rules -----------------------------------------------------------------------
def test_combine_is_pessimistic() -> None:
    c, i, x = Verdict.CONSISTENT, Verdict.INCONCLUSIVE, Verdict.CONTRADICTS
    assert Verdict.combine([c, c]) is c
    assert Verdict.combine([c, i]) is i
    assert Verdict.combine([i, x, c]) is x
    assert Verdict.combine([]) is i
    assert [v.exit_code for v in (c, x, i)] == [0, 1, 3]


def test_decay_rules() -> None:
    # THEORY.md section 7's regularization-path errors: consistent
    path = limit_of_decaying([10, 20, 40, 80, 160], [0.68, 0.44, 0.24, 0.13, 0.075])
    assert judge_decay(path, tol=0.05, large=0.15).verdict is Verdict.CONSISTENT
    # the same errors measured against a wrong direction 0.8 away: a plateau
    wrong = limit_of_decaying(SCALES, [0.95, 0.88, 0.84, 0.82, 0.81])
    assert judge_decay(wrong, tol=0.05, large=0.15).verdict is Verdict.CONTRADICTS
    # slow, still decaying: undecided, never contradicts
    slow = limit_of_decaying(SCALES, [0.9, 0.8, 0.7, 0.6, 0.5])
    assert judge_decay(slow, tol=0.05, large=0.15).verdict is Verdict.INCONCLUSIVE
    # too few certified points
    few = limit_of_decaying(SCALES, [0.5, 0.3, None, None, None])
    assert judge_decay(few, tol=0.05, large=0.15).verdict is Verdict.INCONCLUSIVE
    # exponential decay down to a noise floor, and a plateau approached from below
    floor = limit_of_decaying(SCALES, [0.3, 0.05, 0.004, 0.006, 0.005], model="exp")
    assert judge_decay(floor, tol=0.02, large=0.1, converged=0.02).verdict is Verdict.CONSISTENT
    rising = limit_of_decaying(SCALES, [0.1, 0.25, 0.3, 0.31, 0.31], model="exp")
    assert judge_decay(rising, tol=0.02, large=0.1).verdict is Verdict.CONTRADICTS


def test_claim_result_report_carries_the_dataset() -> None:
    r = ClaimResult("A", Verdict.CONTRADICTS, {"x": np.float64(1.5), "v": np.arange(2)}, "why")
    text = r.report('{"embeddings": [[1.0]]}')
    assert "A: contradicts - why" in text and '"x": 1.5' in text and "embeddings" in text
