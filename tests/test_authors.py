"""The authors' protocol beside ours (ntp_mechanics.app.authors)."""

from __future__ import annotations

import numpy as np

from ntp_mechanics.app.authors import (
    PUBLISHED,
    authors_dataset,
    authors_markdown,
    authors_trial,
    ours_trial,
    reduced_ngd,
)
from ntp_mechanics.kernel.claim_support import DOC_CYCLE, PAPER_RANDOM, predictions
from ntp_mechanics.model.tpg import TokenPriorityGraphs


def test_authors_draw_has_the_requested_kind_and_distinct_tokens() -> None:
    rng = np.random.default_rng(0)
    for kind in ("cyclic", "acyclic"):
        ds = authors_dataset(rng, kind, 6, 8, 6, 4)
        tpg = TokenPriorityGraphs.from_dataset(ds)
        assert tpg.has_acyclic_edge and tpg.has_cyclic_edge == (kind == "cyclic")
        assert all(len(set(s.tokens)) == len(s.tokens) == 4 for s in ds.samples)


def test_reduced_ngd_approaches_w_fin() -> None:
    """W_fin(tau) is normalised GD on L_fin: it ends within a few lr of the exact W_fin,
    and after one step it is far from it (so the comparison is not vacuous)."""
    pred = predictions(DOC_CYCLE)
    assert np.linalg.norm(pred.W_fin) > 0.1
    assert np.linalg.norm(reduced_ngd(DOC_CYCLE, pred, 2000) - pred.W_fin) < 0.05
    assert np.linalg.norm(reduced_ngd(DOC_CYCLE, pred, 1) - pred.W_fin) > 0.1


def test_default_init_leaves_a_part_outside_s_all() -> None:
    """Fact F6: from PyTorch's default init the off-S_all part never moves, so the
    authors' corr(W, W_svm) is capped by sqrt(1 - (off / ||W||)^2) < 1 (W_svm is in
    S_all), while ours from zero has no such cap."""
    pred = predictions(PAPER_RANDOM)
    a = authors_trial(PAPER_RANDOM, pred, seed=1, steps=1000)
    o = ours_trial(PAPER_RANDOM, pred, steps=1000, path=False)
    cap = float(np.sqrt(1 - (a["off_S_all"] / a["norm"]) ** 2))
    assert a["off_S_all"] > 0.5 and cap < 1 - 1e-4
    assert a["corr_svm"] <= cap + 1e-9
    assert 0 < o["corr_svm"] <= 1


def test_markdown_has_both_protocols_and_the_published_table() -> None:
    row = {"authors": {"corr_svm": 0.9, "corr_fit": 0.91, "fin_err": 0.01, "off_S_all": 1.0,
                       "loss0": 1.0, "loss": 0.2, "norm": 30.0, "R_fit": 3.0,
                       "fin_err_exact": 0.01},
           "ours": {"corr_svm": 0.95, "corr_path": 0.99, "fin_err_exact": 0.01, "loss0": 1.0,
                    "loss": 0.2, "norm": 30.0}}
    res = {"steps": 4000, "side_by_side": [{"config": ["cyclic", 6, 8, 6, 4], **row}],
           "published": [{"label": p.label, **row} for p in PUBLISHED]}
    text = "\n".join(authors_markdown(res))
    assert "The authors' protocol side by side" in text
    assert "Published numbers beside the suite's" in text
    assert "0.9859" in text and "39.3" in text and "0.0044" in text
