"""Real-text measurements on held-out windows (THEORY.md section 10) and their controls.

A small character-level corpus is cut from the standard library's ``pydoc_data.topics``
(real English, no download).  The model trained on its windows must retrieve the top
SCC of held-out windows and compose inside it like ``W_fin``; the negative controls
(weights trained on redrawn labels, random weights of the same norm, the Graph-SVM of
the same text over a permuted vocabulary) are measured by the same code and must come
out clearly worse, each after asserting its own premise.
"""

from __future__ import annotations

import collections
import json
from pathlib import Path

import numpy as np
import pytest

from ntp_mechanics.app.cli import main
from ntp_mechanics.kernel import realtext as rt
from ntp_mechanics.kernel.checking import check
from ntp_mechanics.kernel.verdict import Verdict
from ntp_mechanics.model.dataset import Dataset, DatasetError
from ntp_mechanics.model.errors import InfeasibleError
from ntp_mechanics.model.tpg import TokenPriorityGraphs
from ntp_mechanics.solvers.predictions import predict

K, T, N_TRAIN, N_HELD = 12, 6, 200, 100
STEPS, LR = 600, 0.06  # normalised GD: ||W|| about 36, like the paper's protocol


def char_windows(K: int, T: int, n: int, seed: int) -> list[tuple[tuple[int, ...], int]]:
    """Distinct realizable character windows of the stdlib's topic help, shuffled."""
    from pydoc_data.topics import topics

    text = "".join(topics[k] for k in sorted(topics))[:200_000]
    vocab = [c for c, _ in collections.Counter(text).most_common(K - 1)]
    idx = {c: i for i, c in enumerate(vocab)}
    toks = [idx.get(c, K - 1) for c in text]  # the rest share the last id
    seen = {}
    for i in range(len(toks) - T):
        w, y = tuple(toks[i : i + T]), toks[i + T]
        if y in w:
            seen.setdefault((w, y), None)
    items = list(seen)
    np.random.default_rng(seed).shuffle(items)
    return items[:n]


@pytest.fixture(scope="module")
def corpus() -> tuple[Dataset, Dataset]:
    items = char_windows(K, T, N_TRAIN + N_HELD, seed=0)
    E = np.eye(K)
    return Dataset.from_arrays(E, items[:N_TRAIN]), Dataset.from_arrays(E, items[N_TRAIN:])


@pytest.fixture(scope="module")
def trained(corpus):
    from ntp_mechanics.solvers.training import TrainConfig, train_batch

    train, _ = corpus
    redrawn = rt.relabelled(train, seed=0)
    cfg = TrainConfig(optimizer="ngd", lr=LR, steps=STEPS, device="cpu")
    model, control = train_batch([train, redrawn], cfg)
    return model.W, control.W, redrawn


@pytest.fixture(scope="module")
def pred(corpus):
    return predict(corpus[0])


def _measure(corpus, pred, W) -> rt.RealTextMeasures:
    train, held = corpus
    return rt.measure(train, held, W, **rt.training_objects(pred))


def test_trained_model_retrieves_and_composes_on_held_out_windows(corpus, pred, trained):
    m = _measure(corpus, pred, trained[0])
    v = m.values
    assert m.judged >= N_HELD // 2 and m.judged + sum(m.excluded.values()) == N_HELD
    assert v["hard_retrieval_accuracy"] >= 0.95 and v["top_scc_mass"] >= 0.9
    assert v["soft_tv"] <= 0.1 and v["corr_fin"] >= 0.9 and v["corr_W_svm"] >= 0.8
    # W_svm is orthogonal to S_fin (fact F4): the split is Pythagorean
    split = v["norm_along_svm"] ** 2 + v["norm_fin"] ** 2 + v["norm_rest"] ** 2
    assert split == pytest.approx(v["norm_W"] ** 2, rel=1e-9)
    assert v["next_token_accuracy"] > 0.3 and v["next_token_loss"] < v["unigram_loss"]
    assert set(rt.KEYS) <= set(v) and not m.reasons


