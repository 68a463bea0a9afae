"""``check`` on weights trained by someone else's code, from PyTorch's default init.

The authors' protocol (THEORY.md section 8): a bias-free ``nn.Linear(d, d)`` in
PyTorch's default initialisation, score ``x_t^T W z``, full-batch gradient divided by
its Frobenius norm, lr 0.01, 4000 steps, fp64.  The trainer below is written here,
independently of :mod:`ntp_mechanics.solvers.training`; the datasets are batched into
one padded tensor so that one backward pass trains all of them (zero-padded
embedding coordinates give the padded weight entries a zero gradient, and each
dataset's gradient is normalised on its own, so every run is exactly its own).

``check`` must say CONSISTENT on every one of these runs (the part of the random
start outside S_all, which gradient descent never moves, is only reported), and
CONTRADICTS (exit 1) for negated weights, weights trained on another dataset and
random weights of the same norm.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from ntp_mechanics import check
from ntp_mechanics.app.cli import main
from ntp_mechanics.generators import seeded
from ntp_mechanics.kernel.claim_support import STRONGLY_CONNECTED
from ntp_mechanics.kernel.evidence.weights import init_bound
from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.solvers.predictions import predict

# (K, d, n, T): K from 3 to 16, the authors' n/T ranges
SPECS = [(3, 4, 4, 3), (4, 4, 5, 4), (6, 8, 6, 4), (6, 8, 6, 4), (8, 8, 10, 6), (8, 8, 4, 6),
         (10, 12, 10, 6), (12, 12, 12, 6), (16, 16, 14, 8), (5, 6, 6, 5)]


def paper_datasets() -> list[Dataset]:
    out = [seeded.paper_dataset(100 + i, K, d, n, T, max_cond=1e3)
           for i, (K, d, n, T) in enumerate(SPECS)]
    return [*out, STRONGLY_CONNECTED]


def train_default_init(datasets: list[Dataset], seed: int = 1, steps: int = 4000,
                       lr: float = 0.01) -> list[np.ndarray]:
    """Normalised GD from ``nn.Linear(d, d, bias=False)``'s default init, all datasets at once."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    B = len(datasets)
    D = max(ds.d for ds in datasets)
    N = max(len(ds.samples) for ds in datasets)
    T = max(len(s.tokens) for ds in datasets for s in ds.samples)
    X = torch.zeros(B, N, T, D, dtype=torch.float64)
    Z = torch.zeros(B, N, D, dtype=torch.float64)
    real = torch.zeros(B, N, T, dtype=torch.bool)
    label = torch.zeros(B, N, T, dtype=torch.bool)
    weight = torch.zeros(B, N, dtype=torch.float64)  # 1/n on real samples: the mean loss
    W = torch.zeros(B, D, D, dtype=torch.float64)
    for b, ds in enumerate(datasets):
        W[b, :ds.d, :ds.d] = nn.Linear(ds.d, ds.d, bias=False).double().weight.detach()
        E = torch.tensor(ds.E, dtype=torch.float64)
        for i, s in enumerate(ds.samples):
            X[b, i, :len(s.tokens), :ds.d] = E[list(s.tokens)]
            Z[b, i, :ds.d] = E[s.tokens[-1]]
            real[b, i, :len(s.tokens)] = True
            label[b, i, :len(s.tokens)] = torch.tensor([v == s.label for v in s.tokens])
            weight[b, i] = 1.0 / len(ds.samples)
    live = real.any(-1, keepdim=True)  # padded samples: one dummy position, weight 0
    real = real | (~live & (torch.arange(T) == 0))
    label = label | (~live & (torch.arange(T) == 0))
    W.requires_grad_(True)
    for _ in range(steps):
        a = torch.einsum("bntd,bnd->bnt", X, torch.einsum("bde,bne->bnd", W, Z))  # x_t^T W z
        lse = torch.logsumexp(a.masked_fill(~real, -torch.inf), -1)
        lse_y = torch.logsumexp(a.masked_fill(~label, -torch.inf), -1)
        ((lse - lse_y) * weight).sum().backward()
        with torch.no_grad():
            g = W.grad
            W -= lr * g / g.flatten(1).norm(dim=1).clamp_min(1e-300)[:, None, None]
            W.grad = None
    return [W[b, :ds.d, :ds.d].detach().numpy().copy() for b, ds in enumerate(datasets)]


@pytest.fixture(scope="module")
def runs() -> list[tuple[Dataset, np.ndarray]]:
    import torch

    torch.set_num_threads(1)
    dss = paper_datasets()
    return list(zip(dss, train_default_init(dss), strict=True))


def run_check(tmp_path: Path, ds: Dataset, W: np.ndarray) -> int:
    ds.save(tmp_path / "ds.json")
    (tmp_path / "w.json").write_text(json.dumps({"W": np.asarray(W).tolist()}))
    return main(["check", str(tmp_path / "ds.json"), "--weights", str(tmp_path / "w.json")])


