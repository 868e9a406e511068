"""A damaged or crafted run folder gives one clear error naming the file: never a traceback,
never code run from a pickle, never a download."""

from __future__ import annotations

import json
import pickle
import shutil

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

import transferkit as tk
from transferkit.backbones import hub
from transferkit.cli.main import main
from transferkit.exceptions import BackboneError, RunError


@pytest.fixture(scope="module")
def probe_run(tmp_path_factory):
    X, y = load_digits(return_X_y=True)
    model = tk.TransferClassifier(backbone="tabular-mlp", cache=False).fit(X[:400], y[:400])
    folder = tmp_path_factory.mktemp("damage") / "run"
    model.save(folder)
    return folder


@pytest.fixture()
def run_copy(probe_run, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(probe_run, folder)
    return folder


def header(folder):
    return json.loads((folder / "model.json").read_text())


def test_a_head_that_is_not_safetensors_is_named(run_copy, capsys):
    (run_copy / "head.safetensors").write_bytes(b"this is not a safetensors file at all")
    with pytest.raises(RunError, match=r"head\.safetensors is damaged"):
        tk.load(run_copy)
    assert main(["predict", str(run_copy), "1,2,3"]) == 2
    err = capsys.readouterr().err
    assert "head.safetensors" in err and len(err.strip().splitlines()) == 1


def test_a_truncated_model_json_is_named(run_copy):
    text = (run_copy / "model.json").read_text()
    (run_copy / "model.json").write_text(text[: len(text) // 2])
    with pytest.raises(RunError, match=r"model\.json is damaged"):
        tk.load(run_copy)


def test_a_backbone_weight_of_the_wrong_shape_is_named(run_copy):
    meta = header(run_copy)
    from safetensors.torch import save_file

    save_file({"nonsense": torch.zeros(3)}, str(run_copy / "backbone.safetensors"))
    (run_copy / "model.json").write_text(json.dumps(meta))
    with pytest.raises(RunError, match="Cannot load the run"):
        tk.load(run_copy)


def test_a_run_backbone_that_points_at_its_own_folder_is_a_loop(run_copy, capsys):
    meta = header(run_copy)
    meta["backbone"]["spec"] = f"run:{run_copy}"
    meta["params"]["backbone"] = f"run:{run_copy}"
    (run_copy / "model.json").write_text(json.dumps(meta))
    (run_copy / "backbone.safetensors").unlink(missing_ok=True)
    with pytest.raises((RunError, BackboneError), match="loop"):
        tk.load(run_copy)
    assert main(["predict", str(run_copy), "1,2"]) == 2
    err = capsys.readouterr().err
    assert "loop" in err and len(err.strip().splitlines()) == 1


class _Payload:
    def __reduce__(self):
        return (exec, ("open(__import__('os').environ['TK_PWNED'], 'w').write('ran')",))


def test_a_pickled_weights_file_never_runs(tmp_path, monkeypatch):
    """An hf: folder whose pytorch_model.bin holds a pickled payload: refused, not executed."""
    from transformers import BertConfig

    folder = tmp_path / "evil-bert"
    folder.mkdir()
    BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1, num_attention_heads=1,
               intermediate_size=8).save_pretrained(folder)
    flag = tmp_path / "pwned"
    monkeypatch.setenv("TK_PWNED", str(flag))
    with open(folder / "pytorch_model.bin", "wb") as f:
        pickle.dump({"weights": _Payload()}, f)
    with pytest.raises((BackboneError, RunError)) as err:
        tk.create_backbone(f"hf:{folder}")
    assert "pytorch_model.bin" in str(err.value) and "refuses to load safely" in str(err.value)
    assert not flag.exists(), "the pickle's code ran"


def test_a_hub_id_inside_a_run_never_downloads(run_copy, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub-cache"))

    def no_network(*a, **k):
        raise AssertionError("loading a saved run asked whether the hub is reachable")

    monkeypatch.setattr(hub, "hub_reachable", no_network)
    meta = header(run_copy)
    meta["backbone"]["spec"] = meta["params"]["backbone"] = "hf:acme/not-on-this-machine"
    (run_copy / "model.json").write_text(json.dumps(meta))
    with pytest.raises(BackboneError, match="never downloads while loading a saved run"):
        tk.load(run_copy)


def test_the_undamaged_copy_still_predicts(run_copy):
    X, _ = load_digits(return_X_y=True)
    assert tk.load(run_copy).predict(X[:5].astype(np.float32)).shape == (5,)
