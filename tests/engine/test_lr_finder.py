"""The learning-rate range test: sweep, stop on divergence, suggestion, plot, CLI."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import transferkit as tk
from transferkit import ConfigError
from transferkit.cli.main import main
from transferkit.engine import ExampleData, Task, TrainConfig, suggest_lr, sweep_lr


class LinearTask(Task):
    def __init__(self):
        torch.manual_seed(0)
        self.module = nn.Linear(64, 10)

    def param_groups(self):
        return [{"name": "head", "params": list(self.module.parameters()), "lr": 1e-3,
                 "weight_decay": 0.0}]

    def training_step(self, model, batch):
        return F.cross_entropy(model(batch["inputs"]["x"]), batch["labels"])


def _rows(rows):
    return {"x": torch.from_numpy(np.asarray(rows, dtype=np.float32))}


def test_sweep_stops_on_divergence_and_restores_weights(digits):
    X, y = digits
    task = LinearTask()
    before = {k: v.clone() for k, v in task.module.state_dict().items()}
    res = sweep_lr(task, ExampleData(X / 16.0, y, _rows),
                   TrainConfig(batch_size=32, progress=False), min_lr=1e-5, max_lr=1e3,
                   num_steps=80)
    assert 10 < len(res["lrs"]) < 80  # stopped once the loss blew up
    assert res["lrs"] == sorted(res["lrs"]) and res["lrs"][0] == pytest.approx(1e-5)
    assert 1e-5 < res["suggestion"] < 1e3
    assert min(res["losses"]) < 0.5 * res["losses"][0] and min(res["smoothed"]) < res["smoothed"][0]
    for k, v in task.module.state_dict().items():
        assert torch.equal(v, before[k])


def test_suggestion_is_the_steepest_descent():
    lrs = list(np.logspace(-6, 0, 61))
    # Loss falls fastest around lr = 1e-3, bottoms out near 1e-1, then rises.
    loss = [2 - np.tanh(2 * (np.log10(lr) + 3)) + 3 * max(0.0, np.log10(lr) + 1) ** 2 for lr in lrs]
    s = suggest_lr(lrs, loss)
    assert 10 ** -3.3 < s["steepest"] < 10 ** -2.7
    assert s["min_loss"] > s["steepest"]


def test_lr_find_with_an_estimator_writes_plot_and_json(digits, tmp_path):
    X, y = digits
    model = tk.TransferClassifier(backbone="tabular-mlp", strategy="finetune", cache=False,
                                  progress=False)
    res = tk.lr_find(model, X[:500], y[:500], num_steps=40, out=tmp_path)
    png = tmp_path / "lr_find.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    saved = json.loads((tmp_path / "lr_find.json").read_text())
    assert saved["suggestion"] == res["suggestion"] and len(saved["lrs"]) == len(res["losses"])
    assert not hasattr(model, "strategy_")  # the estimator is not fitted by the sweep


def test_lr_find_refuses_the_probe(digits):
    X, y = digits
    with pytest.raises(ConfigError, match="gradient descent"):
        tk.lr_find(tk.TransferClassifier(backbone="tabular-mlp"), X[:100], y[:100])


def test_cli_lr_find(capsys, digits, tmp_path):
    X, y = digits
    df = pd.DataFrame(X[:400], columns=[f"p{i}" for i in range(64)])
    df["digit"] = y[:400]
    df.to_csv(tmp_path / "digits.csv", index=False)
    code = main(["lr-find", str(tmp_path / "digits.csv"), "--label-col", "digit",
                 "--backbone", "tabular-mlp", "--num-steps", "30", "--out", str(tmp_path / "lr")])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "suggested lr" in out.out and (tmp_path / "lr" / "lr_find.png").exists()
