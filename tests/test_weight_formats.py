"""Weight files (``check --weights FILE``): every format and factor form gives the JSON
matrix's verdict, and every malformed file exits 2 with one line naming the problem.

The MultiheadAttention convention (``W = W_k^T W_q / sqrt(d)``) is checked against
torch's own attention weights, not against our reading of its source.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from ntp_mechanics.app.cli import main
from ntp_mechanics.app.weight_files import load_weights
from ntp_mechanics.generators import seeded
from ntp_mechanics.model.dataset import Dataset, DatasetError
from ntp_mechanics.solvers.predictions import predict

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def case() -> tuple[Dataset, np.ndarray]:
    """Claim D's point at norm 30 plus the part outside S_all of a PyTorch-default-like
    start (uniform +-1/sqrt(d)): consistent, with a non-zero remainder."""
    ds = seeded.paper_dataset(3, 6, 6, 6, 4, max_cond=1e3)
    pred = predict(ds)
    rng = np.random.default_rng(7)
    start = rng.uniform(-1, 1, (ds.d, ds.d)) / math.sqrt(ds.d)
    return ds, pred.W_fin + 30 * pred.direction + (start - pred.S_all.project(start))


def verdict(tmp_path: Path, ds: Dataset, weights: Path, *options: str) -> int:
    ds.save(tmp_path / "ds.json")
    return main(["check", str(tmp_path / "ds.json"), "--weights", str(weights), *options])


def json_file(tmp_path: Path, W: np.ndarray) -> Path:
    path = tmp_path / "w.json"
    path.write_text(json.dumps({"W": W.tolist()}))
    return path


def orthogonal(d: int, seed: int) -> np.ndarray:
    return np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))[0]


def written(tmp_path: Path, W: np.ndarray) -> list[tuple[Path, tuple[str, ...]]]:
    """The same W in every format and factor form, with the options that read it."""
    from safetensors.torch import save_file
    from torch import nn

    d = W.shape[0]
    t = torch.tensor(W)
    Q = orthogonal(d, 1)
    out: list[tuple[Path, tuple[str, ...]]] = []
    np.savez(tmp_path / "a.npz", W=W)
    np.savez(tmp_path / "b.npz", attn=W, other=np.eye(3))
    out += [(tmp_path / "a.npz", ()), (tmp_path / "b.npz", ("--key", "attn"))]
    lin = nn.Linear(d, d, bias=False).double()
    with torch.no_grad():
        lin.weight.copy_(t)
    torch.save(lin.state_dict(), tmp_path / "linear.pt")  # the only tensor: 'weight'
    torch.save({"qklist": nn.ModuleList([lin]).state_dict(), "step": 4000}, tmp_path / "n.pth")
    torch.save(t, tmp_path / "bare.pt")
    torch.save(t.float(), tmp_path / "fp32.pt")
    out += [(tmp_path / "linear.pt", ()), (tmp_path / "n.pth", ("--key", "qklist.0.weight")),
            (tmp_path / "bare.pt", ()), (tmp_path / "fp32.pt", ())]
    save_file({"W": t.contiguous()}, str(tmp_path / "w.safetensors"))
    out.append((tmp_path / "w.safetensors", ()))
    # key and query matrices: W_k = Q, W_q = Q W, so W_k^T W_q = W
    np.savez(tmp_path / "kq.npz", key=Q, query=Q @ W)
    out.append((tmp_path / "kq.npz", ("--key-query", "key", "query")))
    # MultiheadAttention in_proj [W_q; W_k; W_v] with W_k^T W_q / sqrt(d) = W
    in_proj = np.vstack([math.sqrt(d) * Q @ W, Q, np.eye(d)])
    save_file({"attn.in_proj_weight": torch.tensor(in_proj),
               "attn.in_proj_bias": torch.zeros(3 * d, dtype=torch.float64)},
              str(tmp_path / "mha.safetensors"))
    out.append((tmp_path / "mha.safetensors", ("--in-proj", "attn.in_proj_weight")))
    return out


def test_every_format_gives_the_json_verdict(tmp_path: Path, case) -> None:
    ds, W = case
    for M in (W, -W):
        want = verdict(tmp_path, ds, json_file(tmp_path, M))
        for path, options in written(tmp_path, M):
            assert verdict(tmp_path, ds, path, *options) == want, (path.name, options)
    assert verdict(tmp_path, ds, json_file(tmp_path, W)) == 0
    assert verdict(tmp_path, ds, json_file(tmp_path, -W)) == 1


def test_formats_read_the_same_matrix(tmp_path: Path, case) -> None:
    ds, W = case
    for path, options in written(tmp_path, W):
        kw: dict = {}
        if options and options[0] == "--key":
            kw["key"] = options[1]
        elif options and options[0] == "--key-query":
            kw["key_query"] = options[1:]
        elif options:
            kw["in_proj"] = options[1]
        tol = 1e-6 if "fp32" in path.name else 1e-12
        assert np.allclose(load_weights(path, ds.d, **kw), W, atol=tol * 40), path.name


def test_multihead_attention_convention_matches_torch() -> None:
    """torch's attention weights equal softmax_t(x_t^T W z) with W = W_k^T W_q / sqrt(d)."""
    from torch import nn

    from ntp_mechanics.app.weight_files import select_matrix

    d, T = 5, 7
    torch.manual_seed(0)
    mha = nn.MultiheadAttention(d, 1, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        mha.in_proj_bias[d:].normal_()  # key and value biases: no effect on the scores
    X = torch.randn(1, T, d, dtype=torch.float64)
    _, att = mha(X[:, -1:], X, X, need_weights=True)
    sd = {k: v.detach().numpy() for k, v in mha.state_dict().items()}
    W = select_matrix(sd, d, in_proj="in_proj_weight")
    x = X[0].numpy()
    a = x @ W @ x[-1]
    ours = np.exp(a - a.max()) / np.exp(a - a.max()).sum()
    assert np.allclose(att[0, 0].detach().numpy(), ours, atol=1e-12)
    # a query bias makes the score non-bilinear: refused
    with torch.no_grad():
        mha.in_proj_bias[0] = 0.5
    sd = {k: v.detach().numpy() for k, v in mha.state_dict().items()}
    with pytest.raises(DatasetError, match="non-zero query bias"):
        select_matrix(sd, d, in_proj="in_proj_weight")


def malformed(tmp_path: Path, d: int) -> list[tuple[Path, tuple[str, ...], str]]:
    """(file, options, the message it must print)."""
    from safetensors.torch import save_file

    nan = np.eye(d)
    nan[0, 1] = np.nan
    np.savez(tmp_path / "two.npz", W1=np.eye(d), W2=np.eye(d))
    np.savez(tmp_path / "small.npz", W=np.eye(3))
    np.savez(tmp_path / "nan.npz", W=nan)
    np.savez(tmp_path / "vec.npz", W=np.ones(d))
    torch.save({"weight": torch.eye(d) * torch.inf}, tmp_path / "inf.pt")
    save_file({"W": torch.eye(d + 1)}, str(tmp_path / "big.safetensors"))
    np.savez(tmp_path / "kq.npz", key=np.eye(d), query=np.eye(d + 1, d))
    save_file({"in_proj_weight": torch.eye(2 * d, d)}, str(tmp_path / "proj.safetensors"))
    for name in ("text.pt", "text.pth", "text.npz", "text.safetensors"):
        (tmp_path / name).write_text('{"W": [[1.0]]}')
    (tmp_path / "w.txt").write_text("1 0\n0 1\n")
    (tmp_path / "bad.json").write_text("{W: 1")
    return [
        (tmp_path / "two.npz", ("--key", "W3"), "no tensor named 'W3'; available: W1 "),
        (tmp_path / "two.npz", (), "several tensors, choose one with --key: W1"),
        (tmp_path / "small.npz", (), f"must be a {d} x {d} matrix, got 3 x 3"),
        (tmp_path / "nan.npz", (), "contains NaN or infinity"),
        (tmp_path / "vec.npz", (), "must be a matrix, got shape"),
        (tmp_path / "inf.pt", (), "contains NaN or infinity"),
        (tmp_path / "big.safetensors", (), f"must be a {d} x {d} matrix"),
        (tmp_path / "kq.npz", ("--key-query", "key", "query"), "query must be a"),
        (tmp_path / "kq.npz", ("--key-query", "key", "q"), "no tensor named 'q'"),
        (tmp_path / "proj.safetensors", ("--in-proj", "in_proj_weight"), "[W_q; W_k; W_v]"),
        (tmp_path / "text.pt", (), "is not a torch checkpoint"),
        (tmp_path / "text.pth", (), "is not a torch checkpoint"),
        (tmp_path / "text.npz", (), "is not an .npz archive"),
        (tmp_path / "text.safetensors", (), "is not a safetensors file"),
        (tmp_path / "w.txt", (), "unknown format '.txt'"),
        (tmp_path / "bad.json", (), "not valid JSON"),
        (tmp_path / "missing.npz", (), "no such weights file"),
    ]


def test_malformed_files_exit_2_with_one_line(tmp_path: Path, case,
                                              capsys: pytest.CaptureFixture) -> None:
    ds, _ = case
    for path, options, message in malformed(tmp_path, ds.d):
        capsys.readouterr()
        assert verdict(tmp_path, ds, path, *options) == 2, path.name
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, (path.name, err)
        assert "Traceback" not in err


def test_unsafe_pickle_is_refused(tmp_path: Path, case, capsys: pytest.CaptureFixture) -> None:
    """A checkpoint holding arbitrary objects is not unpickled (weights_only=True)."""
    ds, W = case
    torch.save({"W": torch.tensor(W), "config": Path("x")}, tmp_path / "unsafe.pt")
    assert verdict(tmp_path, ds, tmp_path / "unsafe.pt") == 2
    assert "weights_only=True" in capsys.readouterr().err
