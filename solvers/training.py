"""Gradient training of the one-layer attention model (THEORY.md sections 1, 5 B, 6).

The model (Li, Huang, Ildiz, Rawat, Oymak, *Mechanics of Next Token Prediction with
Self-Attention*, AISTATS 2024: its one-layer attention model and log-loss): sample i
has tokens ``x_i`` and query ``k_i = x_i[-1]``; position t scores
``a_it = e_{x_it}^T W e_{k_i}`` and the attention ``s_i = softmax(a_i)`` runs over the
real (unpadded) positions only.

* head ``"attention"`` (the paper's model): ``p_i(v) = sum_{t: x_it = v} s_it`` and
  ``L(W) = mean_i -log p_i(y_i) = mean_i [logsumexp_t a_it - logsumexp_{t: x_it = y_i} a_it]``.
* head ``"linear"`` (conjecture C3): vocabulary logits ``z_iv = e_v^T X_i^T s_i`` and
  cross-entropy ``L(W) = mean_i [logsumexp_v z_iv - z_{i, y_i}]`` (nonconvex).

Parametrisations: the combined ``W`` (d x d), or ``W = K Q^T`` with K, Q of size d x m
(conjecture C1; zero is a saddle of the factorised loss, so its default init is random).

Optimisers, from ``W(0)``:

* ``"gd"``: ``W <- W - lr grad L(W)`` (claim B), default ``lr = 1 / smoothness_bound(ds)``.
* ``"ngd"``: ``W <- W - lr grad L(W) / ||grad L(W)||_F`` (the paper's experimental
  protocol: lr 0.01, 4000 steps, zero init).  For ``K Q^T`` each factor takes its own
  gradient, normalised by the joint norm ``sqrt(||grad_K||^2 + ||grad_Q||^2)``.
* ``"sgd"`` (mini-batch, ``batch_size`` windows a step, drawn without replacement
  epoch by epoch from ``seed``) and ``"adam"`` (Kingma and Ba's moments, full batch or
  mini-batch): what practitioners use.  The theorems cover full-batch gradient
  descent only; :attr:`TrainConfig.within_theory` is False for these two, and the
  suite labels their results as outside the hypotheses (their implicit bias is a
  conjecture of its own).

Windows carry weights: a dataset with ``counts`` (duplicate windows merged) trains on
``L = sum_i c_i loss_i / sum_i c_i``, exactly as the replicated dataset would; a
mini-batch is weighted the same way within itself.

With one-hot embeddings (``E = I``, :func:`is_identity`) the scores are gathered from W
and the gradient is scatter-added into it, in memory O(n T) rather than O(n T d), with
the same iterates as the dense path.

Everything runs in fp64 with hand-written gradients (no autograd) and no host-device
synchronisation between record steps, so a 4000-step run on a small dataset costs a
fraction of a second on one CPU core.  When many small runs execute in parallel
processes, call ``torch.set_num_threads(1)`` in each: tiny tensors gain nothing from
intra-op threads.

Example
-------
>>> import numpy as np
>>> from ntp_mechanics.model.dataset import Dataset
>>> ds = Dataset.from_arrays(np.eye(3), [((0, 1, 2), 0), ((1, 2), 1)])
>>> res = train(ds, TrainConfig(steps=100, device="cpu"))
>>> [h["step"] for h in res.history], res.W.shape
([0, 100], (3, 3))
>>> bool(res.history[-1]["loss"] < res.history[0]["loss"])
True
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from ntp_mechanics.model.dataset import Dataset, DatasetError

if TYPE_CHECKING:  # torch is imported lazily: importing this module must stay cheap
    import torch

__all__ = [
    "PAPER_PROTOCOL",
    "ConfigError",
    "DeviceError",
    "TrainConfig",
    "TrainResult",
    "gradient",
    "is_identity",
    "loss",
    "resolve_device",
    "sample_weights",
    "smoothness_bound",
    "train",
    "train_batch",
]

OPTIMIZERS = ("gd", "ngd", "sgd", "adam")
THEORY_OPTIMIZERS = ("gd", "ngd")  # full-batch gradient descent: what the theorems cover
INITS = ("auto", "zero", "random", "uniform")
PARAMETRIZATIONS = ("W", "KQ")
HEADS = ("attention", "linear")
NGD_LR = 0.01
ADAM_LR = 0.01
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
_TINY = float(np.finfo(np.float64).tiny)
AUTO_PROGRESS_STEPS = 10_000  # runs this long show a bar when stderr is a terminal

Monitor = Callable[[np.ndarray], Mapping[str, Any]]


class ConfigError(DatasetError):
    """An invalid training configuration (one line; the CLI exits with code 2)."""


class DeviceError(ConfigError):
    """The requested device does not exist or is not available."""


def _choice(field: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{field} must be one of {', '.join(allowed)}; got {value!r}")


# -- configuration and result ----------------------------------------------------------
@dataclass(frozen=True)
class TrainConfig:
    """How to train.  ``None``/``"auto"`` fields are filled in by :meth:`resolve`.

    ``init="auto"`` means zero for ``"W"`` and random for ``"KQ"`` (zero is a saddle of
    the factorised loss).  Random init draws every entry of W (or of K and Q) from
    ``N(0, init_scale^2)`` with a CPU ``torch.Generator`` seeded by ``seed``, so runs
    are identical across devices; ``init="uniform"`` draws them uniformly on
    ``[-init_scale, init_scale]`` (PyTorch's default for ``nn.Linear(d, d)`` is
    ``init_scale = 1/sqrt(d)``; claim B holds from any initialisation).  ``width``
    below d restricts W to rank m (the conjecture concerns m >= d).  Step ``t`` of the
    history is the iterate after t updates; steps 0 and ``steps`` are always recorded.
    """

    optimizer: str = "ngd"  # "gd" | "ngd" | "sgd" | "adam"
    lr: float | None = None  # None: 0.01 for ngd and adam, 1/smoothness_bound for gd, sgd
    steps: int = 4000
    init: str = "auto"  # "auto" | "zero" | "random" | "uniform"
    init_scale: float = 1e-3
    seed: int = 0
    device: str = "auto"  # "auto" | "cpu" | "cuda" | "cuda:N"
    parametrization: str = "W"  # "W" | "KQ"
    width: int | None = None  # m for "KQ" (default d)
    head: str = "attention"  # "attention" | "linear"
    record_every: int = 0  # 0: only step 0 and the final step
    record_at: tuple[int, ...] = ()
    progress: bool | None = None  # None: a bar for long runs on a terminal
    batch_size: int | None = None  # windows per step for sgd/adam (None: all)

    def __post_init__(self) -> None:
        object.__setattr__(self, "record_at", tuple(sorted({int(s) for s in self.record_at})))
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("init", self.init, INITS)
        _choice("parametrization", self.parametrization, PARAMETRIZATIONS)
        _choice("head", self.head, HEADS)
        if self.lr is not None and not (math.isfinite(self.lr) and self.lr > 0):
            raise ConfigError(f"lr must be a positive finite number, got {self.lr}")
        if not (math.isfinite(self.init_scale) and self.init_scale >= 0):
            raise ConfigError(f"init_scale must be a non-negative number, got {self.init_scale}")
        if self.steps < 0:
            raise ConfigError(f"steps must be >= 0, got {self.steps}")
        if self.width is not None and self.width < 1:
            raise ConfigError(f"width must be >= 1, got {self.width}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.batch_size is not None and self.optimizer in THEORY_OPTIMIZERS:
            raise ConfigError(f"batch_size applies to sgd and adam, not {self.optimizer} "
                              "(full-batch gradient descent)")
        if self.record_every < 0:
            raise ConfigError(f"record_every must be >= 0, got {self.record_every}")
        bad = [s for s in self.record_at if not 0 <= s <= self.steps]
        if bad:
            raise ConfigError(f"record_at step {bad[0]} is outside [0, {self.steps}]")

    def resolve(self, ds: Dataset) -> TrainConfig:
        """The same config with ``lr``, ``init`` and ``width`` made concrete for ``ds``."""
        lr = self.lr
        if lr is None:
            lr = {"ngd": NGD_LR, "adam": ADAM_LR}.get(self.optimizer) or _default_gd_lr(
                ds, self.head)
        init = self.init
        if init == "auto":
            init = "random" if self.parametrization == "KQ" else "zero"
        width = self.width
        if self.parametrization == "KQ" and width is None:
            width = ds.d
        return replace(self, lr=float(lr), init=init, width=width)

    @property
    def within_theory(self) -> bool:
        """Whether the theorems cover this run: full-batch GD or normalised GD on the
        combined W with the attention head (claim B); SGD, Adam, ``K Q^T`` and the
        linear head are outside their hypotheses (conjectures C1, C3 at most)."""
        return (self.optimizer in THEORY_OPTIMIZERS and self.parametrization == "W"
                and self.head == "attention")

    def record_steps(self) -> frozenset[int]:
        every = range(0, self.steps + 1, self.record_every) if self.record_every else ()
        return frozenset({0, self.steps, *every, *self.record_at})


PAPER_PROTOCOL = TrainConfig(optimizer="ngd", lr=NGD_LR, init="zero")
"""The paper's protocol, in one place: normalised GD, lr 0.01, from W = 0, for
TrainConfig's default number of steps (4000)."""


