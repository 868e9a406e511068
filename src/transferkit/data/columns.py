"""Column roles: which column of a table is the label, the domain and the input, and the
table (a pandas frame) as a :class:`Dataset`. The file readers in
:mod:`~transferkit.data.loaders` and the chunked reader in
:mod:`~transferkit.data.table_chunks` both go through :func:`frame_to_dataset`, so a chunk
resolves its columns exactly as a whole file does.

Column roles, when not given:

* label: the first of ``label, labels, category, class, target, y`` present (any case);
  none present means unlabelled data (``meta["labelled"] is False``). ``label_col`` may name
  several columns (``"intent,sentiment"`` or a list): ``labels`` is then ``None`` and
  ``label_columns`` holds each column, with ``None`` where a row has no label in it.
  ``label_sep="|"`` reads ``"billing|urgent"`` as a set of labels; in JSON lines a list is one.
* domain: a column named ``domain``.
* input: with ``feature_cols`` the data are tabular; with ``text_col`` they are text;
  otherwise a single string column is the text, and all-numeric columns are tabular features.
  A column of audio file names (``.wav``/``.flac``/``.ogg``) gives audio (clips read now).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DataError
from .audio import AUDIO_EXTENSIONS, read_audio_files
from .dataset import Dataset
from .images import verify_images
from .validate import (
    check_finite_features,
    clean_label_columns,
    format_items,
    rows_phrase,
    text_values,
)

__all__ = ["frame_to_dataset", "LABEL_COLUMNS", "DOMAIN_COLUMNS", "TEXT_COLUMNS"]

log = logging.getLogger(__name__)

LABEL_COLUMNS = ("label", "labels", "category", "class", "target", "y")
DOMAIN_COLUMNS = ("domain",)
# When several string columns could be the text, these names win, in this order.
TEXT_COLUMNS = ("text", "sentence", "review_text", "review", "content", "document", "utterance")


def _find_column(columns: list[str], wanted: str, role: str, source: str) -> str:
    if wanted in columns:
        return wanted
    folded = {c.lower(): c for c in columns}
    if str(wanted).lower() in folded:
        return folded[str(wanted).lower()]
    import difflib

    close = difflib.get_close_matches(str(wanted), columns, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    if len(columns) == 1 and any(ch in columns[0] for ch in "\t;|,"):
        hint += (
            " The whole header was read as one column: the file may use another separator "
            "(sep=...)."
        )
    raise DataError(
        f"Expected a {role} column {wanted!r} in {source}; got columns {columns}.{hint} "
        f"Fix: pass {role}_col= with one of these names."
    )


def _default_column(columns: list[str], names: Sequence[str]) -> str | None:
    folded = {c.lower(): c for c in columns}
    for n in names:
        if n in columns:
            return n
        if n in folded:
            return folded[n]
    return None


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)


def _numeric_like(s: pd.Series) -> bool:
    """A string column whose cells are mostly numbers: numeric data with a few bad cells."""
    if _is_numeric(s):
        return True
    filled = s.dropna()
    filled = filled[filled.astype(str).str.strip() != ""]
    if len(filled) == 0:
        return False
    return pd.to_numeric(filled, errors="coerce").notna().mean() >= 0.5


def frame_to_dataset(
    df,
    *,
    name,
    source,
    base_dir,
    text_col,
    label_col,
    feature_cols,
    domain_col,
    modality,
    label_sep,
    allow_unlabelled,
    first_row: int = 1,
) -> Dataset:
    """``df`` as a Dataset; ``first_row``: the file's row number of ``df``'s first row (a
    chunk of a large file starts further down), for the row numbers in error messages."""
    columns = [str(c) for c in df.columns]
    df.columns = columns
    where = repr(source) if source != "dataframe" else "the DataFrame"
    if modality is not None and modality not in ("text", "tabular", "image", "audio"):
        raise DataError(
            f"Expected modality 'text', 'tabular', 'image' or 'audio' for a table; got "
            f"{modality!r}. Fix: pass one of these, or leave it out to detect it."
        )
    meta: dict[str, Any] = {"source": source}

    label_cols = _label_columns(columns, label_col, where)
    if domain_col is not None:
        domain_col = _find_column(columns, domain_col, "domain", where)
    else:
        domain_col = _default_column(columns, DOMAIN_COLUMNS)
    taken = {*label_cols, domain_col}
    rest = [c for c in columns if c not in taken]

    if feature_cols is not None:
        if isinstance(feature_cols, str):
            feature_cols = [feature_cols]
        feature_cols = [_find_column(columns, c, "feature", where) for c in feature_cols]
        if modality not in (None, "tabular"):
            raise DataError(f"feature_cols= gives tabular data; got modality={modality!r} too.")
        modality = "tabular"
    elif text_col is not None:
        text_col = _find_column(columns, text_col, "text", where)
        if modality == "tabular":
            raise DataError(
                "text_col= gives text data; got modality='tabular' too. Use feature_cols=."
            )
        modality = modality or ("audio" if _audio_paths(df[text_col]) else "text")
    else:
        if not rest:
            raise DataError(
                f"Expected at least one input column besides the label in {where}; got only "
                f"{columns}. Fix: add the text or feature columns."
            )
        strings = [c for c in rest if not _numeric_like(df[c])]
        if modality == "tabular" or (modality is None and not strings):
            modality, feature_cols = "tabular", rest
        else:
            clips = [c for c in strings if _audio_paths(df[c])]
            if modality in (None, "audio") and len(clips) == 1:  # the one column of clips
                text_col, modality = clips[0], "audio"
            else:
                text_col = _pick_text_column(strings or rest, where)
                modality = modality or ("audio" if _audio_paths(df[text_col]) else "text")
            ignored = [c for c in rest if c != text_col]
            if ignored:
                meta["ignored_columns"] = ignored
                log.info("%s: using %r as text; ignoring columns %s", name, text_col, ignored)

    if modality == "tabular":
        x: Any = _tabular_frame(df, feature_cols, where, first_row)
        meta["feature_cols"] = list(feature_cols)
    elif modality == "image":

        paths = text_values(df[text_col].tolist(), f"path column {text_col!r} of {where}",
                            first_row)
        base = Path(base_dir) if base_dir is not None else Path(".")
        x = [str(base / q) if not os.path.isabs(q) else q for q in paths]
        missing = [q for q in x if not os.path.isfile(q)]
        if missing:
            raise DataError(
                f"Expected image files for every row of {where}; got {len(missing)} missing: "
                f"{format_items(missing, 3)}. Paths are relative to the table's folder."
            )
        verify_images(x, root=base, raise_on_bad=True)
        meta["text_col"] = text_col
    elif modality == "audio":
        paths = text_values(df[text_col].tolist(), f"path column {text_col!r} of {where}",
                            first_row)
        base = Path(base_dir) if base_dir is not None else Path(".")
        files = [str(base / q) if not os.path.isabs(q) else q for q in paths]
        # Every clip is read (and checked) now; one rate for all, the highest found.
        x, meta["sample_rate"], _, _ = read_audio_files(files, root=base)
        meta["text_col"] = text_col
    else:
        x = text_values(df[text_col].tolist(), f"text column {text_col!r} of {where}",
                        first_row)
        meta["text_col"] = text_col

    labels = label_columns = None
    if label_cols:
        labels, label_columns = clean_label_columns(
            {c: _label_cells(df[c]) for c in label_cols},
            where,
            first_row,
            sep=label_sep,
            allow_unlabelled=allow_unlabelled,
        )
        if len(label_cols) == 1:
            meta["label_col"] = label_cols[0]
        else:
            meta["label_cols"] = label_cols
        if label_sep is not None:
            meta["label_sep"] = label_sep
    else:
        log.info(
            "%s: no label column (looked for %s); the data are unlabelled", name, LABEL_COLUMNS
        )
    meta["labelled"] = bool(label_cols)
    domains = None
    if domain_col is not None:
        col = df[domain_col]
        if col.isna().any():
            bad = np.flatnonzero(col.isna().to_numpy())
            raise DataError(
                f"Expected a domain for every row in column {domain_col!r} of {where}; got "
                f"{len(bad)} empty at {rows_phrase(bad, first_row)}. Fix: fill them in."
            )
        domains = col.astype(str).to_numpy().astype(str)
        meta["domain_col"] = domain_col
    return Dataset(x, labels, modality, name, domains, meta, label_columns)


def _label_columns(columns: list[str], label_col: Any, where: str) -> list[str]:
    """The label columns named by ``label_col`` (``"a,b"`` or a list), or the default one."""
    if label_col is None:
        found = _default_column(columns, LABEL_COLUMNS)
        return [] if found is None else [found]
    if isinstance(label_col, str):
        # A header may itself hold a comma: a name that is a column is never split.
        names = [label_col] if label_col in columns else label_col.split(",")
    else:
        names = list(label_col)
    names = [str(c).strip() for c in names if str(c).strip()]
    if not names:
        raise DataError(
            f"Expected label_col= to name one or more columns of {where}; got {label_col!r}. "
            f"Fix: pass a column name, or several as 'a,b' (--label-col a,b); columns are "
            f"{columns}."
        )
    found = [_find_column(columns, c, "label", where) for c in names]
    repeated = sorted({c for c in found if found.count(c) > 1})
    if repeated:
        raise DataError(
            f"Expected each label column once; got {repeated} more than once in "
            f"label_col={label_col!r}. Fix: name each column once."
        )
    return found


def _label_cells(s: pd.Series) -> np.ndarray:
    """A label column's cells, with every kind of missing value (NaN, NA, None) as ``None``."""
    if not s.isna().any():
        return s.to_numpy()
    return s.astype(object).where(s.notna(), None).to_numpy()


