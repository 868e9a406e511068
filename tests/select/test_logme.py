"""LogME: the evidence formula against a Gaussian density, the fixed point against brute-force
maximisation, invariances, the vectorised path against a per-class loop, and bad input."""

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.stats import multivariate_normal

from transferkit.exceptions import DataError
from transferkit.select import log_evidence, logme


def _direct_log_evidence(f, y, alpha, beta):
    """log N(y; 0, F F^T / alpha + I / beta): the definition, with no algebra."""
    n = len(y)
    return multivariate_normal(np.zeros(n), f @ f.T / alpha + np.eye(n) / beta).logpdf(y)


def _brute_force_logme(f, labels):
    """Maximise the direct evidence over (log alpha, log beta) per class with Nelder-Mead."""
    classes = np.unique(labels)
    best = []
    for c in classes:
        y = (labels == c).astype(float)

        def neg(p, y=y):
            return -_direct_log_evidence(f, y, np.exp(p[0]), np.exp(p[1]))

        starts = ([0.0, 0.0], [3.0, 1.0], [-2.0, 2.0])
        res = min((minimize(neg, s, method="Nelder-Mead",
                            options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000})
                   for s in starts), key=lambda r: r.fun)
        best.append(-res.fun)
    return float(np.mean(best) / len(labels))


def _per_class_loop(f, labels, iters=500):
    """A straightforward per-class LogME (N x D products in every step), as in the paper's code."""
    f = np.asarray(f, float)
    n, d = f.shape
    s, v = np.linalg.eigh(f.T @ f)
    s = np.clip(s, 0, None)
    out = []
    for c in np.unique(labels):
        y = (labels == c).astype(float)
        fty = v.T @ (f.T @ y)
        alpha, beta = 1.0, 1.0
        for _ in range(iters):
            m = v @ (beta * fty / (alpha + beta * s))
            gamma = np.sum(beta * s / (alpha + beta * s))
            mm, res = m @ m, np.sum((y - f @ m) ** 2)
            alpha, beta = gamma / mm, (n - gamma) / res
        m = v @ (beta * fty / (alpha + beta * s))
        mm, res = m @ m, np.sum((y - f @ m) ** 2)
        ev = (d / 2 * np.log(alpha) + n / 2 * np.log(beta) - 0.5 * np.sum(np.log(alpha + beta * s))
              - beta / 2 * res - alpha / 2 * mm - n / 2 * np.log(2 * np.pi))
        out.append(ev / n)
    return float(np.mean(out))


@pytest.mark.parametrize("n,d", [(30, 5), (8, 20)])
def test_evidence_formula_matches_gaussian_density(n, d):
    rng = np.random.default_rng(n)
    f = rng.normal(size=(n, d))
    y = np.eye(3)[rng.integers(0, 3, n)]
    ours = log_evidence(f, y, alpha=0.7, beta=2.3)
    direct = [_direct_log_evidence(f, y[:, k], 0.7, 2.3) for k in range(3)]
    np.testing.assert_allclose(ours, direct, rtol=1e-10)


@pytest.mark.parametrize("n,d", [(40, 4), (12, 30)])
def test_logme_is_the_maximum_evidence(n, d):
    rng = np.random.default_rng(d)
    labels = np.arange(n) % 3
    f = rng.normal(size=(n, d)) + 0.8 * np.eye(3)[labels] @ rng.normal(size=(3, d))
    assert logme(f, labels) == pytest.approx(_brute_force_logme(f, labels), abs=1e-6)


def test_vectorised_equals_per_class_loop():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 6, 400)
    f = rng.normal(size=(400, 24)) + np.eye(6)[labels] @ rng.normal(size=(6, 24))
    assert logme(f, labels) == pytest.approx(_per_class_loop(f, labels), abs=1e-6)


@pytest.fixture(scope="module")
def task():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 300)
    f = rng.normal(size=(300, 16)) + 1.5 * np.eye(4)[labels] @ rng.normal(size=(4, 16))
    return f, labels


def test_label_permutation_and_relabelling_invariance(task):
    f, labels = task
    base = logme(f, labels)
    perm = np.array([2, 0, 3, 1])
    assert logme(f, perm[labels]) == pytest.approx(base, abs=1e-9)
    names = np.array(["card", "loan", "atm", "fx"])[labels]
    assert logme(f, names) == pytest.approx(base, abs=1e-9)
    order = np.random.default_rng(5).permutation(len(labels))
    assert logme(f[order], labels[order]) == pytest.approx(base, abs=1e-9)


def test_global_feature_scaling_invariance(task):
    f, labels = task
    base = logme(f, labels)
    for c in (1e-3, 7.3, 1e3):
        assert logme(c * f, labels) == pytest.approx(base, abs=1e-6)
    # Per-feature scaling changes the prior on each weight, so LogME may move (not invariant).
    assert logme(f * np.linspace(0.1, 10, f.shape[1]), labels) != pytest.approx(base, abs=1e-4)


def test_informative_features_score_higher(task):
    f, labels = task
    noise = np.random.default_rng(9).normal(size=f.shape)
    half = np.c_[f[:, :8], noise[:, :8]]
    assert logme(f, labels) > logme(half, labels) > logme(noise, labels)


def test_regression_targets():
    rng = np.random.default_rng(2)
    f = rng.normal(size=(200, 10))
    y = f @ rng.normal(size=10) + 0.1 * rng.normal(size=200)
    noise = rng.normal(size=(200, 10))
    assert logme(f, y, regression=True) > logme(noise, y, regression=True) + 1.0
    two = np.c_[y, 2 * y]
    assert np.isfinite(logme(f, two, regression=True))


def test_more_samples_than_features_and_fewer_both_work():
    rng = np.random.default_rng(3)
    labels = np.arange(10) % 2
    assert np.isfinite(logme(rng.normal(size=(10, 50)), labels))  # N < D
    assert np.isfinite(logme(rng.normal(size=(500, 3)), np.arange(500) % 2))  # N >> D


@pytest.mark.parametrize(
    "features,labels,match",
    [
        (np.full((20, 4), 3.0), np.arange(20) % 2, "constant"),
        (np.r_[np.full((1, 4), np.nan), np.ones((19, 4))], np.arange(20) % 2, "NaN or infinite"),
        (np.random.default_rng(0).normal(size=(20, 4)), np.zeros(20), "at least two classes"),
        (np.random.default_rng(0).normal(size=(20, 4)), np.arange(19) % 2, "one label per row"),
        (np.arange(20.0), np.arange(20) % 2, "1-D array"),
        (np.random.default_rng(0).normal(size=(20, 4)), np.eye(2)[np.arange(20) % 2], "one-hot"),
    ],
)
def test_bad_input_raises_clear_error(features, labels, match):
    with pytest.raises(DataError, match=match):
        logme(features, labels)


def test_some_constant_features_are_fine():
    rng = np.random.default_rng(4)
    f = np.c_[rng.normal(size=(50, 3)), np.ones((50, 2))]
    assert np.isfinite(logme(f, np.arange(50) % 2))


def test_regression_rejects_text_targets():
    with pytest.raises(DataError, match="numeric targets"):
        logme(np.random.default_rng(0).normal(size=(10, 2)), np.array(["a"] * 10), regression=True)
