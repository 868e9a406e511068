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
