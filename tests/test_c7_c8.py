"""Conjectures C7 (adaptive step rules) and C8 (topic change): their solver, measurements,
controls, and that the claim ledger and the conjecture plugin find them with no registry."""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ntp_mechanics.app import claims as claims_command
from ntp_mechanics.kernel.claim_support import CHAIN, PAPER_RANDOM_ACYCLIC
from ntp_mechanics.kernel.conjectures import DIR_ENV, GATE_ENV, SUMMARY_FILE
from ntp_mechanics.kernel.verdict import Verdict
from ntp_mechanics.model.tpg import TokenPriorityGraphs
from ntp_mechanics.solvers.loss import LogLoss
from ntp_mechanics.solvers.step_rules import descend, precise_loss
from ntp_mechanics.theorems import conjecture_C7_adaptive_step_rates as c7
from ntp_mechanics.theorems import conjecture_C8_topic_change as c8

ROOT = Path(__file__).resolve().parent.parent


# -- the step-rule solver ------------------------------------------------------------------
@pytest.mark.parametrize("rule", ["gd", "ngd"])
def test_descend_matches_the_torch_trainer(rule: str) -> None:
    """The numpy step rules replace nothing but must agree with ``train`` where both exist."""
    from ntp_mechanics.solvers.training import TrainConfig, train

    ds, lr, at = PAPER_RANDOM_ACYCLIC, 0.3, (5, 40)
    ours = descend(ds, rule, lr, at)
    cfg = TrainConfig(optimizer=rule, lr=lr, steps=max(at), init="zero", device="cpu",
                      record_at=at)
    theirs = train(ds, cfg).iterates
    for t in at:
        assert np.allclose(ours[t], theirs[t], rtol=1e-9, atol=1e-12), t


def test_polyak_step_is_loss_over_gradient_norm_squared() -> None:
    ds = PAPER_RANDOM_ACYCLIC
    loss = LogLoss(ds)
    W1 = descend(ds, "polyak", 0.0, (1, 2))
    g = loss.grad(W1[1])
    expected = W1[1] - precise_loss(loss, W1[1]) / float(np.sum(g**2)) * g
    assert np.allclose(W1[2], expected, rtol=1e-12, atol=1e-14)
    assert precise_loss(loss, W1[2]) < precise_loss(loss, W1[1])


def test_precise_loss_keeps_tiny_losses() -> None:
    loss = LogLoss(CHAIN)
    W = 60.0 * np.outer(CHAIN.E[0] - CHAIN.E[2], CHAIN.E[2])
    tiny = precise_loss(loss, W)
    assert 0.0 < tiny < 1e-20  # logsumexp differences would give exactly 0 here
    assert math.isclose(precise_loss(loss, np.zeros((3, 3))), loss.value(np.zeros((3, 3))),
                        rel_tol=1e-12)


def test_harmonic_steps_have_lengths_lr_over_t() -> None:
    its = descend(CHAIN, "ngd-harmonic", 1.0, (1, 2, 3))
    lengths = [np.linalg.norm(its[t + 1] - its[t]) for t in (0, 1, 2)]
    assert np.allclose(lengths, [1.0, 1 / 2, 1 / 3], rtol=1e-12)


def test_descend_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="rule"):
        descend(CHAIN, "adam", 0.1, (1,))
    with pytest.raises(ValueError, match="lr"):
        descend(CHAIN, "gd", -1.0, (1,))


# -- C7 measurements ---------------------------------------------------------------------------
def test_one_minus_corr_is_precise_near_one() -> None:
    u, eps = np.eye(3), 1e-9
    v = u + eps * np.eye(3, k=1)  # orthogonal to u: the angle is eps sqrt(2/3)
    assert math.isclose(c7.one_minus_corr(u, v), eps**2 / 3, rel_tol=1e-6)  # 1 - cos: ~0
    assert math.isclose(c7.one_minus_corr(u, 2 * u), 0.0, abs_tol=1e-30)
    assert math.isclose(c7.one_minus_corr(u, -u), 2.0, rel_tol=1e-12)


