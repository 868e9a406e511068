"""The CLI end to end in a temporary folder: fit, evaluate, predict, zoo, config, errors."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from transferkit.cli.main import main


@pytest.fixture(scope="module")
def b20_csv(tmp_path_factory, banking20):
    train, test = banking20
    d = tmp_path_factory.mktemp("cli")
    pd.DataFrame({"query": train.inputs, "intent": train.labels}).to_csv(d / "train.csv",
                                                                           index=False)
    pd.DataFrame({"query": test.inputs, "intent": test.labels}).to_csv(d / "test.csv", index=False)
    return d


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.real_weights
@pytest.mark.slow
def test_fit_evaluate_predict(capsys, b20_csv, tmp_path):
    out_dir = tmp_path / "runs" / "b20"
    code, out, err = run_cli(capsys, "fit", b20_csv / "train.csv", "--text-col", "query",
                             "--label-col", "intent", "--backbone", "minilm-l6", "--out", out_dir)
    assert code == 0, err
    assert "test accuracy" in out and str(out_dir) in out
    metrics = json.loads((out_dir / "metrics.json").read_text())
    assert metrics["accuracy"] > 0.8

    code, out, err = run_cli(capsys, "evaluate", out_dir, b20_csv / "test.csv", "--text-col",
                             "query", "--label-col", "intent", "--json")
    assert code == 0, err
    assert json.loads(out)["accuracy"] > 0.85

    code, out, err = run_cli(capsys, "predict", out_dir, "I lost my card yesterday",
                             "--top-k", "2", "--json")
    assert code == 0, err
    pred = json.loads(out.strip().splitlines()[0])
    assert len(pred["predictions"]) == 2
    assert 0 < pred["predictions"][0]["probability"] <= 1


def test_fit_strategy_baseline_through_the_cli(capsys, b20_csv, tmp_path):
    """--strategy baseline: TF-IDF on the CSV's texts, no encoder; saved, evaluated, predicted."""
    out_dir = tmp_path / "runs" / "tfidf"
    code, out, err = run_cli(capsys, "fit", b20_csv / "train.csv", "--text-col", "query",
                             "--label-col", "intent", "--strategy", "baseline", "--out", out_dir)
    assert code == 0, err
    assert "fitting baseline (no pre-trained weights)" in out
    record = json.loads((out_dir / "record.json").read_text())
    assert record["strategy"]["baseline"] == "tfidf" and record["backbone"]["name"] == "none:text"
    assert json.loads((out_dir / "metrics.json").read_text())["accuracy"] > 0.7
    code, out, err = run_cli(capsys, "evaluate", out_dir, b20_csv / "test.csv", "--text-col",
                             "query", "--label-col", "intent", "--json")
    assert code == 0, err
    assert json.loads(out)["accuracy"] > 0.7  # 20 intents: chance is 0.05
    code, out, err = run_cli(capsys, "predict", out_dir, "I lost my card yesterday", "--json")
    assert code == 0, err
    assert json.loads(out.strip().splitlines()[0])["predictions"][0]["label"]
    code, out, err = run_cli(capsys, "fit", b20_csv / "train.csv", "--text-col", "query",
                             "--label-col", "intent", "--strategy", "baseline", "--baseline",
                             "hgb")
    assert code == 2 and "the text baselines are tfidf" in err and "\n" not in err.strip()


def test_fit_tabular_csv_and_config_file(capsys, tmp_path):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    df = pd.DataFrame(X, columns=[f"p{i}" for i in range(64)])
    df["digit"] = y
    df.to_csv(tmp_path / "digits.csv", index=False)
    (tmp_path / "run.yaml").write_text("backbone: tabular-mlp\nhead: ridge\nlabel_col: digit\n")
    code, out, err = run_cli(capsys, "fit", tmp_path / "digits.csv", "--config",
                             tmp_path / "run.yaml", "--head", "knn", "--out", tmp_path / "r")
    assert code == 0, err
    cfg = (tmp_path / "r" / "config.yaml").read_text()
    assert "head: knn" in cfg, "a flag on the command line must override the config file"
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["accuracy"] > 0.9
    rows = np.asarray(X[:3])
    new = pd.DataFrame(rows, columns=[f"p{i}" for i in range(64)])
    new.to_csv(tmp_path / "new.csv", index=False)
    code, out, err = run_cli(capsys, "predict", tmp_path / "r", tmp_path / "new.csv")
    assert code == 0, err
    assert [ln.split()[0] for ln in out.strip().splitlines()] == [str(v) for v in y[:3]]
    # The run's own config.yaml (resolved settings, each a flag) works as --config again.
    code, out, err = run_cli(capsys, "fit", tmp_path / "digits.csv", "--label-col", "digit",
                             "--config", tmp_path / "r" / "config.yaml", "--out", tmp_path / "r2")
    assert code == 0, err
    assert (tmp_path / "r2" / "config.yaml").read_text() == cfg


def test_zoo_lists_backbones_without_loading(capsys):
    code, out, _ = run_cli(capsys, "zoo")
    assert code == 0
    assert "minilm-l6" in out and "text" in out and "Apache-2.0" in out
    code, out, _ = run_cli(capsys, "zoo", "--json")
    names = {r["name"] for r in json.loads(out)}
    assert {"minilm-l6", "tabular-mlp"} <= names


