"""The loop: batch plans, accumulation, schedules, early stopping, checkpoints and resume."""

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from transferkit import ConfigError, RunError
from transferkit.engine import (
    Callback,
    ExampleData,
    Task,
    TrainConfig,
    epoch_plan,
    load_checkpoint,
    lr_factor,
    train,
)


def _rows(rows):
    return {"x": torch.from_numpy(np.asarray(rows, dtype=np.float32))}


class MLPTask(Task):
    """A small MLP on table rows (dropout makes resume tests sensitive to RNG handling)."""

    def __init__(self, d=64, k=10, dropout=0.2, lr=0.02):
        torch.manual_seed(0)
        self.module = nn.Sequential(nn.Linear(d, 32), nn.ReLU(), nn.Dropout(dropout),
                                    nn.Linear(32, k))
        self.lr = lr

    def param_groups(self):
        return [{"name": "mlp", "params": list(self.module.parameters()), "lr": self.lr,
                 "weight_decay": 0.01}]

    def training_step(self, model, batch):
        return F.cross_entropy(model(batch["inputs"]["x"]), batch["labels"])

    def validation_step(self, module, batch):
        logits, y = module(batch["inputs"]["x"]), batch["labels"]
        return {"loss": F.cross_entropy(logits, y, reduction="sum"),
                "correct": (logits.argmax(1) == y).sum(), "count": torch.tensor(float(len(y)))}


@pytest.fixture(scope="module")
def data(digits):
    X, y = digits
    X = X / 16.0
    return ExampleData(X[:600], y[:600], _rows), ExampleData(X[600:800], y[600:800], _rows)


def _state(task):
    return {k: v.clone() for k, v in task.module.state_dict().items()}


def _same(a, b):
    return set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)


# --- plans and schedules ------------------------------------------------------------------------
@pytest.mark.parametrize("world, accumulate", [(1, 1), (2, 1), (3, 2), (1, 4)])
def test_epoch_plan_covers_every_row_once_with_exact_weights(world, accumulate):
    n, bs = 101, 16
    plans = [epoch_plan(n, bs, epoch=1, seed=7, rank=r, world=world, accumulate=accumulate)
             for r in range(world)]
    assert len({len(p) for p in plans}) == 1 and len(plans[0]) == math.ceil(n / bs)
    seen = []
    for step in range(len(plans[0])):
        weight = 0.0
        for p in plans:
            assert len(p[step]) == accumulate
            for mb in p[step]:
                if mb.scale > 0:
                    seen += list(mb.idx)
                    weight += mb.scale / world
        assert weight == pytest.approx(1.0)  # the step's loss is the mean over its rows
    assert sorted(seen) == list(range(n))
    again = epoch_plan(n, bs, epoch=1, seed=7, world=1)
    other = epoch_plan(n, bs, epoch=2, seed=7, world=1)
    assert [list(m.idx) for s in again for m in s] != [list(m.idx) for s in other for m in s]


def test_lr_factor_warmup_then_cosine_or_linear():
    total, warm = 100, 10
    f = [lr_factor(s, total, warm, "cosine") for s in range(total)]
    assert f[0] < f[5] < f[9] <= 1.0
    assert f[10] == pytest.approx(1.0) and f[-1] < 0.01
    assert all(a >= b for a, b in zip(f[10:], f[11:], strict=False))
    lin = [lr_factor(s, total, 0, "linear") for s in (0, 45, 90)]
    assert lin == pytest.approx([1.0, 0.55, 0.1])
    assert lr_factor(50, total, warm, "constant") == 1.0


def test_grad_accumulation_equals_full_batch(data):
    tr, _ = data
    a, b = MLPTask(dropout=0.0), MLPTask(dropout=0.0)
    train(a, tr, None, TrainConfig(epochs=2, batch_size=64, progress=False))
    train(b, tr, None, TrainConfig(epochs=2, batch_size=64, accumulate=4, progress=False))
    for (k, x), y in zip(a.module.state_dict().items(), b.module.state_dict().values(),
                         strict=True):
        torch.testing.assert_close(x, y, atol=2e-6, rtol=1e-5, msg=k)


def test_history_records_losses_lrs_and_times(data):
    tr, va = data
    task = MLPTask()
    res = train(task, tr, va, TrainConfig(epochs=3, batch_size=64, progress=False))
    assert [r["epoch"] for r in res.history] == [1, 2, 3]
    for r in res.history:
        assert {"train_loss", "val_loss", "val_accuracy", "lr", "seconds", "is_best"} <= set(r)
        assert set(r["lr"]) == {"mlp"} and r["seconds"] > 0
    assert res.history[-1]["train_loss"] < res.history[0]["train_loss"]
    assert res.history[-1]["lr"]["mlp"] < res.history[0]["lr"]["mlp"]  # cosine decay
    assert res.lr_by_group == {"mlp": 0.02} and res.world_size == 1
    assert next(task.module.parameters()).device.type == "cpu"


