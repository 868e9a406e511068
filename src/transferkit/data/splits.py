"""Seeded, stratified splits and samples: train/val/test, N shots per class, data fractions.

All samplers draw from ``numpy.random.default_rng(seed)`` and take, per class (in sorted
class order), a prefix of one random permutation. Two consequences worth knowing: the same
seed gives the same rows on every machine, and samples are nested — the 8-shot sample is
contained in the 64-shot sample with the same seed, as a learning curve wants.

Strata are the classes of ``labels``. Rows without a label form one more stratum (after the
classes), so every split keeps the labelled share. Multi-label ``labels``, and data with
several label columns and none selected (``labels is None``), are split at random, with every
label column carried along row by row; ``data.select_labels(name)`` first stratifies on that
column.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from ..exceptions import ConfigError, DataError
from ..utils.checks import check_number
from .dataset import Dataset, DatasetSplits
from .labels import missing_mask, tidy_labels
from .validate import check_labels

__all__ = ["train_test_split", "sample_shots", "sample_fraction", "check_labels"]

log = logging.getLogger(__name__)


def _groups(ds: Dataset, rng: np.random.Generator, stratify: bool) -> list[np.ndarray]:
    """Row indices per class, unlabelled rows last, each shuffled; one group for unlabelled
    or multi-label data or ``stratify=False``."""
    if ds.labels is None or not stratify or ds.is_multilabel():
        return [rng.permutation(len(ds))]
    missing = missing_mask(ds.labels)
    if missing.all():
        return [rng.permutation(len(ds))]
    if missing.any():
        _, known = np.unique(tidy_labels(ds.labels[~missing]), return_inverse=True)
        inverse = np.full(len(ds), known.max() + 1)
        inverse[~missing] = known
    else:
        _, inverse = np.unique(ds.labels, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.cumsum(np.bincount(inverse))[:-1]
    return [g[rng.permutation(len(g))] for g in np.split(order, bounds)]


def _allocate(sizes: np.ndarray, total: int, cap: np.ndarray) -> np.ndarray:
    """Share ``total`` over groups in proportion to ``sizes`` (largest remainder), <= ``cap``."""
    exact = sizes * (total / sizes.sum())
    out = np.minimum(np.floor(exact).astype(np.int64), cap)
    short = total - int(out.sum())
    # Hand out the rest by largest remainder; ties broken by group order, so it is deterministic.
    for j in np.argsort(-(exact - np.floor(exact)), kind="stable"):
        if short <= 0:
            break
        if out[j] < cap[j]:
            out[j] += 1
            short -= 1
    return out


def _count(size: float | int, n: int, what: str) -> int:
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool) and size >= 1:
        return int(size)
    check_number("train_test_split", what, size, low=0.0, high=1.0, low_open=False)
    return math.ceil(float(size) * n) if size > 0 else 0


def train_test_split(
    ds: Dataset,
    test_size: float | int = 0.2,
    val_size: float | int = 0.0,
    seed: int = 0,
    stratify: bool = True,
) -> DatasetSplits:
    """Split one dataset into train / (val) / test, keeping class proportions.

    Args:
        ds: the dataset to split.
        test_size: the test fraction in ``(0, 1)``, or a number of rows (int >= 1).
        val_size: the validation fraction or count; ``0`` for no validation split.
        seed: seed of ``numpy.random.default_rng``.
        stratify: keep each class's share of ``ds.labels`` in every split (ignored for
            unlabelled and multi-label data; see the module docstring for label columns).

    Returns:
        Splits whose rows keep their original order within each split; every class keeps at
        least one training example.

    Raises:
        ConfigError: sizes out of range, or leaving no training rows.
    """
    n = len(ds)
    n_test = _count(test_size, n, "test_size")
    n_val = _count(val_size, n, "val_size")
    if n_test < 1 or n_test + n_val >= n:
        raise ConfigError(
            f"The test_size and val_size parameters of train_test_split must leave at least one "
            f"row for each split; got {n_test} test and {n_val} validation rows out of {n}."
        )
    rng = np.random.default_rng(seed)
    groups = _groups(ds, rng, stratify)
    sizes = np.array([len(g) for g in groups], dtype=np.int64)
    # Each class keeps at least one training row, so a rare class is never split away.
    cap = sizes - 1
    t = _allocate(sizes, n_test, cap)
    v = _allocate(sizes, n_val, cap - t) if n_val else np.zeros_like(t)
    if t.sum() < n_test or v.sum() < n_val:
        raise ConfigError(
            f"Cannot take {n_test} test and {n_val} validation rows from {n} rows while keeping "
            "one training example per class. Use smaller sizes."
        )
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for g, nt, nv in zip(groups, t, v, strict=True):
        parts["test"].append(g[:nt])
        parts["val"].append(g[nt : nt + nv])
        parts["train"].append(g[nt + nv :])
    out = {}
    for k, chunks in parts.items():
        idx = np.sort(np.concatenate(chunks)) if chunks else np.array([], dtype=np.int64)
        if k == "val" and not n_val:
            continue
        sub = ds.subset(idx)
        sub.meta.update(split=k, split_seed=int(seed))
        out[k] = sub
    return DatasetSplits(out["train"], out["test"], out.get("val"), name=ds.name)


def _require_labels(ds: Dataset, fn: str) -> None:
    if not ds.label_names:
        raise DataError(
            f"{fn} samples per class, so it needs labels; got unlabelled data {ds.name!r}. "
            "Fix: load it with label_col=..."
        )
    ds.require_single_labels(fn)


def sample_shots(ds: Dataset, shots: int, seed: int = 0) -> Dataset:
    """``shots`` examples of every class, drawn without replacement (the MTEB / SetFit protocol).

    Args:
        ds: a labelled dataset.
        shots: examples per class (>= 1).
        seed: seed of ``numpy.random.default_rng``; the same seed gives the same rows.

    Returns:
        A subset of ``ds`` with exactly ``shots`` rows per class, in the original row order;
        ``meta["shots"]`` and ``meta["sample_seed"]`` record how it was drawn.

    Raises:
        ConfigError: ``shots`` not a positive integer.
        DataError: unlabelled, multi-label or partly unlabelled data, several label columns
            and none selected, or a class with fewer than ``shots`` examples.
    """
    check_number("sample_shots", "shots", shots, low=1, integer=True)
    _require_labels(ds, "sample_shots")
    classes, counts = np.unique(ds.labels, return_counts=True)
    small = counts < shots
    if small.any():
        listed = ", ".join(
            f"class {c!r} has {k}"
            for c, k in zip(classes[small][:5].tolist(), counts[small][:5].tolist(), strict=True)
        )
        raise DataError(
            f"Expected at least shots={shots} examples in every class of {ds.name!r}; got "
            f"{int(small.sum())} smaller class(es): {listed}. Fix: use shots <= "
            f"{int(counts.min())}, or add examples."
        )
    rng = np.random.default_rng(seed)
    idx = np.sort(np.concatenate([g[:shots] for g in _groups(ds, rng, True)]))
    out = ds.subset(idx)
    out.meta.update(shots=int(shots), sample_seed=int(seed))
    return out


def sample_fraction(ds: Dataset, fraction: float, seed: int = 0) -> Dataset:
    """A stratified random ``fraction`` of ``ds``, with at least one example per class.

    Args:
        ds: the dataset (unlabelled data are sampled uniformly).
        fraction: in ``(0, 1]``.
        seed: seed of ``numpy.random.default_rng``.

    Returns:
        The subset, rows in original order; ``meta["fraction"]`` records the fraction.
    """
    check_number("sample_fraction", "fraction", fraction, low=0.0, high=1.0, low_open=True)
    rng = np.random.default_rng(seed)
    groups = _groups(ds, rng, True)
    # Rounding per class keeps proportions; the floor of 1 keeps every class present.
    take = [max(1, int(round(fraction * len(g)))) for g in groups]
    idx = np.sort(np.concatenate([g[:k] for g, k in zip(groups, take, strict=True)]))
    out = ds.subset(idx)
    out.meta.update(fraction=float(fraction), sample_seed=int(seed))
    return out
