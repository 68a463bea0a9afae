"""Tests of :mod:`ntp_mechanics.solvers.training`, :mod:`ntp_mechanics.app.weight_files` and
``ntp-mechanics train``.

The torch loss and gradient are checked against the exact numpy :class:`LogLoss`; the
normalised-GD protocol against an independent per-sample numpy loop; the smoothness
bound against finite-difference Hessians; plus the structural facts F6 (GD from zero
stays in S_all) and F8 (rotating the embeddings rotates the iterates).
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ntp_mechanics.app.cli import main
from ntp_mechanics.app.weight_files import CONVENTION, load_weights, save_weights
from ntp_mechanics.model.dataset import Dataset, DatasetError
from ntp_mechanics.model.tpg import TokenPriorityGraphs
from ntp_mechanics.solvers.loss import LogLoss
from ntp_mechanics.solvers.subspaces import Subspace
from ntp_mechanics.solvers.training import (
    ConfigError,
    DeviceError,
    TrainConfig,
    gradient,
    loss,
    resolve_device,
    smoothness_bound,
    train,
    train_batch,
)

CPU = "cpu"


# -- helpers ---------------------------------------------------------------------------
@st.composite
def datasets(
    draw: st.DrawFn, max_k: int = 6, max_d: int = 6, max_n: int = 6, max_t: int = 6
) -> Dataset:
    """Random embeddings (any K vs d), variable lengths, labels drawn from the sequence."""
    K, d = draw(st.integers(2, max_k)), draw(st.integers(2, max_d))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    samples = []
    for _ in range(draw(st.integers(1, max_n))):
        toks = draw(st.lists(st.integers(0, K - 1), min_size=1, max_size=max_t))
        samples.append((toks, toks[draw(st.integers(0, len(toks) - 1))]))
    return Dataset.from_arrays(rng.normal(size=(K, d)), samples)


def random_dataset(K: int, d: int, n: int, T: int, seed: int = 0) -> Dataset:
    """The THEORY.md section 7 setting: unit-norm embeddings, fixed length T."""
    rng = np.random.default_rng(seed)
    E = rng.normal(size=(K, d))
    E /= np.linalg.norm(E, axis=1, keepdims=True)
    toks = rng.integers(0, K, size=(n, T))
    return Dataset.from_arrays(E, [(t.tolist(), int(rng.choice(t))) for t in toks])


def corr(A: np.ndarray, B: np.ndarray) -> float:
    return float(np.sum(A * B) / (np.linalg.norm(A) * np.linalg.norm(B)))


def numpy_ngd(ds: Dataset, steps: int, lr: float = 0.01) -> np.ndarray:
    """The paper's protocol written independently: per-sample loops, naive softmax."""
    W = np.zeros((ds.d, ds.d))
    for _ in range(steps):
        G = np.zeros_like(W)
        for s in ds.samples:
            X, q = ds.E[list(s.tokens)], ds.E[s.query]
            a = X @ W @ q
            p = np.exp(a - a.max())
            p /= p.sum()
            on_label = np.array([t == s.label for t in s.tokens])
            g = p - np.where(on_label, p / p[on_label].sum(), 0.0)  # d(-log p_y)/da
            G += np.outer(X.T @ g, q)
        G /= ds.n
        W = W - lr * G / np.linalg.norm(G)
    return W


def linear_head_by_hand(ds: Dataset, W: np.ndarray) -> float:
    total = 0.0
    for s in ds.samples:
        a = [ds.E[x] @ W @ ds.E[s.query] for x in s.tokens]
        att = np.exp(np.array(a) - max(a))
        att /= att.sum()
        mixed = sum(w * ds.E[x] for w, x in zip(att, s.tokens, strict=True))
        logits = [ds.E[v] @ mixed for v in range(ds.K)]
        total += np.log(np.sum(np.exp(logits))) - logits[s.label]
    return total / ds.n


@pytest.fixture
def no_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


