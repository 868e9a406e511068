"""The unlabelled data a pre-training run reads, and the checks it needs before any training."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..data import Dataset, DatasetSplits, load_dataset
from ..exceptions import ConfigError, DataError

__all__ = ["MIN_HELD_OUT", "MIN_TRAIN", "as_unlabelled", "held_out_split", "check_texts",
           "unlabelled_rows", "take_rows"]

#: the fewest rows the held-out pretext loss is measured on, and the fewest that train
MIN_HELD_OUT = 8
MIN_TRAIN = 8


def as_unlabelled(data: Any, text_col: str | None = None) -> Dataset:
    """``data`` as a Dataset whose labels (if any) are ignored.

    ``data``: a Dataset, DatasetSplits (its train split: a test split stays unseen), a list of
    texts, or a source ``load_dataset`` reads (``"amazon:domain=kitchen"``, ``reviews.csv``).
    """
    if isinstance(data, str):
        data = load_dataset(data, **({"text_col": text_col} if text_col else {}))
    if isinstance(data, DatasetSplits):
        data = data.train
    if isinstance(data, Dataset):
        return data
    if isinstance(data, Sequence | np.ndarray) and len(data) and all(
            isinstance(t, str) for t in data):
        return Dataset(list(data), None, "text", "texts")
    raise DataError(
        f"Expected unlabelled data: a Dataset, a list of texts, or a source such as "
        f"'reviews.csv' or 'amazon:domain=kitchen'; got {type(data).__name__}"
        f"{' (empty)' if hasattr(data, '__len__') and not len(data) else ''}. Fix: pass one of "
        "those.")


def held_out_split(n: int, fraction: float, seed: int, objective: str = "",
                   ) -> tuple[np.ndarray, np.ndarray]:
    """``(train rows, held-out rows)``: ``fraction`` of ``n`` (at least :data:`MIN_HELD_OUT`)
    held out for the pretext loss that early stopping watches.

    Raises:
        DataError: fewer than ``MIN_TRAIN + MIN_HELD_OUT`` rows (the message names
            ``objective``).
    """
    if not 0.0 < float(fraction) < 0.5:
        raise ConfigError(f"val_fraction must be in (0, 0.5); got {fraction!r}.")
    need = MIN_TRAIN + MIN_HELD_OUT
    if n < need:
        what = f"Pre-training with {objective!r}" if objective else "Pre-training"
        raise DataError(
            f"{what} needs at least {need} unlabelled rows ({MIN_TRAIN} to train, "
            f"{MIN_HELD_OUT} held out for the pretext loss that early stopping watches); got "
            f"{n}. Fix: give more unlabelled data (hundreds of rows or more for a useful gain).")
    n_val = min(max(MIN_HELD_OUT, int(round(fraction * n))), n - MIN_TRAIN)
    order = np.random.default_rng([int(seed), 21]).permutation(n)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def check_texts(texts: Sequence[Any], objective: str, name: str) -> list[str]:
    """The texts as strings; empty ones dropped.

    Raises:
        DataError: inputs that are not text, or (``tsdae``) texts too short to corrupt.
    """
    if any(not isinstance(t, str) for t in texts[:100]):
        raise DataError(f"{name}: expected text inputs (strings); got "
                        f"{type(next(t for t in texts if not isinstance(t, str))).__name__}. "
                        "Fix: name the text column with --text-col (text_col=).")
    kept = [t for t in texts if t.strip()]
    if objective == "tsdae" and not any(len(t.split()) >= 2 for t in kept):
        raise DataError(
            f"{name}: every text has fewer than 2 words, and 'tsdae' deletes words: at least "
            "one text of 2 or more words is needed (sentences work best). Fix: give longer "
            "texts, or use objective='mlm' or 'simcse'.")
    return kept


def unlabelled_rows(ds: Dataset, objective: str) -> Any:
    """The rows an objective reads: texts as strings (empty ones dropped), images as given
    (paths or arrays), tables as a ``(N, D)`` float32 array.

    Raises:
        DataError: inputs of the wrong kind for the data's modality (see :func:`check_texts`),
            a table that is not 2-D numbers.
    """
    if ds.modality == "text":
        return check_texts(list(ds.inputs), objective, ds.name)
    if ds.modality == "tabular":
        try:
            table = np.asarray(ds.inputs, dtype=np.float32)
        except (TypeError, ValueError):
            table = None
        if table is None or table.ndim != 2:
            raise DataError(
                f"{ds.name}: {objective!r} expected a table of numbers (rows x feature "
                f"columns); got {type(ds.inputs).__name__} of shape "
                f"{getattr(np.asarray(ds.inputs, dtype=object), 'shape', '?')}. Fix: encode "
                "text or category columns as numbers first.")
        return table
    return ds.inputs if isinstance(ds.inputs, np.ndarray) else list(ds.inputs)


def take_rows(rows: Any, idx: np.ndarray) -> Any:
    """``rows[idx]`` for an array, the picked items for a list."""
    return rows[idx] if isinstance(rows, np.ndarray) else [rows[i] for i in idx]
