"""Raw table files into pandas frames, with messages that name the file, line and fix.

Only empty cells count as missing: ``"NA"``, ``"None"`` or ``"null"`` can be real text or
labels. A file in the wrong encoding gets a message naming the offending line and byte and
the ``encoding=`` keyword that reads it.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import json
import logging
import lzma
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from ..exceptions import ConfigError, DataError

__all__ = ["TABLE_SUFFIXES", "read_table", "iter_csv", "table_format", "table_stem",
           "separator"]

log = logging.getLogger(__name__)

TABLE_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
# Compressed tables are read transparently; the suffix before these names the format.
_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_COMPRESSION = tuple(_OPENERS)


def _read_bytes(p: Path) -> bytes:
    with _OPENERS.get(p.suffix.lower(), open)(p, "rb") as f:
        return f.read()


def table_stem(p: Path) -> str:
    """The file name without table and compression suffixes (``a.csv.gz`` → ``a``)."""
    name = p.name
    for suf in _COMPRESSION + tuple(TABLE_SUFFIXES):
        if name.lower().endswith(suf):
            name = name[: -len(suf)]
    return name or p.name


def table_format(p: Path) -> str:
    """``"csv"``, ``"tsv"``, ``"jsonl"`` or ``"parquet"`` from the suffix; raises otherwise."""
    if p.is_dir():
        raise DataError(
            f"Expected a table file; got the folder {str(p)!r}. Fix: pass a file, or use "
            "load_dataset(folder) / from_image_folder(folder) for folders."
        )
    suffixes = [s.lower() for s in p.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSION:
        suffixes = suffixes[:-1]
    suf = suffixes[-1] if suffixes else ""
    if suf not in TABLE_SUFFIXES:
        raise DataError(
            f"Expected a table file ending in {', '.join(sorted(TABLE_SUFFIXES))}; got "
            f"{p.name!r}. Fix: rename the file, or call from_csv / from_tsv / from_jsonl / "
            "from_parquet directly if you know its format."
        )
    return TABLE_SUFFIXES[suf]


def read_table(p: Path, fmt: str, sep: str | None, encoding: str) -> pd.DataFrame:
    """Read an existing file of format ``fmt`` into a frame with string column names.

    Raises:
        DataError: a folder, an empty file, no rows, bad encoding, or unparseable content.
    """
    _require_rows_file(p, fmt)
    if fmt in ("csv", "tsv"):
        df = _read_csv(p, fmt, separator(sep) if sep is not None else None, encoding)
    elif fmt == "jsonl":
        df = _read_json_records(p, encoding)
    else:
        df = _read_parquet(p)
    if len(df) == 0:
        raise DataError(
            f"Expected at least one row in {str(p)!r}; got none (columns: {list(df.columns)}). "
            "Fix: check that the file was written completely."
        )
    df.columns = [str(c) for c in df.columns]
    return df


def _require_rows_file(p: Path, fmt: str) -> None:
    if p.is_dir():
        table_format(p)  # raises with the folder message
    if p.stat().st_size == 0:
        raise DataError(
            f"Expected a {fmt.upper()} file with a header and rows; got an empty file "
            f"{str(p)!r} (0 bytes). Fix: check that the file was written completely."
        )


def separator(sep: str) -> str:
    """``sep=`` as given, with the spellings of a tab a command line produces (``\\t``,
    ``tab``) read as a tab."""
    if not isinstance(sep, str) or not sep:
        raise ConfigError(f"Expected sep= as a non-empty string such as ',' or '\\t'; got "
                          f"{sep!r}.")
    return "\t" if sep in ("\\t", "tab", "TAB") else sep


def _read_csv(p: Path, fmt: str, sep: str | None, encoding: str) -> pd.DataFrame:
    """Read with ``sep``; without one, the format's separator, or the one the header uses
    when the default leaves a single column (a tab-separated file named ``.csv``)."""
    default = "," if fmt == "csv" else "\t"
    df = _parse_csv(p, fmt, sep or default, encoding)
    if sep is None and df.shape[1] == 1:
        sniffed = _sniff(p, encoding, default)
        if sniffed is not None:
            try:
                other = _parse_csv(p, fmt, sniffed, encoding)
            except DataError:
                other = None
            if other is not None and other.shape[1] > 1:
                log.warning("%s: read with separator %r (its header has no %r); pass sep=... "
                            "(on the command line FILE:sep=...) to choose", p, sniffed, default)
                df = other
    return _blank_cells_missing(df)


def _sniff(p: Path, encoding: str, default: str) -> str | None:
    """The separator the header uses, if it is another of tab, ';', '|' and ','."""
    try:
        head = _read_bytes(p)[:65536].decode(encoding, "replace").splitlines()[:20]
    except (LookupError, OSError):
        return None
    if not head:
        return None
    found = [d for d in "\t;|," if d != default and d in head[0]]
    if len(found) <= 1:
        return found[0] if found else None
    try:
        return csv.Sniffer().sniff("\n".join(head), delimiters="".join(found)).delimiter
    except csv.Error:
        return None


def _blank_cells_missing(df: pd.DataFrame) -> pd.DataFrame:
    """Cells of only spaces are missing, as empty cells are: a label ``" "`` is no label,
    and a column of numbers with such a cell is read as numbers, as with an empty cell."""
    for c in df.columns:
        s = df[c]
        if not (s.dtype == object or pd.api.types.is_string_dtype(s)):
            continue
        blank = s.map(lambda v: isinstance(v, str) and not v.strip()).astype(bool)
        if not blank.any():
            continue
        s = s.mask(blank)
        try:
            s = pd.to_numeric(s)
        except (ValueError, TypeError):
            pass
        df[c] = s
    return df


def _parse_csv(p: Path, fmt: str, sep: str, encoding: str) -> pd.DataFrame:
    with _csv_errors(p, fmt, sep, encoding):
        # Only empty cells are missing: "NA", "None" or "null" can be real text or labels.
        return pd.read_csv(
            p, sep=sep, encoding=encoding, keep_default_na=False, na_values=[""], low_memory=False
        )


def iter_csv(p: Path, fmt: str, sep: str | None, encoding: str, rows: int
             ) -> Iterator[pd.DataFrame]:
    """:func:`read_table` for a CSV or TSV file, ``rows`` rows at a time: the same checks and
    messages, with only one chunk of the file in memory at once."""
    _require_rows_file(p, fmt)
    sep = separator(sep) if sep is not None else ("," if fmt == "csv" else "\t")
    n = 0
    with _csv_errors(p, fmt, sep, encoding):
        reader = pd.read_csv(p, sep=sep, encoding=encoding, keep_default_na=False,
                             na_values=[""], chunksize=rows)
        with reader:
            for df in reader:
                if df.empty:  # a header-only file reads as one empty chunk
                    continue
                n += len(df)
                df.columns = [str(c) for c in df.columns]
                yield _blank_cells_missing(df)
        if n == 0:
            columns = [str(c) for c in pd.read_csv(p, sep=sep, encoding=encoding, nrows=0).columns]
            raise DataError(
                f"Expected at least one row in {str(p)!r}; got none (columns: {columns}). "
                "Fix: check that the file was written completely."
            )


@contextmanager
def _csv_errors(p: Path, fmt: str, sep: str, encoding: str) -> Iterator[None]:
    """Turn pandas' CSV reading errors into messages that name the file and the fix."""
    try:
        yield
    except pd.errors.EmptyDataError:
        raise DataError(
            f"Expected a {fmt.upper()} file with a header and rows; got only blank lines in "
            f"{str(p)!r}."
        ) from None
    except UnicodeDecodeError:
        raise _decode_error(p, encoding, "from_" + fmt) from None
    except LookupError:
        raise ConfigError(
            f"Unknown encoding={encoding!r}; try 'utf-8', 'latin-1' or 'cp1252'."
        ) from None
    except pd.errors.ParserError as e:
        raise DataError(
            f"Expected a well-formed {fmt.upper()} file with separator {sep!r}; could not parse "
            f"{str(p)!r}: {str(e).strip()}. Fix: check the separator (sep=...) and the quoting."
        ) from None


