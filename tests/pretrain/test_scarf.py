"""SCARF on a real table (scikit-learn's bundled breast-cancer data, 569 x 30): the held-out
InfoNCE loss falls, the frozen block stays, and the encoder reused as ``run:`` keeps the
standardisation it was trained with."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_breast_cancer

import transferkit as tk
from transferkit.pretrain.scarf import corrupt_rows
from transferkit.runs import read_record


@pytest.fixture(scope="module")
def cancer():
    x, y = load_breast_cancer(return_X_y=True)
    return x.astype(np.float32), y


@pytest.fixture(scope="module")
def scarf_run(cancer, tmp_path_factory):
    table = tk.from_arrays(cancer[0])
    return tk.pretrain(table, backbone="tabular-mlp", objective="scarf", epochs=8,
                       unfreeze=1, patience=None, seed=0, progress=False,
                       out=tmp_path_factory.mktemp("runs") / "cancer-scarf")


def test_scarf_lowers_the_held_out_pretext_loss(scarf_run):
    pre = read_record(scarf_run)["pretrain"]
    held = pre["held_out_loss"]
    # 57 held-out rows in one batch: chance is log(57) = 4.04; the same corruption each epoch.
    assert held["before"] > 3.8 and held["best"] < held["before"] - 0.2, held
    assert pre["rows"] == {"train": 512, "held_out": 57} and pre["modality"] == "tabular"
    assert pre["settings"]["corruption"] == 0.6 and pre["settings"]["batch_size"] == 64


def test_frozen_block_stayed_and_a_probe_on_the_run_works(scarf_run, cancer):
    x, y = cancer
    base = tk.create_backbone("tabular-mlp", in_features=30, seed=0).state_dict()
    new = tk.create_backbone(f"run:{scarf_run}").state_dict()
    assert all(torch.equal(base[k], new[k]) for k in base if k.startswith("blocks.0."))
    assert not torch.allclose(base["blocks.1.0.weight"], new["blocks.1.0.weight"])
    np.testing.assert_allclose(new["input_mean"].numpy(), x.mean(0), rtol=1e-4)
    # Like the random-init MLP, the encoder standardises on the rows it is fitted on (under a
    # shift that aligns the means; keeping the pre-training's scaling cost 13 points of
    # target accuracy in adapt --target-pretrain on this table).
    model = tk.TransferClassifier(backbone=f"run:{scarf_run}", strategy="probe",
                                  progress=False).fit(tk.from_arrays(x[:200], y[:200]))
    assert model.backbone_.lineage[-1]["objective"] == "scarf"
    assert model.score(tk.from_arrays(x[200:], y[200:])) > 0.85


def test_corruption_redraws_the_share_of_features_from_their_columns(cancer):
    x = torch.from_numpy(cancer[0][:64])
    marginals = torch.from_numpy(cancer[0][64:])
    out = corrupt_rows(x, marginals, 0.6, torch.Generator().manual_seed(0))
    changed = out != x
    # round(0.6 * 30) = 18 features per row (a redrawn value may equal the old one, rarely).
    assert changed.sum(1).max() <= 18 and changed.sum(1).float().mean() > 17
    for col in range(x.shape[1]):  # every new value is a value its column takes
        assert torch.isin(out[changed[:, col], col], marginals[:, col]).all()