def test_controls_are_clearly_worse(corpus, pred, trained):
    train, _ = corpus
    W, W_redrawn, redrawn = trained
    changed = np.mean([a.label != b.label for a, b in zip(train.samples, redrawn.samples,
                                                           strict=True)])
    assert changed >= 0.4  # premise: the control's labels really differ
    random = rt.random_like(W, seed=0)
    assert np.linalg.norm(random) == pytest.approx(np.linalg.norm(W))  # premise: same norm
    permuted = rt.permuted_vocabulary(train, seed=0)
    own = {(k, e) for k, es in TokenPriorityGraphs.from_dataset(train).edge_sets().items()
           for e in es}
    other = TokenPriorityGraphs.from_dataset(permuted).edge_sets()
    shared = np.mean([(k, e) in own for k, es in other.items() for e in es])
    assert shared <= 0.5  # premise: another corpus's priorities
    W_other = predict(permuted).W_svm
    svm_other = W_other * (np.linalg.norm(W) / np.linalg.norm(W_other))
    good = _measure(corpus, pred, W).values
    for name, Wc in {"redrawn labels": W_redrawn, "random": random,
                     "other corpus": svm_other}.items():
        bad = _measure(corpus, pred, Wc).values
        gaps = {"top_scc_mass": good["top_scc_mass"] - bad["top_scc_mass"],
                "soft_tv": bad["soft_tv"] - good["soft_tv"],
                "next_token_accuracy": good["next_token_accuracy"] - bad["next_token_accuracy"]}
        assert min(gaps.values()) >= 0.1, (name, gaps)


def test_verdicts_on_held_out_windows(corpus, pred, trained):
    train, held = corpus
    W = trained[0]
    res = check(train, W, predictions=pred, heldout=held, init_norm=0.0)
    h = res.claims["C held-out"]
    assert h.verdict is Verdict.CONSISTENT and res.heldout is not None
    # control: random weights of the same norm are refused (contradicts: mass <= 0.5?)
    bad = check(train, rt.random_like(W, 0), predictions=pred, heldout=held, init_norm=0.0)
    assert bad.claims["C held-out"].verdict is not Verdict.CONSISTENT
    # mini-batch SGD and Adam: measured, never judged
    sgd = check(train, W, predictions=pred, heldout=held, optimizer="adam", init_norm=0.0)
    assert sgd.outside and "adam" in sgd.outside
    assert all(c.verdict is Verdict.INCONCLUSIVE and "outside the hypotheses" in c.reason
               for c in sgd.claims.values())
    assert sgd.heldout.values == res.heldout.values
    assert "OUTSIDE THE HYPOTHESES" in str(sgd) and sgd.to_dict()["outside_hypotheses"]


def test_windows_without_a_top_scc_are_counted_apart() -> None:
    E = np.eye(5)
    train = Dataset.from_arrays(E, [((0, 1, 3), 0), ((1, 2, 3), 1)])  # G^(3): 0 -> 1 -> 2
    held = Dataset.from_arrays(E, [
        ((0, 2, 3), 0),  # top {0}
        ((0, 1), 1),  # query 1 never occurs in training
        ((3, 3), 3),  # nothing to retrieve
        ((2, 3), 3),  # 2 and 3 are both sinks of G^(3)
        ((4, 0, 3), 0),  # token 4 is not in G^(3)
        ((1, 2, 3), 1),  # top {1}
    ])
    m = rt.measure(train, held, np.zeros((5, 5)))
    assert m.judged == 2
    assert m.excluded == {"query unseen": 1, "one token": 1, "incomparable": 1,
                          "token outside the graph": 1}
    # uniform attention on 3 positions: the top token has a third of the mass
    assert m.values["top_scc_mass"] == pytest.approx(1 / 3)
    assert m.values["hard_retrieval_accuracy"] in (0.0, 0.5, 1.0)
    assert m.values["corr_W_svm"] is None and "corr_W_svm" in m.reasons
    # control: with W scoring token 0 and 1 high, both judged windows are retrieved
    W = np.zeros((5, 5))
    W[0, 3] = W[1, 3] = 20.0
    W[0, 3] = 40.0
    assert rt.measure(train, held, W).values["hard_retrieval_accuracy"] == 1.0


def test_shapes_that_do_not_match_are_refused(corpus) -> None:
    train, held = corpus
    other = Dataset.from_arrays(np.eye(K + 1), [((0, 1), 0)])
    with pytest.raises(DatasetError, match="K = "):
        rt.measure(train, other, np.zeros((K, K)))
    with pytest.raises(DatasetError, match="W must be"):
        rt.measure(train, held, np.zeros((K - 1, K - 1)))
    rotated = held.with_embeddings(np.eye(K)[::-1])
    with pytest.raises(DatasetError, match="other embeddings"):
        rt.measure(train, rotated, np.zeros((K, K)))