def _audio_paths(s: pd.Series) -> bool:
    """A column every cell of which names an audio file (by its suffix)."""
    cells = s.dropna().astype(str).str.lower()
    return len(cells) == len(s) > 0 and bool(cells.str.endswith(AUDIO_EXTENSIONS).all())


def _pick_text_column(candidates: list[str], where: str) -> str:
    if len(candidates) == 1:
        return candidates[0]
    preferred = _default_column(candidates, TEXT_COLUMNS)
    if preferred is not None:
        return preferred
    raise DataError(
        f"Expected one text column in {where}; got several candidates {candidates}. "
        f"Fix: pass text_col= (one of them), or feature_cols=[...] for tabular data."
    )


# ----------------------------------------------------------------------------- values


def _tabular_frame(df: pd.DataFrame, feature_cols: Sequence[str], where: str,
                   first_row: int = 1) -> np.ndarray:
    if not feature_cols:
        raise DataError(f"Expected at least one feature column in {where}; got none.")
    cols = {}
    wordy = []
    for c in feature_cols:
        s = df[c]
        if _is_numeric(s):
            cols[c] = s.astype("float64")
        elif _numeric_like(s):
            # Bad cells become NaN and are reported below, with their rows.
            cols[c] = pd.to_numeric(s, errors="coerce").astype("float64")
        else:
            wordy.append(c)
    if wordy:
        examples = {c: df[c].dropna().astype(str).head(2).tolist() for c in wordy[:3]}
        raise DataError(
            f"Expected numeric feature columns in {where}; got non-numeric columns {wordy} "
            f"(e.g. {examples}). Fix: encode them as numbers, leave them out with "
            "feature_cols=[...], or pass text_col= for text."
        )
    x = np.column_stack([cols[c].to_numpy() for c in feature_cols]).astype(np.float32)
    check_finite_features(x, list(feature_cols), f"feature columns of {where}", base=first_row)
    return x
