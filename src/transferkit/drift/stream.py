"""A table file as a stream: rows ordered by a time column (or kept in file order), with
corrupt rows reported and, when asked, skipped — never dropped silently."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..data import Dataset
from ..data.loaders import from_dataframe
from ..data.readers import read_table, table_format
from ..exceptions import DataError

__all__ = ["read_stream"]

#: bad rows listed by number in a message or a record, at most
_SHOWN = 10


def _order(df: pd.DataFrame, time_col: str, path: str) -> tuple[pd.Series, np.ndarray]:
    """Sortable keys of ``time_col`` and the mask of rows whose key is unreadable."""
    if time_col not in df.columns:
        raise DataError(f"The stream {path!r} has no time column {time_col!r}; expected one of "
                        f"{list(df.columns)}. Fix: --time-col NAME, or leave it out to keep "
                        "file order.")
    col = df[time_col]
    if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_datetime64_any_dtype(col):
        keys = col
    else:
        keys = pd.to_datetime(col, errors="coerce", format="mixed")
        if keys.notna().mean() < 0.5:  # not dates: perhaps numbers written as text
            keys = pd.to_numeric(col, errors="coerce")
    bad = keys.isna().to_numpy()
    if bad.mean() > 0.5:
        shown = [str(v) for v in col[bad].head(3)]
        raise DataError(
            f"The time column {time_col!r} of {path!r} is not sortable: expected dates or "
            f"numbers; got {int(bad.sum())} of {len(col)} values that are neither, such as "
            f"{shown}. Fix: a column of dates (2024-05-01) or numbers, or leave --time-col "
            "out to keep file order.")
    return keys, bad


def read_stream(path: str | Path, text_col: str | None = None, label_col: str | None = None,
                feature_cols: list[str] | None = None, time_col: str | None = None,
                skip_bad: bool = False) -> tuple[Dataset, dict[str, Any]]:
    """Read table ``path`` as an ordered stream.

    A row is corrupt when its time is unreadable, its text is empty or not text, a feature
    is not a finite number, or its label is missing (when a label column is given).

    Returns:
        The stream as a Dataset, and ``{"order", "rows", "skipped", "bad_rows"}`` (file row
        numbers, counted from 1 after the header, of at most 10 skipped rows, with reasons).

    Raises:
        DataError: a corrupt row without ``skip_bad``; a time column that is not sortable.
    """
    p = Path(path)
    df = read_table(p, table_format(p), None, "utf-8").reset_index(drop=True)
    reasons = pd.Series("", index=df.index, dtype=object)
    keys = None
    if time_col is not None:
        keys, bad_time = _order(df, time_col, str(path))
        reasons[bad_time] = f"unreadable time in {time_col!r}"
    if text_col is not None and text_col in df.columns:
        cells = df[text_col]
        bad_text = ~cells.map(lambda v: isinstance(v, str) and v.strip() != "").to_numpy()
        reasons[bad_text & (reasons == "")] = f"empty or non-text {text_col!r}"
    for c in feature_cols or []:
        if c in df.columns:
            vals = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
            reasons[~np.isfinite(vals) & (reasons == "").to_numpy()] = f"non-numeric {c!r}"
    if label_col is not None and label_col in df.columns:
        reasons[df[label_col].isna().to_numpy() & (reasons == "").to_numpy()] = \
            f"missing label in {label_col!r}"
    bad = (reasons != "").to_numpy()
    listed = [{"row": int(i) + 1, "reason": reasons[i]} for i in np.flatnonzero(bad)[:_SHOWN]]
    if bad.any() and not skip_bad:
        first = listed[0]
        raise DataError(
            f"The stream {str(path)!r} has {int(bad.sum())} corrupt row(s); expected every row "
            f"readable; got row {first['row']}: {first['reason']}. Fix: repair those rows, or "
            "pass --skip-bad (skip_bad=True) to report and skip them.")
    good = df[~bad]
    order = "file order"
    if keys is not None:
        # A stable sort: rows of the same time keep their file order.
        good = good.iloc[np.argsort(keys[~bad].to_numpy(), kind="stable")]
        order = f"time column {time_col!r}"
    data = from_dataframe(good.reset_index(drop=True), text_col=text_col, label_col=label_col,
                          feature_cols=feature_cols, name=p.stem, allow_unlabelled=True)
    if data.labels is not None and any(v is None for v in data.labels):
        # A label column found by its name but not filled in everywhere: no true accuracy.
        data = data.without_labels()
    info = {"order": order, "rows": len(df), "skipped": int(bad.sum()), "bad_rows": listed}
    return data, info