def test_cli_held_out_json(tmp_path: Path, corpus, trained, capsys) -> None:
    train, held = corpus
    paths = {n: tmp_path / f"{n}.json" for n in ("train", "held", "w", "out", "small")}
    train.save(paths["train"])
    held.save(paths["held"])
    paths["w"].write_text(json.dumps({"W": trained[0].tolist()}))
    args = ["check", str(paths["train"]), "--weights", str(paths["w"]),
            "--held-out", str(paths["held"])]
    code = main([*args, "--json", str(paths["out"])])
    assert code in (0, 3)
    out = json.loads(paths["out"].read_text())
    for key in rt.KEYS:
        assert isinstance(out[key], float), key
    assert "held-out" in capsys.readouterr().out  # text on stdout when JSON goes to a file
    assert main([*args, "--json"]) == code
    assert json.loads(capsys.readouterr().out)["bigram_accuracy"] == out["bigram_accuracy"]
    # bad input: another vocabulary, a held-out file without windows
    Dataset.from_arrays(np.eye(K + 1), [((0, 1), 0)]).save(paths["small"])
    for bad in (paths["small"], tmp_path / "missing.json"):
        assert main([*args[:-1], str(bad)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
    paths["small"].write_text(json.dumps({"embeddings": np.eye(K).tolist(), "samples": []}))
    assert main([*args[:-1], str(paths["small"])]) == 2
    assert "no samples" in capsys.readouterr().err
    # an unwritable JSON file: one line, exit 2, the report still printed
    assert main([*args, "--json", str(tmp_path / "no" / "dir.json")]) == 2
    out, err = capsys.readouterr()
    assert "held-out" in out and err.count("\n") == 1 and "cannot write" in err


def test_infeasible_graph_svm_is_outside_the_hypotheses() -> None:
    # d = 1 < K = 3: edge 0 -> 1 needs w <= -1/2, edge 2 -> 1 needs w >= 1/2 (query 1)
    E = np.array([[1.0], [2.0], [3.0]])
    train = Dataset.from_arrays(E, [((0, 1), 0), ((2, 1), 2)])
    held = Dataset.from_arrays(E, [((0, 1), 0), ((2, 0, 1), 2)])
    with pytest.raises(InfeasibleError):
        predict(train)  # premise: the theory has no direction here
    res = check(train, np.array([[0.5]]), heldout=held)
    assert res.verdict is Verdict.INCONCLUSIVE and "infeasible" in res.outside
    assert "outside the hypotheses" in res.claims["C held-out"].reason
    d = res.to_dict()
    assert d["corr_W_svm"] is None and "infeasible" in d["heldout"]["null_reasons"]["corr_W_svm"]
    assert isinstance(d["next_token_accuracy"], float)


def test_uncertified_predictions_still_measure_held_out(corpus, trained, monkeypatch) -> None:
    import ntp_mechanics.kernel.checking as checking
    from ntp_mechanics.model.errors import InconclusiveError

    def fail(ds):
        raise InconclusiveError("W_fin not certified")

    monkeypatch.setattr(checking, "_predict", fail)
    train, held = corpus
    with pytest.raises(InconclusiveError):
        check(train, trained[0])  # without held-out windows: as before
    res = check(train, trained[0], heldout=held)
    assert res.verdict is Verdict.INCONCLUSIVE and not res.outside
    d = res.to_dict()
    assert d["corr_fin"] is None and d["hard_retrieval_accuracy"] >= 0.9
    assert d["corr_W_svm"] >= 0.8  # the Graph-SVM alone is still certified
    assert "not certified" in res.claims["C held-out"].reason


def test_counts_weigh_like_replicated_windows(corpus, trained) -> None:
    train, held = corpus
    rng = np.random.default_rng(0)
    c_tr, c_he = rng.integers(1, 4, train.n), rng.integers(1, 4, held.n)

    def replicate(ds, c):
        return ds.with_samples(s for s, k in zip(ds.samples, c, strict=True) for _ in range(k))

    a = rt.measure(train.with_counts(c_tr), held.with_counts(c_he), trained[0]).values
    b = rt.measure(replicate(train, c_tr), replicate(held, c_he), trained[0]).values
    plain = rt.measure(train, held, trained[0]).values
    for key in ("hard_retrieval_accuracy", "top_scc_mass", "next_token_accuracy",
                "next_token_loss", "unigram_loss", "bigram_loss", "bigram_accuracy"):
        assert a[key] == pytest.approx(b[key], rel=1e-12), key
    assert a["next_token_loss"] != pytest.approx(plain["next_token_loss"], rel=1e-6)


def test_vectorised_top_masks_equal_the_window_loop(corpus) -> None:
    """The per-query vectorised top-SCC masks are those of the one-window-at-a-time
    reference, on real windows and on random small ones (every exclusion reason)."""
    train, held = corpus
    index = rt.PriorityIndex(TokenPriorityGraphs.from_dataset(train))
    a, b = rt._top_masks(held, index), rt._top_masks_loop(held, index)
    assert np.array_equal(a[0], b[0]) and a[1] == b[1] and a[0].any()
    rng = np.random.default_rng(0)
    reasons: set[str] = set()
    for _ in range(30):
        K = int(rng.integers(2, 6))
        tr, he = _random_windows(rng, K, 6), _random_windows(rng, K, 15)
        index = rt.PriorityIndex(TokenPriorityGraphs.from_dataset(tr))
        a, b = rt._top_masks(he, index), rt._top_masks_loop(he, index)
        assert np.array_equal(a[0], b[0]) and a[1] == b[1]
        reasons |= set(b[1])
    assert reasons == {"query unseen", "token outside the graph", "one token", "incomparable"}


def _random_windows(rng: np.random.Generator, K: int, n: int) -> Dataset:
    out = []
    for _ in range(n):
        toks = tuple(int(t) for t in rng.integers(0, K, int(rng.integers(1, 5))))
        out.append((toks, int(rng.choice(toks))))
    return Dataset.from_arrays(np.eye(K), out)


def test_column_predictions_give_the_same_measurements(corpus, pred, trained) -> None:
    """One-hot embeddings: the column solvers' objects measure what the joint path's do."""
    train, held = corpus
    cols, why = rt.safe_predict(train)
    assert not why and type(cols).__name__ == "ColumnPredictions"  # premise: column path
    a = rt.measure(train, held, trained[0], **rt.training_objects(cols)).values
    b = rt.measure(train, held, trained[0], **rt.training_objects(pred)).values
    assert set(a) == set(b)
    for k in a:
        assert a[k] == pytest.approx(b[k], abs=1e-6), k
    # control: a non-orthonormal embedding takes the joint path
    assert not rt.orthonormal(2 * np.eye(3)) and rt.orthonormal(np.eye(3))


def test_check_by_column_equals_the_joint_path(corpus, pred, trained) -> None:
    """``check`` on one-hot embeddings uses the column solvers; its verdicts and
    metrics are those of the joint path (the path it replaces)."""
    from ntp_mechanics.solvers.column_predictions import predict_columns
    from ntp_mechanics.solvers.subspaces import Subspace

    train, held = corpus
    cols = predict_columns(train)
    W = trained[0]
    exact = Subspace.all_edges(train.E, pred.tpg)
    assert cols.S_all.dim == exact.dim == pred.dim_S_all
    noise = np.random.default_rng(0).standard_normal(W.shape)
    assert np.allclose(cols.S_all.project(noise), exact.project(noise), atol=1e-10)
    a = check(train, W, heldout=held, init_norm=0.0)  # the column path (one-hot)
    b = check(train, W, predictions=pred, heldout=held, init_norm=0.0)
    assert {k: c.verdict for k, c in a.claims.items()} == {k: c.verdict
                                                            for k, c in b.claims.items()}
    for k, v in b.metrics.items():
        if isinstance(v, float):
            assert a.metrics[k] == pytest.approx(v, rel=1e-5, abs=1e-6), k
    # control: the projection is not the identity (the premise that S_all matters)
    assert not np.allclose(cols.S_all.project(noise), noise)


def test_run_refuses_windows_of_another_vocabulary(corpus) -> None:
    from ntp_mechanics.kernel.realtext_run import RealTextSetting, run_realtext

    train, _ = corpus
    other = Dataset.from_arrays(np.eye(K + 1), [((0, 1), 0)])
    with pytest.raises(DatasetError, match="K = "):
        run_realtext(train, other, RealTextSetting.tiny())
    with pytest.raises(DatasetError, match="seed"):
        run_realtext(train, train, RealTextSetting(seeds=()))


def test_realtext_command(tmp_path: Path, capsys) -> None:
    out = tmp_path / "rt"
    args = ["realtext", "--out", str(out), "--window", "6", "--vocab", "12", "--train", "100",
            "--heldout", "50", "--seeds", "0", "--steps", "60", "--record-every", "30"]
    assert main(args) == 0
    md = (out / "realtext.md").read_text()
    data = json.loads((out / "realtext.json").read_text())
    assert md.startswith("## Real text") and len(data["table"]) == 4
    assert all((out / f).read_bytes()[:4] == b"\x89PNG" for f in data["figures"].values())
    capsys.readouterr()
    # bad input: one line, exit 2
    (tmp_path / "file").write_text("x")
    for bad in (["--window", "0"], ["--window", "100000"], ["--steps", "0"],
                ["--unit", "char", "--out", str(tmp_path / "file")]):
        assert main([*args, *bad]) == 2, bad
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err, bad