def test_rate_fit_separates_fast_slow_and_noisy_decay() -> None:
    ts = list(c7.LADDER)
    fast = [0.2 * c7.stated_rate(t) ** 2 for t in ts]
    exact = [0.2 * c7.stated_rate(t) for t in ts]
    slow = [0.2 / math.log(t) for t in ts]
    plateau = [0.1 + 0.01 / t for t in ts]
    noisy = [0.2 * c7.stated_rate(t) * f for t, f in zip(ts, [1, 30, 0.02, 40, 0.01],
                                                         strict=True)]
    assert c7.rate_fit(ts, fast).verdict is Verdict.CONSISTENT
    assert c7.rate_fit(ts, exact).verdict is Verdict.CONSISTENT  # the stated rate itself
    assert c7.rate_fit(ts, slow).verdict is Verdict.CONTRADICTS
    assert c7.rate_fit(ts, plateau).verdict is Verdict.CONTRADICTS
    assert c7.rate_fit(ts, noisy).verdict is Verdict.INCONCLUSIVE
    assert c7.rate_fit(ts, [1e-3, 1e-9, 1e-15, 0.0, 0.0]).verdict is Verdict.CONSISTENT


def test_mass_rate_and_the_combined_rule() -> None:
    ts = [8, 16, 32, 64, 128]
    assert math.isclose(c7.mass_rate(ts, [math.exp(-0.3 * t) for t in ts]), 0.3, rel_tol=1e-9)
    assert c7.mass_rate(ts, [1e-3, 1e-100, 0.0, 0.0, 0.0]) == math.inf
    assert c7.mass_rate(ts, [1 / t for t in ts]) < 0.5 * c7.NGD_SCALE / 4  # GD-like 1/t: stalled
    ok, bad, unsure = Verdict.CONSISTENT, Verdict.CONTRADICTS, Verdict.INCONCLUSIVE
    assert c7.combine_rule(ok, 0.3, 0.1, 1e-9, True) is ok
    assert c7.combine_rule(ok, 0.3, 0.1, 1e-9, False) is bad  # lost to GD
    assert c7.combine_rule(ok, 0.01, 0.1, 0.3, True) is bad  # stalled mass
    assert c7.combine_rule(bad, 0.3, 0.1, 1e-9, True) is bad
    assert c7.combine_rule(ok, 0.05, 0.1, 1e-3, True) is unsure


def test_c7_on_the_paper_protocol_case_and_its_gd_baseline() -> None:
    result = c7.c7_verdict(PAPER_RANDOM_ACYCLIC)
    assert result.verdict is Verdict.CONSISTENT, result
    for rule in ("ngd", "polyak"):
        assert result.metrics[f"{rule}_mass"][-1] < result.metrics["gd_mass"][-1]
        assert result.metrics[f"{rule}_one_minus_corr"][-1] < \
            result.metrics["gd_one_minus_corr"][-1]


def test_c7_wrong_direction_control_has_its_premise_and_is_rejected() -> None:
    W_svm, _ = c7.runs(PAPER_RANDOM_ACYCLIC)
    right = c7.rate_fit(*c7.measure(PAPER_RANDOM_ACYCLIC, "ngd")[:2])
    wrong_dir = W_svm + 0.5 * np.linalg.norm(W_svm) * np.eye(W_svm.shape[0])
    assert c7.one_minus_corr(wrong_dir, W_svm) >= c7.WRONG_GAP**2 / 2
    wrong = c7.rate_fit(*c7.measure(PAPER_RANDOM_ACYCLIC, "ngd", direction=wrong_dir)[:2])
    assert right.verdict is Verdict.CONSISTENT and wrong.verdict is Verdict.CONTRADICTS