@dataclass(frozen=True, eq=False)
class TrainResult:
    """The outcome of :func:`train`; ``config`` is the resolved configuration."""

    W: np.ndarray  # final fp64 d x d on CPU
    history: tuple[dict, ...]  # {"step", "loss", "norm", ...monitor keys}
    config: TrainConfig
    device: str  # the device actually used, e.g. "cpu" or "cuda:0"
    iterates: dict[int, np.ndarray]  # W at each recorded step
    factors: tuple[np.ndarray, np.ndarray] | None = None  # final (K, Q) for "KQ"

    @property
    def loss(self) -> float:
        return float(self.history[-1]["loss"])

    @property
    def norm(self) -> float:
        return float(self.history[-1]["norm"])


# -- smoothness --------------------------------------------------------------------------
def smoothness_bound(ds: Dataset, head: str = "attention") -> float:
    """An upper bound on the Hessian norm of ``L(W)`` (Frobenius geometry), any W.

    Along a direction V (``||V||_F = 1``) sample i's scores move by
    ``delta_t = e_{x_t}^T V e_k``, whose range over t is at most
    ``r_i = ||e_{k_i}|| diam_i`` (``diam_i``: largest distance between two embeddings
    of tokens in ``x_i``).  Write ``Var_s``, ``Cov_s`` for moments over positions
    under the attention ``s``.

    * attention head: the second derivative of ``-log p_i`` is
      ``Var_s(delta) - Var_{s|label}(delta)``, which lies in ``[0, Var_s(delta)]`` and
      ``Var <= range^2 / 4`` (Popoviciu), so ``L_smooth = max_i r_i^2 / 4``.
    * linear head: with ``q = softmax(z)`` and ``D`` the diameter of all embeddings,
      the second derivative is ``Var_q(dz) + kappa_s(delta, delta, g)`` where
      ``dz_v = e_v^T Cov_s(delta, e_x)`` has range ``<= D (r_i / 2)(diam_i / 2)`` and
      the third cumulant is bounded by ``Var_s(delta) * range(g)``,
      ``g_t = e_{x_t}^T (E^T q - e_y)``, ``range(g) <= diam_i D``; hence
      ``L_smooth = max_i r_i^2 (D^2 diam_i^2 / 64 + D diam_i / 4)``.

    For unit-norm embeddings the attention bound is at most 1 (1/2 when orthonormal),
    so the default ``lr = 1 / L_smooth`` is at least the paper's ``eta = 1``.  Plain GD
    with ``lr <= 1 / L_smooth`` decreases the loss at every step (descent lemma; it needs
    no convexity, so it covers the linear head too).  For ``"KQ"`` the factorised loss is
    not globally smooth and the same step is only a heuristic.
    """
    _choice("head", head, HEADS)
    E = ds.E
    worst = 0.0
    D = _diameter(E) if head == "linear" else 0.0
    for toks in {s.tokens for s in ds.samples}:
        diam = _diameter(E[sorted(set(toks))])
        r2 = float(E[toks[-1]] @ E[toks[-1]]) * diam**2
        if head == "attention":
            worst = max(worst, r2 / 4)
        else:
            worst = max(worst, r2 * (D**2 * diam**2 / 64 + D * diam / 4))
    return worst


