"""tk.compare / transferkit compare: paired samples, the transfer verdict, the run record."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

import transferkit as tk
from transferkit.compare import paired_test, transfer_verdict
from transferkit.exceptions import DataError


@pytest.fixture(scope="module")
def intents5(banking_subset):
    """5 Banking77 intents: 16 training and all test queries of each."""
    train, test = banking_subset(5, 16, "intents5")
    return tk.data.DatasetSplits(train=train, test=test, name="intents5")


def test_sign_flip_test_is_exact():
    t = paired_test(np.array([0.1, 0.2, 0.3]))
    assert t["p_value"] == pytest.approx(2 / 8)  # all-positive and all-negative of 8 patterns
    t = paired_test(np.full(6, 0.05))
    assert t["p_value"] == pytest.approx(2 / 64) and t["mean_diff"] == pytest.approx(0.05)
    assert paired_test(np.array([0.1, -0.1, 0.1, -0.1]))["p_value"] == 1.0


def _table(diffs, base=0.7):
    rows = []
    for i, d in enumerate(diffs):
        x, seed = (0.1, 0.5, 1.0)[i % 3], i // 3
        rows.append({"strategy": "scratch", "fraction": x, "seed": seed, "accuracy": base})
        rows.append({"strategy": "probe", "fraction": x, "seed": seed, "accuracy": base + d})
    return pd.DataFrame(rows)


def test_verdict_reads_the_paired_differences():
    rng = np.random.default_rng(0)
    helps = transfer_verdict(_table(0.08 + 0.01 * rng.standard_normal(9)), "accuracy", "fraction")
    assert helps["verdict"] == "transfer helps" and helps["best"] == "probe"
    assert helps["tests"]["probe"]["wins"] == 9 and "+0.08" in helps["reason"]
    hurts = transfer_verdict(_table(-0.05 + 0.01 * rng.standard_normal(9)), "accuracy", "fraction")
    assert hurts["verdict"] == "negative transfer" and "rank" in hurts["reason"]
    noise = transfer_verdict(_table(0.03 * rng.standard_normal(9)), "accuracy", "fraction")
    assert noise["verdict"] == "no clear difference"
    assert [p["fraction"] for p in helps["per_amount"]] == [0.1, 0.5, 1.0]
    none = transfer_verdict(_table([0.1] * 3).query("strategy == 'probe'"), "accuracy", "fraction")
    assert none["verdict"] is None and "add 'scratch'" in none["reason"]


@pytest.mark.slow
def test_pretrained_minilm_beats_scratch_on_real_intents(intents5, tmp_path):
    res = tk.compare(intents5, strategies=["probe", "scratch"], shots=[4, 16], seeds=3,
                     backbone="minilm-l6", epochs=2, progress=False)
    t = res.table
    assert len(t) == 2 * 2 * 3 and set(t.n_labels) == {20, 80}
    probe = t[t.strategy == "probe"].groupby("shots").accuracy.mean()
    scratch = t[t.strategy == "scratch"].groupby("shots").accuracy.mean()
    assert probe[4] > 0.75 and probe[16] > 0.85  # pre-trained features: most intents right
    assert scratch[16] < 0.6                       # same architecture, random weights, 80 labels
    assert res.verdict == "transfer helps" and res.best == "probe"
    assert res.tests["probe"]["n_pairs"] == 6 and res.tests["probe"]["p_value"] == 2 / 64
    assert "probe with 4 shots per class" in res.data_efficiency
    out = res.save(tmp_path / "cmp", dataset={"train": intents5.train.summary()})
    rec = json.loads((out / "record.json").read_text())
    assert rec["kind"] == "compare" and rec["compare"]["verdict"] == "transfer helps"
    assert len(rec["compare"]["table"]) == 12
    assert pd.read_csv(out / "compare.csv").shape == (12, len(t.columns))
    html = tk.render_report(out)
    assert "transfer helps" in html and "could not be rendered" not in html


def _broken_encoder(in_features: int = 64, **_):
    """A "pre-trained" encoder whose weights wipe out its input: every feature is 0."""
    net = torch.nn.Sequential(torch.nn.Linear(in_features, 32), torch.nn.ReLU())
    with torch.no_grad():
        net[0].weight.zero_()
        net[0].bias.fill_(-1.0)
    return net


@pytest.fixture
def broken_backbone():
    from transferkit.backbones import BACKBONES

    tk.register_module("broken-pretrained-test", _broken_encoder, modality="tabular",
                       num_features=32)
    yield "broken-pretrained-test"
    BACKBONES.unregister("broken-pretrained-test")


def test_injected_negative_transfer_warns_and_is_recorded(digits_table, broken_backbone,
                                                          tmp_path):
    # Scratch re-initialises the same architecture, so only the "pre-trained" weights are bad.
    with pytest.warns(tk.NegativeTransferWarning, match="worse than scratch"):
        res = tk.compare(digits_table, strategies=["probe", "scratch"], backbone=broken_backbone,
                         fractions=[0.2, 1.0], seeds=3, epochs=10, progress=False)
    assert res.verdict == "negative transfer"
    assert res.tests["probe"]["losses"] == 6
    acc = res.summary.set_index(["strategy", "fraction"])["mean"]
    assert acc["probe", 1.0] < 0.2 and acc["scratch", 1.0] > 0.85
    html = tk.render_report(res.save(tmp_path / "neg"))
    assert "negative transfer" in html


@pytest.fixture(scope="module")
def digits_table():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return tk.from_arrays(X.astype(np.float32), y)


def test_bad_input_is_explained(digits_table, intents5):
    with pytest.raises(tk.ConfigError, match="not both"):
        tk.compare(digits_table, fractions=[0.5], shots=[2], backbone="tabular-mlp")
    with pytest.raises(tk.DataError, match="smallest class"):
        tk.compare(intents5, strategies=["probe"], shots=[17], progress=False)
    with pytest.raises(tk.ConfigError, match="fractions"):
        tk.compare(digits_table, fractions=[0.0, 1.5], backbone="tabular-mlp")
    with pytest.raises(tk.ConfigError, match="distinct"):
        tk.compare(digits_table, strategies=["probe", "probe"], backbone="tabular-mlp")
    with pytest.raises(tk.ConfigError, match="epoch"):
        tk.compare(digits_table, backbone="tabular-mlp", epoch=3)
    with pytest.raises(tk.DataError, match="zeroshot"):
        tk.compare(digits_table, strategies=["zeroshot", "scratch"], backbone="tabular-mlp")


def test_cli_compare_writes_run_and_report(tmp_path, capsys):
    from sklearn.datasets import load_digits

    from transferkit.cli.main import main

    X, y = load_digits(return_X_y=True)
    df = pd.DataFrame(X[:600], columns=[f"p{i}" for i in range(64)]).assign(label=y[:600])
    df.to_csv(tmp_path / "digits.csv", index=False)
    out = tmp_path / "runs" / "cmp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["compare", str(tmp_path / "digits.csv"), "--label-col", "label",
                     "--backbone", "tabular-mlp", "--strategies", "probe,scratch",
                     "--fractions", "0.1,1", "--seeds", "2", "--epochs", "5", "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "verdict:" in text and "10%" in text and "100%" in text
    rec = json.loads((out / "record.json").read_text())
    assert rec["config"]["fractions"] == [0.1, 1.0] and rec["config"]["seeds"] == [0, 1]
    assert (out / "report.html").exists()
    assert main(["compare", str(tmp_path / "digits.csv"), "--label-col", "label",
                 "--fractions", "a,b"]) != 0
    assert "comma-separated float" in capsys.readouterr().err


@pytest.mark.slow
def test_zero_shot_is_a_flat_line_and_no_scratch_means_no_verdict(intents5):
    res = tk.compare(intents5, strategies=["zeroshot", "prototypes"], shots=[1, 4], seeds=2,
                     progress=False)
    zs = res.table[res.table.strategy == "zeroshot"]
    assert len(zs) == 4 and set(zs.n_labels) == {0} and zs.accuracy.nunique() == 1
    assert zs.accuracy.iloc[0] > 0.5  # label names alone, 5 intents
    assert res.verdict is None and "add 'scratch'" in res.reason
    assert len(res.summary) == 4 and "zeroshot" in str(res)


def test_data_with_two_label_columns_is_asked_to_pick_one():
    texts = [f"text {i}" for i in range(40)]
    data = tk.from_arrays(texts, {"intent": np.arange(40) % 2, "queue": np.arange(40) % 4})
    with pytest.raises(DataError, match=r"label columns \['intent', 'queue'\]; compare learns one"):
        tk.compare(data, strategies=["probe"], fractions=[1.0], seeds=1)


def test_samples_are_encoded_once_not_per_cell(monkeypatch, tmp_path, tiny_text_backbone_name):
    """The probe's cells take their features from one encoding of the samples' union."""
    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path))
    rng = np.random.default_rng(0)
    texts = ["".join(rng.choice(list("abcdefghij "), 24)) + f" {i}" for i in range(600)]
    labels = np.array(["x", "y", "z"])[np.arange(600) % 3]
    ds = tk.from_arrays(texts, labels)
    bb = tk.create_backbone(tiny_text_backbone_name)
    encoded: list[int] = []
    real = type(bb).features
    monkeypatch.setattr(type(bb), "features", lambda self, inputs, **kw:
                        encoded.append(len(inputs)) or real(self, inputs, **kw))
    res = tk.compare(ds, strategies=["probe", "baseline"], fractions=[0.1, 0.2, 0.4], seeds=3,
                     backbone=tiny_text_backbone_name, label_prior=False, progress=False)
    assert len(res.table) == 18
    n_train = 480  # 20 % held out for testing
    # the 9 samples cover over half the training set: it is encoded once, whole (its cache
    # entry is a plain fit's), then the test set once; one-text calls probe the feature width
    assert [n for n in encoded if n > 1] == [n_train, 120]
    encoded.clear()
    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "fresh"))
    tk.compare(ds, strategies=["probe"], fractions=[0.05, 0.1], seeds=2,
               backbone=tiny_text_backbone_name, label_prior=False, progress=False)
    # only the samples' union, once (the test texts are still among this process's rows)
    (union,) = [n for n in encoded if n > 1]
    assert 48 <= union < 2 * (24 + 48)
