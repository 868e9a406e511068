"""Bad input to pre-training: one-line errors that say what was expected, what came, and the fix."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import transferkit as tk
from transferkit.cli.main import main
from transferkit.exceptions import BackboneError, ConfigError, DataError

TEXTS = [f"review number {i}: the kettle works well and boils fast" for i in range(40)]


def _one_line(err: pytest.ExceptionInfo) -> str:
    msg = str(err.value)
    assert "\n" not in msg
    return msg


def test_unknown_objective_lists_the_text_objectives():
    with pytest.raises(ConfigError) as err:
        tk.pretrain(TEXTS, objective="bert-mlm")
    msg = _one_line(err)
    assert "'bert-mlm'" in msg and "mlm, simcse, tsdae" in msg and "Fix:" in msg


def test_text_objective_on_tabular_data_says_so():
    table = tk.from_arrays(np.random.default_rng(0).normal(size=(40, 5)))
    with pytest.raises(ConfigError) as err:
        tk.pretrain(table, backbone="tabular-mlp", objective="tsdae")
    msg = _one_line(err)
    assert "pre-trains text backbones" in msg and "is tabular" in msg


def test_too_few_rows_for_the_held_out_split():
    with pytest.raises(DataError) as err:
        tk.pretrain(TEXTS[:10], objective="mlm")
    msg = _one_line(err)
    assert "at least 16" in msg and "got 10" in msg and "Fix:" in msg


def test_texts_too_short_for_word_deletion():
    with pytest.raises(DataError) as err:
        tk.pretrain([f"word{i}" for i in range(40)], objective="tsdae")
    assert "fewer than 2 words" in _one_line(err)


def test_bad_settings_and_unknown_objective_options():
    with pytest.raises(ConfigError, match="max_steps must be a positive int"):
        tk.pretrain(TEXTS, max_steps=0)
    with pytest.raises(ConfigError, match="seed must be an int >= 0"):
        tk.pretrain(TEXTS, seed=-1)


def test_no_text_column_in_the_cli(tmp_path, capsys):
    csv = tmp_path / "reviews.csv"
    pd.DataFrame({"body": TEXTS}).to_csv(csv, index=False)
    assert main(["pretrain", str(csv), "--text-col", "review", "--out",
                 str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "'review'" in err and "body" in err


def test_run_spec_that_is_not_a_pretrain_or_fit_run(tmp_path):
    with pytest.raises(BackboneError, match="names no loadable run"):
        tk.create_backbone(f"run:{tmp_path / 'missing'}")
    analysis = tmp_path / "compare-run"
    analysis.mkdir()
    (analysis / "record.json").write_text(json.dumps({"kind": "compare"}))
    with pytest.raises(BackboneError) as err:
        tk.create_backbone(f"run:{analysis}")
    msg = _one_line(err)
    assert "without a backbone" in msg and "transferkit pretrain" in msg and "Fix:" in msg


def test_a_pretrain_run_whose_chain_loops(tmp_path):
    run = tmp_path / "loop"
    run.mkdir()
    (run / "encoder.json").write_text(json.dumps(
        {"format_version": 1, "parent": {"spec": f"run:{run}", "kwargs": {}}}))
    with pytest.raises(BackboneError) as err:
        tk.create_backbone(f"run:{run}")
    assert "loop" in _one_line(err)
