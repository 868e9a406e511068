"""``as_dataset``: what every estimator and workflow calls on the data a user hands it."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..exceptions import DataError
from .arrays import from_arrays
from .dataset import Dataset, DatasetSplits

__all__ = ["as_dataset"]


def as_dataset(X: Any, y: Any = None, what: str = "X") -> Dataset:
    """Accept a Dataset, or raw inputs (+ labels), and return a Dataset.

    Args:
        X: a :class:`Dataset`, or inputs :func:`~transferkit.data.from_arrays` takes (a list
            of strings, an image array, a table).
        y: labels; with a Dataset they replace its own.
        what: how the argument is named in error messages (``"source"``, ``"X of fit()"``).

    Raises:
        DataError: the splits of a source instead of one split, or a single string.
    """
    if isinstance(X, DatasetSplits):
        raise DataError(
            f"{what} is a DatasetSplits ({', '.join(k for k, _ in X)}), not a single dataset. "
            "Did you mean to pass the training split, e.g. ds.train?"
        )
    if isinstance(X, Dataset):
        if y is not None:
            X = Dataset(X.inputs, np.asarray(y), X.modality, X.name, X.domains, dict(X.meta))
        return X
    if isinstance(X, str):
        raise DataError(
            f"{what} is a single string; expected a list of inputs. Wrap it: [{X[:40]!r}]."
        )
    return from_arrays(X, labels=y)