def test_user_errors_exit_2_with_one_line(capsys, tmp_path):
    code, out, err = run_cli(capsys, "fit", tmp_path / "missing.csv")
    assert code == 2
    assert err.startswith("transferkit: error:") and len(err.strip().splitlines()) == 1
    (tmp_path / "bad.yaml").write_text("learning_rat: 3\n")
    code, _, err = run_cli(capsys, "fit", "banking77", "--config", tmp_path / "bad.yaml")
    assert code == 2 and "learning_rat" in err and "Valid keys" in err
    code, _, err = run_cli(capsys, "predict", tmp_path / "norun", "hello")
    assert code == 2 and "does not exist" in err


@pytest.mark.slow
def test_console_script_runs_without_traceback(tmp_path):
    exe = [sys.executable, "-m", "transferkit.cli.main"]
    r = subprocess.run([*exe, "fit", "banking77", "--backbone", "minilm-l7"], capture_output=True,
                       text=True, cwd=tmp_path)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and "Did you mean 'minilm-l6'" in r.stderr
    r = subprocess.run([*exe, "fit", "--help"], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0 and "inverse regularisation" in r.stdout


def test_label_flags_become_loader_keywords():
    import argparse

    from transferkit.cli.common import add_data_args, data_kwargs

    p = argparse.ArgumentParser()
    add_data_args(p)
    kw = data_kwargs(p.parse_args(["--label-col", "queue, priority", "--label-sep", "|",
                                   "--allow-unlabelled"]))
    assert kw == {"label_col": ["queue", "priority"], "label_sep": "|", "allow_unlabelled": True}
    assert data_kwargs(p.parse_args(["--label-col", "intent"])) == {"label_col": "intent"}
    assert "comma-separated" in p.format_help()


def test_fit_with_two_label_columns_asks_to_pick_one(capsys, tmp_path):
    rows = [("card never arrived", "cards", "high"), ("refund my top up", "payments", "low")] * 5
    pd.DataFrame(rows, columns=["text", "queue", "priority"]).to_csv(tmp_path / "t.csv",
                                                                    index=False)
    code, _, err = run_cli(capsys, "fit", tmp_path / "t.csv", "--label-col", "queue,priority",
                           "--backbone", "minilm-l6", "--strategy", "probe",
                           "--out", tmp_path / "r")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "['queue', 'priority']" in err and "--label-col queue" in err
    assert not (tmp_path / "r").exists()


@pytest.fixture(scope="module")
def tiny_text_run(tmp_path_factory, banking20, tiny_text_backbone_name):
    """A probe run on the instant letter-count backbone, and 23 test queries as a CSV."""
    import transferkit as tk

    train, test = banking20
    d = tmp_path_factory.mktemp("chunked")
    model = tk.TransferClassifier(backbone=tiny_text_backbone_name, progress=False)
    model.fit(train).save(d / "run")
    queries = list(test.inputs[:23])
    pd.DataFrame({"text": queries}).to_csv(d / "queries.csv", index=False)
    return d, queries


def test_chunked_predict_equals_whole_input_predict(capsys, tiny_text_run):
    d, queries = tiny_text_run
    code, whole, err = run_cli(capsys, "predict", d / "run", *queries, "--json", "--top-k", "3")
    assert code == 0, err
    code, chunked, err = run_cli(capsys, "predict", d / "run", d / "queries.csv", "--json",
                                 "--top-k", "3", "--chunk-rows", "5")
    assert code == 0, err
    assert len(chunked.splitlines()) == 23
    assert chunked == whole, "reading the CSV 5 rows at a time must change no prediction"
    # --out writes the same lines to a file instead of standard output.
    code, printed, err = run_cli(capsys, "predict", d / "run", d / "queries.csv", "--json",
                                 "--top-k", "3", "--chunk-rows", "5", "--out", d / "pred.jsonl")
    assert code == 0 and printed == "", err
    assert (d / "pred.jsonl").read_text() == whole


def test_chunked_predict_fails_whole_on_a_bad_row_deep_in_the_file(capsys, tiny_text_run):
    d, queries = tiny_text_run
    rows = [*queries[:12], "", *queries[12:]]
    (d / "bad.csv").write_text("text\n" + "\n".join(f'"{q}"' for q in rows) + "\n")
    code, out, err = run_cli(capsys, "predict", d / "run", d / "bad.csv", "--chunk-rows", "5",
                             "--out", d / "bad_pred.txt")
    assert code == 2
    # The row is numbered in the file (13th data row), not in its chunk (3rd of the third).
    assert "empty" in err and "data rows 13" in err, err
    assert not (d / "bad_pred.txt").exists(), "a failed run must leave no partial output"
    assert not list(d.glob(".bad_pred.txt.*")), "nor its temporary file"
    code, _, err = run_cli(capsys, "predict", d / "run", d / "queries.csv", "--chunk-rows", "0")
    assert code == 2 and "--chunk-rows must be a positive number" in err
