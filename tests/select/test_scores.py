"""H-score, NCE, LEEP, kNN and probe scores on synthetic data where the better input is known."""

import numpy as np
import pytest

from transferkit.exceptions import ConfigError, DataError
from transferkit.select import hscore, knn_score, ledoit_wolf_shrinkage, leep, nce, probe_score


def _task(n=400, k=4, d=32, signal=1.5, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % k
    means = rng.normal(size=(k, d))
    return labels, rng.normal(size=(n, d)) + signal * means[labels], rng


# --- H-score -----------------------------------------------------------------------------------


def test_hscore_prefers_informative_features():
    labels, good, rng = _task()
    weak = rng.normal(size=good.shape) + 0.2 * good
    noise = rng.normal(size=good.shape)
    for shr in (True, False):
        assert hscore(good, labels, shr) > hscore(weak, labels, shr) > hscore(noise, labels, shr)


def test_hscore_bounds_and_invariances():
    labels, f, rng = _task(k=3)
    plain = hscore(f, labels, shrinkage=False)
    assert 0.0 <= plain <= 2.0 + 1e-9  # sum of squared canonical correlations, at most K - 1
    mix = rng.normal(size=(f.shape[1], f.shape[1]))  # an invertible linear map
    assert hscore(f @ mix, labels, shrinkage=False) == pytest.approx(plain, rel=1e-6)
    assert hscore(5.0 * f, labels) == pytest.approx(hscore(f, labels), rel=1e-9)
    assert hscore(f, np.array(["b", "c", "a"])[labels]) == pytest.approx(hscore(f, labels))


def test_shrinkage_helps_in_high_dimension():
    # 60 examples in 200 dimensions: the plain covariance is singular and the plain H-score
    # reaches its maximum K - 1 on pure noise; the shrunk one keeps noise far below signal.
    labels, signal, rng = _task(n=60, k=3, d=200, signal=0.8)
    noise = rng.normal(size=signal.shape)
    assert hscore(noise, labels, shrinkage=False) == pytest.approx(2.0, abs=1e-6)
    assert hscore(signal, labels) > 5 * hscore(noise, labels)


def test_ledoit_wolf_matches_scikit_learn():
    from sklearn.covariance import ledoit_wolf_shrinkage as sk

    x = np.random.default_rng(3).normal(size=(80, 30)) * np.linspace(0.5, 3, 30)
    x = x - x.mean(0)
    assert ledoit_wolf_shrinkage(x) == pytest.approx(sk(x, assume_centered=True), rel=1e-9)


# --- NCE and LEEP ------------------------------------------------------------------------------


def _source_probs(labels, source_of_label, n_source, sharp, rng):
    """Source probabilities concentrated on one source class per target class (+ noise)."""
    logits = rng.normal(size=(len(labels), n_source))
    logits[np.arange(len(labels)), source_of_label[labels]] += sharp
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_nce_known_values():
    i = np.arange(270)
    y = i % 3
    assert nce(y + 10, y) == pytest.approx(0.0)  # source label determines the target label
    z_indep = (i // 3) % 3  # every (source, target) pair equally often: independent
    assert nce(z_indep, y) == pytest.approx(-np.log(3))
    two_to_one = np.where(y == 2, 1, y)  # merges two target classes
    assert nce(two_to_one, y) == pytest.approx(-(2 / 3) * np.log(2))


def test_nce_and_leep_prefer_the_informative_source():
    rng = np.random.default_rng(0)
    y = np.arange(600) % 5
    mapping = np.array([3, 17, 8, 42, 0])
    good = _source_probs(y, mapping, 50, 6.0, rng)
    weak = _source_probs(y, mapping, 50, 1.0, rng)
    noise = _source_probs(y, mapping, 50, 0.0, rng)
    assert nce(good, y) > nce(weak, y) > nce(noise, y)
    assert leep(good, y) > leep(weak, y) > leep(noise, y)
    assert leep(noise, y) == pytest.approx(-np.log(5), abs=0.1)  # chance
    assert leep(good, y) < 0
    # hard labels give NCE the same value as the arg-max of the probabilities
    assert nce(good.argmax(1), y) == pytest.approx(nce(good, y))


def test_leep_perfect_source():
    y = np.arange(100) % 4
    probs = np.eye(4)[y]
    assert leep(probs, y) == pytest.approx(0.0)
    assert leep(probs, np.array(list("abcd"))[y]) == pytest.approx(0.0)


def test_leep_rejects_logits_and_mismatches():
    rng = np.random.default_rng(0)
    y = np.arange(20) % 2
    with pytest.raises(DataError, match="softmax"):
        leep(rng.normal(size=(20, 5)), y)
    with pytest.raises(DataError, match="one label per row"):
        leep(np.full((19, 5), 0.2), y)
    with pytest.raises(DataError, match="two classes"):
        leep(np.full((20, 5), 0.2), np.zeros(20))
    with pytest.raises(DataError, match="finite"):
        leep(np.full((20, 5), np.nan), y)
    with pytest.raises(DataError, match="one label per row"):
        nce(np.arange(10), y)


# --- kNN and probe -----------------------------------------------------------------------------


def test_knn_and_probe_scores_are_sane():
    labels, good, rng = _task(n=300, k=3, signal=3.0)
    noise = rng.normal(size=good.shape)
    for fn in (knn_score, probe_score):
        assert fn(good, labels) > 0.95
        assert abs(fn(noise, labels) - 1 / 3) < 0.12
        assert fn(good, labels, seed=1) == pytest.approx(fn(good, labels, seed=1))  # seeded


def test_knn_folds_errors():
    labels, f, _ = _task(n=40, k=10)
    with pytest.raises(DataError, match="fewer than the 10 classes"):
        knn_score(f, labels, folds=5)  # 8 per fold < 10 classes
    assert 0 <= knn_score(f, labels, folds=2) <= 1
    with pytest.raises(ConfigError, match="folds"):
        knn_score(f, labels, folds=1)
    lab = labels.copy()
    lab[0] = 99  # a class with a single example
    with pytest.raises(DataError, match="one example"):
        knn_score(f, lab, folds=2)
    with pytest.raises(ConfigError, match="'k'"):
        knn_score(f, labels, folds=2, k=0)


def test_scores_reject_bad_features():
    labels, f, _ = _task(n=40, k=2)
    bad = f.copy()
    bad[3, 1] = np.inf
    for fn in (hscore, knn_score, probe_score):
        with pytest.raises(DataError, match="NaN or infinite"):
            fn(bad, labels)
        with pytest.raises(DataError, match="constant"):
            fn(np.zeros_like(f), labels)
        with pytest.raises(DataError, match="two classes"):
            fn(f, np.zeros(40))