def _diameter(P: np.ndarray) -> float:
    G = P @ P.T
    sq = np.diag(G)[:, None] + np.diag(G)[None, :] - 2 * G
    return float(math.sqrt(max(float(sq.max()), 0.0)))


def _default_gd_lr(ds: Dataset, head: str) -> float:
    bound = smoothness_bound(ds, head)
    # A zero bound means every sequence holds one distinct token: L is constant, any
    # step is exact, and 1 avoids dividing by zero.
    return 1.0 / bound if bound > 0 else 1.0


# -- devices -----------------------------------------------------------------------------
def resolve_device(name: str) -> torch.device:
    """``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``."""
    import torch

    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise DeviceError(f"device '{name}' requested but CUDA is not available")
        try:
            dev = torch.device(name)
        except RuntimeError:
            raise DeviceError(f"invalid device '{name}'") from None
        index = torch.cuda.current_device() if dev.index is None else dev.index
        if not 0 <= index < torch.cuda.device_count():
            raise DeviceError(
                f"device '{name}' does not exist ({torch.cuda.device_count()} CUDA devices)"
            )
        return torch.device("cuda", index)
    raise DeviceError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got '{name}'")


# -- window weights ----------------------------------------------------------------------
def sample_weights(ds: Dataset) -> np.ndarray:
    """``c_i / sum_j c_j`` from the dataset's ``counts`` (uniform when it has none).

    Examples
    --------
    >>> import numpy as np
    >>> from ntp_mechanics.model.dataset import Dataset
    >>> sample_weights(Dataset.from_arrays(np.eye(2), [((0, 1), 0), ((1,), 1)])).tolist()
    [0.5, 0.5]
    """
    counts = getattr(ds, "counts", None)
    c = np.ones(ds.n) if counts is None else np.asarray(counts, dtype=np.float64)
    if c.shape != (ds.n,) or not np.all(np.isfinite(c)) or np.any(c < 0) or not c.sum() > 0:
        raise ConfigError("counts must be one non-negative finite number per window, "
                          "not all zero")
    return c / c.sum()


def is_identity(E: np.ndarray) -> bool:
    """Whether the embedding matrix is exactly the identity (one-hot tokens, K = d).

    Then ``a_it = e_{x_it}^T W e_{k_i} = W[x_it, k_i]``: training gathers scores from W
    and scatter-adds the gradient into it, in memory O(n T) instead of the O(n T d) of
    the materialised key embeddings, with the same iterates.

    Examples
    --------
    >>> import numpy as np
    >>> is_identity(np.eye(3)), is_identity(2 * np.eye(3)), is_identity(np.eye(3)[:2])
    (True, False, False)
    """
    E = np.asarray(E)
    return E.ndim == 2 and E.shape[0] == E.shape[1] and bool(np.array_equal(E, np.eye(len(E))))


