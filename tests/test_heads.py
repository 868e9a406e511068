"""Probe heads on real data (scikit-learn's digits): accuracy, agreement with scikit-learn,
exact round trip of their saved state."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from transferkit import ConfigError
from transferkit.heads import HEADS


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    p = rng.permutation(len(y))
    return X[p[:1200]].astype(np.float32), y[p[:1200]], X[p[1200:]].astype(np.float32), y[p[1200:]]


@pytest.mark.parametrize("name,min_acc", [("logistic", 0.95), ("ridge", 0.90), ("svm", 0.93),
                                          ("knn", 0.96)])
def test_head_accuracy_and_round_trip(digits, name, min_acc):
    Xtr, ytr, Xte, yte = digits
    head = HEADS.create(name).fit(Xtr, ytr, 10, seed=0)
    acc = (head.predict(Xte) == yte).mean()
    assert acc >= min_acc, f"{name} reached {acc:.3f}"
    proba = head.predict_proba(Xte)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-5)
    clone = type(head).from_state(head.config, {k: v.copy() for k, v in head.arrays.items()})
    np.testing.assert_array_equal(clone.predict_proba(Xte), proba)


def test_logistic_matches_scikit_learn_objective(digits):
    Xtr, ytr, Xte, _ = digits
    ours = HEADS.create("logistic", C=1.0, standardize=False, max_iter=500).fit(Xtr, ytr, 10)
    ref = LogisticRegression(C=1.0, max_iter=5000).fit(Xtr, ytr)

    def objective(W, b):  # scikit-learn's: C * sum of cross-entropies + 0.5 * ||W||^2
        z = Xtr @ W + b
        z = z - z.max(1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(1, keepdims=True))
        return -1.0 * logp[np.arange(len(ytr)), ytr].sum() + 0.5 * (W**2).sum()

    ours_obj = objective(ours.arrays["coef"].astype(np.float64), ours.arrays["intercept"])
    ref_obj = objective(ref.coef_.T, ref.intercept_)
    assert ours_obj <= ref_obj * 1.001, (ours_obj, ref_obj)
    assert (ours.predict(Xte) == ref.predict(Xte)).mean() >= 0.98


def test_logistic_chooses_C_on_held_out_data(digits):
    Xtr, ytr, _, _ = digits
    head = HEADS.create("logistic").fit(Xtr, ytr, 10)
    by_c = {float(c): a for c, a in head.chosen["holdout_log_loss_by_C"].items()}
    C = head.chosen["C"]
    assert C in by_c and by_c[C] == min(by_c.values())
    assert set(head.chosen["holdout_accuracy_by_C"]) == {str(c) for c in by_c}
    # The search walks outward from 0.1 over a contiguous stretch of the grid and stops two
    # grid points past the best (or at the grid's end).
    grid = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0]
    tried = sorted(by_c)
    i, j = grid.index(tried[0]), grid.index(tried[-1])
    assert tried == grid[i:j + 1] and 0.1 in tried and 0.03 in tried
    k = grid.index(C)
    if C >= 0.1:
        assert j == min(k + 2, len(grid) - 1), (tried, C)
    else:
        assert i == max(k - 2, 0), (tried, C)


def test_the_search_for_C_goes_down_when_smaller_C_is_better():
    """Few rows, many noisy features: strong regularisation wins, below the start at 0.1."""
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 60)
    X = rng.normal(size=(120, 200)).astype(np.float32)
    X[:, 0] += 1.5 * (2 * y - 1)
    head = HEADS.create("logistic").fit(X, y, 2)
    tried = sorted(float(c) for c in head.chosen["holdout_log_loss_by_C"])
    assert head.chosen["C"] < 0.1 and tried[0] < head.chosen["C"], head.chosen
    assert max(tried) == 0.1  # it never went up


@pytest.mark.parametrize("name,kw", [("logistic", {"C": -1.0}), ("knn", {"k": 0}),
                                     ("ridge", {"alpha": 0})])
def test_bad_head_parameters_raise(name, kw):
    with pytest.raises(ConfigError, match="must be"):
        HEADS.create(name, **kw)


# --- out of core: the logistic head streams a memory-mapped matrix beyond its budget --------


@pytest.fixture()
def digits_on_disk(digits, tmp_path):
    """The training features as the feature cache holds them: a memory-mapped ``.npy``."""
    Xtr, ytr, Xte, yte = digits
    np.save(tmp_path / "features.npy", Xtr)
    return np.load(tmp_path / "features.npy", mmap_mode="r"), ytr, Xte, yte


def test_logistic_streams_beyond_its_memory_budget_with_near_in_memory_accuracy(digits_on_disk):
    Xtr, ytr, Xte, yte = digits_on_disk
    in_memory = HEADS.create("logistic").fit(Xtr, ytr, 10)
    # 1200 x 64 float32 is 0.3 MiB: a 0.25 MiB budget forces the streamed fit.
    streamed = HEADS.create("logistic", memory_budget_mb=0.25).fit(Xtr, ytr, 10)
    assert "streamed" not in in_memory.chosen and streamed.chosen["streamed"] is True
    acc_mem = (in_memory.predict(Xte) == yte).mean()
    acc_str = (streamed.predict(Xte) == yte).mean()
    assert acc_str >= acc_mem - 0.01, (acc_str, acc_mem)
    assert streamed.chosen["C"] in (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0,
                                    100.0)
    assert streamed.chosen["holdout_accuracy_by_C"], "C must be chosen on held-out rows"
    # The streamed standardisation is the whole matrix's, merged chunk by chunk.
    np.testing.assert_allclose(streamed.arrays["mean"], in_memory.arrays["mean"], atol=1e-4)
    np.testing.assert_allclose(streamed.arrays["scale"], in_memory.arrays["scale"], rtol=1e-4)
    # Scoring in chunks (a tiny budget) gives the scores of one matrix product.
    whole = HEADS.create("logistic").from_state(streamed.config | {"memory_budget_mb": 512},
                                                streamed.arrays)
    np.testing.assert_allclose(streamed.decision_function(Xte), whole.decision_function(Xte),
                               rtol=1e-5, atol=1e-5)


def test_logistic_streamed_with_fixed_C_reaches_the_same_optimum(digits_on_disk):
    Xtr, ytr, Xte, _ = digits_on_disk
    a = HEADS.create("logistic", C=1.0, max_iter=300).fit(np.asarray(Xtr), ytr, 10)
    b = HEADS.create("logistic", C=1.0, max_iter=300, memory_budget_mb=0.25).fit(Xtr, ytr, 10)
    assert b.chosen["streamed"] and b.chosen["C"] == 1.0
    assert (a.predict(Xte) == b.predict(Xte)).mean() >= 0.99


def test_row_chunks_read_a_cached_matrix_by_file_offsets(digits_on_disk):
    from transferkit.heads.chunks import RowChunks

    X = digits_on_disk[0]
    chunks = RowChunks(X, 500)
    assert chunks.path == X.filename, "a whole cached .npy is read with file reads, not mapped"
    got = np.concatenate([c.copy() for _, c in chunks])
    np.testing.assert_array_equal(got, X)
    assert [s for s, _ in chunks] == [0, 500, 1000]
    # A view of the map keeps the parent's offset: it must be sliced, not read from the file.
    view = RowChunks(X[100:], 500)
    assert view.path is None
    np.testing.assert_array_equal(np.concatenate([c.copy() for _, c in view]), X[100:])
