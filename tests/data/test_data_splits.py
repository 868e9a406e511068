"""Splits and samplers: stratified, seeded, exact, never outside the dataset; label checks."""

from __future__ import annotations

import numpy as np
import pytest

from transferkit.data import (
    Dataset,
    check_labels,
    from_arrays,
    sample_fraction,
    sample_shots,
    train_test_split,
)
from transferkit.exceptions import ConfigError, DataError


def _imbalanced(n_a=300, n_b=100, n_c=20) -> Dataset:
    labels = np.array(["a"] * n_a + ["b"] * n_b + ["c"] * n_c)
    texts = [f"row {i}" for i in range(len(labels))]
    rng = np.random.default_rng(1)
    order = rng.permutation(len(labels))
    return Dataset([texts[i] for i in order], labels[order], "text", "toy")


def test_stratified_split_keeps_proportions_and_partitions():
    ds = _imbalanced()
    s = train_test_split(ds, test_size=0.25, val_size=0.1, seed=3)
    assert len(s.train) + len(s.val) + len(s.test) == len(ds)
    assert len(s.test) == 105 and len(s.val) == 42
    assert s.test.class_counts() == {"a": 75, "b": 25, "c": 5}
    assert s.val.class_counts() == {"a": 30, "b": 10, "c": 2}
    everything = set(s.train.inputs) | set(s.val.inputs) | set(s.test.inputs)
    assert everything == set(ds.inputs)
    assert not set(s.train.inputs) & set(s.test.inputs)
    assert s.test.meta["split"] == "test" and s.val is not None


def test_split_is_seeded():
    ds = _imbalanced()
    a = train_test_split(ds, seed=7)
    b = train_test_split(ds, seed=7)
    c = train_test_split(ds, seed=8)
    assert a.test.inputs == b.test.inputs
    assert a.test.inputs != c.test.inputs
    assert a.val is None


def test_split_keeps_a_training_row_for_rare_classes_and_count_sizes():
    ds = from_arrays(["x", "y", "z", "w", "v"], labels=["a", "a", "a", "a", "rare"])
    s = train_test_split(ds, test_size=2, seed=0)
    assert "rare" in s.train.class_counts() and len(s.test) == 2


def test_unstratified_and_unlabelled_split():
    ds = from_arrays(np.arange(20.0).reshape(10, 2))
    s = train_test_split(ds, test_size=0.3, seed=0)
    assert (len(s.train), len(s.test)) == (7, 3) and s.test.labels is None
    s2 = train_test_split(_imbalanced(), test_size=0.5, stratify=False, seed=0)
    assert len(s2.test) == 210


@pytest.mark.parametrize(
    "kw", [{"test_size": 0.0}, {"test_size": 1.5}, {"test_size": 0.6, "val_size": 0.5}]
)
def test_split_rejects_bad_sizes(kw):
    with pytest.raises(ConfigError, match="test_size"):
        train_test_split(_imbalanced(), **kw)


def test_shots_exact_counts_deterministic_and_inside():
    ds = _imbalanced()
    a = sample_shots(ds, 8, seed=0)
    b = sample_shots(ds, 8, seed=0)
    c = sample_shots(ds, 8, seed=1)
    assert a.class_counts() == {"a": 8, "b": 8, "c": 8}
    assert a.inputs == b.inputs and a.inputs != c.inputs
    assert set(a.inputs) <= set(ds.inputs) and len(set(a.inputs)) == 24
    # Each row keeps its own label.
    lookup = dict(zip(ds.inputs, ds.labels, strict=True))
    assert all(lookup[x] == y for x, y in zip(a.inputs, a.labels, strict=True))
    assert a.meta["shots"] == 8 and a.meta["sample_seed"] == 0


def test_shots_are_nested_across_sizes():
    ds = _imbalanced()
    assert set(sample_shots(ds, 4, seed=5).inputs) <= set(sample_shots(ds, 16, seed=5).inputs)


def test_shots_match_the_documented_protocol():
    ds = _imbalanced()
    rng = np.random.default_rng(11)
    expected = []
    for cls in np.unique(ds.labels):
        idx = np.flatnonzero(ds.labels == cls)
        expected += idx[rng.permutation(len(idx))[:3]].tolist()
    got = sample_shots(ds, 3, seed=11)
    assert got.inputs == [ds.inputs[i] for i in sorted(expected)]


def test_shots_larger_than_smallest_class_names_it():
    with pytest.raises(DataError) as e:
        sample_shots(_imbalanced(), 21, seed=0)
    assert "class 'c' has 20" in str(e.value) and "shots <= 20" in str(e.value)
    with pytest.raises(ConfigError):
        sample_shots(_imbalanced(), 0, seed=0)
    with pytest.raises(DataError, match="needs labels"):
        sample_shots(from_arrays(["a", "b"]), 1)


def test_fraction_stratified_with_at_least_one_per_class():
    ds = _imbalanced()
    f = sample_fraction(ds, 0.01, seed=0)
    assert f.class_counts() == {"a": 3, "b": 1, "c": 1}
    g = sample_fraction(ds, 0.5, seed=2)
    assert g.class_counts() == {"a": 150, "b": 50, "c": 10}
    assert sample_fraction(ds, 0.5, seed=2).inputs == g.inputs
    assert set(g.inputs) <= set(ds.inputs)
    with pytest.raises(ConfigError, match="fraction"):
        sample_fraction(ds, 0.0)


def test_check_labels():
    train = from_arrays(["a", "b", "c"], labels=["x", "y", "x"], name="tr")
    assert check_labels(train, from_arrays(["d"], labels=["y"])).tolist() == ["x", "y"]
    with pytest.raises(DataError, match=r"only 'x' \(2 examples\)"):
        check_labels(from_arrays(["a", "b"], labels=["x", "x"]))
    with pytest.raises(DataError) as e:
        check_labels(train, from_arrays(["d", "e", "f"], labels=["z", "w", "z"], name="te"))
    assert "2 unseen label(s)" in str(e.value) and "'z' (2 rows)" in str(e.value)
    nan = Dataset(["a", "b", "c"], np.array([0.0, np.nan, 1.0]), "text")
    with pytest.raises(DataError, match="1 missing"):
        check_labels(nan)
    with pytest.raises(DataError, match="without labels"):
        check_labels(from_arrays(["a", "b"]))
    with pytest.raises(DataError, match="same type"):
        check_labels(from_arrays(["a", "b"], labels=[0, 1]), from_arrays(["c"], labels=["0"]))
