"""readapt on real reviews: the kitchen model re-adapted to books with 40 labels."""

from __future__ import annotations

import numpy as np
import pytest

import transferkit as tk

# slow: MiniLM encodes hundreds of real reviews first; kept out of the fast loop (make test-fast)
pytestmark = [pytest.mark.real_weights, pytest.mark.real_data, pytest.mark.slow]


@pytest.fixture(scope="module")
def books_split(reviews):
    b = reviews["books"]
    return b.subset(np.arange(90), name="books-pool"), b.subset(np.arange(90, 150),
                                                               name="books-test")


@pytest.fixture(scope="module")
def readapted(kitchen_model, kitchen_parts, books_split):
    pool, _ = books_split
    before = {k: v.copy() for k, v in kitchen_model.strategy_.head_.arrays.items()}
    new = tk.readapt(kitchen_model, pool, budget=40, old_data=kitchen_parts[1], seed=0)
    return new, before


def test_books_accuracy_rises_and_kitchen_holds(readapted, kitchen_model, kitchen_parts,
                                                books_split):
    new, _ = readapted
    _, books_test = books_split
    stream = kitchen_parts[2]
    assert new.score(books_test) >= kitchen_model.score(books_test) + 0.03
    # The anchor strength is chosen so the held-out old rows lose at most one point (or one
    # row, whichever is more).
    info = new.readapt_
    assert info["forgetting_limit_met"]
    one_row = 1 / info["old_check_rows"]
    assert info["old_accuracy_after"] >= info["old_accuracy_before"] - max(0.01, one_row)
    assert new.score(stream) >= kitchen_model.score(stream) - 0.03
    assert info["method"] == "l2sp" and len(info["labelled_rows"]) == 40


def test_deployed_model_is_untouched_and_the_anchor_keeps_weights_near_it(
        readapted, kitchen_model, kitchen_parts, books_split):
    new, before = readapted
    for k, v in kitchen_model.strategy_.head_.arrays.items():
        np.testing.assert_array_equal(v, before[k])
    assert new.strategy_.head_ is not kitchen_model.strategy_.head_
    # A plain refit on the same rows (penalty toward zero) moves much further.
    plain = tk.readapt(kitchen_model, books_split[0], budget=40, method="rehearsal",
                       old_data=kitchen_parts[1], seed=0)
    assert new.readapt_["anchor_distance"] < 0.5 * plain.readapt_["anchor_distance"]


def test_diverse_choice_spreads_over_the_pool_more_than_pure_uncertainty(kitchen_model,
                                                                        books_split):
    from transferkit.drift.active import select_to_label

    pool, _ = books_split
    F = tk.extract_features(kitchen_model.backbone_, pool, progress=False)
    P = kitchen_model.predict_proba(pool)
    div = select_to_label(F, P, 15, "diverse")
    unc = select_to_label(F, P, 15, "uncertainty")

    def spread(idx):
        X = np.asarray(F)[idx]
        return np.mean(np.linalg.norm(X[:, None] - X[None], axis=-1))

    assert len(set(div)) == 15 and spread(div) > spread(unc)


def test_bad_readapt_inputs_say_how_to_fix(kitchen_model, books_split, tmp_path):
    pool, _ = books_split
    with pytest.raises(tk.DataError, match=r"budget of at most.*got budget=500 for 90.*Fix"):
        tk.readapt(kitchen_model, pool, budget=500)
    with pytest.raises(tk.DataError, match=r"old_data=.*got none.*Fix"):
        tk.readapt(kitchen_model, unlabelled=pool.without_labels())
    run = tmp_path / "kitchen"
    kitchen_model.save(run)
    with pytest.raises(tk.RunError, match=r"never writes over the deployed run.*Fix"):
        tk.readapt(str(run), pool, budget=10, out=run)