def test_the_cases_cover_the_brief(runs) -> None:
    from ntp_mechanics.solvers.predictions import predict

    assert len(runs) >= 10
    assert max(ds.K for ds, _ in runs) >= 12
    assert any(np.linalg.norm(predict(ds).W_svm) == 0 for ds, _ in runs)  # strongly connected
    # the start really is random and partly outside S_all
    assert all(check(ds, W).metrics["norm_remainder"] > 0.05 for ds, W in runs)


def test_default_init_runs_are_consistent(runs) -> None:
    for ds, W in runs:
        result = check(ds, W)
        assert result.verdict.value == "consistent", f"{ds.name}\n{result}"


def test_negated_weights_contradict(tmp_path: Path, runs) -> None:
    for ds, W in runs[:-1]:  # W_svm != 0: <-W, W_svm> far below what any start allows
        assert run_check(tmp_path, ds, -W) == 1, ds.name


def test_weights_of_another_dataset_contradict(tmp_path: Path, runs) -> None:
    same_d = [(a, b) for a in runs for b in runs if a[0].d == b[0].d and a[0] != b[0]]
    assert len(same_d) >= 4
    for (ds, _), (_, W_other) in same_d:
        assert run_check(tmp_path, ds, W_other) == 1, ds.name


def test_random_weights_of_the_same_norm_contradict(tmp_path: Path, runs) -> None:
    rng = np.random.default_rng(0)
    for ds, W in runs[:-1]:
        R = rng.standard_normal(W.shape)
        assert run_check(tmp_path, ds, R * np.linalg.norm(W) / np.linalg.norm(R)) == 1, ds.name


def test_remainder_is_reported_and_does_not_change_the_verdict(runs) -> None:
    ds, W = runs[-1]  # strongly connected: S_all is small, most of the start lies outside
    base = check(ds, W, init_norm=np.sqrt(ds.d))
    from ntp_mechanics.solvers.predictions import predict

    P = predict(ds).S_all.project(W)
    projected = check(ds, P)
    assert base.verdict == projected.verdict
    assert projected.metrics["norm_remainder"] < 1e-12
    assert base.metrics["norm_remainder"] == pytest.approx(float(np.linalg.norm(W - P)))


def test_init_norm_states_the_assumption(tmp_path: Path, runs) -> None:
    """A start larger than sqrt(d) outside S_all contradicts the default assumption
    (the remainder is the start's) but not a stated larger bound."""
    from ntp_mechanics.solvers.predictions import predict

    ds, W = runs[4]
    big = 3.0 * np.sqrt(ds.d) * np.random.default_rng(1).standard_normal(W.shape)
    W_big = W + big - predict(ds).S_all.project(big)
    assert check(ds, W_big).verdict.value == "contradicts"
    assert check(ds, W_big, init_norm=100.0).verdict.value == "consistent"
    ds.save(tmp_path / "ds.json")
    (tmp_path / "w.json").write_text(json.dumps({"W": W_big.tolist()}))
    args = ["check", str(tmp_path / "ds.json"), "--weights", str(tmp_path / "w.json")]
    assert main([*args, "--init-norm", "100"]) == 0
    assert main([*args, "--init-norm", "-1"]) == 2


def test_rounding_drift_only_near_fp64_resolution() -> None:
    from ntp_mechanics.kernel.evidence.weights import rounding_drift

    assert rounding_drift(40.0, 1e-3) == 0.0
    assert rounding_drift(40.0, 1e-30) == 40.0
    assert rounding_drift(40.0, 1e-6) == pytest.approx(40.0 * 1e-4)


def test_loss_at_a_positive_infimum_is_not_a_contradiction() -> None:
    """Two labels that share one window: L* = log 2 > 0, and the paper's protocol drives
    the excess loss to fp64's floor, where normalised steps follow rounding off S_all.
    That drift is allowed for (the excess loss, not the loss, sets it); the negated
    weights, a wrong answer from the same run, are still rejected."""
    from ntp_mechanics.solvers.training import PAPER_PROTOCOL, train

    ds = Dataset.from_arrays(np.eye(3), [((0, 1, 2), 0), ((1, 0, 2), 1)])
    W = train(ds, PAPER_PROTOCOL).W
    pred = predict(ds)
    assert pred.fin.L_star == pytest.approx(math.log(2))  # premise: a positive infimum
    off = float(np.linalg.norm(W - pred.S_all.project(W)))
    assert off > init_bound(ds.d)  # premise: the run did drift off S_all by rounding
    assert check(ds, W, init_norm=0.0, predictions=pred).verdict.value == "consistent"
    assert check(ds, -W, init_norm=0.0, predictions=pred).verdict.value == "contradicts"
