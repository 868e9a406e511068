"""Groups of rows that must stay together (a speaker's recordings), and leave-one-group-out.

A model scored on a speaker it was trained on measures how well it remembers that voice, not
how well it recognises words. ``group_by="speaker"`` names the column of each row's group;
a dataset keeps that column as its domains (``fsdd``'s domains are its speakers; a table
loaded with ``domain_col="speaker"``; an audio folder with ``group_pattern=`` and
``group_name="speaker"``). :func:`leave_one_group_out` then holds out each group in turn,
and no group is ever on both sides.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from ..exceptions import DataError
from .dataset import Dataset, DatasetSplits

__all__ = ["group_values", "leave_one_group_out", "pool_splits"]


def group_values(data: Dataset, group_by: str) -> np.ndarray:
    """Each row's group, by the name of the group column (``"domain"`` always works).

    Raises:
        DataError: the data have no such column (the message says how to load it).
    """
    col = data.meta.get("domain_col")
    if data.domains is None or str(group_by) not in ("domain", str(col)):
        have = (f"its group column is {col!r}" if data.domains is not None and col
                else "it has a domain column" if data.domains is not None
                else "it has no group column")
        raise DataError(
            f"Expected a group column {group_by!r} in {data.name!r}; {have}. Fix: load the "
            f"data with domain_col={group_by!r} (--domain-col {group_by}) for a table, or "
            "group_pattern=... with group_name=... for an audio folder; or group by "
            f"{col or 'domain'!r}.")
    return data.domains.astype(str)


def pool_splits(data: Dataset | DatasetSplits) -> Dataset:
    """All rows of a source in one Dataset (train, then val and test), for group folds."""
    if isinstance(data, Dataset):
        return data
    parts = [d for _, d in data]
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    inputs = np.concatenate([d.inputs for d in parts]) if isinstance(first.inputs, np.ndarray) \
        else [x for d in parts for x in d.inputs]
    rates = {d.meta.get("sample_rate") for d in parts}
    if len(rates) > 1:
        raise DataError(f"Expected one sample rate across the splits of {data.name!r}; got "
                        f"{sorted(rates)}. Fix: load with sample_rate=... to resample them.")
    for name in ("labels", "domains"):
        if any(getattr(d, name) is None for d in parts):
            raise DataError(f"Expected {name} on every split of {data.name!r} to pool them; "
                            f"some split has none.")
    meta = {k: v for k, v in first.meta.items() if k not in ("fingerprint", "split")}
    return replace(first, inputs=inputs, meta=meta, label_columns=None,
                   labels=np.concatenate([d.labels for d in parts]),
                   domains=np.concatenate([d.domains for d in parts]))


def leave_one_group_out(data: Dataset, group_by: str
                        ) -> Iterator[tuple[str, Dataset, Dataset]]:
    """Yield ``(group, train, test)`` for each group in sorted order: ``test`` holds that
    group's rows, ``train`` every other group's.

    Raises:
        DataError: no such group column, or fewer than two groups.
    """
    groups = group_values(data, group_by)
    names = sorted(set(groups.tolist()))
    if len(names) < 2:
        raise DataError(f"Expected at least two groups in column {group_by!r} of "
                        f"{data.name!r} to hold one out; got {names}.")
    for g in names:
        held = groups == g
        yield (g, data.subset(np.flatnonzero(~held), name=f"{data.name}:not-{g}"),
               data.subset(np.flatnonzero(held), name=f"{data.name}:{g}"))
