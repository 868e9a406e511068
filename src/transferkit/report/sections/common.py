"""Small helpers the sections share while they turn record parts into template data."""

from __future__ import annotations

from typing import Any

__all__ = ["as_dict", "columns"]


def as_dict(x: Any) -> dict:
    """``x`` if it is a dict, else an empty one: record parts may be missing or malformed."""
    return x if isinstance(x, dict) else {}


def columns(rows: Any) -> list[str]:
    """Every key of the dicts in ``rows``, in first-seen order: the columns of a table."""
    cols: list[str] = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    return cols
