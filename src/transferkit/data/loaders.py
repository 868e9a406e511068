"""Tables into a :class:`Dataset`: CSV, TSV, JSON lines, Parquet and pandas frames.

Each reader reads the file into a pandas frame (:mod:`~transferkit.data.readers`) and hands
it to :func:`~transferkit.data.columns.frame_to_dataset`, which decides the column roles (see
:mod:`~transferkit.data.columns` for the rules when they are not given).

Keyword names mirror the CLI flags (``--text-col`` is ``text_col``). In-memory arrays are
loaded by :func:`~transferkit.data.arrays.from_arrays` (re-exported here).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..exceptions import ConfigError, DataError
from .arrays import from_arrays
from .columns import LABEL_COLUMNS, frame_to_dataset
from .dataset import Dataset
from .readers import read_table, table_format, table_stem
from .validate import require_path

__all__ = [
    "from_table",
    "from_csv",
    "from_tsv",
    "from_jsonl",
    "from_parquet",
    "from_dataframe",
    "from_arrays",
    "LABEL_COLUMNS",
]


def from_table(
    path: str | os.PathLike,
    text_col: str | None = None,
    label_col: str | Sequence[str] | None = None,
    feature_cols: Sequence[str] | None = None,
    domain_col: str | None = None,
    name: str | None = None,
    sep: str | None = None,
    modality: str | None = None,
    encoding: str = "utf-8",
    *,
    label_sep: str | None = None,
    allow_unlabelled: bool = False,
) -> Dataset:
    """Load a table, choosing the reader from the file suffix.

    Args:
        path: a ``.csv``, ``.tsv``, ``.jsonl``/``.json`` (JSON lines or a list of records) or
            ``.parquet`` file; CSV/TSV/JSON may be compressed (``.csv.gz``).
        text_col: the text column (or, with ``modality="image"`` or ``"audio"``, a column of
            file paths relative to the table's folder; a column whose every cell ends in
            ``.wav``, ``.flac`` or ``.ogg`` is audio without saying so).
        label_col: the label column; several as ``"a,b"`` or ``["a", "b"]`` (then
            ``labels`` is ``None`` and ``label_columns`` holds them). See
            :mod:`~transferkit.data.columns` for the default.
        feature_cols: numeric columns to use as tabular features.
        domain_col: a column of domain names (``"books"``, ``"dvd"``...).
        name: the dataset name; defaults to the file stem.
        sep: the field separator for CSV/TSV (default ``","`` / ``"\\t"``).
        modality: ``"text"``, ``"tabular"``, ``"image"`` or ``"audio"`` to override the
            detection.
        encoding: the text encoding of the file.
        label_sep: split label cells on this separator into sets of labels (multi-label):
            ``"billing|urgent"`` with ``label_sep="|"``. It applies to every label column, and
            a column none of whose cells holds it stays single-label. In JSON lines a list is
            a set of labels (``[]`` a row labelled with none).
        allow_unlabelled: keep rows without a label (as ``None``) instead of raising. With
            several label columns a cell may always be empty; this also keeps rows with no
            label in any column.

    Returns:
        The loaded dataset; ``meta`` records the source and the column roles.

    Raises:
        DataError: missing or empty file, unknown suffix, missing column, undecodable text,
            empty text cells, non-finite features, missing labels (see ``allow_unlabelled``).
    """
    p = require_path(path, "file")
    fmt = table_format(p)
    if sep is not None and fmt not in ("csv", "tsv"):
        raise ConfigError(
            f"sep= applies to CSV and TSV files only; got sep={sep!r} for {str(p)!r}."
        )
    return _from_format(
        fmt, p, sep, encoding, name, text_col=text_col, label_col=label_col,
        feature_cols=feature_cols, domain_col=domain_col, modality=modality,
        label_sep=label_sep, allow_unlabelled=allow_unlabelled,
    )


def from_csv(
    path: str | os.PathLike,
    text_col: str | None = None,
    label_col: str | Sequence[str] | None = None,
    feature_cols: Sequence[str] | None = None,
    domain_col: str | None = None,
    name: str | None = None,
    sep: str | None = None,
    modality: str | None = None,
    encoding: str = "utf-8",
    *,
    label_sep: str | None = None,
    allow_unlabelled: bool = False,
) -> Dataset:
    """Load a comma-separated file; arguments as :func:`from_table`."""
    return _from_format(
        "csv", path, sep, encoding, name, text_col=text_col, label_col=label_col,
        feature_cols=feature_cols, domain_col=domain_col, modality=modality,
        label_sep=label_sep, allow_unlabelled=allow_unlabelled,
    )


def from_tsv(
    path: str | os.PathLike,
    text_col: str | None = None,
    label_col: str | Sequence[str] | None = None,
    feature_cols: Sequence[str] | None = None,
    domain_col: str | None = None,
    name: str | None = None,
    sep: str | None = None,
    modality: str | None = None,
    encoding: str = "utf-8",
    *,
    label_sep: str | None = None,
    allow_unlabelled: bool = False,
) -> Dataset:
    """Load a tab-separated file; arguments as :func:`from_table`."""
    return _from_format(
        "tsv", path, sep, encoding, name, text_col=text_col, label_col=label_col,
        feature_cols=feature_cols, domain_col=domain_col, modality=modality,
        label_sep=label_sep, allow_unlabelled=allow_unlabelled,
    )


def from_jsonl(
    path: str | os.PathLike,
    text_col: str | None = None,
    label_col: str | Sequence[str] | None = None,
    feature_cols: Sequence[str] | None = None,
    domain_col: str | None = None,
    name: str | None = None,
    modality: str | None = None,
    encoding: str = "utf-8",
    *,
    label_sep: str | None = None,
    allow_unlabelled: bool = False,
) -> Dataset:
    """Load JSON lines (one object per line) or a JSON list of objects; see :func:`from_table`."""
    return _from_format(
        "jsonl", path, None, encoding, name, text_col=text_col, label_col=label_col,
        feature_cols=feature_cols, domain_col=domain_col, modality=modality,
        label_sep=label_sep, allow_unlabelled=allow_unlabelled,
    )


def from_parquet(
    path: str | os.PathLike,
    text_col: str | None = None,
    label_col: str | Sequence[str] | None = None,
    feature_cols: Sequence[str] | None = None,
    domain_col: str | None = None,
    name: str | None = None,
    modality: str | None = None,
    *,
    label_sep: str | None = None,
    allow_unlabelled: bool = False,
) -> Dataset:
    """Load a Parquet file (needs ``pyarrow``); arguments as :func:`from_table`."""
    return _from_format(
        "parquet", path, None, "utf-8", name, text_col=text_col, label_col=label_col,
        feature_cols=feature_cols, domain_col=domain_col, modality=modality,
        label_sep=label_sep, allow_unlabelled=allow_unlabelled,
    )


def from_dataframe(
    df: pd.DataFrame,
    text_col: str | None = None,
    label_col: str | Sequence[str] | None = None,
    feature_cols: Sequence[str] | None = None,
    domain_col: str | None = None,
    name: str = "dataframe",
    modality: str | None = None,
    *,
    label_sep: str | None = None,
    allow_unlabelled: bool = False,
) -> Dataset:
    """Build a dataset from a pandas ``DataFrame`` with the same column rules as the files."""
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"Expected a pandas DataFrame; got {type(df).__name__}.")
    return frame_to_dataset(
        df.reset_index(drop=True),
        name=name,
        source="dataframe",
        base_dir=None,
        text_col=text_col,
        label_col=label_col,
        feature_cols=feature_cols,
        domain_col=domain_col,
        modality=modality,
        label_sep=label_sep,
        allow_unlabelled=allow_unlabelled,
    )


def _from_format(fmt, path, sep, encoding, name, **roles: Any) -> Dataset:
    """Read ``path`` as ``fmt``; ``roles`` are the column keywords of :func:`from_table`."""
    p = require_path(path, "file")
    df = read_table(p, fmt, sep, encoding)
    ds = frame_to_dataset(
        df, name=name or table_stem(p), source=str(p), base_dir=p.parent, **roles
    )
    ds.meta["format"] = fmt
    return ds
