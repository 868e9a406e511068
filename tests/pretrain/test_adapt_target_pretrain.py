"""``transferkit adapt --target-pretrain scarf``: SCARF on the target's unlabelled rows first
(a real table: scikit-learn's breast-cancer data, the target shifted and rescaled), then the
adaptation from that encoder, whose chain the adapt run records."""

from __future__ import annotations

import json

import pytest
from sklearn.datasets import load_breast_cancer

from transferkit.cli.main import main
from transferkit.runs import read_record

pytestmark = [pytest.mark.slow]  # the adapter fits its baseline and validators: ~9 s, 30 loaded


def _tables(tmp_path):
    data = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "label"})
    features = data.columns[:8]  # the first 8 measurements: quick steps
    src = data.iloc[::2][[*features, "label"]]
    tgt = data.iloc[1::2][[*features, "label"]].copy()
    tgt[features] = tgt[features] * 1.3 + 0.5  # another instrument: a covariate shift
    paths = tmp_path / "source.csv", tmp_path / "target.csv"
    src.to_csv(paths[0], index=False)
    tgt.to_csv(paths[1], index=False)
    return paths


def test_adapt_pretrains_on_the_target_first(tmp_path, capsys):
    src, tgt = _tables(tmp_path)
    out = tmp_path / "runs" / "cancer"
    rc = main(["adapt", "--source", str(src), "--target", str(tgt), "--backbone",
               "tabular-mlp", "--method", "coral", "--target-pretrain", "scarf",
               "--target-pretrain-epochs", "3", "--target-pretrain-option", "corruption=0.5",
               "--target-pretrain-option", "batch-size=32", "--out", str(out), "--no-cache",
               "--no-report"])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "pre-trained tabular-mlp on 256 unlabelled target rows with scarf" in text
    encoder = tmp_path / "runs" / "cancer-target-scarf"
    pre = read_record(encoder)["pretrain"]
    assert pre["held_out_loss"]["best"] < pre["held_out_loss"]["before"]
    assert pre["rows"] == {"train": 256, "held_out": 28}  # the 284 target rows, labels unused
    # The options reached the objective and the loop: 8 steps of 32 rows per epoch.
    settings = pre["settings"]
    assert settings["corruption"] == 0.5 and settings["batch_size"] == 32, settings
    assert pre["steps"] == 3 * 8, pre
    header = json.loads((encoder / "encoder.json").read_text())
    assert header["parent"]["spec"] == "tabular-mlp"
    rec = read_record(out)
    lineage = rec["backbone"]["lineage"]
    assert [s["step"] for s in lineage] == ["base", "pretrained"]
    assert lineage[1]["objective"] == "scarf" and lineage[1]["data"] == "target"
    # Adaptation still works from the new encoder (source-only ~0.61 on these rows).
    assert rec["adapt"]["method"] == "coral" and rec["adapt"]["target_accuracy"] > 0.62


def test_a_target_pretrain_option_the_objective_lacks_is_one_line(tmp_path, capsys):
    src, tgt = _tables(tmp_path)
    rc = main(["adapt", "--source", str(src), "--target", str(tgt), "--backbone",
               "tabular-mlp", "--method", "coral", "--target-pretrain", "scarf",
               "--target-pretrain-option", "mask_rate=0.2", "--out",
               str(tmp_path / "runs" / "x"), "--no-cache", "--no-report"])
    err = capsys.readouterr().err
    assert rc != 0 and "mask_rate" in err and "corruption" in err, err
    assert not (tmp_path / "runs" / "x-target-scarf" / "encoder.json").exists()
