"""A large table file as a run of Datasets, a chunk of rows at a time.

``from_table`` holds a whole file (and its pandas frame) in memory; predicting on a 1 GB CSV
needs only one chunk at a time. Column roles are resolved on the first chunk, exactly as
:func:`~transferkit.data.from_table` resolves them, and kept for the rest (a column that
looks numeric in one chunk and textual in another must not change role midway). Error
messages name rows by their place in the file, as for a whole file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

from ..exceptions import ConfigError
from .columns import frame_to_dataset
from .dataset import Dataset
from .loaders import from_table
from .readers import iter_csv, table_format, table_stem
from .validate import require_path

__all__ = ["iter_table_chunks", "CHUNK_ROWS"]

#: rows per chunk by default: a few tens of MB of text, far fewer for numeric columns
CHUNK_ROWS = 50_000


def iter_table_chunks(
    path: str | os.PathLike,
    rows: int = CHUNK_ROWS,
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
) -> Iterator[Dataset]:
    """Yield the rows of a table file as Datasets of at most ``rows`` rows, in file order.

    CSV and TSV files (compressed too) are read in chunks; JSON lines and Parquet are read
    whole and yielded as one Dataset. Other arguments as :func:`~transferkit.data.from_table`.

    Raises:
        DataError: as :func:`~transferkit.data.from_table`, possibly after earlier chunks
            were yielded (a bad row deep in the file is found when its chunk is read).
        ConfigError: ``rows`` is not a positive integer, or ``sep`` with JSON or Parquet.
    """
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise ConfigError(f"rows must be a positive integer (rows per chunk); got {rows!r}.")
    p = require_path(path, "file")
    fmt = table_format(p)
    roles = dict(text_col=text_col, label_col=label_col, feature_cols=feature_cols,
                 domain_col=domain_col, modality=modality, label_sep=label_sep,
                 allow_unlabelled=allow_unlabelled)
    if fmt not in ("csv", "tsv"):
        yield from_table(p, name=name, sep=sep, encoding=encoding, **roles)
        return
    first_row = 1
    for df in iter_csv(p, fmt, sep, encoding, rows):
        ds = frame_to_dataset(df.reset_index(drop=True), name=name or table_stem(p),
                               source=str(p), base_dir=p.parent, first_row=first_row, **roles)
        ds.meta["format"] = fmt
        if first_row == 1:
            # Later chunks keep the roles the first one resolved.
            roles.update(modality=ds.modality, text_col=ds.meta.get("text_col"),
                         feature_cols=ds.meta.get("feature_cols"))
        first_row += len(df)
        yield ds
