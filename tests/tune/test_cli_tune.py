"""`transferkit tune`: the study, the best model and the report in --out; the same --out
continues the study; bad input gives one line and exit code 2."""

from __future__ import annotations

import json

import pytest
from sklearn.datasets import load_digits

from transferkit.cli.main import main

FLAGS = ["--backbone", "tabular-mlp", "--strategy", "finetune", "--label-col", "label",
         "--no-cache", "--epochs", "2", "--head-init", "random", "--no-report"]


@pytest.fixture(scope="module")
def digits_csv(tmp_path_factory):
    X, y = load_digits(return_X_y=True)
    path = tmp_path_factory.mktemp("data") / "digits.csv"
    rows = ["label," + ",".join(f"f{i}" for i in range(64))]
    rows += [f"{c}," + ",".join(str(int(v)) for v in x) for x, c in zip(X[:500], y[:500],
                                                                        strict=True)]
    path.write_text("\n".join(rows) + "\n")
    return str(path)


def test_tune_writes_the_study_best_model_and_record_then_continues(digits_csv, tmp_path,
                                                                    capsys):
    out = tmp_path / "search"
    space = tmp_path / "space.yaml"
    space.write_text("lr: {low: 1.0e-3, high: 3.0e-2, log: true}\nunfreeze: [1, all]\n")
    args = ["tune", digits_csv, "--out", str(out), "--space", str(space), *FLAGS]
    assert main([*args, "--trials", "2"]) == 0
    assert (out / "study.db").is_file() and (out / "best" / "model.json").is_file()
    assert main([*args, "--trials", "3"]) == 0  # the same --out: one more trial
    record = json.loads((out / "record.json").read_text())
    assert record["kind"] == "tune" and record["tune"]["n_trials"] == 3
    assert [t["number"] for t in record["tune"]["trials"]] == [0, 1, 2]
    assert set(record["tune"]["best"]["params"]) == {"lr", "unfreeze"}
    assert record["metrics"]["accuracy"] > 0.8  # the refitted best model, on the test split
    assert record["history"]  # the best trial's refit: its training curves for the report
    printed = capsys.readouterr().out
    assert "3 trials (complete 3)" in printed and "test accuracy" in printed

    from transferkit.report import render_report

    page = render_report(out)
    assert "Hyper-parameter search" in page and "Optimisation history" in page


@pytest.mark.parametrize("extra, expected", [
    (["--trials", "0"], "--trials must be at least 1; got 0. Fix: --trials 20."),
    (["--storage", "postgresql://nobody@127.0.0.1:1/x"], "Cannot open the study storage"),
    (["--space", "SPACE"], "unknown parameter 'learning_rate'"),
])
def test_bad_input_is_one_line_with_exit_code_2(digits_csv, tmp_path, capsys, extra,
                                                expected):
    space = tmp_path / "space.yaml"
    space.write_text("learning_rate: {low: 1.0e-4, high: 1.0e-2}\n")
    extra = [str(space) if e == "SPACE" else e for e in extra]
    code = main(["tune", digits_csv, "--out", str(tmp_path / "s"), *FLAGS, *extra])
    err = capsys.readouterr().err.strip()
    assert code == 2 and expected in err and len(err.splitlines()) == 1


def test_an_out_folder_of_other_files_is_refused(digits_csv, tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["tune", digits_csv, "--out", str(tmp_path), *FLAGS]) == 2
    assert "holds files a search did not write (notes.txt)" in capsys.readouterr().err
