"""Multi-task checkpoints: a fit interrupted after epoch 1 and resumed ends with the same
weights (encoder, every head, learned loss weights) as an uninterrupted one; a resume with
other settings or data is refused in one line and changes nothing."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from tests.multitask.conftest import CrashAfterEpoch

import transferkit as tk
from transferkit.engine.attached import attached_callbacks
from transferkit.exceptions import RunError


def _model(train, encoder, **kw):
    # Uncertainty weights (a learned parameter), conflict probes (extra forwards that draw
    # dropout) and temperature sampling: everything a resume must restore or replay.
    params = dict(unfreeze=1, epochs=3, lr=3e-3, backbone_lr_mult=1.0, batch_size=64,
                  loss_weights="uncertainty", conflict_every=4, sampling="temperature",
                  progress=False)
    return tk.MultiTaskClassifier(backbone=encoder, tasks=train, **{**params, **kw})


def _weights(model):
    out = {f"encoder/{k}": v for k, v in model.backbone_.state_dict().items()}
    for name, head in model.heads_.items():
        out.update({f"{name}/{k}": v for k, v in head.state_dict().items()})
    return out


@pytest.fixture(scope="module")
def tag_subset(tag_tasks):
    train, test = tag_tasks
    rows = np.arange(700)
    return {n: d.subset(rows) for n, d in train.items()}, test


def test_interrupted_after_epoch_1_then_resumed_equals_uninterrupted(tag_subset, encoder,
                                                                     tmp_path):
    train, test = tag_subset
    full = _model(train, encoder, checkpoint_dir=str(tmp_path / "full")).fit()

    ckpt = tmp_path / "run"
    with pytest.raises(RuntimeError, match="simulated crash"), \
            attached_callbacks(CrashAfterEpoch(1)):
        _model(train, encoder, checkpoint_dir=str(ckpt)).fit()
    assert json.loads((ckpt / "checkpoint.json").read_text())["epochs_done"] == 1

    resumed = _model(train, encoder, checkpoint_dir=str(ckpt), resume=str(ckpt)).fit()
    assert resumed.summary_["resumed_from"] == 1 and resumed.summary_["epochs_run"] == 3
    a, b = _weights(resumed), _weights(full)
    assert a.keys() == b.keys() and len(a) > 4
    moved = [k for k in a if not torch.equal(a[k], encoder.state_dict().get(
        k.removeprefix("encoder/"), torch.empty(0)))]
    assert moved  # training changed weights, so equality below means something
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])]
    assert resumed.loss_weight_values_ == full.loss_weight_values_
    assert resumed.loss_weight_values_ != {"digit": 1.0, "tags": 1.0}
    for task in ("digit", "tags"):
        np.testing.assert_array_equal(resumed.predict_proba(test[task], task=task),
                                      full.predict_proba(test[task], task=task))
    keys = ("epoch", "train_loss", "val_loss", "val_tags_micro_f1", "task_examples",
            "grad_cosine", "loss_weights")
    assert [{k: h[k] for k in keys} for h in resumed.history_] == [
        {k: h[k] for k in keys} for h in full.history_]


def test_resume_with_other_settings_is_refused_and_changes_nothing(tag_subset, encoder,
                                                                   tmp_path):
    train, _ = tag_subset
    ckpt = tmp_path / "run"
    with pytest.raises(RuntimeError), attached_callbacks(CrashAfterEpoch(1)):
        _model(train, encoder, checkpoint_dir=str(ckpt)).fit()
    before = (ckpt / "last.ckpt").read_bytes()
    with pytest.raises(RunError, match=r"Refusing to resume.*sampling: 'temperature' -> "
                                       r"'round_robin'.*Nothing was changed") as e:
        _model(train, encoder, checkpoint_dir=str(ckpt), resume=str(ckpt),
               sampling="round_robin").fit()
    assert "\n" not in str(e.value)
    fewer = {n: d.subset(np.arange(600)) for n, d in train.items()}
    with pytest.raises(RunError, match="the training data differs: the checkpoint saw 1400 "
                                       "rows.*this run has 1200 rows"):
        _model(fewer, encoder, checkpoint_dir=str(ckpt), resume=str(ckpt)).fit()
    assert (ckpt / "last.ckpt").read_bytes() == before
