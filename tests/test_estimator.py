"""TransferClassifier: the scikit-learn contract, real accuracy on real data, clear errors."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

import transferkit as tk
from transferkit import ConfigError, DataError, NotFittedError


@pytest.fixture(scope="module")
def digits_table():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X.astype(np.float32), y


def test_params_stored_as_given_and_clone():
    m = tk.TransferClassifier(backbone="minilm-l6", head="ridge", C=None, seed=3)
    assert m.get_params()["head"] == "ridge" and m.get_params()["seed"] == 3
    c = clone(m)
    assert c.get_params() == m.get_params() and c is not m
    m.set_params(head="knn")
    assert m.head == "knn"


@pytest.mark.real_weights
def test_probe_on_banking20_reaches_accuracy(minilm, banking20):
    train, test = banking20
    model = tk.TransferClassifier(backbone=minilm, strategy="probe")
    assert model.fit(train) is model
    acc = model.score(test)
    # Frozen MiniLM + logistic regression with 30 queries per intent on 20 intents.
    assert acc >= 0.88, acc
    proba = model.predict_proba(test)
    assert proba.shape == (len(test), 20)
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-5)
    assert set(model.predict(test)) <= set(train.classes)


@pytest.mark.real_weights
def test_second_fit_reads_features_from_cache(minilm, banking20):
    train, _ = banking20
    sub = train.subset(np.arange(200), name="cache-check")
    m1 = tk.TransferClassifier(backbone=minilm).fit(sub)
    enc_calls = []
    orig = minilm.forward_features
    minilm.forward_features = lambda *a, **k: enc_calls.append(1) or orig(*a, **k)
    try:
        m2 = tk.TransferClassifier(backbone=minilm).fit(sub)
    finally:
        del minilm.forward_features
    # The encoder never ran: that is the claim. (Timings are not compared: the first fit
    # may itself take its rows from a set encoded earlier in the session.)
    assert enc_calls == [], "the second fit re-encoded cached data"
    np.testing.assert_allclose(m2.predict_proba(sub), m1.predict_proba(sub), atol=1e-6)


def test_tabular_probe_on_digits_with_raw_arrays(digits_table):
    X, y = digits_table
    model = tk.TransferClassifier(backbone="tabular-mlp", head="logistic", cache=False)
    model.fit(X[:1200], y[:1200])
    # Random 256-d MLP features of standardised pixels keep digits linearly separable.
    assert model.score(X[1200:], y[1200:]) >= 0.90


def test_works_inside_pipeline_and_grid_search(digits_table):
    X, y = digits_table
    pipe = Pipeline([("clf", tk.TransferClassifier(backbone="tabular-mlp", cache=False))])
    grid = GridSearchCV(pipe, {"clf__head": ["ridge", "knn"]}, cv=2)
    grid.fit(X[:600], y[:600])
    assert grid.best_params_["clf__head"] in {"ridge", "knn"}
    assert grid.score(X[600:900], y[600:900]) > 0.85


def test_same_seed_same_model(digits_table):
    X, y = digits_table
    a = tk.TransferClassifier(backbone="tabular-mlp", seed=5, cache=False).fit(X[:500], y[:500])
    b = tk.TransferClassifier(backbone="tabular-mlp", seed=5, cache=False).fit(X[:500], y[:500])
    np.testing.assert_array_equal(a.predict_proba(X[500:600]), b.predict_proba(X[500:600]))


def test_errors_are_clear(digits_table):
    X, y = digits_table
    with pytest.raises(NotFittedError, match="not fitted yet"):
        tk.TransferClassifier().predict(["hello"])
    with pytest.raises(ConfigError, match="Unknown strategy 'prob'.*Did you mean 'probe'"):
        tk.TransferClassifier(strategy="prob").fit(X[:50], y[:50])
    with pytest.raises(ConfigError, match="'batch_size' parameter of TransferClassifier must be"):
        tk.TransferClassifier(backbone="tabular-mlp", batch_size=0).fit(X[:50], y[:50])
    with pytest.raises(DataError, match="tabular data; minilm-l6 encodes text; tabular backbones"):
        tk.TransferClassifier(backbone="minilm-l6").fit(X[:50], y[:50])
    with pytest.raises(DataError, match="Did you mean to pass the training split"):
        tk.TransferClassifier().fit(tk.DatasetSplits(train=tk.from_arrays(["a", "b"], [0, 1])))
    model = tk.TransferClassifier(backbone="tabular-mlp", cache=False).fit(X[:300], y[:300] % 5)
    with pytest.raises(DataError, match="never seen in training"):
        model.score(X[:10], np.full(10, 7))
