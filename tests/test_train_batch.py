"""``train_batch`` against ``train``: the same iterates, dataset by dataset.

Mixed shapes (K, d, n, T all differ, variable lengths, repeated tokens) so every kind
of padding is exercised; both optimisers and both initialisations.  The ``gpu`` tests
(skipped without CUDA) check that the CUDA iterates equal the CPU ones.
"""

from __future__ import annotations

import numpy as np
import pytest

from ntp_mechanics.generators.seeded import paper_dataset
from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.solvers.training import ConfigError, TrainConfig, train, train_batch

SHAPES = [(6, 8, 4, 4), (8, 8, 10, 6), (3, 5, 2, (1, 5)), (5, 5, 7, (2, 9)), (4, 6, 1, 3)]
ATOL = 1e-11  # fp64 round-off after a few hundred steps (sums in another order)
ATOL_CUDA = 1e-10  # CUDA reductions add in yet another order


def _mixed() -> list[Dataset]:
    return [paper_dataset(seed, K, d, n, T) for seed, (K, d, n, T) in enumerate(SHAPES)]


def _assert_same(batch: list, datasets: list[Dataset], cfg: TrainConfig) -> None:
    for ds, got in zip(datasets, batch, strict=True):
        ref = train(ds, cfg)
        assert sorted(got.iterates) == sorted(ref.iterates)
        for step, W in ref.iterates.items():
            np.testing.assert_allclose(got.iterates[step], W, rtol=0, atol=ATOL)
        for a, b in zip(got.history, ref.history, strict=True):
            assert a["step"] == b["step"]
            assert a["loss"] == pytest.approx(b["loss"], rel=1e-10, abs=1e-13)
        assert got.config == ref.config


@pytest.mark.parametrize(
    "cfg",
    [
        TrainConfig(steps=300, device="cpu", record_every=100),
        TrainConfig(steps=150, optimizer="gd", device="cpu", init="random", init_scale=0.3),
        TrainConfig(steps=100, optimizer="ngd", lr=0.05, device="cpu", record_at=(7,)),
    ],
    ids=["ngd-zero", "gd-random", "ngd-lr"],
)
def test_batch_equals_one_at_a_time(cfg: TrainConfig) -> None:
    datasets = _mixed()
    _assert_same(train_batch(datasets, cfg), datasets, cfg)


def test_batch_differs_when_a_dataset_changes() -> None:
    # Negative control: the batch really trains each dataset on its own data.
    datasets = _mixed()
    cfg = TrainConfig(steps=50, device="cpu")
    swapped = train_batch(datasets[1:] + datasets[:1], cfg)
    assert np.abs(swapped[0].W - train(datasets[0], cfg).W[: swapped[0].W.shape[0]]).max() > 1e-3


def test_batch_rejects_unsupported() -> None:
    with pytest.raises(ConfigError, match="parametrization"):
        train_batch(_mixed(), TrainConfig(parametrization="KQ", steps=1, device="cpu"))
    with pytest.raises(ConfigError, match="at least one"):
        train_batch([], TrainConfig(steps=1, device="cpu"))


@pytest.mark.gpu
def test_cuda_batch_equals_cpu() -> None:
    datasets = _mixed()
    cfg = TrainConfig(steps=400, device="cpu", record_every=200)
    cpu = train_batch(datasets, cfg)
    cuda = train_batch(datasets, TrainConfig(steps=400, device="cuda", record_every=200))
    for a, b in zip(cpu, cuda, strict=True):
        assert b.device.startswith("cuda")
        for step in a.iterates:
            np.testing.assert_allclose(b.iterates[step], a.iterates[step], rtol=0, atol=ATOL_CUDA)


@pytest.mark.gpu
def test_cuda_train_equals_cpu() -> None:
    ds = _mixed()[1]
    cpu = train(ds, TrainConfig(steps=400, device="cpu"))
    cuda = train(ds, TrainConfig(steps=400, device="cuda"))
    np.testing.assert_allclose(cuda.W, cpu.W, rtol=0, atol=ATOL_CUDA)
    batch = train_batch([ds], TrainConfig(steps=400, device="cuda"))[0]
    np.testing.assert_allclose(batch.W, cuda.W, rtol=0, atol=ATOL_CUDA)
