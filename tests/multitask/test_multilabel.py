"""A multi-label task beside a single-label one on real digits: the tags head (one sigmoid
per label) beats a trivial baseline by far, validation tracks micro-F1, predictions are label
tuples, and a saved run predicts the same."""

from __future__ import annotations

import json

import numpy as np

import transferkit as tk
from transferkit.evaluation import multi_hot, multilabel_metrics


def test_tags_head_reaches_a_micro_f1_far_above_a_trivial_baseline(tag_model, tag_tasks):
    train, test = tag_tasks
    classes = tag_model.task_classes_["tags"]
    assert list(classes) == ["big", "even", "loop", "odd", "prime"]
    m = tag_model.evaluate(test["tags"], task="tags")
    # Trivial baseline: every label more frequent than not in training, on every row.
    y_train = multi_hot(train["tags"].labels, classes, "train")
    y_test = multi_hot(test["tags"].labels, classes, "test")
    base = multilabel_metrics(y_test, np.tile(y_train.mean(0) >= 0.5, (len(y_test), 1)),
                              list(classes))
    # Measured: micro-F1 0.984, macro-F1 0.984, subset accuracy 0.955, Hamming loss 0.015;
    # the baseline's micro-F1 is 0.433 and its subset accuracy 0.
    assert base["micro_f1"] < 0.45
    assert m["micro_f1"] >= 0.95 and m["macro_f1"] >= 0.95
    assert m["subset_accuracy"] >= 0.90 and m["accuracy"] == m["subset_accuracy"]
    assert m["hamming_loss"] <= 0.03
    assert tag_model.score(test["tags"], task="tags") == m["subset_accuracy"]
    # the digit head still learns beside it
    assert tag_model.score(test["digit"], task="digit") >= 0.96


def test_predictions_are_label_tuples_and_probabilities_are_per_label(tag_model, tag_tasks):
    _, test = tag_tasks
    pred = tag_model.predict(test["tags"], task="tags")
    proba = tag_model.predict_proba(test["tags"], task="tags")
    assert pred.dtype == object and all(isinstance(p, tuple) for p in pred)
    assert proba.shape == (len(test["tags"]), 5) and ((proba > 0) & (proba < 1)).all()
    assert not np.allclose(proba.sum(1), 1.0)  # independent sigmoids, not a softmax
    classes = tag_model.task_classes_["tags"]
    assert [tuple(classes[row >= 0.5]) for row in proba[:20]] == list(pred[:20])
    agree = np.mean([p == t for p, t in zip(pred, test["tags"].labels, strict=True)])
    assert agree >= 0.90
    assert tag_model.is_multilabel("tags") and not tag_model.is_multilabel("digit")


def test_validation_tracks_micro_f1_and_the_mean_score_picks_the_best_epoch(tag_model):
    h = tag_model.history_[-1]
    for key in ("val_tags_micro_f1", "val_tags_subset_accuracy", "val_digit_accuracy"):
        assert 0.8 < h[key] <= 1.0
    assert 0.0 <= h["val_tags_hamming_loss"] < 0.1
    assert not any(k.endswith(("_tp", "_fp", "_fn")) for k in h)  # counts became F1
    assert np.isclose(h["val_mean_score"], (h["val_tags_micro_f1"] + h["val_digit_accuracy"]) / 2)
    assert "val_mean_accuracy" not in h
    assert tag_model.summary_["monitor"] == "val_mean_score"
    assert tag_model.summary_["multilabel"]["tags"]["threshold"] == 0.5
    # held-out validation rows drawn at random (sets of labels are not stratified)
    assert tag_model.summary_["validation"]["tags"].endswith("at random)")


def test_monitor_a_multilabel_task_follows_its_micro_f1(tag_tasks, encoder):
    train, _ = tag_tasks
    model = tk.MultiTaskClassifier(backbone=encoder, tasks=train, unfreeze=0, epochs=1,
                                   monitor="tags", conflict_every=0, progress=False).fit()
    assert model.summary_["monitor"] == "val_tags_micro_f1"
    assert model.history_[0]["is_best"]


def test_save_load_round_trips_a_multilabel_head(tag_model, tag_tasks, tmp_path):
    _, test = tag_tasks
    metrics = tag_model.evaluate_tasks(test)
    path = tag_model.save(tmp_path / "tags", metrics=metrics)
    loaded = tk.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(test["tags"], task="tags"),
                                  tag_model.predict_proba(test["tags"], task="tags"))
    assert list(loaded.predict(test["tags"], task="tags")) == list(
        tag_model.predict(test["tags"], task="tags"))
    assert loaded.thresholds_ == {"tags": 0.5}
    rec = json.loads((tmp_path / "tags" / "record.json").read_text())
    tags = rec["multitask"]["tasks"]["tags"]
    assert tags["multilabel"] and tags["threshold"] == 0.5 and tags["val_micro_f1"] > 0.9
    saved = json.loads((tmp_path / "tags" / "metrics.json").read_text())
    assert saved["tasks"]["tags"]["micro_f1"] == metrics["tasks"]["tags"]["micro_f1"]
    html = tk.render_report(path)
    assert 'id="multitask"' in html and "5 labels (multi-label)" in html


def test_single_labels_at_evaluation_are_sets_of_one(tag_model, tag_tasks):
    _, test = tag_tasks
    rows = test["tags"].subset(np.arange(40))
    odd = [t for t in rows.labels if t == ("odd",)]
    assert odd  # digit 1 has the one label 'odd'
    plain = tk.from_arrays(rows.inputs, np.asarray(["odd"] * 40), name="all-odd")
    m = tag_model.evaluate(plain, task="tags")
    assert m["n"] == 40 and m["mean_labels_per_row"]["true"] == 1.0
    assert m["per_class"]["odd"]["support"] == 40 and m["per_class"]["even"]["support"] == 0
