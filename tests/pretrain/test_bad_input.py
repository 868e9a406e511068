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


DIGITS = np.random.default_rng(0).integers(0, 256, size=(40, 16, 16), dtype=np.uint8)


def test_an_image_objective_on_text_and_a_text_objective_on_images():
    with pytest.raises(ConfigError) as err:
        tk.pretrain(TEXTS, backbone="minilm-l6", objective="simclr")
    msg = _one_line(err)
    assert "'simclr' pre-trains image backbones" in msg and "is text" in msg
    assert "mlm, simcse, tsdae" in msg and "'lenet'" in msg and "Fix:" in msg
    with pytest.raises(ConfigError) as err:
        tk.pretrain(tk.from_arrays(DIGITS), backbone="lenet", objective="tsdae")
    msg = _one_line(err)
    assert "'tsdae' pre-trains text backbones" in msg and "is image" in msg
    assert "expected one of the image objectives: simclr" in msg and "--text-col" not in msg
    with pytest.raises(ConfigError) as err:
        tk.pretrain(tk.from_arrays(DIGITS), backbone="lenet", objective="scarf")
    assert "expected one of the image objectives: simclr" in _one_line(err)


def test_images_with_a_text_backbone_name_the_image_backbones():
    with pytest.raises(DataError) as err:
        tk.pretrain(tk.from_arrays(DIGITS), backbone="minilm-l6", objective="simclr")
    msg = _one_line(err)
    assert "image data" in msg and "lenet" in msg and "efficientnet-lite0" in msg


def test_too_few_images_and_a_batch_of_one_for_a_contrastive_objective():
    with pytest.raises(DataError) as err:
        tk.pretrain(tk.from_arrays(DIGITS[:10]), backbone="lenet", objective="simclr")
    msg = _one_line(err)
    assert "'simclr' needs at least 16 unlabelled rows" in msg and "got 10" in msg
    with pytest.raises(ConfigError) as err:
        tk.pretrain(tk.from_arrays(DIGITS), backbone="lenet", objective="simclr", batch_size=1)
    msg = _one_line(err)
    assert "batch_size must be at least 2; got 1" in msg and "Fix:" in msg


def test_scarf_needs_two_columns_and_tokens_are_for_text():
    with pytest.raises(DataError) as err:
        tk.pretrain(tk.from_arrays(np.arange(40.0)[:, None]), backbone="tabular-mlp",
                    objective="scarf")
    msg = _one_line(err)
    assert "at least 2 feature columns; got 1" in msg and "Fix:" in msg
    with pytest.raises(ConfigError) as err:
        tk.pretrain(tk.from_arrays(DIGITS), backbone="lenet", objective="simclr", max_length=32)
    assert "reads no tokens" in _one_line(err)


def test_bad_simclr_and_scarf_options():
    with pytest.raises(ConfigError) as err:
        tk.pretrain(tk.from_arrays(DIGITS), backbone="lenet", objective="simclr",
                    options={"hflip": 2})
    msg = _one_line(err)
    assert "simclr: hflip must be a number in [0.0, 1.0]; got 2" in msg and "--option" in msg
    with pytest.raises(ConfigError, match="crop_scale must be a range lo-hi; got 'big'"):
        tk.pretrain(tk.from_arrays(DIGITS), backbone="lenet", objective="simclr",
                    options={"crop_scale": "big"})
    with pytest.raises(ConfigError, match="corruption must be a share in"):
        tk.pretrain(tk.from_arrays(np.ones((40, 3))), backbone="tabular-mlp",
                    objective="scarf", options={"corruption": 1.5})


def test_simclr_without_kornia_says_how_to_install_it(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "kornia", None)  # as if the extra were not installed
    with pytest.raises(ConfigError) as err:
        tk.pretrain(tk.from_arrays(DIGITS), backbone="lenet", objective="simclr")
    msg = _one_line(err)
    assert "kornia" in msg and "pip install 'transferkit[augment]'" in msg