# -- C8 measurements ---------------------------------------------------------------------------
def test_topics_dataset_has_the_two_chains() -> None:
    topics = c8.Topics(3, 2)
    tpg = TokenPriorityGraphs.from_dataset(topics.dataset())
    for topic in ("A", "B"):
        order, q = topics.order(topic), topics.query(topic)
        g = tpg[q]
        assert all(g.higher(u, v) for i, u in enumerate(order) for v in order[i + 1:])
    assert not tpg.has_cyclic_edge
    _, W_svm = c8.trained(3, 2, 1.0)
    qa = topics.query("A")
    assert np.allclose(W_svm[list(topics.order("B")), qa], 0.0, atol=1e-8)  # other topic: 0


def test_prediction_ties_and_count_violations() -> None:
    W = np.zeros((3, 3))
    W[0, 2], W[2, 2] = math.log(2), -math.log(2)
    assert c8.predicted(W, {0: 1, 1: 2, 2: 1}, 2) == {0, 1}  # 1 * 2 == 2 * 1: a tie
    assert c8.count_violations(W, W, {0: 1, 1: 2}, 2) == []  # 1 outnumbers 0
    assert c8.count_violations(W, W, {0: 2, 1: 1}, 2) == []
    assert c8.count_violations(-W, W, {0: 1, 1: 1}, 2) == [(2, 0), (2, 1)]


def test_change_probability_is_exact() -> None:
    topics = c8.Topics(1, 1)  # a_0 = 0, q_A = 1, b_0 = 2
    W = np.zeros((4, 4))
    W[0, 1], W[1, 1] = 10.0, -10.0  # a_0 always wins when present, q_A never
    assert c8.change_probability(W, topics, {2: 1}, 0) == 1.0
    for L in range(1, 5):  # a change iff no draw is a_0: (1/2)^L
        assert math.isclose(c8.change_probability(W, topics, {2: 1}, L), 0.5**L)


def test_priority_breaks_sees_a_swapped_pair() -> None:
    topics = c8.Topics(2, 1)
    W, _ = c8.trained(2, 1, 2.0)
    assert c8.priority_breaks(W, topics) == []
    swapped = W.copy()
    q = topics.query("A")
    swapped[[0, 1], q] = swapped[[1, 0], q]
    assert (0, 1, q) in c8.priority_breaks(swapped, topics)


# -- found without a registry: claims --json and the plugin ---------------------------------------
def test_claims_json_lists_c7_and_c8(capsys: pytest.CaptureFixture[str]) -> None:
    assert claims_command.run(argparse.Namespace(json=True)) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["C7"]["module"] == "theorems/conjecture_C7_adaptive_step_rates.py"
    assert rows["C8"]["module"] == "theorems/conjecture_C8_topic_change.py"
    assert rows["C7"]["kind"] == rows["C8"]["kind"] == "conjecture"
    assert "Polyak" in rows["C7"]["statement"] and "topic" in rows["C8"]["statement"]


def run_pytest(out: Path, *args: str) -> tuple[int, str, dict]:
    """``python -m pytest ARGS`` from the checkout, ungated, conjecture records in ``out``."""
    env = {k: v for k, v in os.environ.items()
           if k not in (GATE_ENV, DIR_ENV, "PYTEST_ADDOPTS") and not k.startswith("PYTEST_XDIST")}
    cmd = [sys.executable, "-m", "pytest", *args, "-p", "no:cacheprovider", "-q",
           "--conjecture-dir", str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    records = json.loads((out / SUMMARY_FILE).read_text())["conjectures"] \
        if (out / SUMMARY_FILE).exists() else {}
    return proc.returncode, proc.stdout + proc.stderr, records


def test_plugin_reports_c7_and_c8(tmp_path: Path) -> None:
    run = run_pytest(tmp_path, "theorems/conjecture_C7_adaptive_step_rates.py",
                     "theorems/conjecture_C8_topic_change.py", "--hypothesis-profile=ci",
                     "-p", "no:xdist", "-k", "adaptive_steps or outnumber")
    rc, out, recs = run
    assert rc == 0, out
    for cid in ("C7", "C8"):
        assert re.search(rf"^{cid} \[theorems/conjecture_{cid}_.*\]: held on \d+ cases",
                         out, re.MULTILINE), out
    records = {r["id"]: r for r in recs.values()}
    assert records["C7"]["status"] == records["C8"]["status"] == "held"
