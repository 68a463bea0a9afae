"""How a real-text run is set up: :class:`RealTextSetting` (no heavy imports).

The corpus (unit, window T, vocabulary cap, how many distinct windows each seed
draws) and the training (normalised GD, learning rate, steps, recording) of
:func:`ntp_mechanics.kernel.realtext_run.run_realtext`, with the sizes the report uses.

Example
-------
>>> RealTextSetting.quick().window, RealTextSetting.full().window
(8, 16)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RealTextSetting"]


@dataclass(frozen=True)
class RealTextSetting:
    """A corpus cut from the embedded text and how to train on it.

    Each seed of ``seeds`` draws its own random subset of at most ``max_train``
    training and ``max_heldout`` held-out distinct windows (None: all of them; the
    seeds then differ only in the controls' draws, since training starts from W = 0).
    Training is normalised GD (``optimizer="ngd"``) with ``lr`` for ``steps`` steps from
    W = 0, recorded every ``record_every`` steps.
    """

    unit: str = "char"
    window: int = 8
    vocab: int | None = None
    max_train: int | None = 1200
    max_heldout: int | None = 400
    held_out: float = 0.25
    corpus_seed: int = 0
    seeds: tuple[int, ...] = (0, 1, 2)
    optimizer: str = "ngd"
    lr: float = 0.05
    steps: int = 2000
    record_every: int = 100
    device: str = "cpu"

    @classmethod
    def quick(cls) -> RealTextSetting:
        """The report's quick profile: characters, T = 8, 1,200 + 400 windows, 3 seeds."""
        return cls()

    @classmethod
    def full(cls) -> RealTextSetting:
        """The report's full profile: characters, T = 16, 2,000 + 1,000 windows, 3 seeds."""
        return cls(window=16, max_train=2000, max_heldout=1000, steps=3000, record_every=150)

    @classmethod
    def tiny(cls) -> RealTextSetting:
        """For tests: a few seconds."""
        return cls(window=6, vocab=12, max_train=150, max_heldout=80, seeds=(0, 1),
                   lr=0.06, steps=300, record_every=100)
