"""Label columns cell by cell: missing labels, multi-label sets, counts and tidy arrays.

A label column is a 1-D array with one cell per row. A cell is one label (a ``str`` or an
``int``), a multi-label cell (a ``tuple`` of labels, sorted and without duplicates), or
missing (``None``; a float NaN is read as missing too). A column with no missing and no
multi-label cell is kept as a plain typed array (``str`` or ``int64``), as single-label code
expects; any other column is an ``object`` array.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..exceptions import DataError

__all__ = [
    "count_labels",
    "is_multilabel_column",
    "label_array",
    "label_values",
    "missing_mask",
    "object_array",
    "tidy_labels",
]


def _is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, (float, np.floating)) and v != v)


def label_array(values: Any) -> np.ndarray:
    """``values`` as a 1-D array, without turning tuples of labels into a second dimension."""
    if isinstance(values, np.ndarray):
        return values
    values = list(values)
    if any(v is None or isinstance(v, (tuple, list, set, np.ndarray)) for v in values):
        return object_array(values)
    return np.asarray(values)


def object_array(values: Iterable) -> np.ndarray:
    """A 1-D ``object`` array of ``values`` as they are (``np.asarray`` would mix types or
    broadcast tuples of equal length into a second dimension)."""
    values = list(values)
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return out


def missing_mask(values: np.ndarray) -> np.ndarray:
    """True where a label is missing: ``None`` or a float NaN (strings are never missing)."""
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind == "O":
        return np.fromiter((_is_missing(v) for v in values), bool, len(values))
    return np.zeros(len(values), dtype=bool)


def is_multilabel_column(values: np.ndarray) -> bool:
    """True if any cell holds a set of labels (a tuple)."""
    return values.dtype.kind == "O" and any(isinstance(v, tuple) for v in values)


def label_values(values: np.ndarray) -> list:
    """Every label present, one entry per (row, label): sets expanded, missing cells skipped."""
    out: list = []
    for v in values:
        if isinstance(v, tuple):
            out.extend(v)
        elif not _is_missing(v):
            out.append(v)
    return out


def _typed(values: Iterable) -> np.ndarray:
    """A typed array of scalar labels: ``str``, ``int64``, or whatever numpy makes of one type."""
    items = list(values)
    kinds = {type(v) for v in items}
    if items and all(issubclass(k, str) for k in kinds):
        return np.asarray(items, dtype=str)
    if items and all(issubclass(k, (int, np.integer)) and not issubclass(k, bool) for k in kinds):
        try:
            return np.asarray(items, dtype=np.int64)
        except OverflowError:
            big = next(v for v in items if not -2**63 <= int(v) < 2**63)
            raise DataError(
                f"Expected integer labels that fit in 64 bits; got {big}. Fix: store such "
                "labels as text (quoted), or number the classes from 0.") from None
    return np.asarray(items)


def tidy_labels(values: np.ndarray) -> np.ndarray:
    """An ``object`` column with no missing and no multi-label cell as a typed array."""
    if values.dtype.kind != "O" or missing_mask(values).any() or is_multilabel_column(values):
        return values
    return _typed(values)


def count_labels(values: np.ndarray) -> dict[Any, int]:
    """Rows per label, sorted by label; a multi-label row counts once for each of its labels."""
    if values.dtype.kind != "O" and not missing_mask(values).any():
        flat = values
    else:
        flat = _typed(label_values(values))
    if len(flat) == 0:
        return {}
    uniq, counts = np.unique(flat, return_counts=True)
    return {_plain(v): int(c) for v, c in zip(uniq, counts, strict=True)}


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v