# -- the loss and its gradient -----------------------------------------------------------
@given(datasets(), st.sampled_from([0.0, 0.3, 1.0, 4.0]), st.integers(0, 1000))
def test_loss_and_gradient_match_logloss(ds: Dataset, scale: float, seed: int) -> None:
    W = scale * np.random.default_rng(seed).normal(size=(ds.d, ds.d))
    exact = LogLoss(ds)
    assert abs(loss(ds, W) - exact.value(W)) <= 1e-10 * max(1.0, exact.value(W))
    np.testing.assert_allclose(gradient(ds, W), exact.grad(W), rtol=1e-10, atol=1e-10)


def test_loss_keeps_precision_at_tiny_values() -> None:
    ds = Dataset.from_arrays(np.eye(2), [((0, 1), 0)])
    W = np.array([[40.0, 40.0], [0.0, 0.0]])  # label outscores the other token by 40
    assert loss(ds, W) == pytest.approx(np.exp(-40.0), rel=1e-12)


def test_linear_head_loss_equals_hand_computation() -> None:
    ds = random_dataset(K=5, d=4, n=6, T=4, seed=3)
    for scale in (0.0, 0.7, 3.0):
        W = scale * np.random.default_rng(1).normal(size=(4, 4))
        assert loss(ds, W, head="linear") == pytest.approx(linear_head_by_hand(ds, W), rel=1e-12)


def finite_difference_hessian(ds: Dataset, W: np.ndarray, head: str, h: float = 1e-5) -> np.ndarray:
    d = ds.d
    H = np.zeros((d * d, d * d))
    for j in range(d * d):
        step = np.zeros(d * d)
        step[j] = h
        step = step.reshape(d, d)
        H[:, j] = ((gradient(ds, W + step, head) - gradient(ds, W - step, head)) / (2 * h)).ravel()
    return (H + H.T) / 2


@pytest.mark.parametrize("head", ["attention", "linear"])
def test_linear_head_gradient_matches_finite_differences(head: str) -> None:
    ds = random_dataset(K=4, d=3, n=5, T=4, seed=7)
    W = np.random.default_rng(2).normal(size=(3, 3))
    fd = np.zeros((3, 3))
    for idx in np.ndindex(3, 3):
        E = np.zeros((3, 3))
        E[idx] = 1e-6
        fd[idx] = (loss(ds, W + E, head) - loss(ds, W - E, head)) / 2e-6
    np.testing.assert_allclose(gradient(ds, W, head), fd, atol=1e-8)


@given(
    datasets(max_k=5, max_d=3, max_n=4, max_t=5),
    st.sampled_from(["attention", "linear"]),
    st.sampled_from([0.0, 1.0, 3.0]),
    st.integers(0, 1000),
)
def test_smoothness_bound_dominates_hessian(
    ds: Dataset, head: str, scale: float, seed: int
) -> None:
    W = scale * np.random.default_rng(seed).normal(size=(ds.d, ds.d))
    top = np.abs(np.linalg.eigvalsh(finite_difference_hessian(ds, W, head))).max()
    assert top <= smoothness_bound(ds, head) * (1 + 1e-5) + 1e-6


def test_smoothness_bound_orthonormal() -> None:
    # diam = sqrt(2), ||e_k|| = 1: attention bound 2/4; the default gd step is 2
    ds = Dataset.from_arrays(np.eye(3), [((0, 1, 2), 0)])
    assert smoothness_bound(ds) == pytest.approx(0.5)
    assert TrainConfig(optimizer="gd").resolve(ds).lr == pytest.approx(2.0)


# -- the optimisers ----------------------------------------------------------------------
@given(datasets(max_n=5, max_t=5), st.sampled_from(["gd", "ngd"]))
def test_gd_from_zero_stays_in_s_all(ds: Dataset, optimizer: str) -> None:
    """Fact F6: every gradient is a combination of edge generators (e_i - e_j) e_k^T."""
    W = train(ds, TrainConfig(optimizer=optimizer, steps=40, device=CPU)).W
    P = Subspace.all_edges(ds.E, TokenPriorityGraphs.from_dataset(ds)).project(W)
    assert np.linalg.norm(P - W) <= 1e-9 * max(1.0, np.linalg.norm(W))