# --- early stopping -------------------------------------------------------------------------------
class Snapshots(Callback):
    order = 50  # after early stopping, before checkpoints

    def __init__(self):
        self.by_epoch = {}

    def on_epoch_end(self, loop, record):
        self.by_epoch[record["epoch"]] = {k: v.detach().clone()
                                          for k, v in loop.module.state_dict().items()}


def test_early_stopping_stops_and_restores_the_best_weights(digits):
    X, y = digits
    X = X / 16.0
    rng = np.random.default_rng(0)
    # Validation labels are a random relabelling: the better the fit, the worse val_loss.
    tr = ExampleData(X[:400], y[:400], _rows)
    va = ExampleData(X[400:600], rng.permutation(y[400:600]), _rows)
    task, snaps = MLPTask(lr=0.05), Snapshots()
    res = train(task, tr, va, TrainConfig(epochs=20, batch_size=32, patience=2, progress=False),
                callbacks=[snaps])
    assert res.stopped_early and res.epochs_run < 20
    losses = [r["val_loss"] for r in res.history]
    assert res.best_epoch == int(np.argmin(losses)) + 1
    assert res.epochs_run == res.best_epoch + 2  # patience 2
    assert _same(_state(task), snaps.by_epoch[res.best_epoch])
    assert not _same(_state(task), snaps.by_epoch[res.epochs_run])


# --- checkpoints and resume --------------------------------------------------------------------
class CrashInEpoch(Callback):
    def __init__(self, epoch, step):
        self.epoch, self.step = epoch, step

    def on_train_batch_end(self, loop, loss):
        start = self.epoch * loop.steps_per_epoch
        if loop.epoch == self.epoch and loop.global_step >= start + self.step:
            raise RuntimeError("simulated crash")


IDENTITY = {"backbone": {"spec": "mlp", "fingerprint": "abc"},
            "data": {"n": 600, "fingerprint": "d1"}, "settings": {"lr": 0.02}}


def test_checkpoint_files_are_written_atomically(data, tmp_path):
    tr, va = data
    train(MLPTask(), tr, va, TrainConfig(epochs=2, batch_size=64, checkpoint_dir=str(tmp_path),
                                         identity=IDENTITY, progress=False))
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["best.ckpt", "checkpoint.json", "history.jsonl", "last.ckpt"]
    meta = json.loads((tmp_path / "checkpoint.json").read_text())
    assert meta["epochs_done"] == 2 and meta["identity"] == IDENTITY
    state = load_checkpoint(tmp_path / "last.ckpt")  # weights_only: no pickled objects
    assert state["epoch"] == 2 and len(state["history"]) == 2
    assert len((tmp_path / "history.jsonl").read_text().splitlines()) == 2


def test_resume_after_crash_equals_uninterrupted_run(data, tmp_path):
    tr, va = data

    def cfg(folder, resume=None):
        return TrainConfig(epochs=4, batch_size=64, checkpoint_dir=str(folder), resume=resume,
                           identity=IDENTITY, patience=3, progress=False)

    full = MLPTask()
    res_full = train(full, tr, va, cfg(tmp_path / "full"))

    crashed = MLPTask()
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(crashed, tr, va, cfg(tmp_path / "run"), callbacks=[CrashInEpoch(epoch=2, step=3)])
    assert load_checkpoint(tmp_path / "run" / "last.ckpt")["epoch"] == 2  # killed during epoch 3

    resumed = MLPTask()
    res = train(resumed, tr, va, cfg(tmp_path / "run", resume=str(tmp_path / "run")))
    assert res.resumed_from == 2 and res.epochs_run == 4
    assert _same(_state(resumed), _state(full))  # bit-identical weights
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in res.history]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in res_full.history]
    assert res.best_epoch == res_full.best_epoch


def test_resume_refuses_a_different_run_and_changes_nothing(data, tmp_path):
    tr, va = data
    train(MLPTask(), tr, va, TrainConfig(epochs=1, batch_size=64, checkpoint_dir=str(tmp_path),
                                         identity=IDENTITY, progress=False))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    other = {**IDENTITY, "data": {"n": 500, "fingerprint": "d2"}}
    with pytest.raises(RunError, match="training data differs.*500 rows"):
        train(MLPTask(), tr, va, TrainConfig(epochs=1, checkpoint_dir=str(tmp_path),
                                             resume=str(tmp_path), identity=other))
    other = {**IDENTITY, "backbone": {"spec": "other", "fingerprint": "zzz"}}
    with pytest.raises(RunError, match="backbone differs"):
        train(MLPTask(), tr, va, TrainConfig(epochs=1, resume=str(tmp_path), identity=other))
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_resume_from_a_folder_without_checkpoint(tmp_path, data):
    tr, _ = data
    with pytest.raises(RunError, match="Cannot resume"):
        train(MLPTask(), tr, None, TrainConfig(epochs=1, resume=str(tmp_path / "nope")))


def test_non_finite_loss_is_a_clear_error(data):
    tr, _ = data

    class NaNTask(MLPTask):
        def training_step(self, model, batch):
            return super().training_step(model, batch) * float("nan")

    with pytest.raises(ConfigError, match="loss became nan.*Lower lr"):
        train(NaNTask(), tr, None, TrainConfig(epochs=1, progress=False))
