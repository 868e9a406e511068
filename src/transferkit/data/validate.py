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

from ..exceptions import ConfigError, DataError
from .dataset import Dataset
from .labels import (
    is_multilabel_column,
    label_values,
    missing_mask,
    object_array,
    tidy_labels,
)

__all__ = [
    "check_labels",
    "check_finite_features",
    "check_modality",
    "unseen_labels",
    "clean_label_columns",
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


def clean_labels(
    values: Any,
    what: str = "labels",
    base: int = 1,
    *,
    sep: str | None = None,
    allow_missing: bool = False,
) -> np.ndarray:
    """Labels as a tidy 1-D array: one type, strings stripped, sets of labels as tuples.

    A label column with no missing cell and no set of labels comes back typed (``str``,
    ``int64``...), as single-label code expects; otherwise as an ``object`` array whose cells
    are labels, sorted tuples of labels, or ``None`` (see :mod:`transferkit.data.labels`).

    Args:
        values: the labels as read (a sequence, array or pandas column); a list, tuple or
            array cell is a set of labels (multi-label).
        what: how to name them in messages, e.g. ``"label column 'y' of train.csv"``.
        base: offset added to row numbers in messages (1 for 1-based data rows).
        sep: split string cells on this separator into sets of labels (``"billing|urgent"``).
            A column none of whose cells holds ``sep`` stays single-label, so one ``sep`` can
            serve every label column of a table.
        allow_missing: keep missing labels (empty, blank, NaN) as ``None`` instead of raising.

    Raises:
        DataError: on missing labels (unless ``allow_missing``) or on labels that mix types
            (``1`` and ``"1"``).
    """
    if isinstance(values, (list, tuple)):
        # np.asarray([1, "1"]) would silently turn both into strings; keep the types to check.
        arr = object_array(values)
    else:
        arr = np.asarray(values)
    if sep is not None and (not isinstance(sep, str) or not sep):
        raise ConfigError(
            f"The label_sep parameter must be a non-empty str such as '|'; got {sep!r}. "
            "Fix: pass the character that separates labels in a cell, or None."
        )
    if sep is not None and not any(isinstance(v, str) and sep in v for v in arr):
        sep = None  # a single-label column
    numbers = arr.dtype.kind in "biu" or (arr.dtype.kind == "f" and not np.isnan(arr).any())
    if numbers and sep is None:
        return arr  # nothing to strip or split, and nothing missing
    cells = object_array(_label_cell(v, sep, what) for v in arr)
    missing = missing_mask(cells)
    if missing.any() and not allow_missing:
        bad = np.flatnonzero(missing)
        raise DataError(
            f"Expected a label for every row in the {what}; got {len(bad)} missing (empty, blank "
            f"or NaN) at {rows_phrase(bad, base)}. Fix: fill in or drop those rows, "
            "or load the data without labels."
        )
    flat = label_values(cells)
    kinds = {type(v) for v in flat}
    if len(kinds) > 1:
        names = sorted(k.__name__ for k in kinds)
        raise DataError(
            f"Expected {what} of one type; got a mix of {names}. Fix: make them all strings "
            "or all integers (for example cast with str())."
        )
    if missing.any() and kinds == {float} and all(v.is_integer() for v in flat):
        # A column of integers with empty cells is read as floats: give the integers back.
        cells = object_array(_to_int(v) for v in cells)
    if is_multilabel_column(cells):
        cells = object_array(v if v is None or isinstance(v, tuple) else (v,) for v in cells)
    return tidy_labels(cells)


def _label_cell(v: Any, sep: str | None, what: str) -> Any:
    """One cell: ``None`` if missing, a stripped label, or a sorted tuple for a set of labels."""
    if isinstance(v, np.generic):
        v = v.item()
    if v is None or (isinstance(v, float) and v != v):
        return None
    if isinstance(v, str):
        v = v.strip()
        if not v:
            return None
        if sep is None:
            return v
        return _label_set(v.split(sep), what) or None
    if isinstance(v, (list, tuple, set, np.ndarray)):
        # A list cell (JSON lines, Parquet) is a set of labels; [] is a row with none of them.
        return _label_set(v, what)
    return v


def _label_set(items: Any, what: str) -> tuple:
    parts = [_label_cell(x, None, what) for x in items]
    try:
        return tuple(sorted({x for x in parts if x is not None}))
    except TypeError:
        kinds = sorted({type(x).__name__ for x in parts if x is not None})
        raise DataError(
            f"Expected the labels in each set of the {what} to be of one type; got a mix of "
            f"{kinds}. Fix: make them all strings or all integers."
        ) from None


def _to_int(v: Any) -> Any:
    if isinstance(v, tuple):
        return tuple(int(x) for x in v)
    return v if v is None else int(v)


def clean_label_columns(
    columns: dict[str, Any],
    where: str,
    base: int,
    *,
    sep: str | None = None,
    allow_unlabelled: bool = False,
) -> tuple[np.ndarray | None, dict[str, np.ndarray] | None]:
    """Clean the label columns a loader read; ``(labels, label_columns)`` for :class:`Dataset`.

    One column gives ``(labels, None)``: a missing label raises unless ``allow_unlabelled``.
    Several give ``(None, {name: labels})``: a missing cell is ``None`` in its column, and
    a row with no label in any column raises unless ``allow_unlabelled``.

    Args:
        columns: column name -> the labels as read, in the caller's column order.
        where: the source, for messages (``"'tickets.csv'"``).
        base: offset added to row numbers in messages (1 for 1-based data rows).
        sep: split string cells into sets of labels on this separator.
        allow_unlabelled: keep rows without labels.
    """
    if len(columns) == 1:
        ((name, values),) = columns.items()
        what = f"label column {name!r} of {where}"
        return clean_labels(values, what, base, sep=sep, allow_missing=allow_unlabelled), None
    out = {
        name: clean_labels(
            values, f"label column {name!r} of {where}", base, sep=sep, allow_missing=True
        )
        for name, values in columns.items()
    }
    none = np.logical_and.reduce([missing_mask(v) for v in out.values()])
    if none.any() and not allow_unlabelled:
        bad = np.flatnonzero(none)
        raise DataError(
            f"Expected a label in at least one of the label columns {list(out)} on every row of "
            f"{where}; got {len(bad)} row(s) with none, at {rows_phrase(bad, base)}. Fix: fill "
            "them in or drop them, or keep them as unlabelled rows with allow_unlabelled=True "
            "(--allow-unlabelled)."
        )
    return None, out


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


_HOW_TO_GIVE = {
    "text": "texts, a .txt file with one per line, or a file with a text column (text_col=, "
            "--text-col NAME)",
    "image": "images: image files, a folder of them (one sub-folder per class) or a table of "
             "image paths",
    "tabular": "a table of numeric columns (feature_cols=, --feature-cols)",
    "audio": "waveforms (from_arrays(waves, sample_rate=...))",
}


def check_modality(data: Dataset, expected: str, who: str) -> None:
    """Raise unless ``data`` holds ``expected`` inputs; the message says what the data are
    (with their columns) before any label or shape check could say something misleading.

    Args:
        data: the loaded data.
        expected: ``"text"``, ``"image"``, ``"tabular"`` or ``"audio"``.
        who: what needs them, e.g. ``"zeroshot"`` or ``"the run 'runs/b77' (a text model)"``.
    """
    if data.modality == expected:
        return
    meta = data.meta or {}
    detail = ""
    if meta.get("feature_cols"):
        cols = list(meta["feature_cols"])
        detail = f" ({len(cols)} numeric columns: {format_items(cols, 4)})"
    elif meta.get("text_col"):
        detail = f" (text column {meta['text_col']!r})"
    raise DataError(
        f"{who} needs {expected} inputs; got {data.name!r}, which is {data.modality} data"
        f"{detail}. Fix: give {_HOW_TO_GIVE.get(expected, expected + ' data')}."
    )


def check_labels(
    train: Dataset,
    test: Dataset | None = None,
    val: Dataset | None = None,
    owner: str = "a single-label classifier",
) -> np.ndarray:
    """Check that ``train`` can teach a classifier and that ``test``/``val`` ask nothing new.

    Args:
        train: the training data; it must have labels of at least two classes.
        test: optional evaluation data; if labelled, every label must occur in ``train``.
        val: optional validation data, checked like ``test``.
        owner: who learns from ``train``, named in messages.

    Returns:
        The sorted classes of ``train``.

    Raises:
        DataError: unlabelled training data, several label columns and none selected,
            multi-label or missing labels, a single class, or evaluation labels never seen
            in training.
    """
    if train.labels is None and not train.label_columns:
        raise DataError(
            f"Expected labelled training data; got {train.name!r} without labels. Fix: load it "
            "with label_col=... (or name the label column 'label')."
        )
    train.require_single_labels(owner)
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
    for part, ds in (("validation", val), ("test", test)):
        if ds is None or ds.labels is None:
            continue
        n, listed, hint = unseen_labels(classes, ds.labels, "training", part)
        if n:
            raise DataError(
                f"Expected every {part} label to occur in the training data; got "
                f"{n} unseen label(s) in {ds.name!r}: {listed}.{hint} Fix: move "
                f"examples of these classes into training, or drop them from the {part} data."
            )
    return classes


def unseen_labels(classes: Any, labels: Any, classes_of: str, labels_of: str
                  ) -> tuple[int, str, str]:
    """The labels of ``labels`` that ``classes`` lacks, for an error message.

    Args:
        classes: the known classes.
        labels: the labels to check.
        classes_of, labels_of: whose they are, for the type hint ("training", "test").

    Returns:
        ``(how many, "'d' (3 rows), 'e' (2 rows) and 4 more", type hint)``: 0 when every label
        is known; the hint (" The training labels are int64 and the test labels <U1: make them
        the same type.") only when their types differ, else "".
    """
    classes, labels = np.asarray(classes), np.asarray(labels)
    values, counts = np.unique(labels, return_counts=True)
    known = set(_plain(c) for c in classes)
    unseen = [(_plain(v), int(c)) for v, c in zip(values, counts, strict=True)
              if _plain(v) not in known]
    listed = ", ".join(f"{v!r} ({c} rows)" for v, c in unseen[:10])
    if len(unseen) > 10:
        listed += f" and {len(unseen) - 10} more"
    hint = ""
    if unseen and labels.dtype.kind != classes.dtype.kind:
        hint = (f" The {classes_of} labels are {classes.dtype} and the {labels_of} labels "
                f"{labels.dtype}: make them the same type.")
    return len(unseen), listed, hint


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
