"""The issue's command on a folder of colour photos: ``transferkit pretrain photos/ --backbone
efficientnet-lite0 --objective simclr``, then ``transferkit fit --backbone run:<folder>``; and
an interrupted SimCLR run resumes to the weights of an uninterrupted one."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import transferkit as tk
from transferkit.cli.main import main
from transferkit.exceptions import RunError
from transferkit.pretrain.callbacks import LossCurve
from transferkit.runs import read_record

pytestmark = [pytest.mark.real_data]


def colour_digits(usps, rows) -> list[np.ndarray]:
    """Real USPS digits, each drawn in one colour on another (RGB, 32 x 32)."""
    rng = np.random.default_rng(0)
    out = []
    for i in rows:
        ink = usps.train.inputs[i].astype(np.float32)[..., None] / 255.0
        fg, bg = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        rgb = (ink * fg + (1 - ink) * bg).astype(np.uint8)
        out.append(np.asarray(Image.fromarray(rgb).resize((32, 32), Image.BILINEAR)))
    return out


@pytest.mark.slow  # EfficientNet-Lite0 at 224 x 224 on a CPU: about 30 s
@pytest.mark.real_weights
def test_pretrain_a_photo_folder_with_efficientnet_then_fit_on_the_run(usps, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, img in enumerate(colour_digits(usps, range(24))):
        Image.fromarray(img).save(photos / f"p{i:02d}.png")
    out = tmp_path / "runs" / "eff-photos"
    assert main(["pretrain", str(photos), "--backbone", "efficientnet-lite0", "--objective",
                 "simclr", "--epochs", "5", "--max-steps", "2", "--batch-size", "4",
                 "--unfreeze", "2", "--out", str(out), "--no-report"]) == 0
    pre = read_record(out)["pretrain"]
    assert pre["steps"] == 2 and pre["stopped_by"] == "max_steps"
    assert pre["freezing"]["trainable_groups"] == ["stage7", "head"]
    assert np.isfinite(pre["held_out_loss"]["best"])
    labelled = tmp_path / "labelled"
    for i, img in enumerate(colour_digits(usps, range(100, 124))):
        (labelled / str(usps.train.labels[100 + i] % 2)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(labelled / str(usps.train.labels[100 + i] % 2) / f"{i}.png")
    assert main(["fit", str(labelled), "--backbone", f"run:{out}", "--strategy", "probe",
                 "--out", str(tmp_path / "fit"), "--no-report"]) == 0
    lineage = read_record(tmp_path / "fit")["backbone"]["lineage"]
    assert [s["step"] for s in lineage] == ["base", "pretrained"]
    assert lineage[1]["objective"] == "simclr" and lineage[1]["data"] == "photos"


def test_an_interrupted_simclr_run_resumes_to_the_same_weights(usps, tmp_path, monkeypatch):
    images = tk.from_arrays(usps.train.inputs[:64])
    settings = dict(backbone="lenet", objective="simclr", epochs=2, batch_size=16, seed=1,
                    unfreeze=2, patience=None, progress=False)
    whole = tk.pretrain(images, out=tmp_path / "whole", **settings)

    def stop_before_second_epoch(self, loop):
        if loop.epoch == 1:
            raise KeyboardInterrupt  # as a user's Ctrl-C after the first epoch's checkpoint

    with monkeypatch.context() as m:
        m.setattr(LossCurve, "on_epoch_start", stop_before_second_epoch)
        with pytest.raises(KeyboardInterrupt):
            tk.pretrain(images, out=tmp_path / "cut", **settings)
    with pytest.raises(RunError, match="interrupted run"):
        tk.pretrain(images, out=tmp_path / "cut", **settings)
    resumed = tk.pretrain(images, out=tmp_path / "cut", resume=tmp_path / "cut", **settings)
    a = tk.create_backbone(f"run:{whole}").state_dict()
    b = tk.create_backbone(f"run:{resumed}").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
