"""``run:<folder>``: a model transferkit trained becomes a ranking candidate with a source head."""

import numpy as np
import pytest
import torch

import transferkit as tk
from transferkit.exceptions import BackboneError


@pytest.fixture(scope="module")
def digits_split():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32)
    low, high = y < 5, y >= 5
    return (X[low], y[low]), (X[high], y[high])


def test_run_backbone_brings_trained_weights_and_its_classifier(digits_split, tmp_path):
    (Xs, ys), (Xt, yt) = digits_split
    # Source task: digits 0-4, the tabular MLP fine-tuned end to end.
    src = tk.TransferClassifier(backbone="tabular-mlp", strategy="finetune", epochs=8,
                                cache=False, progress=False).fit(Xs, ys)
    run = src.save(tmp_path / "digits04")
    bb = tk.create_backbone(f"run:{run}", in_features=64)
    trained = dict(src.backbone_.state_dict())
    assert all(torch.equal(v, trained[k]) for k, v in bb.state_dict().items())
    assert bb.has_source_head and bb.source_classes == ["0", "1", "2", "3", "4"]

    # Target task: digits 5-9. The run's features transfer better than the same MLP untrained,
    # and LEEP / NCE exist only for the candidate with a source head.
    target = tk.from_arrays(Xt, yt)
    df = tk.rank(target, backbones=[f"run:{run}", "tabular-mlp"],
                 scores=["logme", "leep", "nce"], progress=False, cache=False)
    by = df.set_index("backbone")
    assert df.backbone.iloc[0] == f"run:{run}"
    assert by.loc[f"run:{run}", "logme"] > by.loc["tabular-mlp", "logme"]
    assert np.isfinite(by.loc[f"run:{run}", "leep"]) and np.isfinite(by.loc[f"run:{run}", "nce"])
    assert np.isnan(by.loc["tabular-mlp", "leep"])


def test_run_backbone_of_a_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(BackboneError, match="names no loadable run"):
        tk.create_backbone(f"run:{tmp_path / 'nope'}")
