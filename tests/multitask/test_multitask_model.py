"""MultiTaskClassifier on real digits: both heads learn, frozen blocks stay, weights learn,
the gradient-conflict view is recorded, and a saved run predicts the same per task."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import transferkit as tk


def test_both_heads_reach_their_accuracy_on_held_out_digits(fitted, digit_tasks):
    _, test = digit_tasks
    # Measured 0.990 (digit) and 0.982 (parity) with these settings; a linear probe on
    # the random encoder reaches about 0.93 on digit.
    assert fitted.score(test["digit"], task="digit") >= 0.96
    assert fitted.score(test["parity"], task="parity") >= 0.96
    assert set(fitted.predict(test["parity"], task="parity")) == {"even", "odd"}
    assert fitted.predict_proba(test["digit"], task="digit").shape == (len(test["digit"]), 10)


def test_frozen_block_does_not_move_and_trained_block_does(fitted, encoder):
    before = {k: v for k, v in encoder.state_dict().items()}
    after = fitted.backbone_.state_dict()
    frozen = [k for k in before if k.startswith("blocks.0.")]
    trained = [k for k in before if k.startswith("blocks.1.")]
    assert frozen and trained
    assert all(torch.equal(before[k], after[k]) for k in frozen)
    assert any(not torch.equal(before[k], after[k]) for k in trained)
    assert fitted.summary_["freezing"]["trainable_groups"] == ["block.1"]


def test_uncertainty_weights_move_away_from_their_start(fitted):
    w = fitted.loss_weight_values_
    assert set(w) == {"digit", "parity"}
    # exp(-s) starts at 1; per-task losses fall well below 1, so s = log(loss) goes negative.
    assert all(abs(v - 1.0) > 0.1 for v in w.values()), w
    per_epoch = [h["loss_weights"]["digit"] for h in fitted.history_]
    assert per_epoch[-1] != per_epoch[0]


def test_history_holds_per_task_validation_and_conflict(fitted):
    h = fitted.history_[0]
    for key in ("val_digit_accuracy", "val_parity_accuracy", "val_mean_accuracy"):
        assert 0.5 < h[key] <= 1.0
    assert np.isclose(h["val_mean_accuracy"],
                      (h["val_digit_accuracy"] + h["val_parity_accuracy"]) / 2)
    cos = h["grad_cosine"]["digit ~ parity"]
    # 1,260 training rows per task in batches of 64: 40 steps per epoch, sampled every 5th.
    assert cos["samples"] == 8 and -1.0 <= cos["min"] <= cos["mean"] <= 1.0


def test_save_load_gives_identical_predictions_per_task(fitted, digit_tasks, tmp_path):
    _, test = digit_tasks
    path = fitted.save(tmp_path / "mt")
    loaded = tk.load(path)
    assert isinstance(loaded, tk.MultiTaskClassifier)
    for task in ("digit", "parity"):
        np.testing.assert_array_equal(loaded.predict_proba(test[task], task=task),
                                      fitted.predict_proba(test[task], task=task))
    rec = json.loads((tmp_path / "mt" / "record.json").read_text())
    assert rec["kind"] == "fit-multi"
    assert set(rec["multitask"]["tasks"]) == {"digit", "parity"}
    pairs = rec["multitask"]["grad_conflict"]["pairs"]
    assert pairs["digit ~ parity"]["samples"] == 8 * len(fitted.history_)
    assert rec["history"][0]["val_digit_accuracy"] > 0.5


def test_round_robin_gives_a_small_task_half_of_every_epoch(digit_tasks, encoder):
    train, _ = digit_tasks
    small = train["parity"].subset(np.arange(200))
    model = tk.MultiTaskClassifier(
        backbone=encoder, tasks={"digit": train["digit"], "parity": small}, unfreeze=0,
        epochs=2, sampling="round_robin", batch_size=48, conflict_every=0,
        progress=False).fit()
    # 1,260 + 180 rows (10% held out each) = 1,440 per epoch = 30 steps of 48, taking turns:
    # 15 steps each, counted in the steps the loop ran.
    for h in model.history_:
        assert h["task_examples"] == {"digit": 720, "parity": 720}
    assert model.summary_["task_shares"] == {"digit": 0.5, "parity": 0.5}


def test_report_shows_each_task_and_the_gradient_conflict(fitted, digit_tasks, tmp_path):
    _, test = digit_tasks
    metrics = fitted.evaluate_tasks(test)
    path = fitted.save(tmp_path / "mt-report", metrics=metrics)
    html = tk.render_report(path)
    assert 'id="multitask"' in html and "Gradient conflict" in html and "digit ~ parity" in html
    assert "val_parity_accuracy" in html  # per-task learning curves in the training table
    assert "Missing" not in html and "missing" not in html.split('id="multitask"')[1][:2000]
    assert metrics["accuracy"] == (metrics["tasks"]["digit"]["accuracy"]
                                   + metrics["tasks"]["parity"]["accuracy"]) / 2


def test_given_validation_rows_are_used_per_task(digit_tasks, encoder):
    train, test = digit_tasks
    splits = tk.DatasetSplits(train["digit"], val=test["digit"], name="digit")
    model = tk.MultiTaskClassifier(backbone=encoder, unfreeze=0, epochs=1, conflict_every=0,
                                   batch_size=56, progress=False).fit(
        {"digit": splits, "parity": train["parity"]}, val={"parity": test["parity"]})
    assert model.summary_["validation"] == {"digit": "given (397 rows)",
                                            "parity": "given (397 rows)"}
    # all 1,400 rows of each task trained, nothing held out: 50 steps of 56, 25 per task
    assert model.history_[0]["task_examples"] == {"digit": 1400, "parity": 1400}
    assert model.history_[0]["val_digit_accuracy"] == pytest.approx(
        model.score(test["digit"], task="digit"))
