"""Input checks shared by the transferability scores.

Every score validates what it is given and raises a :class:`~transferkit.exceptions.DataError`
(bad data) or :class:`~transferkit.exceptions.ConfigError` (bad parameter) that says what was
expected, what arrived and how to fix it — never a silent ``nan``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..exceptions import DataError

__all__ = ["as_features", "as_class_labels", "check_same_length"]


def as_features(features: Any, score: str) -> np.ndarray:
    """``features`` as a finite ``(N, D)`` float64 array with some variance.

    Raises:
        DataError: not 2-D, fewer than two rows, NaN/inf values, or every column constant.
    """
    x = np.asarray(features)
    if x.dtype.kind not in "biuf":
        raise DataError(
            f"{score} expects numeric features of shape (N, D); got an array of dtype {x.dtype}. "
            "Fix: pass the output of extract_features (or any float array)."
        )
    x = x.astype(np.float64, copy=False)
    if x.ndim == 1:
        raise DataError(
            f"{score} expects features of shape (N, D); got a 1-D array of length {len(x)}. "
            "Fix: reshape a single feature to (N, 1) with x[:, None]."
        )
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 1:
        raise DataError(
            f"{score} expects features of shape (N, D) with N >= 2 and D >= 1; got shape "
            f"{x.shape}."
        )
    finite = np.isfinite(x)
    if not finite.all():
        rows = np.flatnonzero(~finite.all(axis=1))
        cols = np.flatnonzero(~finite.all(axis=0))
        raise DataError(
            f"{score} expects finite features; got NaN or infinite values in {len(rows)} row(s) "
            f"(first: {rows[:5].tolist()}) and {len(cols)} column(s). Fix: check the backbone's "
            "output (a diverged or half-loaded model), or drop those rows."
        )
    if not np.any(np.ptp(x, axis=0) > 0):
        raise DataError(
            f"{score} expects features that vary between examples; got all {x.shape[1]} "
            f"feature(s) constant over the {x.shape[0]} examples. Fix: the backbone gives the same "
            "vector for every input (check the layer, the preprocessing, or the weights)."
        )
    return x


def as_class_labels(
    labels: Any, n: int, score: str, what: str = "features"
) -> tuple[np.ndarray, np.ndarray]:
    """``(classes, codes)``: sorted classes and each label's index, after checking them.

    Raises:
        DataError: not 1-D, a length different from ``n``, missing labels, or one class only.
    """
    y = np.asarray(labels)
    if y.ndim != 1:
        raise DataError(
            f"{score} expects one class label per example (a 1-D array); got shape {y.shape}. "
            "Fix: pass class labels, not one-hot rows (labels.argmax(1))."
        )
    if len(y) != n:
        raise DataError(
            f"{score} expects one label per row of the {what} ({n} rows); got {len(y)} labels. "
            "Fix: pass labels and features of the same examples, in the same order."
        )
    if y.dtype.kind == "f" and np.isnan(y).any():
        raise DataError(
            f"{score} expects a label for every example; got {int(np.isnan(y).sum())} NaN "
            "label(s). Fix: drop the unlabelled rows first."
        )
    if y.dtype.kind == "O" and any(v is None for v in y):
        raise DataError(f"{score} expects a label for every example; got None labels.")
    classes, codes = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        only = classes[0].item() if len(classes) and isinstance(classes[0], np.generic) else (
            classes[0] if len(classes) else None)
        raise DataError(
            f"{score} needs at least two classes to measure how well features separate them; "
            f"got only {only!r} ({n} examples). Fix: check the label column, or add examples of "
            "other classes."
        )
    return classes, codes.reshape(-1)


def check_same_length(a: Any, b: Any, score: str, a_name: str, b_name: str) -> None:
    if len(a) != len(b):
        raise DataError(
            f"{score} expects one row of {a_name} per label; got {len(a)} rows of {a_name} and "
            f"{len(b)} labels. Fix: pass both for the same examples, in the same order."
        )
