"""``ntp-mechanics test --trainer MODULE:FUNCTION`` and ``pytest --ntp-trainer``.

A user's own trainer (written here as a user would, in its own module, from PyTorch's
default initialisation) must pass; the same trainer returning negated weights must
fail with exit 1 and print the dataset and the verdict; a trainer that cannot be
imported or returns a wrong shape must exit 2.  Each run is a fresh subprocess in a
folder holding only the user's module (MODULE is importable from the current folder).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

USER_MODULE = '''
"""My one-layer attention: nn.Linear default init, normalised GD, fp64."""
import torch
from torch import nn


def train(ds, steps=4000, lr=0.01, seed=1):
    torch.manual_seed(seed)
    E = torch.tensor(ds.E, dtype=torch.float64)
    T = max(len(s.tokens) for s in ds.samples)
    X = torch.zeros(len(ds.samples), T, ds.d, dtype=torch.float64)
    real = torch.zeros(len(ds.samples), T, dtype=torch.bool)
    label = torch.zeros_like(real)
    for i, s in enumerate(ds.samples):
        X[i, :len(s.tokens)] = E[list(s.tokens)]
        real[i, :len(s.tokens)] = True
        label[i, :len(s.tokens)] = torch.tensor([t == s.label for t in s.tokens])
    Z = torch.stack([E[s.tokens[-1]] for s in ds.samples])
    lin = nn.Linear(ds.d, ds.d, bias=False).double()  # score x_t^T W z: W = lin.weight
    for _ in range(steps):
        a = torch.einsum("ntd,nd->nt", X, lin(Z))
        loss = (torch.logsumexp(a.masked_fill(~real, -torch.inf), 1)
                - torch.logsumexp(a.masked_fill(~label, -torch.inf), 1)).mean()
        lin.zero_grad()
        loss.backward()
        with torch.no_grad():
            lin.weight -= lr * lin.weight.grad / lin.weight.grad.norm()
    return lin.weight.detach()


def train_quick(ds):
    # the same method, 1000 steps of lr 0.04 (the same distance as the paper's protocol)
    torch.set_num_threads(1)
    return train(ds, steps=1000, lr=0.04)


def train_negated(ds):
    return -train_quick(ds)


def train_wrong_shape(ds):
    return torch.zeros(ds.d + 1, ds.d)
'''


@pytest.fixture
def user_folder(tmp_path: Path) -> Path:
    (tmp_path / "my_attention.py").write_text(USER_MODULE)
    return tmp_path


def run(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=folder,
                          timeout=600, env=env)


def hook(folder: Path, trainer: str) -> subprocess.CompletedProcess[str]:
    return run(folder, "-m", "ntp_mechanics", "test", "--trainer", trainer, "--profile", "ci")


def test_a_correct_trainer_passes(user_folder: Path) -> None:
    proc = hook(user_folder, "my_attention:train_quick")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "2 passed" in proc.stdout


def test_negated_weights_fail_with_the_dataset_and_verdict(user_folder: Path) -> None:
    proc = hook(user_folder, "my_attention:train_negated")
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    out = proc.stdout
    assert "contradict claim(s) B" in out and "CONTRADICTS" in out
    assert "dataset: {" in out and '"samples": [{"tokens"' in out


@pytest.mark.parametrize(("trainer", "message"), [
    ("my_attention:train_wrong_shape", "expected ("),
    ("no_such_module:train", "cannot import no_such_module"),
    ("my_attention:missing", "has no attribute 'missing'"),
    ("my_attention", "expected MODULE:FUNCTION"),
])
def test_a_broken_trainer_exits_2(user_folder: Path, trainer: str, message: str) -> None:
    proc = hook(user_folder, trainer)
    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert message in proc.stdout + proc.stderr


def test_pytest_plugin_option(user_folder: Path) -> None:
    base = ["-m", "pytest", "-p", "no:cacheprovider", "--hypothesis-profile=ci", "-q"]
    negated = run(user_folder, *base, "--ntp-trainer", "my_attention:train_negated")
    assert negated.returncode == 1, negated.stdout[-3000:]
    assert "contradict claim(s) B" in negated.stdout
    broken = run(user_folder, *base, "--ntp-trainer", "no_such_module:train")
    assert broken.returncode == 2 and "cannot import no_such_module" in broken.stderr


def test_without_a_trainer_the_module_only_skips(tmp_path: Path) -> None:
    from ntp_mechanics.kernel.claims import theorems_dir

    module = str(theorems_dir() / "trainer_claims.py")
    proc = run(tmp_path, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", module)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "2 skipped" in proc.stdout and "no trainer given" in proc.stdout


def test_hook_arguments() -> None:
    """``test --trainer`` runs only the trainer's claims, with its options passed on."""
    from ntp_mechanics.app.cli import build_parser
    from ntp_mechanics.app.run_tests import pytest_args

    args = build_parser().parse_args(["test", "--trainer", "m:f", "--init-norm", "0"])
    args.pytest_args = []
    out = pytest_args(args)
    assert out[-1].endswith("trainer_claims.py")
    assert out[out.index("--ntp-trainer") + 1] == "m:f"
    assert out[out.index("--ntp-init-norm") + 1] == "0.0"
