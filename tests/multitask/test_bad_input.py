"""Bad input to a multi-task model: one line saying what was expected, what came, the fix."""

from __future__ import annotations

import numpy as np
import pytest

import transferkit as tk
from transferkit.exceptions import ConfigError, DataError


def _fit(tasks, **kw):
    return tk.MultiTaskClassifier(backbone="tabular-mlp", tasks=tasks, epochs=1, unfreeze=0,
                                  progress=False, **kw).fit()


def test_predict_without_task_on_several_tasks_names_them(fitted, digit_tasks):
    _, test = digit_tasks
    with pytest.raises(ConfigError, match=r"needs task=: expected one of \['digit', 'parity'\], "
                                          r"got none\. Call model\.predict\(X, task='digit'\)"):
        fitted.predict(test["digit"])


def test_unknown_task_gets_a_close_match(fitted, digit_tasks):
    _, test = digit_tasks
    with pytest.raises(ConfigError, match="Unknown task 'digt'.*Did you mean 'digit'"):
        fitted.score(test["digit"], task="digt")


def test_a_task_with_one_class_is_refused(digit_tasks):
    train, _ = digit_tasks
    one = tk.from_arrays(train["digit"].inputs[:50], np.zeros(50, dtype=int), name="zeros")
    with pytest.raises(DataError, match="Task 'zeros' has one class.*expected at least 2"):
        _fit({"digit": train["digit"], "zeros": one})


def test_duplicate_task_names_are_refused(digit_tasks):
    train, _ = digit_tasks
    with pytest.raises(ConfigError, match=r"Duplicate task name\(s\) \['digit'\]"):
        _fit([("digit", train["digit"]), ("digit", train["parity"])])


def test_tasks_of_different_modalities_on_one_encoder_are_refused(digit_tasks):
    train, _ = digit_tasks
    texts = tk.Dataset(["good", "bad"] * 10, labels=np.array(["pos", "neg"] * 10),
                       modality="text", name="reviews")
    with pytest.raises(DataError, match="different kinds of input.*expected one modality"):
        _fit({"digit": train["digit"], "reviews": texts})


def test_loss_weights_for_an_unknown_task_are_refused(digit_tasks):
    train, _ = digit_tasks
    with pytest.raises(ConfigError, match=r"loss_weights names task\(s\) \['colour'\]"):
        _fit(train, loss_weights={"colour": 2.0})


def test_monitor_must_name_a_task(digit_tasks):
    train, _ = digit_tasks
    with pytest.raises(ConfigError, match="monitor='size' names no task"):
        _fit(train, monitor="size")


def test_no_tasks_says_how_to_give_them():
    with pytest.raises(ConfigError, match="needs tasks"):
        tk.MultiTaskClassifier(backbone="tabular-mlp").fit()


# --- multi-label tasks ---------------------------------------------------------------------
def _sets(*values):
    from transferkit.data.labels import object_array

    return object_array(values)


def test_a_multilabel_task_with_one_label_set_on_every_row_is_refused(digit_tasks):
    train, _ = digit_tasks
    same = tk.from_arrays(train["digit"].inputs[:60], _sets(*[("a", "b")] * 60), name="same")
    with pytest.raises(DataError) as e:
        _fit({"digit": train["digit"], "same": same})
    msg = str(e.value)
    assert "Task 'same' is multi-label but every row has the same label set ('a', 'b')" in msg
    assert "expected at least 2 different sets" in msg and "\n" not in msg


def test_unknown_labels_at_evaluation_are_named(tag_model, tag_tasks):
    _, test = tag_tasks
    rows = test["tags"].subset(np.arange(10))
    bad = tk.from_arrays(rows.inputs, _sets(*[("even", "huge")] * 5, *[("odd",)] * 5),
                         name="bad")
    with pytest.raises(DataError) as e:
        tag_model.evaluate(bad, task="tags")
    msg = str(e.value)
    assert "'bad' (task 'tags') has label(s) never seen in training: ['huge']" in msg
    assert "Expected labels among the 5 of training (['big', 'even', 'loop', 'odd', " in msg
    assert "\n" not in msg


def test_label_sets_given_to_a_single_label_task_are_refused(tag_model, tag_tasks):
    _, test = tag_tasks
    with pytest.raises(DataError, match=r"holds sets of labels \(e\.g\. \(.*\)\), but the task "
                                        r"learned one label per row"):
        tag_model.score(test["tags"], task="digit")


def test_a_single_label_model_refuses_label_sets_and_names_the_model_that_learns_them(
        tag_tasks):
    train, _ = tag_tasks
    with pytest.raises(DataError) as e:
        tk.TransferClassifier(backbone="tabular-mlp", strategy="probe").fit(train["tags"])
    msg = str(e.value)
    assert msg.startswith("Expected one label per row for TransferClassifier")
    assert "column 'label' of 'tags-digit-train' holds sets of labels (multi-label, e.g. " in msg
    assert "which a single-label model cannot learn" in msg
    assert "MultiTaskClassifier(tasks={'label': data}), one sigmoid per label" in msg
    assert "\n" not in msg


def test_a_multilabel_task_with_rows_missing_their_set_is_refused(digit_tasks):
    train, _ = digit_tasks
    labels = _sets(*[("a",), ("a", "b"), ("b",)] * 20)
    labels[3] = None
    data = tk.Dataset(train["digit"].inputs[:60], labels=labels, modality="tabular",
                      name="gaps")
    with pytest.raises(DataError, match=r"Task 'gaps': expected a label set on every row, got 1 "
                                        r"of 60 rows without one\. Drop them"):
        _fit({"digit": train["digit"], "gaps": data})
