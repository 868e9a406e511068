"""strategy='baseline': the no-transfer references, on real data, saved without pickle."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

import transferkit as tk
from transferkit.backbones.none import NoBackbone
from transferkit.compare import efficiency_points, transfer_verdict
from transferkit.compare.stats import cell_summary, data_efficiency
from transferkit.strategies.baselines.hgb import _model, export_trees, tree_scores


def _round_trip(model, data, tmp_path):
    back = tk.load(model.save(tmp_path / "run"))
    assert not list((tmp_path / "run").glob("*.pkl")) and not list(
        (tmp_path / "run").glob("*.bin"))
    np.testing.assert_array_equal(back.predict_proba(data), model.predict_proba(data))
    return back


def test_tfidf_on_real_intents_without_loading_an_encoder(banking20, tmp_path):
    train, test = banking20
    model = tk.TransferClassifier(strategy="baseline").fit(train)
    # Nothing pre-trained was loaded: the backbone is the placeholder, with no weights.
    assert isinstance(model.backbone_, NoBackbone) and model.backbone_.num_params == 0
    s = model.strategy_.summary
    assert s["baseline"] == "tfidf" and s["head_choice"]["C"] in (1.0, 3.0, 10.0, 30.0, 100.0)
    acc = model.score(test)
    assert acc >= 0.85, acc  # 20 intents, 30 queries each: measured 0.90
    back = _round_trip(model, test, tmp_path)
    assert back.backbone_.name == "none:text" and back.backbone == "minilm-l6"


def test_gradient_boosting_is_stored_as_arrays_and_predicts_the_same():
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)
    X = X.copy()
    X[::5, 3] = np.nan  # missing values take the side the trees learnt
    with threadpool_limits(limits=1, user_api="openmp"):
        m = _model(25, 0, early=False).fit(X, y)
    np.testing.assert_allclose(tree_scores(export_trees(m), X), m._raw_predict(X), atol=1e-9)


def test_tabular_baseline_learns_and_round_trips(tmp_path):
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(y))
    tr, te = idx[:120], idx[120:]
    data = tk.from_arrays(X[tr].astype(np.float32), y[tr])
    model = tk.TransferClassifier(strategy="baseline", backbone="tabular-mlp").fit(data)
    assert model.strategy_.summary["baseline"] == "hgb"
    test = tk.from_arrays(X[te].astype(np.float32), y[te])
    assert model.score(test) >= 0.9
    _round_trip(model, test, tmp_path)


def test_pixels_baseline_on_digits(tmp_path):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    imgs = (X.reshape(-1, 8, 8) * 16).astype(np.uint8)
    train = tk.from_arrays(imgs[:1200], y[:1200], modality="image")
    test = tk.from_arrays(imgs[1200:], y[1200:], modality="image")
    model = tk.TransferClassifier(strategy="baseline", backbone="lenet").fit(train)
    assert model.strategy_.summary["baseline"] == "pixels"
    assert model.score(test) >= 0.8  # the later writers, 8x8 pixels: measured 0.82
    _round_trip(model, test, tmp_path)


@pytest.mark.slow
def test_cnn_baseline_on_digits(tmp_path):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    imgs = (X.reshape(-1, 8, 8) * 16).astype(np.uint8)
    train = tk.from_arrays(imgs[:1200], y[:1200], modality="image")
    test = tk.from_arrays(imgs[1200:], y[1200:], modality="image")
    model = tk.TransferClassifier(strategy="baseline", baseline="cnn", backbone="lenet").fit(train)
    assert model.score(test) >= 0.85
    _round_trip(model, test, tmp_path)


def test_a_baseline_that_does_not_apply_is_one_line_listing_those_that_do():
    imgs = np.zeros((20, 8, 8), np.uint8)
    data = tk.from_arrays(imgs, np.arange(20) % 2, modality="image")
    with pytest.raises(tk.ConfigError) as e:
        tk.TransferClassifier(strategy="baseline", baseline="tfidf", backbone="lenet").fit(data)
    msg = str(e.value)
    assert "\n" not in msg and "tfidf" in msg and "pixels, cnn" in msg
    with pytest.raises(tk.ConfigError, match="pixels, cnn"):
        tk.compare(data, strategies=["probe", "baseline:tfidf"], fractions=[1.0],
                   backbone="lenet")


def test_compare_names_the_class_and_the_smallest_fraction_that_works(banking20):
    train, test = banking20  # 20 intents x 30 queries: 600 rows
    data = tk.data.DatasetSplits(train=train, test=test, name="banking20")
    with pytest.raises(tk.DataError) as e:
        tk.compare(data, strategies=["baseline"], fractions=[0.01, 1.0], progress=False)
    msg = str(e.value)
    assert "\n" not in msg and "6 labels for 20 classes" in msg
    assert repr(str(np.unique(train.labels)[0])) in msg and "0.0334" in msg


def _refs_table():
    rows = []
    for seed in range(3):
        for x, (p, b, s) in {0.01: (0.80, 0.50, 0.20), 0.1: (0.88, 0.78, 0.40),
                             1.0: (0.93, 0.91, 0.70)}.items():
            for name, acc in (("probe", p), ("baseline", b), ("scratch", s)):
                rows.append({"strategy": name, "fraction": x, "seed": seed,
                             "accuracy": acc + 0.001 * seed})
    return pd.DataFrame(rows)


def test_verdict_is_against_the_stronger_reference_and_efficiency_interpolates():
    t = _refs_table()
    v = transfer_verdict(t, "accuracy", "fraction", baseline=None)
    assert v["reference"] == "baseline" and set(v["references"]) == {"baseline", "scratch"}
    assert "stronger no-transfer reference" in v["reason"] and "baseline" in v["reason"]
    e = efficiency_points(cell_summary(t, "accuracy", "fraction"), "fraction", "probe",
                          "baseline")
    # 0.801 lies between the baseline's 0.781 at 10% and 0.911 at 100%, on log10 scale
    # 1 + (0.801 - 0.781) / 0.13 = 1.154 decades above 1%: about 14.3%.
    assert e["status"] == "interpolated" and e["between"] == [0.1, 1.0]
    assert e["matched_at"] == pytest.approx(0.1 * 10 ** (0.02 / 0.13), rel=1e-3)
    assert len(e["points"]) == 3
    text = data_efficiency(cell_summary(t, "accuracy", "fraction"), "fraction", "probe",
                           "baseline")
    assert "log scale" in text and "14.3%" in text and "1%: 0.501" in text


def test_baseline_score_cross_validates_tfidf_on_rank_folds(banking20):
    train, _ = banking20
    ref = tk.baseline_score(train, folds=3, seed=0)
    assert ref["baseline"] == "tfidf" and ref["folds"] == 3 and len(ref["fold_accuracies"]) == 3
    # 20 intents, 20 training queries each per fold: TF-IDF is far above chance (0.05)
    assert ref["accuracy"] > 0.6
    with pytest.raises(tk.ConfigError, match="the text baselines are tfidf"):
        tk.baseline_score(train, baseline="cnn")
