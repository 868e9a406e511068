"""The command line: two label columns of one table train two heads on one encoder, and
`fit-multi` trains several sources; `predict` prints a column per task."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits
from tests.multitask.conftest import CrashAfterEpoch, digit_tags

from transferkit.cli.fit_multi import parse_task_spec
from transferkit.cli.main import main
from transferkit.engine.attached import attached_callbacks

FAST = ["--backbone", "tabular-mlp", "--epochs", "3", "--unfreeze", "1", "--lr", "0.003",
        "--backbone-lr-mult", "1", "--no-cache"]


@pytest.fixture(scope="module")
def digits_table(tmp_path_factory):
    X, y = load_digits(return_X_y=True)
    df = pd.DataFrame(X[:900], columns=[f"p{i}" for i in range(64)])
    df["digit"] = y[:900]
    df["parity"] = np.where(y[:900] % 2 == 0, "even", "odd")
    path = tmp_path_factory.mktemp("tables") / "digits.csv"
    df.to_csv(path, index=False)
    return path


def test_two_label_columns_give_two_heads_and_two_prediction_columns(digits_table, tmp_path,
                                                                     capsys):
    out = tmp_path / "runs" / "cols"
    code = main(["fit", str(digits_table), "--label-col", "digit,parity", "--strategy",
                 "finetune", *FAST, "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "2 heads" in captured.out
    rec = json.loads((out / "record.json").read_text())
    assert rec["kind"] == "fit-multi"
    assert set(rec["multitask"]["tasks"]) == {"digit", "parity"}
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["tasks"]["digit"]["accuracy"] > 0.85
    assert metrics["tasks"]["parity"]["accuracy"] > 0.85
    rows = tmp_path / "rows.csv"
    pd.read_csv(digits_table).drop(columns=["digit", "parity"]).head(5).to_csv(rows, index=False)
    assert main(["predict", str(out), str(rows), "--json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(lines) == 5
    assert all(set(x["predictions"]) == {"digit", "parity"} for x in lines)
    assert {x["predictions"]["parity"][0]["label"] for x in lines} <= {"even", "odd"}


def test_two_label_columns_with_a_probe_say_to_fine_tune(digits_table, tmp_path, capsys):
    code = main(["fit", str(digits_table), "--label-col", "digit,parity", "--backbone",
                 "tabular-mlp", "--out", str(tmp_path / "probe")])
    err = capsys.readouterr().err
    assert code == 2 and "expected --strategy finetune, got 'probe'" in err
    assert len(err.strip().splitlines()) == 1


def test_fit_multi_names_tasks_and_writes_one_run(digits_table, tmp_path, capsys):
    out = tmp_path / "runs" / "mt"
    table = pd.read_csv(digits_table)
    for label, other in (("digit", "parity"), ("parity", "digit")):
        table.drop(columns=[other]).to_csv(tmp_path / f"{label}.csv", index=False)
    code = main(["fit-multi", f"digit={tmp_path / 'digit.csv'}:label=digit",
                 f"parity={tmp_path / 'parity.csv'}:label=parity", *FAST,
                 "--sampling", "round_robin", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "digit: test accuracy" in captured.out and "parity: test accuracy" in captured.out
    model_json = json.loads((out / "model.json").read_text())
    assert [t["name"] for t in model_json["state"]["tasks"]] == ["digit", "parity"]
    # written atomically: no staging folder left beside the run (only its lock file)
    assert [p.name for p in out.parent.iterdir() if p.is_dir()] == ["mt"]


def test_fit_multi_refuses_duplicate_task_names(digits_table, tmp_path, capsys):
    code = main(["fit-multi", f"{digits_table}:label=digit", f"{digits_table}:label=parity",
                 *FAST, "--out", str(tmp_path / "dup")])
    err = capsys.readouterr().err
    assert code == 2 and "Duplicate task name(s) ['digits']" in err and "name=spec" in err
    assert not (tmp_path / "dup").exists()


def test_task_specs_parse_names_sources_and_options():
    assert parse_task_spec("banking77:label=category") == ("banking77", "banking77",
                                                            {"label": "category"})
    assert parse_task_spec("amazon:domain=kitchen") == ("amazon-kitchen", "amazon:domain=kitchen",
                                                        {})
    assert parse_task_spec("intent=banking77:shots=8") == ("intent", "banking77", {"shots": "8"})


def test_label_option_on_a_named_dataset_must_name_its_label_column():
    import transferkit as tk
    from transferkit.cli.fit_multi import _label_column
    from transferkit.exceptions import DataError

    train = tk.load_dataset("banking77").train
    assert _label_column(train, "category", "intent") is train
    with pytest.raises(DataError, match="expected 'category', got 'intent'. Use label=category"):
        _label_column(train, "intent", "intent")


@pytest.fixture(scope="module")
def tagged_table(digits_table, tmp_path_factory):
    """The digits table with a multi-label 'tags' column ('even|loop') beside 'digit'."""
    df = pd.read_csv(digits_table)
    df["tags"] = ["|".join(digit_tags(int(d))) for d in df["digit"]]
    path = tmp_path_factory.mktemp("tagged") / "tagged.csv"
    df.drop(columns=["parity"]).to_csv(path, index=False)
    return path


def test_a_single_and_a_multilabel_column_train_and_predict_sets(tagged_table, tmp_path,
                                                                  capsys):
    out = tmp_path / "runs" / "tags"
    code = main(["fit", str(tagged_table), "--label-col", "digit,tags", "--label-sep", "|",
                 "--strategy", "finetune", *FAST, "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "tags (5 labels, multi-label)" in captured.out
    assert "tags: test micro-F1" in captured.out and "Hamming loss" in captured.out
    metrics = json.loads((out / "metrics.json").read_text())
    # Measured: micro-F1 0.951, subset accuracy 0.861 on 180 held-out rows (3 epochs);
    # digit accuracy 0.967.
    assert metrics["tasks"]["tags"]["micro_f1"] > 0.9
    assert metrics["tasks"]["digit"]["accuracy"] > 0.85
    assert not (out / "checkpoints").exists()  # removed once the run is saved
    rows = tmp_path / "rows.csv"
    table = pd.read_csv(tagged_table)
    table.drop(columns=["digit", "tags"]).head(30).to_csv(rows, index=False)
    assert main(["predict", str(out), str(rows), "--json", "--top-k", "2"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    sets = [x["predictions"]["tags"]["labels"] for x in lines]
    assert len(lines) == 30 and all(isinstance(s, str) for s in sets)
    assert np.mean([s == t for s, t in zip(sets, table["tags"].head(30), strict=True)]) >= 0.8
    assert len(lines[0]["predictions"]["tags"]["probabilities"]) == 2
    assert len(lines[0]["predictions"]["digit"]) == 2  # single-label: top-k list, as before
    assert main(["predict", str(out), str(rows)]) == 0
    first = capsys.readouterr().out.splitlines()[0]  # ...\ttags: even|loop [loop (0.986)]\t...
    assert re.search(r"\ttags: ([a-z]+\|)*[a-z]+ \[[a-z]+ \(\d\.\d{3}\)\]\t", first)


def test_a_multilabel_column_with_a_probe_says_to_fine_tune(tagged_table, tmp_path, capsys):
    code = main(["fit", str(tagged_table), "--label-col", "tags", "--label-sep", "|",
                 "--backbone", "tabular-mlp", "--out", str(tmp_path / "probe")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "multi-label column 'tags' trains a head with one sigmoid per label" in err
    assert "expected --strategy finetune, got 'probe'" in err


def test_fit_multi_resumes_an_interrupted_run_to_the_same_result(tagged_table, tmp_path,
                                                                 capsys):
    table = pd.read_csv(tagged_table)
    for label, other in (("digit", "tags"), ("tags", "digit")):
        table.drop(columns=[other]).to_csv(tmp_path / f"{label}.csv", index=False)
    spec = [f"digit={tmp_path / 'digit.csv'}:label=digit",
            f"tags={tmp_path / 'tags.csv'}:label=tags", "--label-sep", "|", *FAST]
    assert main(["fit-multi", *spec, "--out", str(tmp_path / "full")]) == 0
    run = tmp_path / "run"
    with pytest.raises(RuntimeError, match="simulated crash"), \
            attached_callbacks(CrashAfterEpoch(1)):
        main(["fit-multi", *spec, "--out", str(run)])
    assert (run / "checkpoints" / "last.ckpt").is_file() and not (run / "model.json").exists()
    capsys.readouterr()
    assert main(["fit-multi", *spec, "--resume", str(run)]) == 0
    assert "saved run to" in capsys.readouterr().out
    rec = json.loads((run / "record.json").read_text())
    assert rec["strategy"]["resumed_from"] == 1 and rec["strategy"]["epochs_run"] == 3
    a = json.loads((run / "metrics.json").read_text())["tasks"]
    b = json.loads((tmp_path / "full" / "metrics.json").read_text())["tasks"]
    assert a["tags"]["micro_f1"] == b["tags"]["micro_f1"]
    assert a["digit"]["accuracy"] == b["digit"]["accuracy"]
    assert a["tags"]["per_class"] == b["tags"]["per_class"]
