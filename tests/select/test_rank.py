"""rank(): one encoding per candidate, scores in columns, best first, every gap explained."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

import transferkit as tk
from transferkit.backbones.base import Backbone
from transferkit.exceptions import BackboneError, ConfigError, DataError
from transferkit.select import format_ranking, ranking_record, source_probabilities
from transferkit.select.rank import _control_notes


class LinearBackbone(Backbone):
    """Tabular test backbone: features = x @ w; optionally a 'source head' of 8 classes."""

    modality = "tabular"

    def __init__(self, w, head=None, name="linear"):
        super().__init__(name, w.shape[1], {"kind": "test-linear", "name": name})
        self.w = torch.nn.Parameter(torch.as_tensor(w, dtype=torch.float32), requires_grad=False)
        self.head = None if head is None else torch.nn.Parameter(
            torch.as_tensor(head, dtype=torch.float32), requires_grad=False)

    def preprocess(self, inputs):
        return {"x": torch.as_tensor(np.asarray(inputs, dtype=np.float32))}

    def forward_features(self, batch, layer=-1):
        return batch["x"] @ self.w

    def layer_groups(self):
        return []

    @property
    def has_source_head(self):
        return self.head is not None

    def source_logits(self, batch):
        if self.head is None:
            return super().source_logits(batch)
        return self.forward_features(batch) @ self.head


@pytest.fixture(scope="module")
def toy():
    """300 rows, 3 classes; columns 0-3 carry the class, columns 4-11 are noise."""
    rng = np.random.default_rng(0)
    y = np.arange(300) % 3
    x = rng.normal(size=(300, 12))
    x[:, :4] += 2.5 * rng.normal(size=(3, 4))[y]
    ds = tk.Dataset(x.astype(np.float32), y, modality="tabular", name="toy")
    good = LinearBackbone(np.eye(12)[:, :4], head=5 * rng.normal(size=(4, 8)), name="good")
    noisy = LinearBackbone(np.eye(12)[:, 4:], name="noisy")
    return ds, good, noisy


def test_rank_table_order_and_explained_gaps(toy):
    ds, good, noisy = toy
    df = tk.rank(ds, [noisy, good], scores=["logme", "leep", "nce", "hscore", "knn"])
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == ["backbone", "logme", "leep", "nce", "hscore", "knn", "seconds",
                                "notes"]
    assert list(df["backbone"]) == ["good", "noisy"]  # best first by the first score
    assert (df["seconds"] > 0).all()
    good_row, noisy_row = df.iloc[0], df.iloc[1]
    assert good_row["knn"] > 0.9 and noisy_row["knn"] < 0.6
    assert np.isfinite(good_row["leep"]) and np.isfinite(good_row["nce"])
    # No source head: NaN, and the reason is given, never a silent NaN.
    assert np.isnan(noisy_row["leep"]) and np.isnan(noisy_row["nce"])
    assert "no source-task head" in noisy_row["notes"]
    assert any("leep, nce" in n and "no source-task head" in n for n in df.attrs["notes"]["noisy"])
    assert "good" not in df.attrs["notes"]
    assert set(df.attrs["readings"]) == {"logme", "leep", "nce", "hscore", "knn"}
    assert "best good" in df.attrs["readings"]["logme"]
    assert df.attrs["sorted_by"] == "logme"
    text = format_ranking(df)
    assert "How to read" in text and "no source-task head" in text
    rec = ranking_record(df)
    json.dumps(rec, allow_nan=False)  # NaN became None
    assert rec["table"][1]["leep"] is None and rec["best"] == "good"


def test_rank_by_a_source_score_puts_headless_last(toy):
    ds, good, noisy = toy
    df = tk.rank(ds, [noisy, good], scores=["leep", "logme"])
    assert list(df["backbone"]) == ["good", "noisy"]
    only_headless = tk.rank(ds, [noisy], scores=["nce"])
    assert "not available here" in only_headless.attrs["readings"]["nce"]


def test_source_probabilities_are_a_softmax(toy):
    ds, good, noisy = toy
    p = source_probabilities(good, ds, batch_size=64)
    assert p.shape == (300, 8)
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-9)
    with pytest.raises(BackboneError, match="no source-task head"):
        source_probabilities(noisy, ds)


def test_rank_encodes_through_the_cache(toy):
    ds, _, _ = toy
    good = LinearBackbone(np.eye(12)[:, :5], name="fresh")  # weights no other test encoded
    calls = []
    original = good.features

    def counting(*a, **k):
        calls.append(1)
        return original(*a, **k)

    good.features = counting
    try:
        tk.rank(ds, [good], scores=["logme"])
        first = len(calls)
        tk.rank(ds, [good], scores=["logme", "hscore"])
        assert first >= 1 and len(calls) == first  # second ranking read the cached features
    finally:
        del good.features


def test_rank_with_specs_layers_and_max_samples(toy):
    ds, _, _ = toy
    df = tk.rank(ds, "tabular-mlp,tabular-mlp@0", scores=["hscore", "logme"], max_samples=150)
    assert set(df["backbone"]) == {"tabular-mlp", "tabular-mlp@0"}
    assert df.attrs["dataset"]["n"] == 150


def test_rank_uses_fewer_folds_on_few_shot_data(toy):
    ds, good, _ = toy
    few = ds.subset(np.arange(12))  # 4 per class: 5 folds of 2 rows could not hold 3 classes
    df = tk.rank(few, [good], scores=["knn"])
    assert df.attrs["cv_folds"] == 4 and "4-fold" in df.attrs["readings"]["knn"]
    assert 0 <= df["knn"].iloc[0] <= 1


def test_random_control_note():
    df = pd.DataFrame({"backbone": ["m", "m@2", "random:m"], "logme": [0.5, 0.1, 0.2]})
    notes = {b: [] for b in df["backbone"]}
    _control_notes(df, "logme", notes)
    assert notes["m"] == [] and "random-init control 'random:m'" in notes["m@2"][0]


def test_rank_errors(toy):
    ds, good, _ = toy
    with pytest.raises(ConfigError, match="Did you mean 'logme'"):
        tk.rank(ds, [good], scores=["logmee"])
    with pytest.raises(BackboneError, match="minilm-l6"):
        tk.rank(ds, ["minilm-l7"], scores=["logme"])
    with pytest.raises(BackboneError, match="takes text inputs, but the dataset is tabular"):
        tk.rank(ds, ["minilm-l6"], scores=["logme"])  # caught before loading any weights
    with pytest.raises(ConfigError, match="at least one"):
        tk.rank(ds, [], scores=["logme"])
    with pytest.raises(ConfigError, match="more than once"):
        tk.rank(ds, ["tabular-mlp", "tabular-mlp"], scores=["logme"])
    with pytest.raises(DataError, match="labelled"):
        tk.rank(ds.without_labels(), [good])
    with pytest.raises(DataError, match="two classes"):
        tk.rank(tk.Dataset(ds.inputs, np.zeros(300), "tabular", "one"), [good])
    tiny = ds.subset(np.arange(5))  # 5 rows, 3 classes: even 2 folds cannot hold every class
    with pytest.raises(DataError, match="fewer than the 3 classes"):
        tk.rank(tiny, [good], scores=["logme", "knn"])
    assert np.isfinite(tk.rank(tiny, [good], scores=["logme"])["logme"].iloc[0])
    with pytest.raises(DataError, match="Dataset"):
        tk.rank(np.zeros((5, 2)), [good])


@pytest.mark.real_weights
@pytest.mark.slow
def test_rank_banking77_pretrained_beats_random_control(banking77):
    """A few hundred real queries: the pre-trained MiniLM must rank above its random-init twin."""
    classes = np.unique(banking77.train.labels)[:20]
    rng = np.random.default_rng(0)
    idx = np.concatenate([rng.choice(np.flatnonzero(banking77.train.labels == c), 10, replace=False)
                          for c in classes])
    ds = banking77.train.subset(idx, name="banking20x10")
    df = tk.rank(ds, ["random:minilm-l6", "minilm-l6"], scores=["logme", "hscore", "knn"],
                 progress=False)
    assert list(df["backbone"]) == ["minilm-l6", "random:minilm-l6"], df
    pre, rnd = df.iloc[0], df.iloc[1]
    assert pre["hscore"] > rnd["hscore"] and pre["knn"] > rnd["knn"] + 0.2
    assert not df.attrs["notes"].get("minilm-l6")  # no "below its random control" warning
