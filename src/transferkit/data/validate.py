"""Checks shared by the loaders and the estimators: paths, labels, features, row lists.

Every check raises :class:`~transferkit.exceptions.DataError` with a message that says what
was expected, what arrived, and how to fix it, so the CLI can print it as one line.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import DataError
from .dataset import Dataset

__all__ = [
    "check_labels",
    "check_finite_features",
    "clean_labels",
    "format_items",
    "format_rows",
    "require_path",
    "rows_phrase",
    "text_values",
]


def format_rows(rows: Sequence[int] | np.ndarray, limit: int = 5, base: int = 1) -> str:
    """``"3, 8, 12 and 4 more"``: the first few row numbers (shifted by ``base``) and a count."""
    rows = [int(r) + base for r in rows]
    shown = ", ".join(str(r) for r in rows[:limit])
    rest = len(rows) - limit
    return f"{shown} and {rest} more" if rest > 0 else shown


def rows_phrase(rows: Sequence[int] | np.ndarray, base: int = 1) -> str:
    """``"data rows 3, 8 (1-based, header not counted)"`` for files; ``"positions 2, 7"`` else."""
    if base == 0:
        return f"positions {format_rows(rows, base=0)} (0-based)"
    return f"data rows {format_rows(rows, base=base)} (1-based, header not counted)"


def format_items(items: Sequence[Any], limit: int = 5) -> str:
    """The first few items (``repr``) and how many more there are."""
    shown = ", ".join(repr(_plain(i)) for i in items[:limit])
    rest = len(items) - limit
    return f"{shown} and {rest} more" if rest > 0 else shown


def require_path(path: str | os.PathLike, kind: str = "file or folder") -> Path:
    """Return ``path`` as a ``Path`` if it exists; otherwise raise with the closest names nearby."""
    p = Path(path).expanduser()
    if p.exists():
        return p
    hint = ""
    parent = p.parent if str(p.parent) else Path(".")
    if parent.is_dir():
        near = difflib.get_close_matches(
            p.name, [c.name for c in parent.iterdir()], n=3, cutoff=0.6
        )
        if near:
            hint = f" Did you mean {', '.join(repr(str(parent / n)) for n in near)}?"
    else:
        hint = f" Its folder {str(parent)!r} does not exist either."
    raise DataError(
        f"Expected a {kind} at {str(path)!r}; got no such path (absolute: {str(p.absolute())!r})."
        f"{hint} Fix: check the spelling and the current directory ({os.getcwd()!r})."
    )


def _missing_mask(values: np.ndarray) -> np.ndarray:
    """True where a label is missing: ``None`` or a float NaN (strings are never missing)."""
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind == "O":
        return np.fromiter(
            (v is None or (isinstance(v, float) and v != v) for v in values), bool, len(values)
        )
    return np.zeros(len(values), dtype=bool)


def clean_labels(values: Any, what: str = "labels", base: int = 1) -> np.ndarray:
    """Labels as a tidy 1-D array: no missing values, one type, strings as a ``str`` array.

    Args:
        values: the labels as read (a sequence, array or pandas column).
        what: how to name them in messages, e.g. ``"label column 'y' of train.csv"``.
        base: offset added to row numbers in messages (1 for 1-based data rows).

    Raises:
        DataError: on missing labels or on labels that mix types (``1`` and ``"1"``).
    """
    if isinstance(values, (list, tuple)):
        # np.asarray([1, "1"]) would silently turn both into strings; keep the types to check.
        arr = np.empty(len(values), dtype=object)
        arr[:] = values
    else:
        arr = np.asarray(values)
    if arr.dtype.kind == "O" or arr.dtype.kind == "f":
        bad = np.flatnonzero(_missing_mask(arr))
        if len(bad):
            raise DataError(
                f"Expected a label for every row in the {what}; got {len(bad)} missing (empty or "
                f"NaN) at {rows_phrase(bad, base)}. Fix: fill in or drop those rows, "
                "or load the data without labels."
            )
    if arr.dtype.kind == "O":
        kinds = {type(v) for v in arr}
        if all(issubclass(k, str) for k in kinds):
            return arr.astype(str)
        if all(issubclass(k, (int, np.integer)) and not issubclass(k, bool) for k in kinds):
            return arr.astype(np.int64)
        if len(kinds) > 1:
            names = sorted(k.__name__ for k in kinds)
            raise DataError(
                f"Expected {what} of one type; got a mix of {names}. Fix: make them all strings "
                "or all integers (for example cast with str())."
            )
        return np.asarray(arr.tolist())
    return arr


def check_finite_features(
    x: np.ndarray, columns: Sequence[str] | None = None, what: str = "features", base: int = 1
) -> None:
    """Raise unless every value of the ``(N, D)`` array ``x`` is finite, naming columns and rows."""
    finite = np.isfinite(x)
    if finite.all():
        return
    bad_cols = np.flatnonzero(~finite.all(axis=0))
    bad_rows = np.flatnonzero(~finite.all(axis=1))
    names = list(columns) if columns is not None else [f"column {j}" for j in range(x.shape[1])]
    per_col = ", ".join(
        f"{names[j]!r} ({int((~finite[:, j]).sum())} rows)" for j in bad_cols[:8]
    ) + (f" and {len(bad_cols) - 8} more columns" if len(bad_cols) > 8 else "")
    raise DataError(
        f"Expected finite numbers in the {what}; got NaN, infinite or non-numeric values in "
        f"{len(bad_cols)} column(s): {per_col}; {len(bad_rows)} row(s) affected "
        f"({rows_phrase(bad_rows, base)}). Fix: impute or drop those rows, or leave "
        "those columns out with feature_cols=[...]."
    )


def check_labels(
    train: Dataset, test: Dataset | None = None, val: Dataset | None = None
) -> np.ndarray:
    """Check that ``train`` can teach a classifier and that ``test``/``val`` ask nothing new.

    Args:
        train: the training data; it must have labels of at least two classes.
        test: optional evaluation data; if labelled, every label must occur in ``train``.
        val: optional validation data, checked like ``test``.

    Returns:
        The sorted classes of ``train``.

    Raises:
        DataError: unlabelled training data, missing (NaN) labels, a single class, or
            evaluation labels never seen in training.
    """
    if train.labels is None:
        raise DataError(
            f"Expected labelled training data; got {train.name!r} without labels. Fix: load it "
            "with label_col=... (or name the label column 'label')."
        )
    for part, ds in (("training", train), ("validation", val), ("test", test)):
        if ds is not None and ds.labels is not None:
            clean_labels(ds.labels, what=f"{part} data {ds.name!r}", base=0)
    classes, counts = np.unique(train.labels, return_counts=True)
    if len(classes) < 2:
        raise DataError(
            f"Expected at least two classes in the training data; got only {_plain(classes[0])!r} "
            f"({int(counts[0])} examples) in {train.name!r}. Fix: check label_col, or add "
            "examples of the other classes."
        )
    seen = set(_plain(c) for c in classes)
    for part, ds in (("validation", val), ("test", test)):
        if ds is None or ds.labels is None:
            continue
        values, n = np.unique(ds.labels, return_counts=True)
        unseen = [
            (_plain(v), int(c)) for v, c in zip(values, n, strict=True) if _plain(v) not in seen
        ]
        if unseen:
            listed = ", ".join(f"{v!r} ({c} rows)" for v, c in unseen[:10])
            more = f" and {len(unseen) - 10} more" if len(unseen) > 10 else ""
            hint = ""
            if ds.labels.dtype.kind != train.labels.dtype.kind:
                hint = (
                    f" The training labels are {train.labels.dtype} and the {part} labels "
                    f"{ds.labels.dtype}: make them the same type."
                )
            raise DataError(
                f"Expected every {part} label to occur in the training data; got "
                f"{len(unseen)} unseen label(s) in {ds.name!r}: {listed}{more}.{hint} Fix: move "
                f"examples of these classes into training, or drop them from the {part} data."
            )
    return classes


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def text_values(values: list, what: str, base: int) -> list[str]:
    """Strings, with a clear error for empty cells; numbers in a text column become strings."""
    out: list[str] = []
    empty: list[int] = []
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and v != v):
            empty.append(i)
            out.append("")
            continue
        s = v if type(v) is str else str(v)  # np.str_ and numbers become plain str
        if not s.strip():
            empty.append(i)
        out.append(s)
    if empty:
        raise DataError(
            f"Expected non-empty text in the {what}; got {len(empty)} empty cell(s) at "
            f"{rows_phrase(empty, base)}. Fix: fill in or drop those rows."
        )
    return out
