"""Run folders: identical predictions after a round trip, atomic writes, clear errors."""

import json

import numpy as np
import pytest

import transferkit as tk
from transferkit import RunError


@pytest.fixture(scope="module")
def digits_model():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32)
    model = tk.TransferClassifier(backbone="tabular-mlp", cache=False).fit(X[:800], y[:800])
    return model, X[800:], y[800:]


@pytest.mark.parametrize("head", ["logistic", "knn"])
def test_round_trip_identical_predictions(tmp_path, head):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32)
    model = tk.TransferClassifier(backbone="tabular-mlp", head=head, cache=False)
    model.fit(X[:800], y[:800])
    model.save(tmp_path / "run")
    back = tk.load(tmp_path / "run")
    np.testing.assert_array_equal(back.predict_proba(X[800:]), model.predict_proba(X[800:]))
    assert back.get_params() == model.get_params()
    files = {p.name for p in (tmp_path / "run").iterdir()}
    assert {"model.json", "head.safetensors", "backbone.safetensors", "config.yaml",
            "metrics.json", "record.json"} <= files
    assert not any(p.suffix in (".pkl", ".pt", ".pickle") for p in (tmp_path / "run").iterdir())


@pytest.mark.real_weights
def test_round_trip_text_probe_string_labels(tmp_path, minilm, banking20):
    train, test = banking20
    model = tk.TransferClassifier(backbone="minilm-l6").fit(train)
    model.save(tmp_path / "b20")
    back = tk.load(tmp_path / "b20")
    assert list(back.predict(["I lost my card yesterday"])) == list(
        model.predict(["I lost my card yesterday"]))
    assert back.classes_.dtype.kind == "U" and list(back.classes_) == list(model.classes_)
    # Probe runs keep only the head: the bundled weights are rebuilt from the spec.
    assert not (tmp_path / "b20" / "backbone.safetensors").exists()


def test_failed_save_keeps_earlier_run(tmp_path, digits_model, monkeypatch):
    model, X, y = digits_model
    model.save(tmp_path / "run", metrics={"accuracy": 0.5})
    before = (tmp_path / "run" / "metrics.json").read_text()

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(model.strategy_, "save", boom)
    with pytest.raises(RuntimeError):
        model.save(tmp_path / "run", metrics={"accuracy": 0.9}, overwrite=True)
    assert (tmp_path / "run" / "metrics.json").read_text() == before
    # Beside the run only its (hidden, empty) lock file may remain: no partial folder.
    assert sorted(p.name for p in tmp_path.iterdir()) == [".run.lock", "run"]


def test_record_contents(tmp_path, digits_model):
    model, X, y = digits_model
    metrics = model.evaluate(X, y)
    model.save(tmp_path / "r", metrics=metrics)
    rec = tk.runs.read_record(tmp_path / "r")
    assert rec["schema_version"] == 1 and rec["seed"] == 0
    assert rec["metrics"]["accuracy"] == pytest.approx(metrics["accuracy"])
    assert rec["dataset"]["train"]["n"] == 800
    assert rec["backbone"]["name"] == "tabular-mlp"
    assert np.asarray(rec["metrics"]["confusion_matrix"]).sum() == len(y)


def test_load_errors(tmp_path, digits_model):
    with pytest.raises(RunError, match="does not exist"):
        tk.load(tmp_path / "nope")
    (tmp_path / "half").mkdir()
    with pytest.raises(RunError, match="no model.json"):
        tk.load(tmp_path / "half")
    model, _, _ = digits_model
    model.save(tmp_path / "new")
    meta = json.loads((tmp_path / "new" / "model.json").read_text())
    meta["format_version"] = 99
    (tmp_path / "new" / "model.json").write_text(json.dumps(meta))
    with pytest.raises(RunError, match="newer transferkit"):
        tk.load(tmp_path / "new")
