"""Per-task loss weights, and early stopping on a chosen task."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import transferkit as tk
from transferkit.exceptions import ConfigError
from transferkit.strategies.multitask import LossWeights, parse_loss_weights


def test_fixed_weights_scale_each_present_task():
    lw = LossWeights(["intent", "sentiment", "topic"], {"intent": 2.0, "topic": 0.5})
    losses = torch.tensor([1.0, 3.0, 4.0])
    # topic is absent from the batch: it adds nothing
    assert float(lw(losses, torch.tensor([True, True, False]))) == pytest.approx(2.0 + 3.0)
    assert lw.log_vars is None and lw.current() == {"intent": 2.0, "sentiment": 1.0,
                                                     "topic": 0.5}


def test_uncertainty_weights_follow_kendall_and_learn_the_loss_scale():
    lw = LossWeights(["a", "b"], "uncertainty")
    with torch.no_grad():
        lw.log_vars.copy_(torch.tensor([0.0, math.log(2.0)]))
    value = lw(torch.tensor([1.0, 4.0]), torch.tensor([True, True]))
    assert float(value.detach()) == pytest.approx(1.0 + 0.0 + 4.0 / 2.0 + math.log(2.0), rel=1e-5)
    # minimising exp(-s) * L + s over s gives s = log L: a task with a 4x larger loss ends
    # up weighted 4x less
    opt = torch.optim.SGD(lw.parameters(), lr=0.1)
    for _ in range(500):
        opt.zero_grad()
        lw(torch.tensor([0.5, 2.0]), torch.tensor([True, True])).backward()
        opt.step()
    w = lw.current()
    assert w["a"] == pytest.approx(2.0, rel=0.02) and w["b"] == pytest.approx(0.5, rel=0.02)


def test_command_line_weights_parse_or_say_the_form():
    assert parse_loss_weights("uncertainty") == "uncertainty"
    assert parse_loss_weights("intent=2,sentiment=0.5") == {"intent": 2.0, "sentiment": 0.5}
    with pytest.raises(ConfigError, match="expects 'uncertainty' or task=weight pairs"):
        parse_loss_weights("intent:2")


def test_monitor_a_task_keeps_that_tasks_best_epoch(digit_tasks, encoder):
    train, _ = digit_tasks
    model = tk.MultiTaskClassifier(backbone=encoder, tasks=train, unfreeze=0, epochs=3,
                                   monitor="parity", conflict_every=0, lr=3e-3,
                                   progress=False).fit()
    scores = [h["val_parity_accuracy"] for h in model.history_]
    assert model.summary_["monitor"] == "val_parity_accuracy"
    assert model.summary_["best_epoch"] == int(np.argmax(scores)) + 1
