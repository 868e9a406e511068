"""The command line: two label columns of one table train two heads on one encoder, and
`fit-multi` trains several sources; `predict` prints a column per task."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits

from transferkit.cli.fit_multi import parse_task_spec
from transferkit.cli.main import main

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
