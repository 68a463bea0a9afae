"""The one-hot fast path of training (``E = I``) against the dense path it bypasses.

With one-hot embeddings the scores are gathered from W and the gradient is
scatter-added into it; the iterates must equal those of the dense path (materialised
key embeddings) to fp64 round-off, for ``train`` (every optimiser) and ``train_batch``
(several datasets and seeds in one batch), on datasets with counts, repeated labels in
a window and variable lengths.  The dense path is forced by patching the detector.
"""

from __future__ import annotations

import numpy as np
import pytest

from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.solvers import training
from ntp_mechanics.solvers.training import (
    TrainConfig,
    _BatchModel,
    _Model,
    gradient,
    is_identity,
    loss,
    train,
    train_batch,
)

ATOL = 1e-12


def _onehot(seed: int, d: int, n: int, max_len: int, counts: bool = True) -> Dataset:
    """Random windows over ``d`` one-hot tokens; the label is a token of the window,
    often repeated in it (drawn from a small alphabet)."""
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(n):
        toks = rng.integers(0, max(2, d // 2), size=int(rng.integers(1, max_len + 1)))
        toks[-1] = rng.integers(0, d)  # any query token
        samples.append((tuple(int(t) for t in toks), int(rng.choice(toks))))
    c = rng.integers(1, 5, size=n) if counts else None
    return Dataset.from_arrays(np.eye(d), samples, counts=c)


def _dense(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(training, "is_identity", lambda E: False)


def _datasets() -> list[Dataset]:
    return [_onehot(0, 6, 9, 5), _onehot(1, 4, 5, 7), _onehot(2, 7, 12, 3, counts=False)]


def test_repeated_labels_present() -> None:
    # premise of the comparison: some window holds its label more than once
    ds = _onehot(0, 6, 9, 5)
    _, _, label = ds.padded()
    assert (label.sum(1) > 1).any() and ds.counts is not None


@pytest.mark.parametrize(
    "cfg",
    [
        TrainConfig(steps=60, device="cpu", lr=0.1, record_every=20),
        TrainConfig(steps=40, optimizer="gd", device="cpu", init="random", init_scale=0.3),
        TrainConfig(steps=30, optimizer="sgd", device="cpu", batch_size=4, seed=3),
        TrainConfig(steps=30, optimizer="adam", device="cpu"),
        TrainConfig(steps=30, device="cpu", parametrization="KQ", width=3),
    ],
    ids=["ngd", "gd-random", "sgd", "adam", "KQ"],
)
def test_train_fast_equals_dense(cfg: TrainConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    for ds in _datasets():
        assert _Model(ds, training.resolve_device("cpu"), "attention").flat is not None
        fast = train(ds, cfg)
        with monkeypatch.context() as m:
            _dense(m)
            assert _Model(ds, training.resolve_device("cpu"), "attention").flat is None
            dense = train(ds, cfg)
        assert sorted(fast.iterates) == sorted(dense.iterates)
        for step, W in dense.iterates.items():
            np.testing.assert_allclose(fast.iterates[step], W, rtol=0, atol=ATOL)
        assert np.abs(fast.W).max() > 1e-3  # the run moved
        for a, b in zip(fast.history, dense.history, strict=True):
            assert a["loss"] == pytest.approx(b["loss"], rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("optimizer", ["ngd", "gd"])
def test_train_batch_fast_equals_dense(optimizer: str, monkeypatch: pytest.MonkeyPatch) -> None:
    datasets = _datasets()
    batch = [*datasets, datasets[0], datasets[0]]  # several seeds of one dataset
    seeds = [0, 0, 0, 1, 2]
    cfg = TrainConfig(steps=50, optimizer=optimizer, device="cpu", init="random",
                      init_scale=0.2, record_every=25)
    assert _BatchModel(batch, training.resolve_device("cpu")).flat is not None
    fast = train_batch(batch, cfg, seeds=seeds)
    with monkeypatch.context() as m:
        _dense(m)
        assert _BatchModel(batch, training.resolve_device("cpu")).flat is None
        dense = train_batch(batch, cfg, seeds=seeds)
    for f, g in zip(fast, dense, strict=True):
        for step, W in g.iterates.items():
            np.testing.assert_allclose(f.iterates[step], W, rtol=0, atol=ATOL)
        for a, b in zip(f.history, g.history, strict=True):
            assert a["loss"] == pytest.approx(b["loss"], rel=1e-12, abs=1e-14)
    # the seeds really differ, so the comparison covers distinct trajectories
    assert np.abs(fast[3].W - fast[4].W).max() > 1e-3


def test_fast_gradient_differs_from_a_wrong_one() -> None:
    # negative control: the comparison resolves a transposed gradient (W[k, x] for W[x, k])
    ds = _onehot(0, 6, 9, 5)
    W = np.random.default_rng(0).normal(size=(6, 6))
    G = gradient(ds, W)
    assert np.abs(G - G.T).max() > 1e-3
    assert loss(ds, W) != pytest.approx(loss(ds, W.T), rel=1e-6)


def test_dense_path_for_other_embeddings() -> None:
    d = 5
    cpu = training.resolve_device("cpu")
    perm = np.eye(d)[[1, 0, 2, 3, 4]]
    samples = [((0, 1, 2), 1), ((3, 4), 4), ((2,), 2)]
    for E in (perm, 2 * np.eye(d), np.eye(d)[:, :4], np.eye(d) + 1e-9):
        assert not is_identity(E)
        ds = Dataset.from_arrays(E, samples)
        assert _Model(ds, cpu, "attention").flat is None
        assert _BatchModel([ds, ds], cpu).flat is None
    one = Dataset.from_arrays(np.eye(d), samples)
    assert _Model(one, cpu, "attention").flat is not None
    assert _Model(one, cpu, "linear").flat is None  # the linear head stays dense
    assert _BatchModel([one, Dataset.from_arrays(perm, samples)], cpu).flat is None


@pytest.mark.gpu
def test_cuda_fast_equals_cpu_dense(monkeypatch: pytest.MonkeyPatch) -> None:
    datasets = _datasets()
    cfg = TrainConfig(steps=50, device="cpu", lr=0.1, record_every=25)
    with monkeypatch.context() as m:
        _dense(m)
        dense = train_batch(datasets, cfg)
    cuda = train_batch(datasets, TrainConfig(steps=50, device="cuda", lr=0.1, record_every=25))
    one = train(datasets[0], TrainConfig(steps=50, device="cuda", lr=0.1))
    for a, b in zip(dense, cuda, strict=True):
        assert b.device.startswith("cuda")
        for step in a.iterates:
            np.testing.assert_allclose(b.iterates[step], a.iterates[step], rtol=0, atol=1e-10)
    np.testing.assert_allclose(one.W, dense[0].W, rtol=0, atol=1e-10)
