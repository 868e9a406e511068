"""Feature-level methods: CORAL, density-ratio and KMM weights, subspace alignment,
TrAdaBoost, weighted heads."""

import numpy as np
import pytest

import transferkit as tk
from transferkit.adapt import coral_transform, density_ratio_weights, kmm_weights
from transferkit.adapt.reweight import effective_sample_size
from transferkit.adapt.subspace import subspace_alignment
from transferkit.adapt.tradaboost import tradaboost
from transferkit.adapt.weighted import fit_head, fit_weighted_logistic


def test_coral_makes_source_covariance_match_the_target():
    rng = np.random.default_rng(0)
    Xs = rng.normal(size=(500, 6)) * [1, 2, 3, 1, 1, 1]
    A = rng.normal(size=(6, 6))
    Xt = rng.normal(size=(400, 6)) @ A + 3.0
    before = np.abs(np.cov(Xs, rowvar=False) - np.cov(Xt, rowvar=False)).max()
    Xa = coral_transform(Xs, Xt, eps=1e-8)
    Ct = np.cov(Xt, rowvar=False)
    assert np.allclose(np.cov(Xa, rowvar=False), Ct, atol=1e-3 * np.abs(Ct).max())
    assert np.allclose(Xa.mean(0), Xt.mean(0), atol=1e-4)
    assert before > 1.0
    # With the paper's ridge the match is approximate but still much closer than before.
    after = np.abs(np.cov(coral_transform(Xs, Xt), rowvar=False) - Ct).max()
    assert after < 0.7 * before


def _covariate_shift(seed=0):
    rng = np.random.default_rng(seed)
    Xs = rng.normal(size=(800, 3))
    Xt = rng.normal(size=(600, 3)) * 0.7 + [1.5, 0.0, 0.0]
    return Xs, Xt


@pytest.mark.parametrize("estimator", ["density_ratio", "kmm"])
def test_importance_weights_up_weight_target_like_source_rows(estimator):
    Xs, Xt = _covariate_shift()
    w = density_ratio_weights(Xs, Xt) if estimator == "density_ratio" else kmm_weights(Xs, Xt)
    assert w.shape == (len(Xs),) and np.all(w >= 0) and w.mean() == pytest.approx(1.0)
    near = Xs[:, 0] > 1.0   # source rows where the target lives
    far = Xs[:, 0] < -1.0   # source rows the target never visits
    assert w[near].mean() > 3 * w[far].mean()
    # The weighted source mean moves toward the target mean along the shifted axis.
    assert np.average(Xs[:, 0], weights=w) > 0.5
    assert 1 < effective_sample_size(w) < len(w)


def test_density_ratio_weights_are_flat_without_shift():
    rng = np.random.default_rng(1)
    w = density_ratio_weights(rng.normal(size=(400, 3)), rng.normal(size=(400, 3)))
    assert w.std() < 0.2


def test_subspace_alignment_maps_into_the_target_basis():
    rng = np.random.default_rng(0)
    Xs, Xt = rng.normal(size=(200, 10)), rng.normal(size=(150, 10)) + 1
    Xa, mu_t, Pt = subspace_alignment(Xs, Xt, 4)
    assert Xa.shape == (200, 4) and Pt.shape == (10, 4)
    assert np.allclose(Pt.T @ Pt, np.eye(4), atol=1e-8)


def test_tradaboost_down_weights_misleading_source_rows():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 2)).astype(np.float32)
    y_true = (X[:, 0] > 0).astype(np.int64)
    misleading = np.zeros(600, bool)
    misleading[:200] = True  # a third of the source follows the opposite labelling
    ys = np.where(misleading, 1 - y_true, y_true)
    Xt = rng.normal(size=(40, 2)).astype(np.float32)
    yt = (Xt[:, 0] > 0).astype(np.int64)
    learners, alphas, w, info = tradaboost(X, ys, Xt, yt, 2, n_estimators=10, C=1.0)
    assert len(learners) == len(alphas) == 5
    assert w[misleading].mean() < 0.2 * w[~misleading].mean()
    # The vote follows the target labelling, not the misleading third of the source.
    Xe = rng.normal(size=(500, 2)).astype(np.float32)
    p = sum(a * h.predict_proba(Xe) for a, h in zip(alphas / alphas.sum(), learners, strict=True))
    assert (p.argmax(1) == (Xe[:, 0] > 0)).mean() > 0.95


def test_weighted_logistic_with_unit_weights_matches_the_plain_head():
    from transferkit.heads import LogisticHead

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5)).astype(np.float32)
    y = (X[:, 0] + 0.3 * rng.normal(size=200) > 0).astype(np.int64)
    a = fit_weighted_logistic(X, y, 2, np.ones(200), C=1.0)
    b = LogisticHead(C=1.0).fit(X, y, 2)
    assert np.allclose(a.predict_proba(X), b.predict_proba(X), atol=1e-4)


def test_zero_weight_rows_are_ignored_by_every_head():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    y_bad = y.copy()
    y_bad[:100] = 1 - y_bad[:100]
    w = np.r_[np.zeros(100), np.ones(200)]
    for head in ("logistic", "ridge", "knn"):
        h = fit_head(head, X, y_bad, 2, w, seed=0)
        assert (h.predict(X) == y).mean() > 0.9, head


@pytest.mark.parametrize("method,params,scale", [
    ("coral", {"coral_eps": 0.01}, [3.0, 0.3]),   # CORAL matches scale and location
    ("subspace", {"subspace_dim": 2}, [1.0, 1.0]),  # subspace alignment: location (centring)
])
def test_alignment_recovers_a_shift_that_breaks_the_source_model(method, params, scale):
    """Through DomainAdapter on identity features: the target is the source re-scaled and
    moved; aligning the statistics restores the decision rule."""
    rng = np.random.default_rng(0)
    Xs = rng.normal(size=(600, 2)).astype(np.float32)
    ys = (Xs[:, 0] + Xs[:, 1] > 0).astype(np.int64)
    Z = rng.normal(size=(600, 2))
    Xt = (Z * scale + [2.0, 0.0]).astype(np.float32)
    yt = (Z[:, 0] + Z[:, 1] > 0).astype(np.int64)
    S, T = tk.from_arrays(Xs, ys), tk.from_arrays(Xt, yt)
    model = tk.DomainAdapter(method=method, backbone="test-identity2", cache=False,
                             progress=False, **params).fit(S, T)
    rec = model.evaluate_target(T)
    assert rec["source_only_accuracy"] < 0.8
    assert rec["target_accuracy"] > 0.9
    # The source task survives alignment: measured through the source's side of the map.
    assert not rec["source_collapse"]["collapsed"]
    assert rec["source_collapse"]["source_accuracy_after"] > 0.9