@pytest.mark.parametrize("head", ["attention", "linear"])
def test_gd_default_step_decreases_loss(head: str) -> None:
    """Descent lemma: lr = 1 / smoothness_bound never increases the loss."""
    ds = random_dataset(K=6, d=5, n=8, T=5, seed=11)
    res = train(ds, TrainConfig(optimizer="gd", steps=60, head=head, record_every=1, device=CPU))
    losses = [h["loss"] for h in res.history]
    assert all(b <= a + 1e-12 for a, b in itertools.pairwise(losses))
    assert losses[-1] < losses[0]


def test_ngd_matches_numpy_reference() -> None:
    ds = random_dataset(K=4, d=4, n=4, T=4, seed=5)
    early = train(ds, TrainConfig(steps=50, device=CPU)).W
    np.testing.assert_allclose(early, numpy_ngd(ds, 50), atol=1e-10)
    assert corr(train(ds, TrainConfig(steps=400, device=CPU)).W, numpy_ngd(ds, 400)) > 0.999


@pytest.mark.slow
def test_ngd_paper_protocol_matches_numpy_reference() -> None:
    ds = random_dataset(K=8, d=8, n=10, T=6, seed=0)
    res = train(ds, TrainConfig(device=CPU))  # ngd, lr 0.01, 4000 steps, zero init
    assert res.config.lr == 0.01 and res.config.steps == 4000 and res.config.init == "zero"
    assert corr(res.W, numpy_ngd(ds, 4000)) > 0.999


@given(datasets(max_k=4, max_d=4, max_n=4, max_t=4), st.integers(0, 1000))
def test_rotating_embeddings_rotates_iterates(ds: Dataset, seed: int) -> None:
    """Fact F8: E -> E Q^T maps the GD iterates W -> Q W Q^T.  The step is the theory's
    (1 / smoothness bound, which rotating E keeps): a fixed 0.5 was unstable on
    embeddings of norm ~2.5, where GD amplifies the rotation's rounding to O(0.1)."""
    Q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(ds.d, ds.d)))
    cfg = TrainConfig(optimizer="gd", steps=30, device=CPU)
    W = train(ds, cfg).W
    W_rot = train(ds.with_embeddings(ds.E @ Q.T), cfg).W
    np.testing.assert_allclose(W_rot, Q @ W @ Q.T, atol=1e-9)


def test_zero_gradient_does_not_produce_nan() -> None:
    ds = Dataset.from_arrays(np.eye(2), [((1, 1), 1), ((0,), 0)])  # every token is the label
    for optimizer in ("gd", "ngd"):
        res = train(ds, TrainConfig(optimizer=optimizer, steps=5, device=CPU))
        assert np.array_equal(res.W, np.zeros((2, 2))) and res.loss == 0.0


def test_divergence_raises_floating_point_error() -> None:
    ds = random_dataset(K=4, d=4, n=4, T=4)
    with pytest.raises(FloatingPointError, match="diverged"):
        train(ds, TrainConfig(optimizer="gd", lr=1e308, steps=3, device=CPU))


# -- the factorised model (conjecture C1) ------------------------------------------------
@pytest.mark.parametrize("optimizer", ["gd", "ngd"])
def test_kq_update_is_the_chain_rule(optimizer: str) -> None:
    ds = random_dataset(K=5, d=4, n=6, T=4, seed=2)
    cfg = TrainConfig(
        optimizer=optimizer,
        lr=0.3,
        parametrization="KQ",
        width=6,
        init_scale=0.5,
        seed=9,
        device=CPU,
    )
    K0, Q0 = train(ds, replace(cfg, steps=0)).factors
    res = train(ds, replace(cfg, steps=1))
    K1, Q1 = res.factors
    assert K0.shape == (4, 6)
    G = LogLoss(ds).grad(K0 @ Q0.T)
    gK, gQ = G @ Q0, G.T @ K0
    scale = 0.3 if optimizer == "gd" else 0.3 / np.sqrt(np.sum(gK**2) + np.sum(gQ**2))
    np.testing.assert_allclose(K1, K0 - scale * gK, atol=1e-12)
    np.testing.assert_allclose(Q1, Q0 - scale * gQ, atol=1e-12)
    np.testing.assert_allclose(res.W, K1 @ Q1.T, atol=1e-12)
    assert res.loss == pytest.approx(LogLoss(ds).value(res.W), rel=1e-12)