def _read_text(p: Path, encoding: str) -> str:
    data = _read_bytes(p)
    try:
        # utf-8-sig drops a byte-order mark, which a plain utf-8 decode would keep as text.
        return data.decode(
            "utf-8-sig" if encoding.lower().replace("_", "-") == "utf-8" else encoding
        )
    except UnicodeDecodeError as e:
        raise _decode_error(p, encoding, "from_jsonl", data, e) from None
    except LookupError:
        raise ConfigError(
            f"Unknown encoding={encoding!r}; try 'utf-8', 'latin-1' or 'cp1252'."
        ) from None


def _read_json_records(p: Path, encoding: str) -> pd.DataFrame:
    text = _read_text(p, encoding)
    if text.lstrip().startswith("["):
        # A JSON array of records rather than JSON lines.
        try:
            records = json.loads(text)
        except json.JSONDecodeError as e:
            raise DataError(
                f"Expected valid JSON in {str(p)!r}; got an error at line {e.lineno}: {e.msg}."
            ) from None
        start_lines = list(range(1, len(records) + 1))
    else:
        records, start_lines = [], []
        for i, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise DataError(
                    f"Expected one JSON object per line in {str(p)!r}; line {i} is not valid JSON "
                    f"({e.msg} at column {e.colno}): {line[:80]!r}. Fix that line."
                ) from None
            start_lines.append(i)
    if not records:
        raise DataError(f"Expected JSON records in {str(p)!r}; got none (the file is blank).")
    bad = [ln for ln, r in zip(start_lines, records, strict=True) if not isinstance(r, dict)]
    if bad:
        raise DataError(
            f'Expected every record in {str(p)!r} to be a JSON object ({{"text": ..., '
            f'"label": ...}}); got something else at line(s) {", ".join(map(str, bad[:5]))}.'
        )
    return pd.DataFrame.from_records(records)


def _read_parquet(p: Path) -> pd.DataFrame:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise DataError(
            f"Reading {str(p)!r} needs pyarrow, which is not installed. Fix: "
            "pip install 'transferkit[parquet]'."
        ) from None
    try:
        return pd.read_parquet(p)
    except (OSError, ValueError) as e:
        raise DataError(f"Expected a Parquet file at {str(p)!r}; could not read it: {e}.") from None


def _decode_error(
    p: Path,
    encoding: str,
    fn: str,
    data: bytes | None = None,
    err: UnicodeDecodeError | None = None,
) -> DataError:
    if data is None:
        data = _read_bytes(p)
    if err is None:
        try:
            data.decode(encoding)
        except UnicodeDecodeError as e:
            err = e
    where = ""
    if err is not None:
        line = data.count(b"\n", 0, err.start) + 1
        where = f" (line {line}: byte 0x{data[err.start]:02x} is not valid {encoding})"
    return DataError(
        f"Expected {encoding}-encoded text in {str(p)!r}; got bytes in another encoding{where}. "
        f"Fix: re-save the file as UTF-8, or pass its encoding, e.g. {fn}(path, "
        f"encoding='latin-1') (or 'cp1252'); on the command line {p.name}:encoding=latin-1."
    )
