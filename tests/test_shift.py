"""Shift: MMD permutation test calibrated under the null and decisive under a clear shift; proxy
A-distance and two-sample AUC at their extremes; per-class picture; verdicts; bad input."""

import json

import numpy as np
import pytest

import transferkit as tk
from transferkit.exceptions import ConfigError, DataError
from transferkit.shift import mmd2_unbiased, shift_features


def test_mmd_p_value_is_calibrated_under_the_null():
    rng = np.random.default_rng(0)
    ps, pads, aucs = [], [], []
    for _ in range(20):
        r = shift_features(rng.normal(size=(80, 5)), rng.normal(size=(80, 5)),
                           n_permutations=99, seed=int(rng.integers(1 << 30)))
        ps.append(r.p_value)
        pads.append(r.proxy_a_distance)
        aucs.append(r.c2st_auc)
    ps = np.array(ps)
    assert np.mean(ps < 0.05) <= 0.15  # nominal 5 %; 3 of 20 allowed for chance
    assert 0.3 < ps.mean() < 0.7  # roughly uniform: mean near 1/2
    assert np.mean(pads) < 0.3 and abs(np.mean(aucs) - 0.5) < 0.07


def test_clear_shift_is_detected_with_extreme_scores():
    rng = np.random.default_rng(1)
    r = shift_features(rng.normal(size=(300, 8)), rng.normal(size=(300, 8)) + 3.0,
                       n_permutations=200)
    assert r.p_value == pytest.approx(1 / 201)  # no permutation reaches the observed MMD
    assert r.mmd > 0.3
    assert r.proxy_a_distance > 1.9 and r.c2st_auc > 0.99
    assert r.verdict.startswith("target is far from source")
    assert "domain adaptation" in r.verdict


def test_null_verdict_and_record():
    rng = np.random.default_rng(2)
    r = shift_features(rng.normal(size=(150, 4)), rng.normal(size=(120, 4)), n_permutations=50)
    assert r.verdict.startswith("no detectable shift")
    assert r.n_used == 120 and r.n_source == 150 and r.n_target == 120
    d = r.to_dict()
    json.dumps(d, allow_nan=False)
    assert {"mmd", "p_value", "proxy_a_distance", "c2st_auc", "verdict", "per_class"} <= set(d)
    assert "MMD^2" in str(r)


def test_unbiased_mmd_matches_the_definition():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(15, 3)), rng.normal(size=(11, 3)) + 0.5
    h = 2.0

    def k(a, b):
        return np.exp(-((a[:, None] - b[None]) ** 2).sum(-1) / h)

    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    expected = ((kxx.sum() - np.trace(kxx)) / (15 * 14) + (kyy.sum() - np.trace(kyy)) / (11 * 10)
                - 2 * kxy.mean())
    assert mmd2_unbiased(x, y, bandwidth=h) == pytest.approx(expected, rel=1e-10)


def test_per_class_picture_finds_the_shifted_class():
    rng = np.random.default_rng(4)
    ys, yt = np.arange(600) % 3, np.arange(600) % 3
    xs = rng.normal(size=(600, 6)) + 2 * np.eye(6)[ys]
    xt = rng.normal(size=(600, 6)) + 2 * np.eye(6)[yt]
    xt[yt == 2] += 1.5  # only class 2 moves
    r = shift_features(xs, xt, ys, yt, n_permutations=50)
    by = {row["class"]: row for row in r.per_class}
    assert by[2]["domain_auc"] > 0.85 and by[0]["domain_auc"] < 0.7 and by[1]["domain_auc"] < 0.7
    assert by[2]["mmd"] > 5 * max(by[0]["mmd"], by[1]["mmd"], 1e-4)
    assert r.label_shift == pytest.approx(0.0)
    assert "most shifted class is 2" in r.verdict


def test_label_shift_is_reported():
    rng = np.random.default_rng(5)
    ys = np.r_[np.zeros(150), np.ones(50)].astype(int)
    yt = np.r_[np.zeros(50), np.ones(150)].astype(int)
    r = shift_features(rng.normal(size=(200, 3)), rng.normal(size=(200, 3)), ys, yt,
                       n_permutations=20)
    assert r.label_shift == pytest.approx(0.5)
    assert "class balance differs" in r.verdict


def test_subsampling_is_bounded_and_stated():
    rng = np.random.default_rng(6)
    r = shift_features(rng.normal(size=(700, 3)), rng.normal(size=(500, 3)), max_samples=200,
                       n_permutations=10)
    assert r.n_used == 200 and r.max_samples == 200
    assert any("subsampled to 200" in n for n in r.notes)


def test_bad_input():
    rng = np.random.default_rng(7)
    a = rng.normal(size=(50, 4))
    with pytest.raises(DataError, match="same size; got 4 .source. and 5"):
        shift_features(a, rng.normal(size=(50, 5)))
    with pytest.raises(DataError, match="finite"):
        shift_features(a, np.full((50, 4), np.nan))
    with pytest.raises(DataError, match="at least 10"):
        shift_features(a, a[:5])
    with pytest.raises(ConfigError, match="n_permutations"):
        shift_features(a, a, n_permutations=0)
    with pytest.raises(DataError, match="one target label"):
        shift_features(a, a, np.zeros(50), np.zeros(49))
    text = tk.Dataset(["a b c"] * 20, modality="text", name="t")
    table = tk.Dataset(rng.normal(size=(20, 4)).astype(np.float32), modality="tabular", name="x")
    with pytest.raises(DataError, match="one modality; got tabular source"):
        tk.shift(table, text, backbone="tabular-mlp")
    with pytest.raises(DataError, match="shift_features"):
        tk.shift(a, a)
    with pytest.raises(tk.BackboneError, match="takes text inputs"):
        tk.shift(table, table, backbone="minilm-l6")


def test_shift_end_to_end_with_a_backbone():
    rng = np.random.default_rng(8)
    xs = rng.normal(size=(200, 6)).astype(np.float32)
    xt = (rng.normal(size=(200, 6)) + 2.0).astype(np.float32)
    src = tk.Dataset(xs, np.arange(200) % 2, "tabular", "src")
    tgt = tk.Dataset(xt, np.arange(200) % 2, "tabular", "tgt")
    r = tk.shift(src, tgt, backbone="tabular-mlp", n_permutations=50, max_samples=150)
    assert isinstance(r, tk.ShiftResult)
    assert r.p_value < 0.05 and r.c2st_auc > 0.9
    assert r.backbone == "tabular-mlp" and r.source == "src" and r.target == "tgt"
    assert r.n_used == 150 and r.per_class is not None
    same = tk.shift(src, src.subset(np.arange(200)[::-1], name="src2"), backbone="tabular-mlp",
                    n_permutations=50)
    assert same.mmd < 0.01


@pytest.mark.real_weights
@pytest.mark.real_data
@pytest.mark.slow
def test_amazon_books_vs_kitchen_is_shifted():
    try:
        books = tk.load_dataset("amazon:domain=books")
        kitchen = tk.load_dataset("amazon:domain=kitchen")
    except DataError as e:
        pytest.skip(str(e))
    r = tk.shift(books, kitchen, backbone="minilm-l6", max_samples=60, n_permutations=100,
                 progress=False)
    assert r.p_value < 0.02 and r.c2st_auc > 0.8
    assert r.per_class is not None and r.label_shift < 0.2
