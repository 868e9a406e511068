"""``compare(backbones=[...])``: several backbones on the same samples and seeds, each later one
judged against the first with the paired test of the transfer verdict."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import transferkit as tk
from transferkit.cli.main import main
from transferkit.exceptions import ConfigError
from transferkit.runs import read_record


@pytest.fixture(scope="module")
def reviews(kitchen):
    rows = np.r_[0:60, 1000:1060]
    ds = tk.Dataset([kitchen.inputs[i][:300] for i in rows], kitchen.labels[rows], "text",
                    "kitchen-120")
    return tk.train_test_split(ds, test_size=0.5, seed=0)


def test_backbones_share_samples_and_get_a_paired_verdict(reviews, tiny_text_backbone_name):
    specs = [tiny_text_backbone_name, f"random:{tiny_text_backbone_name}"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tk.NegativeTransferWarning)
        res = tk.compare(reviews, strategies=["probe", "scratch"], backbones=specs,
                         shots=[8, 16], seeds=2, label_prior=False, epochs=1, progress=False)
    t = res.table
    names = set(t.strategy)
    assert names == {f"probe [{specs[0]}]", f"probe [{specs[1]}]", "scratch"}
    # The same (amount, seed) cells for both backbones: every pair of fits saw one sample.
    a = t[t.strategy == f"probe [{specs[0]}]"].set_index(["shots", "seed"]).accuracy
    b = t[t.strategy == f"probe [{specs[1]}]"].set_index(["shots", "seed"]).accuracy
    assert a.index.equals(b.index) and len(a) == 4
    (test,) = res.backbone_tests
    assert test["backbone"] == specs[1] and test["against"] == specs[0]
    assert test["n_pairs"] == 4
    assert test["mean_diff"] == pytest.approx(float((b - a).mean()))
    assert test["verdict"] in ("helps", "no clear difference", "negative transfer")
    assert res.to_record()["backbone_tests"][0]["verdict"] == test["verdict"]
    assert "backbones:" in str(res)


def test_backbones_through_the_cli(reviews, tiny_text_backbone_name, tmp_path):
    import pandas as pd

    csv = tmp_path / "reviews.csv"
    pd.DataFrame({"text": reviews.train.inputs, "label": reviews.train.labels}).to_csv(csv)
    out = tmp_path / "cmp"
    rc = main(["compare", str(csv), "--backbones",
               f"{tiny_text_backbone_name},random:{tiny_text_backbone_name}",
               "--strategies", "probe", "--shots", "8", "--seeds", "2", "--out", str(out),
               "--no-report"])
    assert rc == 0
    rec = read_record(out)["compare"]
    assert rec["backbones"] == [tiny_text_backbone_name, f"random:{tiny_text_backbone_name}"]
    assert len(rec["backbone_tests"]) == 1


def test_a_backbone_listed_twice_is_refused(reviews, tiny_text_backbone_name):
    with pytest.raises(ConfigError, match="twice"):
        tk.compare(reviews, strategies=["probe"],
                   backbones=[tiny_text_backbone_name, tiny_text_backbone_name])