def _flat_index(ids: np.ndarray, mask: np.ndarray, d: int, device: torch.device) -> torch.Tensor:
    """``x_it * d + k_i`` (the entry ``W[x_it, k_i]`` of a flattened W), 0 on padding."""
    import torch

    flat = np.where(mask, ids * d + ids[..., -1:], 0)
    return torch.as_tensor(flat, dtype=torch.int64, device=device)


# -- the model ---------------------------------------------------------------------------
class _Model:
    """Padded dataset tensors plus the loss and its gradient wrt W (hand-written)."""

    def __init__(self, ds: Dataset, device: torch.device, head: str) -> None:
        import torch

        # built here rather than by ds.tensors(): torch warns on the read-only ds.E
        ids_np, mask_np, label_np = ds.padded()
        E = torch.tensor(np.array(ds.E), dtype=torch.float64, device=device)
        self.d = ds.d
        ids = torch.as_tensor(ids_np, device=device)
        mask = torch.as_tensor(mask_np, device=device)
        label_mask = torch.as_tensor(label_np, device=device)
        self.head, self.n = head, ds.n
        self.w = torch.as_tensor(sample_weights(ds), device=device)  # c_i / sum c
        # one-hot keys (E = I, attention head): gather scores, scatter-add the gradient
        self.flat = (_flat_index(ids_np, mask_np, ds.d, device)
                     if head == "attention" and is_identity(ds.E) else None)
        if self.flat is None:
            self.keys = E[ids] * mask[..., None]  # n x T x d, zero on padding
            self.queries = E[ids[:, -1]]  # n x d
        neg_inf = torch.full(mask.shape, -math.inf, dtype=torch.float64, device=device)
        zeros = torch.zeros_like(neg_inf)
        self.pad_bias = torch.where(mask, zeros, neg_inf)
        self.label_bias = torch.where(label_mask, zeros, neg_inf)
        self.label = label_mask
        self.off_label = (mask & ~label_mask).to(torch.float64)
        if head == "linear":
            self.logit_rows = self.keys @ E.T  # n x T x K: <e_{x_it}, e_v>
            labels = torch.as_tensor([s.label for s in ds.samples], device=device)
            self.onehot = torch.nn.functional.one_hot(labels, ds.K).to(torch.float64)

    def batch(self, idx: torch.Tensor) -> _Model:
        """The same model on the windows ``idx``, weights renormalised within them."""
        sub = object.__new__(type(self))
        sub.__dict__ = dict(self.__dict__)
        for name in ("keys", "queries", "flat", "pad_bias", "label_bias", "label",
                     "off_label", "logit_rows", "onehot"):
            if self.__dict__.get(name) is not None:
                setattr(sub, name, self.__dict__[name][idx])
        w = self.w[idx]
        sub.w = w / w.sum().clamp_min(_TINY)
        sub.n = len(idx)
        return sub

    def scores(self, W: torch.Tensor) -> torch.Tensor:
        if self.flat is not None:  # a_it = W[x_it, k_i]
            return W.reshape(-1)[self.flat] + self.pad_bias
        u = self.queries @ W.T  # n x d: W e_k
        return (self.keys @ u.unsqueeze(-1)).squeeze(-1) + self.pad_bias

    def weight_grad(self, g: torch.Tensor) -> torch.Tensor:
        """Adjoint of :meth:`scores`: ``sum_it w_i g_it e_{x_it} e_{k_i}^T``."""
        if self.flat is not None:  # G[x_it, k_i] += w_i g_it (g is 0 on padding)
            G = g.new_zeros(self.d * self.d)
            G.index_add_(0, self.flat.reshape(-1), (g * self.w[:, None]).reshape(-1))
            return G.view(self.d, self.d)
        gk = (g.unsqueeze(1) @ self.keys).squeeze(1) * self.w[:, None]  # n x d
        return gk.T @ self.queries

    def grad(self, W: torch.Tensor) -> torch.Tensor:
        a = self.scores(W)
        g = self._attention_dloss(a) if self.head == "attention" else self._linear_dloss(a)
        return self.weight_grad(g)

    def loss(self, W: torch.Tensor) -> torch.Tensor:
        a = self.scores(W)
        per = self._attention_loss(a) if self.head == "attention" else self._linear_loss(a)
        return per @ self.w

    # attention head: dL/da is s off the label and -s (1 - p) / p on it; 1 - p is summed
    # from the off-label terms so the gradient keeps full relative precision at tiny loss.
    def _attention_parts(self, a: torch.Tensor) -> tuple[torch.Tensor, ...]:
        import torch

        ay = a + self.label_bias
        lse = torch.logsumexp(a, -1, keepdim=True)  # -1: also for batched (B x n x T) scores
        lse_y = torch.logsumexp(ay, -1, keepdim=True)
        s = torch.exp(a - lse)
        off = (s * self.off_label).sum(-1, keepdim=True)  # 1 - p_i(y_i)
        return ay, lse, lse_y, s, off

    def _attention_dloss(self, a: torch.Tensor) -> torch.Tensor:
        import torch

        ay, _, lse_y, s, off = self._attention_parts(a)
        return s * self.off_label - torch.exp(ay - lse_y) * off

    def _attention_loss(self, a: torch.Tensor) -> torch.Tensor:
        import torch

        _, lse, lse_y, s, off = self._attention_parts(a)
        p = (s * self.label).sum(-1, keepdim=True)
        # log1p(off / p) = -log p without cancellation when the loss is tiny
        small = torch.log1p(off / p.clamp_min(torch.finfo(torch.float64).tiny))
        return torch.where(off < 0.5, small, lse - lse_y).squeeze(-1)

    # linear head: z = C^T s, dL/dz = softmax(z) - onehot(y), then back through softmax(a)
    def _linear_parts(self, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        s = torch.softmax(a, 1)
        z = (s.unsqueeze(1) @ self.logit_rows).squeeze(1)  # n x K
        return s, z

    def _linear_dloss(self, a: torch.Tensor) -> torch.Tensor:
        import torch

        s, z = self._linear_parts(a)
        h = torch.softmax(z, 1) - self.onehot
        ds_ = (self.logit_rows @ h.unsqueeze(-1)).squeeze(-1)  # n x T
        return s * (ds_ - (s * ds_).sum(1, keepdim=True))

    def _linear_loss(self, a: torch.Tensor) -> torch.Tensor:
        import torch

        _, z = self._linear_parts(a)
        return torch.logsumexp(z, 1) - (z * self.onehot).sum(1)


def loss(ds: Dataset, W: np.ndarray, head: str = "attention") -> float:
    """``L(W)`` of the chosen head, computed by the training code (fp64, CPU)."""
    import torch

    _choice("head", head, HEADS)
    with torch.inference_mode():
        return float(_Model(ds, torch.device("cpu"), head).loss(_as_tensor(W, ds.d)))


def gradient(ds: Dataset, W: np.ndarray, head: str = "attention") -> np.ndarray:
    """``grad L(W)`` (d x d) of the chosen head, computed by the training code."""
    import torch

    _choice("head", head, HEADS)
    with torch.inference_mode():
        return _Model(ds, torch.device("cpu"), head).grad(_as_tensor(W, ds.d)).numpy().copy()


def _as_tensor(W: np.ndarray, d: int) -> torch.Tensor:
    import torch

    W = np.asarray(W, dtype=np.float64)
    if W.shape != (d, d):
        raise ValueError(f"W must be {d} x {d}, got shape {W.shape}")
    return torch.as_tensor(W)


# -- training ----------------------------------------------------------------------------
def train(
    ds: Dataset, config: TrainConfig = TrainConfig(), monitor: Monitor | None = None
) -> TrainResult:
    """Run the configured optimiser on ``ds``; see the module docstring.

    ``monitor(W) -> dict`` is called with a fp64 numpy copy of W at every recorded step
    and its entries are merged into that step's history row.  Raises
    :class:`DeviceError` for an unavailable device and ``FloatingPointError`` when the
    weights or the loss stop being finite (a step size too large).
    """
    import torch

    cfg = config.resolve(ds)
    device = resolve_device(cfg.device)
    model = _Model(ds, device, cfg.head)
    params = [p.to(device) for p in _init_params(cfg, ds.d)]
    weights = _product if cfg.parametrization == "KQ" else _identity
    record = cfg.record_steps()
    history: list[dict] = []
    iterates: dict[int, np.ndarray] = {}
    lr, ngd = cfg.lr, cfg.optimizer == "ngd"
    tiny = torch.finfo(torch.float64).tiny
    batches = _Batches(ds.n, cfg, device)
    adam = _Adam(params) if cfg.optimizer == "adam" else None
    with torch.inference_mode(), _flush_denormals(), _ProgressBar(cfg) as bar:
        for step in range(cfg.steps + 1):
            if step in record:
                _record(step, weights(params), model, monitor, history, iterates)
            if step == cfg.steps:
                break
            on = batches.model(model)
            grads = _param_grads(params, on.grad(weights(params)))
            if adam is not None:
                adam.step(params, grads, lr)
            elif ngd:
                norm = _joint_norm(grads).clamp_min(tiny)  # on device: no sync
                for p, g in zip(params, grads, strict=True):
                    p.addcdiv_(g, norm, value=-lr)
            else:
                for p, g in zip(params, grads, strict=True):
                    p.add_(g, alpha=-lr)
            bar.advance(step + 1)
    factors = tuple(p.cpu().numpy().copy() for p in params) if len(params) == 2 else None
    return TrainResult(
        W=iterates[cfg.steps],
        history=tuple(history),
        config=cfg,
        device=_device_name(device),
        iterates=iterates,
        factors=factors,
    )


class _Batches:
    """Mini-batches of ``batch_size`` windows: a fresh permutation (seeded CPU
    generator, so every device draws the same windows) per epoch; the full model when
    no batch size is set."""

    def __init__(self, n: int, cfg: TrainConfig, device: torch.device) -> None:
        import torch

        self.n, self.device = n, device
        self.size = cfg.batch_size if cfg.batch_size and cfg.batch_size < n else None
        self.gen = torch.Generator().manual_seed(cfg.seed + 1)
        self.order: torch.Tensor | None = None
        self.pos = 0

    def model(self, model: _Model) -> _Model:
        import torch

        if self.size is None:
            return model
        if self.order is None or self.pos + self.size > self.n:
            self.order = torch.randperm(self.n, generator=self.gen).to(self.device)
            self.pos = 0
        idx = self.order[self.pos : self.pos + self.size]
        self.pos += self.size
        return model.batch(idx)


class _Adam:
    """Adam (Kingma and Ba 2015) with bias correction, in fp64."""

    def __init__(self, params: list[torch.Tensor]) -> None:
        import torch

        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.t = 0

    def step(self, params: list[torch.Tensor], grads: list[torch.Tensor], lr: float) -> None:
        b1, b2 = ADAM_BETAS
        self.t += 1
        c1, c2 = 1 - b1**self.t, 1 - b2**self.t
        for p, g, m, v in zip(params, grads, self.m, self.v, strict=True):
            m.mul_(b1).add_(g, alpha=1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            p.addcdiv_(m / c1, (v / c2).sqrt_().add_(ADAM_EPS), value=-lr)


# -- batched training ----------------------------------------------------------------------
class _BatchModel(_Model):
    """B datasets padded to common (n, T, d): padded positions score ``-inf``, padded
    samples hold one zero-key label position (zero loss and gradient), padded embedding
    coordinates are zero (their weights get zero gradient and stay at zero)."""

    def __init__(self, datasets: Sequence[Dataset], device: torch.device) -> None:
        import torch

        B = len(datasets)
        n = max(ds.n for ds in datasets)
        T = max(ds.padded()[0].shape[1] for ds in datasets)
        d = max(ds.d for ds in datasets)
        # one-hot keys in every dataset: O(B n T) flat indices instead of O(B n T d) keys
        onehot = all(is_identity(ds.E) for ds in datasets)
        if onehot:
            flat = np.zeros((B, n, T), dtype=np.int64)
        else:
            keys = np.zeros((B, n, T, d))
            queries = np.zeros((B, n, d))
        mask = np.zeros((B, n, T), dtype=bool)
        label = np.zeros((B, n, T), dtype=bool)
        for b, ds in enumerate(datasets):
            ids, m, lab = ds.padded()
            t0 = T - ids.shape[1]  # right-align: the query stays the last position
            if onehot:  # indices into the common d x d W; padding points at W[0, 0]
                flat[b, : ds.n, t0:] = np.where(m, ids * d + ids[:, -1:], 0)
            else:
                keys[b, : ds.n, t0:, : ds.d] = ds.E[ids] * m[..., None]
                queries[b, : ds.n, : ds.d] = ds.E[ids[:, -1]]
            mask[b, : ds.n, t0:], label[b, : ds.n, t0:] = m, lab
            mask[b, ds.n :, -1] = label[b, ds.n :, -1] = True  # padded samples
        as_t = partial(torch.as_tensor, device=device)
        self.head, self.d, self.B = "attention", d, B
        self.flat = as_t(flat).reshape(B, n * T) if onehot else None
        if onehot:  # the distinct entries W[x, k] that any window touches, per dataset
            self.entries, self.slot = (as_t(a) for a in _distinct(flat.reshape(B, -1)))
        else:
            self.keys, self.queries = as_t(keys), as_t(queries)
        mask_t, label_t = as_t(mask), as_t(label)
        zeros = torch.zeros(mask.shape, dtype=torch.float64, device=device)
        self.pad_bias = torch.where(mask_t, zeros, -math.inf)
        self.label_bias = torch.where(label_t, zeros, -math.inf)
        self.label = label_t
        self.off_label = (mask_t & ~label_t).to(torch.float64)
        self.real = as_t(np.arange(n)[None, :] < np.array([ds.n for ds in datasets])[:, None])
        w = np.zeros((B, n))  # c_i / sum c per dataset, 0 on padded samples
        for b, ds in enumerate(datasets):
            w[b, : ds.n] = sample_weights(ds)
        self.w = as_t(w)

    def scores(self, W: torch.Tensor) -> torch.Tensor:
        if self.flat is not None:  # a_bit = W_b[x_bit, k_bi]
            a = W.reshape(self.B, -1).gather(1, self.flat)
            return a.view(self.pad_bias.shape) + self.pad_bias
        u = self.queries @ W.transpose(-1, -2)  # B x n x d: W e_k
        return (self.keys @ u.unsqueeze(-1)).squeeze(-1) + self.pad_bias

    def weight_grad(self, g: torch.Tensor) -> torch.Tensor:
        if self.flat is not None:
            G = g.new_zeros((self.B, self.d * self.d))
            G.scatter_add_(1, self.entries, self.entry_grad(g))
            return G.view(self.B, self.d, self.d)
        gk = (g.unsqueeze(-2) @ self.keys).squeeze(-2) * self.w[..., None]  # B x n x d
        return gk.transpose(-1, -2) @ self.queries

    def entry_grad(self, g: torch.Tensor) -> torch.Tensor:
        """One-hot keys: the gradient at :attr:`entries` (B x U), the only entries of W
        it can touch: ``G_b[x_bit, k_bi] += w_bi g_bit`` (g is 0 on padding)."""
        G = g.new_zeros(self.entries.shape)
        return G.scatter_add_(1, self.slot, (g * self.w[..., None]).reshape(self.B, -1))

    def losses(self, W: torch.Tensor) -> torch.Tensor:
        per = self._attention_loss(self.scores(W)) * self.real
        return (per * self.w).sum(-1)


def train_batch(
    datasets: Sequence[Dataset], config: TrainConfig = TrainConfig(),
    seeds: Sequence[int] | None = None,
) -> list[TrainResult]:
    """Train one model per dataset, all in one tensor program; same iterates as :func:`train`.

    The datasets may differ in K, d, n and T: they are padded with masks
    (:class:`_BatchModel`) and every step is a handful of batched tensor operations, so
    the per-step Python overhead is paid once for the whole batch.  Each dataset keeps
    its own normalisation (ngd divides by its own gradient norm), its own default
    learning rate (gd: ``1 / smoothness_bound``) and its own ``n``; the iterates equal
    those of ``train(ds, config)`` to fp64 round-off (only the order of floating-point
    sums differs).

    Parameters
    ----------
    datasets : the datasets (any mix of shapes).
    config : as for :func:`train`; the combined ``"W"`` parametrisation, the
        ``"attention"`` head and full-batch ``gd``/``ngd`` only.  Random init draws
        each dataset's ``d x d`` W from ``config.seed``, exactly as :func:`train` does.
    seeds : one init seed per dataset (replacing ``config.seed``): several seeds of
        one corpus in one batch are ``train_batch([ds] * 3, cfg, seeds=[0, 1, 2])``.

    Returns
    -------
    list[TrainResult]
        One per dataset, in order, with ``history`` (step, loss, norm) and ``iterates``
        at the recorded steps.

    Raises
    ------
    ConfigError
        An unsupported parametrisation or head, or no datasets.
    DeviceError
        The device is not available.
    FloatingPointError
        Some dataset's weights or loss stopped being finite.
    """
    import torch

    if not datasets:
        raise ConfigError("train_batch needs at least one dataset")
    if config.parametrization != "W" or config.head != "attention":
        raise ConfigError("train_batch supports parametrization 'W' with the attention head only")
    if config.optimizer not in THEORY_OPTIMIZERS:
        raise ConfigError("train_batch supports full-batch gd and ngd; train sgd and adam "
                          "runs one by one with train()")
    if seeds is not None and len(seeds) != len(datasets):
        raise ConfigError(f"train_batch got {len(seeds)} seeds for {len(datasets)} datasets")
    cfgs = [config.resolve(ds) if seeds is None else replace(config, seed=int(sd)).resolve(ds)
            for ds, sd in zip(datasets, seeds or [config.seed] * len(datasets), strict=True)]
    device = resolve_device(config.device)
    model = _BatchModel(datasets, device)
    B, d = len(datasets), model.d
    W = torch.zeros((B, d, d), dtype=torch.float64)
    for b, (ds, cfg) in enumerate(zip(datasets, cfgs, strict=True)):
        W[b, : ds.d, : ds.d] = _init_params(cfg, ds.d)[0]
    W = W.to(device)
    lr = torch.as_tensor([c.lr for c in cfgs], dtype=torch.float64, device=device)
    lr = lr.reshape(B, 1, 1)
    record = config.record_steps()
    snaps: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    tiny = torch.finfo(torch.float64).tiny
    with torch.inference_mode(), _flush_denormals():
        for step in range(config.steps + 1):
            if step in record:
                snaps[step] = (W.cpu().numpy().copy(), model.losses(W).cpu().numpy().copy())
            if step == config.steps:
                break
            if model.flat is not None:  # one-hot: O(n T) a step, not O(d^2)
                _entry_step(W, model, lr, config.optimizer == "ngd")
                continue
            G = model.grad(W)
            if config.optimizer == "ngd":
                norm = torch.linalg.vector_norm(G, dim=(-2, -1), keepdim=True).clamp_min(tiny)
                W.addcdiv_(G * lr, norm, value=-1.0)
            else:
                W.sub_(G * lr)
    return [
        _batch_result(b, ds, cfg, snaps, _device_name(device))
        for b, (ds, cfg) in enumerate(zip(datasets, cfgs, strict=True))
    ]


def _entry_step(W: torch.Tensor, model: _BatchModel, lr: torch.Tensor, ngd: bool) -> None:
    """One gd/ngd step on the entries of W that the one-hot windows touch; the rest of
    the gradient is exactly zero, so W changes as under the dense update."""
    import torch

    G = model.entry_grad(model._attention_dloss(model.scores(W)))
    step = G * lr.reshape(-1, 1)
    if ngd:
        norm = torch.linalg.vector_norm(G, dim=-1, keepdim=True)
        step = step / norm.clamp_min(torch.finfo(torch.float64).tiny)
    W.view(W.shape[0], -1).scatter_add_(1, model.entries, step.neg_())


def _distinct(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``flat`` (B x N): its distinct values padded with 0 to a common length
    U (B x U; padded slots never receive gradient), and each value's slot (B x N)."""
    rows = [np.unique(r, return_inverse=True) for r in flat]
    entries = np.zeros((len(rows), max(len(u) for u, _ in rows)), dtype=np.int64)
    slot = np.zeros(flat.shape, dtype=np.int64)
    for b, (u, inv) in enumerate(rows):
        entries[b, : len(u)], slot[b] = u, inv.reshape(-1)
    return entries, slot


def _batch_result(
    b: int, ds: Dataset, cfg: TrainConfig, snaps: dict, device: str
) -> TrainResult:
    history, iterates = [], {}
    for step, (Ws, losses) in sorted(snaps.items()):
        W = Ws[b, : ds.d, : ds.d].copy()
        history.append(_checked_row(step, W, float(losses[b]), f" on dataset {b}"))
        iterates[step] = W
    return TrainResult(
        W=iterates[cfg.steps], history=tuple(history), config=cfg, device=device,
        iterates=iterates,
    )


@contextlib.contextmanager
def _flush_denormals() -> Iterator[None]:
    """Treat subnormal fp64 values (below 2.2e-308) as 0 on the CPU while training.

    Far along the trajectory most softmax weights underflow; subnormal arithmetic is
    about 100x slower on x86 (softmax went from 6 us to 0.8 ms a call), and nothing the
    suite compares resolves masses below 1e-250.  The processor flag is global, so it
    is restored on exit (Hypothesis refuses to generate floats while it is set).
    """
    import torch

    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def _joint_norm(grads: list[torch.Tensor]) -> torch.Tensor:
    """``sqrt(sum_p ||grad_p||_F^2)``; a zero gradient then makes ngd stand still."""
    import torch

    norms = [torch.linalg.vector_norm(g) for g in grads]
    return norms[0] if len(norms) == 1 else torch.hypot(norms[0], norms[1])


def _identity(params: list[torch.Tensor]) -> torch.Tensor:
    return params[0]


def _product(params: list[torch.Tensor]) -> torch.Tensor:
    return params[0] @ params[1].T


def _param_grads(params: list[torch.Tensor], G: torch.Tensor) -> list[torch.Tensor]:
    """Chain rule through ``W = K Q^T``: ``grad_K = G Q``, ``grad_Q = G^T K``."""
    if len(params) == 1:
        return [G]
    Kf, Qf = params
    return [G @ Qf, G.T @ Kf]


def _init_params(cfg: TrainConfig, d: int) -> list[torch.Tensor]:
    import torch

    shapes = [(d, d)] if cfg.parametrization == "W" else [(d, cfg.width), (d, cfg.width)]
    if cfg.init == "zero":
        return [torch.zeros(s, dtype=torch.float64) for s in shapes]
    # drawn on the CPU so every device starts from the same bits
    gen = torch.Generator().manual_seed(cfg.seed)
    if cfg.init == "uniform":  # PyTorch's nn.Linear default is init_scale = 1/sqrt(fan_in)
        return [cfg.init_scale * (2 * torch.rand(s, generator=gen, dtype=torch.float64) - 1)
                for s in shapes]
    return [cfg.init_scale * torch.randn(s, generator=gen, dtype=torch.float64) for s in shapes]


def _record(
    step: int,
    W: torch.Tensor,
    model: _Model,
    monitor: Monitor | None,
    history: list[dict],
    iterates: dict[int, np.ndarray],
) -> None:
    W_np = W.cpu().numpy().copy()
    row = _checked_row(step, W_np, float(model.loss(W)))
    if monitor is not None:
        extra = dict(monitor(W_np.copy()))
        clash = set(extra) & set(row)
        if clash:
            raise ValueError(f"monitor keys {sorted(clash)} clash with step/loss/norm")
        row.update(extra)
    history.append(row)
    iterates[step] = W_np


def _checked_row(step: int, W: np.ndarray, value: float, where: str = "") -> dict[str, Any]:
    """The history row ``{step, loss, norm}``; raises once weights or loss are not finite."""
    with np.errstate(over="ignore"):
        norm = float(np.linalg.norm(W))
    if not (math.isfinite(norm) and math.isfinite(value)):
        raise FloatingPointError(
            f"training diverged at step {step}{where} (non-finite weights or "
            "loss): lower the learning rate"
        )
    return {"step": step, "loss": value, "norm": norm}


def _device_name(device: torch.device) -> str:
    return str(device) if device.type != "cuda" else f"cuda:{device.index or 0}"


class _ProgressBar:
    """tqdm on stderr: ``progress`` True/False forces it on/off; None shows it for runs
    of at least ``AUTO_PROGRESS_STEPS`` steps when stderr is a terminal.

    Updates in chunks of about 1/200 of the run so the bar costs nothing per step.
    """

    def __init__(self, cfg: TrainConfig) -> None:
        auto = cfg.steps >= AUTO_PROGRESS_STEPS and sys.stderr is not None and sys.stderr.isatty()
        self.enabled = auto if cfg.progress is None else cfg.progress
        self.total = cfg.steps
        self.chunk = max(1, cfg.steps // 200)
        self.done = 0
        self.bar: Any = None

    def __enter__(self) -> _ProgressBar:
        if self.enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, unit="step", file=sys.stderr, leave=False)
        return self

    def advance(self, step: int) -> None:
        if self.bar is not None and (step - self.done >= self.chunk or step == self.total):
            self.bar.update(step - self.done)
            self.done = step

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()
