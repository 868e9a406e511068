"""Multi-task training through the engine's DDP path: two spawned gloo processes."""

from __future__ import annotations

import pytest

import transferkit as tk


@pytest.mark.slow
@pytest.mark.distributed
@pytest.mark.timeout(300)
def test_two_processes_train_both_heads(digit_tasks, encoder):
    train, test = digit_tasks
    kw = dict(backbone=encoder, tasks=train, unfreeze=1, epochs=1, lr=3e-3,
              backbone_lr_mult=1.0, loss_weights="uncertainty", conflict_every=5,
              progress=False)
    two = tk.MultiTaskClassifier(devices=2, **kw).fit()
    assert two.summary_["world_size"] == 2
    # One process reaches 0.96 / 0.97 after this one epoch.
    assert two.score(test["digit"], task="digit") >= 0.9
    assert two.score(test["parity"], task="parity") >= 0.9
    # Rank 0's history came back: its share of the rows, its conflict samples.
    h = two.history_[-1]
    assert sum(h["task_examples"].values()) == 2520 // 2
    assert h["grad_cosine"]["digit ~ parity"]["samples"] > 0
    assert two.loss_weight_values_["digit"] != 1.0