def test_kq_defaults_random_init_and_zero_init_is_a_saddle() -> None:
    ds = random_dataset(K=4, d=4, n=4, T=4)
    res = train(ds, TrainConfig(parametrization="KQ", steps=200, device=CPU))
    assert res.config.init == "random" and res.config.width == 4 and res.norm > 0.1
    stuck = train(ds, TrainConfig(parametrization="KQ", init="zero", steps=20, device=CPU))
    assert np.array_equal(stuck.W, np.zeros((4, 4)))


# -- configuration, records, devices -----------------------------------------------------
def test_history_records_and_monitor() -> None:
    ds = random_dataset(K=4, d=4, n=4, T=4)
    res = train(
        ds,
        TrainConfig(steps=20, record_every=7, record_at=(3,), device=CPU),
        monitor=lambda W: {"trace": float(np.trace(W))},
    )
    steps = [h["step"] for h in res.history]
    assert steps == [0, 3, 7, 14, 20] and sorted(res.iterates) == steps
    assert np.array_equal(res.iterates[20], res.W) and res.device == "cpu"
    for h in res.history:
        W = res.iterates[h["step"]]
        assert h["norm"] == pytest.approx(np.linalg.norm(W))
        assert h["loss"] == pytest.approx(LogLoss(ds).value(W), rel=1e-12)
        assert h["trace"] == pytest.approx(np.trace(W))
    with pytest.raises(ValueError, match="clash"):
        train(ds, TrainConfig(steps=1, device=CPU), monitor=lambda W: {"loss": 0.0})


def test_random_init_is_seeded() -> None:
    ds = random_dataset(K=4, d=4, n=4, T=4)
    a, b, c = (
        train(ds, TrainConfig(init="random", steps=0, seed=s, device=CPU)).W for s in (1, 1, 2)
    )
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert 1e-4 < np.abs(a).max() < 1e-2  # entries ~ N(0, 1e-6)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"optimizer": "lbfgs"},
        {"optimizer": "ngd", "batch_size": 8},
        {"optimizer": "sgd", "batch_size": 0},
        {"steps": -1},
        {"lr": 0.0},
        {"lr": float("nan")},
        {"init": "ones"},
        {"head": "mlp"},
        {"parametrization": "QK"},
        {"width": 0},
        {"record_at": (5,), "steps": 4},
        {"record_every": -2},
        {"init_scale": -1.0},
    ],
)
def test_bad_config_is_a_dataset_error(kwargs: dict) -> None:
    with pytest.raises(ConfigError) as info:
        TrainConfig(**kwargs)
    assert isinstance(info.value, DatasetError) and "\n" not in str(info.value)


def test_cuda_unavailable_is_a_clear_error(no_cuda: None) -> None:
    with pytest.raises(DeviceError, match="CUDA is not available"):
        resolve_device("cuda")
    with pytest.raises(DeviceError, match="CUDA is not available"):
        train(random_dataset(4, 4, 2, 3), TrainConfig(device="cuda", steps=1))
    with pytest.raises(DeviceError, match="device must be"):
        resolve_device("tpu")
    assert str(resolve_device("auto")) == "cpu"


