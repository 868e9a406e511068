"""The N-shot protocol: TransferClassifier(shots=N, seed=s), deterministic, train-only, errors."""

import json

import numpy as np
import pytest
import torch
from torch import nn

import transferkit as tk
from transferkit import ConfigError, DataError
from transferkit.cli.main import main


def _marked_splits(n_per_class=12, k=4):
    """Inputs that say which split they came from ("train-3" / "test-3")."""
    y = np.repeat(np.arange(k), n_per_class)
    train = tk.Dataset([f"train-{i}" for i in range(len(y))], y, "text", "marked")
    test = tk.Dataset([f"test-{i}" for i in range(len(y))], y, "text", "marked")
    return train, test


class _Spy(tk.Backbone):
    """A text backbone that records every input it encodes."""

    modality = "text"

    def __init__(self):
        super().__init__("spy", 4)
        self.lin = nn.Linear(1, 4)
        self.seen: list[str] = []

    def preprocess(self, inputs):
        self.seen.extend(inputs)
        return {"x": torch.tensor([[float(s.split("-")[1])] for s in inputs])}

    def forward_features(self, batch, layer=-1):
        return self.lin(batch["x"])

    def layer_groups(self):
        return [("lin", self.lin)]


def test_sampler_is_deterministic_per_seed_and_exact_per_class(banking77):
    a = tk.sample_shots(banking77.train, 8, seed=3)
    b = tk.sample_shots(banking77.train, 8, seed=3)
    c = tk.sample_shots(banking77.train, 8, seed=4)
    assert a.inputs == b.inputs and a.inputs != c.inputs
    assert set(a.class_counts().values()) == {8} and len(a.class_counts()) == 77
    # Nested: the 4-shot sample is inside the 8-shot sample of the same seed.
    assert set(tk.sample_shots(banking77.train, 4, seed=3).inputs) <= set(a.inputs)


@pytest.mark.parametrize("strategy", ["probe", "prototypes"])
def test_fit_with_shots_sees_only_training_rows(strategy):
    train, test = _marked_splits()
    spy = _Spy()
    model = tk.TransferClassifier(backbone=spy, strategy=strategy, shots=3, seed=1, cache=False,
                                  progress=False)
    model.fit(train, val=None)
    assert model.train_summary_["n"] == 12
    assert set(model.train_summary_["class_counts"].values()) == {3}
    fit_seen = set(spy.seen)
    assert fit_seen and all(s.startswith("train-") for s in fit_seen)
    # Exactly the rows sample_shots draws for this seed.
    assert fit_seen == set(tk.sample_shots(train, 3, seed=1).inputs)
    spy.seen.clear()
    model.predict(test)
    assert all(s.startswith("test-") for s in spy.seen)
    # Same seed, same sample; another seed, another sample.
    spy2 = _Spy()
    tk.TransferClassifier(backbone=spy2, strategy=strategy, shots=3, seed=1, cache=False,
                          progress=False).fit(train)
    assert set(spy2.seen) == fit_seen


def test_too_many_shots_names_the_class_and_its_count(banking20):
    train, _ = banking20
    small = train.subset(np.flatnonzero(train.labels != train.labels[0])[:100].tolist()
                         + np.flatnonzero(train.labels == train.labels[0])[:5].tolist())
    with pytest.raises(DataError, match=rf"class '{train.labels[0]}' has 5.*shots <= 5"):
        tk.TransferClassifier(shots=8).fit(small)
    with pytest.raises(ConfigError, match="'shots' parameter"):
        tk.TransferClassifier(shots=0).fit(small)


def test_shots_is_a_stored_parameter():
    m = tk.TransferClassifier(shots=8)
    assert m.get_params()["shots"] == 8 and m.set_params(shots=None).shots is None


@pytest.mark.real_weights
@pytest.mark.slow
def test_cli_fit_with_shots_and_prototypes(tmp_path, capsys, banking20):
    import pandas as pd

    train, test = banking20
    pd.DataFrame({"text": train.inputs, "label": train.labels}).to_csv(tmp_path / "train.csv",
                                                                       index=False)
    out = tmp_path / "run"
    code = main(["fit", str(tmp_path / "train.csv"), "--shots", "4", "--strategy", "prototypes",
                 "--out", str(out), "--seed", "2"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "test accuracy" in captured.out
    cfg = json.loads((out / "model.json").read_text())["params"]
    assert cfg["shots"] == 4 and cfg["strategy"] == "prototypes"
    code = main(["fit", str(tmp_path / "train.csv"), "--shots", "40", "--out",
                 str(tmp_path / "run2")])
    err = capsys.readouterr().err
    assert code == 2 and "shots <= " in err and "has " in err
