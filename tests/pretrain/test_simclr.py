"""SimCLR on real USPS digits with LeNet: the held-out NT-Xent loss falls, the trained groups
move while the frozen one (weights and BatchNorm statistics) stays, and the run folder is a
backbone a probe can use."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import transferkit as tk
from transferkit.pretrain.contrastive import nt_xent
from transferkit.pretrain.simclr import SimCLR
from transferkit.runs import read_record

pytestmark = [pytest.mark.real_data]

SETTINGS = dict(backbone="lenet", objective="simclr", epochs=4, batch_size=32, lr=1e-3,
                unfreeze=2, patience=None, seed=0, progress=False,
                options={"hflip": 0.0})  # digits: a mirrored 2 is no 2


@pytest.fixture(scope="module")
def simclr_run(usps, tmp_path_factory):
    unlabelled = usps.train.subset(np.arange(320)).without_labels()
    return tk.pretrain(unlabelled, out=tmp_path_factory.mktemp("runs") / "usps-simclr",
                       **SETTINGS)


def test_simclr_lowers_the_held_out_pretext_loss(simclr_run):
    pre = read_record(simclr_run)["pretrain"]
    held = pre["held_out_loss"]
    # 32 held-out digits, 64 views: chance is log(63) = 4.14; the same views every epoch.
    assert held["before"] > 3.9 and held["best"] < held["before"] - 0.3, held
    assert pre["modality"] == "image" and pre["rows"] == {"train": 288, "held_out": 32}
    assert pre["rows_seen"] == 4 * 288 and pre["tokens_seen"] is None
    assert pre["settings"]["hflip"] == 0.0 and pre["settings"]["temperature"] == 0.5
    # The record's backbone counts the encoder's trainable weights (conv2 + fc), not the head.
    lenet = tk.create_backbone("lenet")
    encoder = sum(p.numel() for n, p in lenet.named_parameters() if not n.startswith("conv1."))
    assert read_record(simclr_run)["backbone"]["trainable_params"] == encoder


def test_trained_groups_moved_and_the_frozen_one_did_not(simclr_run):
    base = tk.create_backbone("lenet", seed=0).state_dict()  # the weights it started from
    new = tk.create_backbone(f"run:{simclr_run}").state_dict()
    assert base.keys() == new.keys()
    frozen = [k for k in base if k.startswith("conv1.")]
    trained = [k for k in base if k.startswith(("conv2.", "fc.")) and k.endswith("weight")]
    # conv weight + bias; BatchNorm weight, bias, mean, variance and batches counted
    assert len(frozen) == 7
    assert all(torch.equal(base[k], new[k]) for k in frozen)
    assert all(not torch.allclose(base[k], new[k]) for k in trained)
    # The trainable BatchNorm's statistics followed the digits, the frozen one's did not.
    assert not torch.allclose(base["fc.1.running_mean"], new["fc.1.running_mean"])


def test_the_run_is_a_backbone_a_probe_can_use(simclr_run, usps):
    labelled = tk.sample_shots(usps.train.subset(np.arange(1000, 3000)), 10, seed=0)
    test = usps.test.subset(np.arange(500))
    model = tk.TransferClassifier(backbone=f"run:{simclr_run}", strategy="probe",
                                  progress=False).fit(labelled)
    assert len(labelled) == 100 and model.score(test) > 0.5  # 10 classes: chance is 0.1
    lineage = model.backbone_.lineage
    assert [s["step"] for s in lineage] == ["base", "pretrained"]
    assert lineage[1]["objective"] == "simclr"


def test_views_are_random_in_training_and_fixed_when_held_out(usps):
    head = SimCLR(tk.create_backbone("lenet"), hflip=0.0)
    rows = usps.train.inputs[:8]
    held = [head.collate(rows, held_out=True) for _ in range(2)]
    assert held[0]["x"].shape == (8, 1, 28, 28) and held[0]["views"].shape == (16, 1, 28, 28)
    assert torch.equal(held[0]["views"], held[1]["views"])
    torch.manual_seed(0)
    a = head.collate(rows)["views"]
    b = head.collate(rows)["views"]
    assert not torch.equal(a, b)
    # The two views of an image differ from each other and from the clean image.
    assert not torch.allclose(a[:8], a[8:]) and not torch.allclose(a[:8], held[0]["x"])
    # Pixels stay in the backbone's range ([-1, 1] for LeNet).
    assert a.min() >= -1.0 - 1e-5 and a.max() <= 1.0 + 1e-5


def test_nt_xent_rewards_views_that_match_their_partner():
    rng = torch.Generator().manual_seed(0)
    z = torch.randn(8, 16, generator=rng)
    matched = nt_xent(torch.cat([z, z]), temperature=0.1)
    shuffled = nt_xent(torch.cat([z, z[torch.randperm(8, generator=rng)]]), temperature=0.1)
    assert matched < 0.5 < shuffled
    # One image: its partner is the only other view, so the loss is exactly 0.
    assert float(nt_xent(torch.randn(2, 4), 0.5)) == pytest.approx(0.0, abs=1e-6)