@pytest.mark.gpu
def test_cpu_and_cuda_agree() -> None:
    # ngd at lr 0.01 eventually bounces around the finite component, where rounding
    # differences grow to O(lr); compare plain GD and a short ngd run instead.
    ds = random_dataset(K=8, d=8, n=10, T=6)
    for cfg in (
        TrainConfig(optimizer="gd", steps=2000),
        TrainConfig(steps=300),
        TrainConfig(optimizer="gd", steps=500, parametrization="KQ"),
        TrainConfig(optimizer="gd", steps=500, head="linear"),
    ):
        cpu = train(ds, replace(cfg, device="cpu"))
        gpu = train(ds, replace(cfg, device="cuda"))
        assert gpu.device.startswith("cuda")
        np.testing.assert_allclose(gpu.W, cpu.W, atol=1e-9)


# -- weights file and CLI ----------------------------------------------------------------
def test_weights_round_trip_and_errors(tmp_path) -> None:
    path = tmp_path / "w.json"
    save_weights(path, np.arange(4.0).reshape(2, 2))
    assert np.array_equal(load_weights(path, 2), np.arange(4.0).reshape(2, 2))
    bad = {
        '{"W": [[1, 2], [3]]}': "ragged",
        '{"W": [[1, 2, 3], [4, 5, 6]]}': "W must be a 2 x 2 matrix, got 2 x 3",
        '{"W": [[1, NaN], [3, 4]]}': "NaN or infinity",
        '{"W": [[1, "x"], [3, 4]]}': "only numbers",
        '{"w": []}': "missing the key 'W'",
        "[1, 2]": "JSON object",
        "{": "not valid JSON",
    }
    for text, message in bad.items():
        path.write_text(text)
        with pytest.raises(DatasetError, match=message.replace("(", r"\(")):
            load_weights(path, 2)
    with pytest.raises(DatasetError, match="cannot read"):
        load_weights(tmp_path / "absent.json", 2)


def test_cli_train_round_trip(tmp_path, capsys) -> None:
    ds = random_dataset(K=5, d=4, n=6, T=4, seed=1)
    ds.save(tmp_path / "ds.json")
    out = tmp_path / "w.json"
    args = [
        "train",
        str(tmp_path / "ds.json"),
        "--out",
        str(out),
        "--steps",
        "25",
        "--record-every",
        "5",
        "--device",
        "cpu",
        "--no-progress",
    ]
    assert main(args) == 0
    assert "trained 25 ngd steps on cpu" in capsys.readouterr().out
    expected = train(ds, TrainConfig(steps=25, record_every=5, device=CPU))
    np.testing.assert_array_equal(load_weights(out, 4), expected.W)
    doc = json.loads(out.read_text())
    assert doc["convention"] == CONVENTION and doc["device"] == "cpu"
    assert [h["step"] for h in doc["history"]] == [0, 5, 10, 15, 20, 25]
    assert doc["config"]["lr"] == 0.01 and doc["config"]["init"] == "zero"
    assert main([*args, "--parametrization", "KQ", "--optimizer", "gd"]) == 0
    doc = json.loads(out.read_text())
    K, Q = np.array(doc["factors"]["K"]), np.array(doc["factors"]["Q"])
    np.testing.assert_allclose(K @ Q.T, load_weights(out, 4), atol=1e-14)


