"""predict and evaluate check the kind of data against the run before reading it: a text run
never 'classifies' the paths of an image folder, and a wrong data type is named as such."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import transferkit as tk
from transferkit.cli.main import main
from transferkit.exceptions import DataError


@pytest.fixture(scope="module")
def text_run(tmp_path_factory, tiny_text_backbone_name):
    texts = ["good great fine", "bad awful poor", "great good nice", "poor bad sad"] * 5
    labels = ["pos", "neg", "pos", "neg"] * 5
    folder = tmp_path_factory.mktemp("modality") / "text-run"
    tk.TransferClassifier(backbone=tiny_text_backbone_name, cache=False).fit(
        texts, labels).save(folder)
    return folder


@pytest.fixture(scope="module")
def tabular_run(tmp_path_factory):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    folder = tmp_path_factory.mktemp("modality") / "tab-run"
    tk.TransferClassifier(backbone="tabular-mlp", cache=False).fit(X[:300], y[:300]).save(folder)
    return folder


def one_line_error(capsys, argv) -> str:
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    return err


def test_a_text_run_refuses_an_image_folder(capsys, text_run, tmp_path):
    (tmp_path / "imgs").mkdir()
    for i in range(3):
        Image.new("RGB", (8, 8), (i * 40, 0, 0)).save(tmp_path / "imgs" / f"{i}.png")
    err = one_line_error(capsys, ["predict", text_run, tmp_path / "imgs"])
    assert "trained on text data" in err and "which is image data" in err


def test_a_text_run_refuses_a_tabular_csv_in_predict_and_evaluate(capsys, text_run, tmp_path):
    pd.DataFrame({"a": [0.1, 0.2, 0.3, 0.4], "b": [1.0, 2.0, 3.0, 4.0],
                  "label": ["pos", "neg", "pos", "neg"]}).to_csv(tmp_path / "t.csv", index=False)
    err = one_line_error(capsys, ["predict", text_run, tmp_path / "t.csv"])
    assert "trained on text data" in err and "tabular data" in err and "--text-col" in err
    err = one_line_error(capsys, ["evaluate", text_run, tmp_path / "t.csv", "--label-col",
                                  "label"])
    assert "a text model" in err and "which is tabular data" in err and "never seen" not in err


def test_a_tabular_run_refuses_text_lines(capsys, tabular_run, tmp_path):
    (tmp_path / "x.txt").write_text("hello there\nsecond line\n")
    err = one_line_error(capsys, ["predict", tabular_run, tmp_path / "x.txt"])
    assert "trained on tabular data" in err and "which is text data" in err


def test_the_library_names_the_wrong_type_too(text_run):
    model = tk.load(text_run)
    with pytest.raises(DataError, match="trained on text data"):
        model.predict(np.zeros((2, 5), dtype=np.float32))
    with pytest.raises(DataError, match="trained on text data"):
        model.score(np.zeros((2, 5), dtype=np.float32), ["pos", "neg"])
    assert list(model.predict(["good great fine", "bad awful poor"])) == ["pos", "neg"]
