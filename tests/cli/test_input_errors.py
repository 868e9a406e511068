"""The command line on wrong inputs: one clear line, never a traceback or a misleading cause."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest

import transferkit as tk
from transferkit.cli.common import load_source
from transferkit.cli.main import main
from transferkit.exceptions import DataError


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def digits_csv(tmp_path_factory):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    d = tmp_path_factory.mktemp("digits")
    df = pd.DataFrame(X[:200], columns=[f"p{i}" for i in range(64)])
    df["label"] = y[:200]
    df.to_csv(d / "digits.csv", index=False)
    return d / "digits.csv"


@pytest.mark.parametrize("k", ["0", "-2", "two"])
def test_predict_top_k_must_be_positive(capsys, tmp_path, k):
    with pytest.raises(SystemExit) as e:
        main(["predict", str(tmp_path), "hello", "--top-k", k])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "--top-k" in err and ("1 or more" in err or "whole number" in err)


def test_fit_image_data_with_a_tabular_backbone(capsys):
    code, _, err = run_cli(capsys, "fit", "digits", "--backbone", "tabular-mlp", "--no-report",
                           "--out", "unused")
    assert code == 2
    assert "digits is image data; tabular-mlp encodes tables; image backbones:" in err
    assert "in_features" not in err and err.count("\n") == 1


def test_zeroshot_on_tabular_data_names_the_data_type(capsys, digits_csv):
    code, _, err = run_cli(capsys, "zeroshot", digits_csv)
    assert code == 2
    # Before: "labels do not match" (the digit labels against the label names).
    assert "needs text inputs" in err and "tabular data (64 numeric columns" in err
    assert "--text-col" in err


def test_loading_for_a_run_checks_the_data_type(digits_csv):
    args = argparse.Namespace()
    with pytest.raises(DataError, match="the run 'r' needs text inputs; got 'digits'"):
        load_source(str(digits_csv), args, expect="text", who="the run 'r'")
    assert load_source(str(digits_csv), args, expect="tabular").train.modality == "tabular"


def test_report_renders_a_run_that_stopped_with_checkpoints(capsys, tmp_path):
    X = np.random.default_rng(0).normal(size=(60, 5)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    run = tmp_path / "crashed"
    tk.TransferClassifier(backbone="tabular-mlp", strategy="finetune", epochs=2,
                          checkpoint_dir=str(run / "checkpoints"), progress=False,
                          cache=False).fit(X, y)
    assert not (run / "record.json").exists() and (run / "checkpoints" / "history.jsonl").exists()
    code, out, err = run_cli(capsys, "report", run)
    assert code == 0, err  # before: "not a transferkit run folder"
    html = (run / "report.html").read_text()
    assert "incomplete" in html and "finetune" in html and "tabular-mlp" in html
    assert "--resume" in html and "2 finished epoch" in html
    code, out, _ = run_cli(capsys, "runs", "--root", tmp_path)
    assert "crashed" in out and "incomplete" in out


def test_report_on_an_empty_folder_still_explains(capsys, tmp_path):
    code, _, err = run_cli(capsys, "report", tmp_path)
    assert code == 2 and "not a transferkit run folder" in err and "checkpoints" in err