def test_cli_train_bad_input_exits_2(tmp_path, capsys, no_cuda: None) -> None:
    good = tmp_path / "ds.json"
    random_dataset(4, 4, 3, 3).save(good)
    (tmp_path / "bad.json").write_text("{not json")
    out = str(tmp_path / "w.json")
    cases = [
        ([str(tmp_path / "missing.json")], "cannot read"),
        ([str(tmp_path / "bad.json")], "not valid JSON"),
        ([str(good), "--steps", "-1"], "steps must be >= 0"),
        ([str(good), "--lr", "-0.1"], "lr must be"),
        ([str(good), "--device", "cuda"], "CUDA is not available"),
        ([str(good), "--optimizer", "gd", "--batch-size", "2"], "batch_size applies"),
        ([str(good), "--optimizer", "sgd", "--batch-size", "0"], "batch_size must be"),
    ]
    for extra, message in cases:
        assert main(["train", *extra, "--out", out]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
    assert main(["train", str(good), "--out", str(tmp_path / "no" / "dir" / "w.json")]) == 2
    with pytest.raises(SystemExit) as info:
        main(["train", str(good), "--out", out, "--optimizer", "lbfgs"])
    assert info.value.code == 2


def test_importing_training_modules_does_not_import_torch() -> None:
    code = (
        "import sys, ntp_mechanics.solvers.training, ntp_mechanics.app.train, "
        "ntp_mechanics.app.weight_files; "
        "sys.exit('torch' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# -- outside the theorems: mini-batch SGD and Adam; window counts ---------------------------
def test_counts_train_like_replicated_windows() -> None:
    ds = random_dataset(7, 5, 6, 4)
    counts = np.array([1, 3, 2, 1, 4, 2])[: ds.n]
    replicated = ds.with_samples(s for s, c in zip(ds.samples, counts, strict=True)
                                 for _ in range(c))
    cfg = TrainConfig(optimizer="gd", steps=30, device=CPU, lr=0.5)
    a = train(ds.with_counts(counts), cfg)
    b = train(replicated, cfg)
    c = train(ds, cfg)
    np.testing.assert_allclose(a.W, b.W, atol=1e-12)
    assert a.loss == pytest.approx(b.loss, rel=1e-12)
    assert np.linalg.norm(a.W - c.W) > 1e-6  # control: the counts change the run
    (batched,) = train_batch([ds.with_counts(counts)], cfg)
    np.testing.assert_allclose(batched.W, a.W, atol=1e-12)


def test_sgd_and_adam_are_outside_the_theory_and_descend() -> None:
    ds = random_dataset(3, 6, 12, 5)
    assert TrainConfig(optimizer="gd").within_theory and TrainConfig().within_theory
    for opt in ("sgd", "adam"):
        cfg = TrainConfig(optimizer=opt, steps=200, batch_size=4, device=CPU, seed=1)
        assert not cfg.within_theory
        res = train(ds, cfg)
        assert res.loss < 0.9 * res.history[0]["loss"]
        again = train(ds, cfg)
        np.testing.assert_array_equal(res.W, again.W)  # seeded batches: reproducible
        other = train(ds, TrainConfig(optimizer=opt, steps=200, batch_size=4, device=CPU,
                                      seed=2))
        if opt == "sgd":  # another seed draws other batches
            assert np.linalg.norm(other.W - res.W) > 1e-8
    # full-batch SGD is plain GD (same default step)
    full = train(ds, TrainConfig(optimizer="sgd", steps=20, device=CPU))
    gd = train(ds, TrainConfig(optimizer="gd", steps=20, device=CPU))
    np.testing.assert_allclose(full.W, gd.W, atol=1e-14)


def test_adam_first_step_is_lr_times_sign() -> None:
    # Adam's bias-corrected first step is lr * g / (|g| + eps): lr times the sign of g
    ds = random_dataset(5, 4, 5, 4)
    g = gradient(ds, np.zeros((ds.d, ds.d)))
    W = train(ds, TrainConfig(optimizer="adam", steps=1, lr=0.1, device=CPU)).W
    np.testing.assert_allclose(W, -0.1 * g / (np.abs(g) + 1e-8), rtol=1e-9, atol=1e-15)
    assert np.abs(W).max() > 0.09


def test_train_batch_takes_one_seed_per_entry() -> None:
    ds = random_dataset(2, 4, 5, 4)
    cfg = TrainConfig(optimizer="ngd", steps=10, init="random", init_scale=0.1, device=CPU)
    runs = train_batch([ds, ds, ds], cfg, seeds=[0, 1, 0])
    np.testing.assert_allclose(runs[0].W, runs[2].W, atol=1e-14)
    assert np.linalg.norm(runs[0].W - runs[1].W) > 1e-3
    np.testing.assert_allclose(runs[1].W, train(ds, replace(cfg, seed=1)).W, atol=1e-12)
    with pytest.raises(ConfigError):
        train_batch([ds], TrainConfig(optimizer="adam", device=CPU))
