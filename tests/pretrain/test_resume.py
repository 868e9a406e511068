"""Pre-training resumes through the engine: an interrupted run continued with ``resume=``
ends with the weights of an uninterrupted one."""

from __future__ import annotations

import pytest
import torch

import transferkit as tk
from transferkit.exceptions import RunError
from transferkit.pretrain.callbacks import LossCurve

pytestmark = [pytest.mark.slow, pytest.mark.real_weights]

SETTINGS = dict(backbone="minilm-l6", objective="mlm", epochs=2, batch_size=8, max_length=16,
                unfreeze=1, seed=3, progress=False)


def test_an_interrupted_pretraining_resumes_to_the_same_weights(short_reviews, tmp_path,
                                                                monkeypatch):
    texts = short_reviews[:24]
    whole = tk.pretrain(texts, out=tmp_path / "whole", **SETTINGS)

    def stop_before_second_epoch(self, loop):
        if loop.epoch == 1:
            raise KeyboardInterrupt  # as a user's Ctrl-C after the first epoch's checkpoint

    with monkeypatch.context() as m:
        m.setattr(LossCurve, "on_epoch_start", stop_before_second_epoch)
        with pytest.raises(KeyboardInterrupt):
            tk.pretrain(texts, out=tmp_path / "cut", **SETTINGS)
    assert (tmp_path / "cut" / "checkpoints" / "last.ckpt").is_file()
    with pytest.raises(RunError, match="interrupted run"):
        tk.pretrain(texts, out=tmp_path / "cut", **SETTINGS)
    resumed = tk.pretrain(texts, out=tmp_path / "cut", resume=tmp_path / "cut", **SETTINGS)
    a = tk.create_backbone(f"run:{whole}").state_dict()
    b = tk.create_backbone(f"run:{resumed}").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    rec = tk.runs.read_record(resumed)["pretrain"]
    assert rec["epochs_run"] == 2 and rec["steps"] == tk.runs.read_record(whole)["pretrain"][
        "steps"]
