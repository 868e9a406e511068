"""``transferkit adapt``: evaluation-only target labels, the run folder, clear errors."""

import json

import numpy as np
import pandas as pd

from transferkit.cli.adapt import parse_target_labels
from transferkit.cli.main import main


def _csvs(tmp_path):
    rng = np.random.default_rng(0)
    Xs = rng.normal(size=(300, 2))
    Z = rng.normal(size=(300, 2))
    Xt = Z * [3.0, 0.3] + [2.0, 0.0]
    src, tgt = tmp_path / "src.csv", tmp_path / "tgt.csv"
    pd.DataFrame({"a": Xs[:, 0], "b": Xs[:, 1],
                  "label": (Xs.sum(1) > 0).astype(int)}).to_csv(src, index=False)
    pd.DataFrame({"a": Xt[:, 0], "b": Xt[:, 1],
                  "label": (Z.sum(1) > 0).astype(int)}).to_csv(tgt, index=False)
    return src, tgt


def test_adapt_command_evaluates_after_fitting_and_writes_an_adapt_run(tmp_path, capsys):
    src, tgt = _csvs(tmp_path)
    out = tmp_path / "run"
    rc = main(["adapt", "--source", str(src), "--target", str(tgt), "--backbone",
               "test-identity2", "--method", "coral", "--out", str(out), "--no-cache"])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "labels unused" in text and "validators (label-free" in text
    assert "source-only" in text and "-> coral" in text
    rec = json.loads((out / "record.json").read_text())
    assert rec["kind"] == "adapt" and rec["strategy"]["name"] == "adapt:coral"
    ad = rec["adapt"]
    assert ad["method"] == "coral" and ad["target_labels"] is None
    assert ad["target_accuracy"] > ad["source_only_accuracy"]
    assert set(ad["validators"]) >= {"dev", "im", "snd", "rv"}
    assert json.loads((out / "model.json").read_text())["estimator"] == "DomainAdapter"
    # the CORAL-aligned source and the target, projected for the report (30 held-out source rows)
    proj = ad["projection"]
    assert proj["method"] == "pca" and len(proj["source"]) == 30 and len(proj["target"]) == 300
    html = (out / "report.html").read_text()
    assert "PCA of adapted source and target" in html and "could not be rendered" not in html


def test_adapt_command_missing_target_label_column_is_a_clear_error(tmp_path, capsys):
    src, tgt = _csvs(tmp_path)
    rc = main(["adapt", "--source", str(src), "--target", str(tgt), "--backbone",
               "test-identity2", "--method", "tradaboost", "--target-labels", "grade",
               "--out", str(tmp_path / "r"), "--no-cache", "--no-report"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "label column 'grade'" in err and "columns ['a', 'b', 'label']" in err
    assert not (tmp_path / "r").exists()


def test_parse_target_labels():
    assert parse_target_labels("none") == (None, None)
    assert parse_target_labels("all") == ("all", None)
    assert parse_target_labels("10") == (10, None)
    assert parse_target_labels("stars") == ("all", "stars")
    assert parse_target_labels("stars:5") == (5, "stars")


def test_adapt_command_passes_im_weight_and_refuses_a_bad_augment_spec(tmp_path, capsys):
    src, tgt = _csvs(tmp_path)
    out = tmp_path / "run"
    rc = main(["adapt", "--source", str(src), "--target", str(tgt), "--backbone",
               "test-identity2", "--method", "dann", "--train-backbone", "--epochs", "2",
               "--im-weight", "0.5", "--out", str(out), "--no-cache"])
    assert rc == 0, capsys.readouterr().out
    rec = json.loads((out / "record.json").read_text())
    assert rec["strategy"]["im_weight"] == 0.5 and rec["strategy"]["augment"] is None
    assert "target_im" in rec["strategy"]["final"]
    rc = main(["adapt", "--source", str(src), "--target", str(tgt), "--backbone",
               "test-identity2", "--method", "dann", "--augment", "cutout", "--no-cache",
               "--out", str(tmp_path / "bad")])
    text = capsys.readouterr()
    said = text.out + text.err
    assert rc != 0 and "unknown policy 'cutout'" in said and "randaugment" in said
    assert not (tmp_path / "bad").exists()


def test_adapt_command_passes_unfreeze(tmp_path, capsys):
    src, tgt = _csvs(tmp_path)
    out = tmp_path / "run"
    rc = main(["adapt", "--source", str(src), "--target", str(tgt), "--backbone", "tabular-mlp",
               "--method", "dann", "--train-backbone", "--unfreeze", "1", "--epochs", "2",
               "--out", str(out), "--no-cache"])
    assert rc == 0, capsys.readouterr().out
    rec = json.loads((out / "record.json").read_text())
    assert rec["config"]["unfreeze"] == 1 and rec["strategy"]["trainable_groups"] == ["block.1"]


def test_adapt_command_source_finetune_tunes_then_adapts_and_saves_the_tuned_encoder(
        tmp_path, capsys):
    import transferkit as tk

    src, tgt = _csvs(tmp_path)
    out = tmp_path / "run"
    rc = main(["adapt", "--source", str(src), "--target", str(tgt), "--backbone", "test-mlp2",
               "--method", "coral", "--source-finetune", "1", "--source-epochs", "4",
               "--out", str(out), "--no-cache"])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "tuned body on the source first" in text and "4 epochs" in text
    ad = json.loads((out / "record.json").read_text())["adapt"]
    tuned = ad["source_finetune"]
    assert tuned["trainable_groups"] == ["body"] and tuned["epochs"] == 4
    assert tuned["n_source_rows"] == 270  # the 30 held-out source rows stay unseen
    # A linearly separable source: the tuned encoder keeps it separable.
    assert tuned["val_accuracy"] > 0.9 and ad["target_accuracy"] > 0.6
    assert (out / "backbone.safetensors").exists()
    assert "Encoder fine-tuned on the source first" in (out / "report.html").read_text()
    back = tk.DomainAdapter.load(out)
    assert back.adaptation_record()["source_finetune"]["epochs"] == 4
