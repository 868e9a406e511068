"""One real pre-training run (TSDAE on 48 kitchen reviews, through the CLI), then what it
must have done: the pretext loss fell, frozen layers stayed, ``run:<folder>`` loads the adapted
encoder under its own cache fingerprint, and record and report hold the chain and the curve."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import transferkit as tk
from transferkit.cli.main import main
from transferkit.report import render_report
from transferkit.runs import read_record

# slow: MiniLM encodes hundreds of real reviews first; kept out of the fast loop (make test-fast)
pytestmark = [pytest.mark.real_weights, pytest.mark.real_data, pytest.mark.slow]


@pytest.fixture(scope="module")
def tsdae_run(tmp_path_factory, reviews_csv):
    out = tmp_path_factory.mktemp("runs") / "mini-kitchen"
    rc = main(["pretrain", str(reviews_csv), "--text-col", "review", "--backbone", "minilm-l6",
               "--objective", "tsdae", "--out", str(out), "--epochs", "2", "--max-steps", "8",
               "--batch-size", "8", "--max-length", "32", "--lr", "1e-4", "--unfreeze", "2",
               "--no-report"])
    assert rc == 0
    return out


@pytest.fixture(scope="module")
def adapted(tsdae_run):
    return tk.create_backbone(f"run:{tsdae_run}")


@pytest.fixture(scope="module")
def short_labelled(kitchen):
    """24 labelled kitchen reviews (12 per class) cut to 200 characters."""
    rows = np.r_[100:112, 1100:1112]
    return tk.Dataset([kitchen.inputs[i][:200] for i in rows], kitchen.labels[rows], "text",
                      "kitchen-small", meta={"label_names": {0: "negative", 1: "positive"}})


def test_tsdae_pretext_loss_falls_on_real_reviews(tsdae_run):
    pre = read_record(tsdae_run)["pretrain"]
    held = pre["held_out_loss"]
    assert pre["steps"] == 8 and pre["stopped_by"] == "max_steps"
    # The held-out reconstruction loss (same corrupted inputs before and after) went down.
    assert held["best"] < held["before"] - 0.3, held
    curve = [p["loss"] for p in pre["loss_curve"]]
    assert len(curve) == 8 and np.mean(curve[-3:]) < np.mean(curve[:3])


def test_frozen_layers_did_not_move_and_trained_ones_did(adapted, minilm):
    base, new = minilm.state_dict(), adapted.state_dict()
    assert base.keys() == new.keys()
    frozen = [k for k in base if k.startswith(("model.embeddings.", "model.encoder.layer.0.",
                                               "model.encoder.layer.3."))]
    trained = [k for k in base if k.startswith(("model.encoder.layer.4.",
                                                "model.encoder.layer.5."))]
    assert frozen and trained
    assert all(torch.equal(base[k], new[k]) for k in frozen)
    assert all(not torch.equal(base[k], new[k]) for k in trained if k.endswith("weight"))


def test_run_backbone_gives_its_own_features_and_cache_entries(tsdae_run, adapted, minilm,
                                                               short_labelled):
    assert adapted.name == f"run:{tsdae_run}" and adapted.parent == "minilm-l6"
    assert adapted.fingerprint() != minilm.fingerprint()
    data = short_labelled.subset(np.arange(8))
    base_cached = tk.extract_features(minilm, data)  # the parent first: its entry is cached
    new_cached = tk.extract_features(adapted, data)
    assert not np.allclose(base_cached, new_cached, atol=1e-4)
    # The cache hands each backbone back its own features, never the other's.
    np.testing.assert_allclose(new_cached, adapted.features(data.inputs), atol=1e-5)
    np.testing.assert_allclose(tk.extract_features(minilm, data), base_cached, atol=1e-6)


def test_record_holds_the_curve_tokens_and_chain(tsdae_run):
    rec = read_record(tsdae_run)
    pre = rec["pretrain"]
    assert rec["kind"] == "pretrain"
    assert [s["step"] for s in pre["lineage"]] == ["base", "pretrained"]
    assert pre["lineage"][0]["backbone"] == "minilm-l6"
    assert pre["lineage"][1]["objective"] == "tsdae"
    assert pre["lineage"][1]["data_fingerprint"] == rec["dataset"]["train"]["fingerprint"]
    assert pre["tokens_seen"] > 8 * 8  # 8 steps of 8 reviews, several tokens each
    assert pre["texts_seen"] == 64 and pre["train_seconds"] > 0
    assert pre["freezing"]["trainable_groups"] == ["layer.4", "layer.5"]
    html = render_report(tsdae_run)
    assert "pretrained with tsdae on kitchen_unlabelled" in html and "pretext loss" in html


def test_fit_on_the_run_backbone_records_the_chain(tsdae_run, adapted, short_labelled, tmp_path):
    labelled = short_labelled
    # No label-name prior: it would embed the whole vocabulary with the new encoder (minutes).
    model = tk.TransferClassifier(backbone=f"run:{tsdae_run}", strategy="probe",
                                  label_prior=False, zeroshot_weight=0.0).fit(labelled)
    model.save(tmp_path / "fit")
    rec = read_record(tmp_path / "fit")
    assert [s["step"] for s in rec["backbone"]["lineage"]] == ["base", "pretrained"]
    html = render_report(tmp_path / "fit")
    assert "minilm-l6 (as published)" in html and "probe on kitchen-small (this run)" in html
    # The saved fit loads its backbone back through the chain.
    again = tk.load(tmp_path / "fit")
    assert again.backbone_.fingerprint() == adapted.fingerprint()
