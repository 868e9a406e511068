"""The in-memory dataset every loader returns and every strategy consumes.

Inputs by modality:

* ``text``: a list of ``str``.
* ``image``: either a list of file paths (decoded lazily, in batches) or a ``uint8`` array of
  shape ``(N, H, W)`` or ``(N, H, W, C)``; float arrays in ``[0, 1]`` are accepted too.
* ``tabular``: a ``float32`` array of shape ``(N, D)``.
* ``audio``: a list of 1-D ``float32`` waveforms, with ``meta["sample_rate"]``.

Labels are kept as given (strings or integers); the model owns the label encoding.

Label columns. ``labels`` is the one column single-label code reads. Data loaded with one
label column have ``labels`` and ``label_columns is None``, exactly as before label columns
existed. Data loaded with several (``label_col="intent,sentiment"``) have ``labels is None``
and every column in ``label_columns``; :meth:`Dataset.select_labels` gives a view whose
``labels`` is one of them. Code that wants every column the same way, whatever was loaded,
iterates :attr:`Dataset.label_names` and reads ``data.select_labels(name).labels``. A cell
may be missing (``None``; a row labelled for one task and not another) or hold a set of
labels (a sorted ``tuple``, multi-label); see :mod:`transferkit.data.labels`.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..exceptions import DataError
from ..utils.fingerprint import hash_array, hash_files, hash_json, hash_strings
from .labels import (
    count_labels,
    is_multilabel_column,
    label_array,
    label_values,
    missing_mask,
    tidy_labels,
)

__all__ = ["Dataset", "DatasetSplits", "MODALITIES"]

MODALITIES = ("text", "image", "tabular", "audio")


@dataclass
class Dataset:
    """Inputs, optional labels and optional domains, of one modality.

    Attributes:
        inputs: see the module docstring for the form per modality.
        labels: ``(N,)`` array of labels, or ``None`` for unlabelled data.
        modality: one of ``"text"``, ``"image"``, ``"tabular"``, ``"audio"``.
        name: a short name used in records and reports.
        domains: ``(N,)`` array of domain names, or ``None``.
        meta: free information (source path, column names, sample rate, attribution).
        label_columns: named label columns, each an ``(N,)`` array, when the data have
            several; ``None`` for data with one label column (that column is ``labels``) or
            none. A column with one entry only is also put in ``labels``.
    """

    inputs: Any
    labels: np.ndarray | None = None
    modality: str = "text"
    name: str = "data"
    domains: np.ndarray | None = None
    meta: dict = field(default_factory=dict)
    label_columns: dict[str, np.ndarray] | None = None

    def __post_init__(self) -> None:
        if self.modality not in MODALITIES:
            raise DataError(
                f"modality must be one of {MODALITIES}; got {self.modality!r}. "
                "Pass modality= explicitly, or use the loader for your kind of data."
            )
        n = len(self.inputs)
        if self.labels is not None:
            self.labels = _column(self.labels, n, "labels")
        if self.label_columns is not None:
            self.label_columns = _columns(self.label_columns, n)
            if self.labels is None and self.label_columns and len(self.label_columns) == 1:
                (self.labels,) = self.label_columns.values()
        if self.domains is not None:
            self.domains = np.asarray(self.domains)
            if len(self.domains) != n:
                raise DataError(f"Expected one domain per input ({n}); got {len(self.domains)}.")

    def __len__(self) -> int:
        return len(self.inputs)

    def __repr__(self) -> str:
        if self.labels is not None:
            lab = f"{len(self.classes)} classes"
            if self.is_multilabel():
                lab += ", multi-label"
            unlabelled = int(missing_mask(self.labels).sum())
            if unlabelled:
                lab += f", {unlabelled} unlabelled"
            if self.label_columns is not None:
                lab += f", label column {self._label_name()!r} of {self.label_names}"
        elif self.label_columns is not None:
            lab = f"label columns {self.label_names}"
        else:
            lab = "unlabelled"
        return f"Dataset(name={self.name!r}, modality={self.modality!r}, n={len(self)}, {lab})"

    @property
    def has_labels(self) -> bool:
        """True when :attr:`labels` (the one column single-label code reads) is set."""
        return self.labels is not None

    @property
    def label_names(self) -> list[str]:
        """The names of the label columns; empty for unlabelled data."""
        if self.label_columns is not None:
            return list(self.label_columns)
        return [] if self.labels is None else [self._label_name()]

    @property
    def classes(self) -> np.ndarray:
        """Sorted unique labels (of every set, for multi-label data; missing labels left out)."""
        if self.labels is None:
            return np.array([])
        if missing_mask(self.labels).any() or is_multilabel_column(self.labels):
            return np.array(list(count_labels(self.labels)))
        return np.unique(self.labels)

    def class_counts(self) -> dict[Any, int]:
        """Rows per label of :attr:`labels`; a multi-label row counts for each of its labels."""
        if self.labels is None:
            return {}
        return count_labels(self.labels)

    def is_multilabel(self, column: str | None = None) -> bool:
        """True if a row of ``column`` (default: :attr:`labels`) holds a set of labels."""
        values = self.labels if column is None else self._column_named(column)
        return values is not None and is_multilabel_column(values)

    def select_labels(self, name: str) -> Dataset:
        """A view whose :attr:`labels` is the column ``name``; rows and columns unchanged.

        Rows without a label in that column are kept (as ``None``); :meth:`labelled` drops them.

        Raises:
            DataError: ``name`` is not a label column (with the columns and a close match).
        """
        values = self._column_named(name)
        return replace(self, labels=values, meta={**self.meta, "label_col": name})

    def labelled(self, column: str | None = None) -> Dataset:
        """Only the rows that have a label in ``column`` (default: in :attr:`labels`).

        With several label columns and none selected (``labels is None``), the rows labelled
        in at least one column. A label array left with no missing cell gets its plain type
        back (``str`` or ``int64`` rather than ``object``).

        Raises:
            DataError: unlabelled data, or ``column`` not a label column.
        """
        if column is not None:
            keep = ~missing_mask(self._column_named(column))
        elif self.labels is not None:
            keep = ~missing_mask(self.labels)
        elif self.label_columns is not None:
            keep = np.logical_or.reduce([~missing_mask(v) for v in self.label_columns.values()])
        else:
            raise DataError(
                f"Dataset {self.name!r} has no labels, so it has no labelled rows to keep. "
                "Load it with label_col=... (--label-col on the command line)."
            )
        out = self if keep.all() else self.subset(np.flatnonzero(keep))
        return replace(
            out,
            labels=None if out.labels is None else tidy_labels(out.labels),
            label_columns=_map_columns(out.label_columns, tidy_labels),
            meta=dict(out.meta),
        )

    def require_single_labels(self, owner: str) -> None:
        """Raise unless :attr:`labels` has one label on every row: what a single-label model needs.

        Args:
            owner: who needs the labels, named in the message (``"TransferClassifier"``).

        Raises:
            DataError: no labels; several label columns and none selected; a multi-label
                column; rows without a label. The message says how to fix it.
        """
        names = self.label_names
        if self.labels is None and len(names) > 1:
            raise DataError(
                f"Dataset {self.name!r} has label columns {names}; {owner} learns one. Pick "
                f"one: data.select_labels({names[0]!r}), label_col={names[0]!r} when loading, "
                f"or --label-col {names[0]}."
            )
        if self.labels is None:
            raise DataError(
                f"The training data {self.name!r} has no labels. Give label_col= when loading, "
                "or pass y= to fit()."
            )
        col = self._label_name()
        if self.is_multilabel():
            example = next(v for v in self.labels if isinstance(v, tuple))
            single = [n for n in names if n != col and not self.is_multilabel(n)]
            fix = (
                f"Pick a single-label column: data.select_labels({single[0]!r}), "
                f"label_col={single[0]!r} when loading, or --label-col {single[0]}."
                if single
                else "Fix: load a column with one label per row (label_col=..., --label-col "
                "NAME), without label_sep= (--label-sep)."
            )
            raise DataError(
                f"Expected one label per row for {owner}; label column {col!r} of "
                f"{self.name!r} holds sets of labels (multi-label, e.g. {example!r}), which a "
                f"single-label model cannot learn. {fix} To learn the sets themselves: "
                f"MultiTaskClassifier(tasks={{{col!r}: data}}), one sigmoid per label "
                f"(`transferkit fit --label-col {col} --strategy finetune`)."
            )
        missing = int(missing_mask(self.labels).sum())
        if missing:
            raise DataError(
                f"Expected a label on every row for {owner}; got {missing} missing in column "
                f"{col!r} of {self.name!r} ({missing} of {len(self)} rows are unlabelled). "
                "Fix: data.labelled() drops them, or fill them in."
            )

    def _label_name(self) -> str:
        """The name of :attr:`labels`: as loaded or selected, else ``"label"``."""
        if self.meta.get("label_col"):
            return str(self.meta["label_col"])
        if self.label_columns is not None and len(self.label_columns) == 1:
            return next(iter(self.label_columns))
        return "label"

    def _column_named(self, name: str) -> np.ndarray:
        if self.label_columns is not None and name in self.label_columns:
            return self.label_columns[name]
        if self.label_columns is None and self.labels is not None and name == self._label_name():
            return self.labels
        names = self.label_names
        if not names:
            raise DataError(
                f"Expected a label column {name!r} in {self.name!r}; it has no labels. Load it "
                "with label_col=... (--label-col on the command line)."
            )
        close = difflib.get_close_matches(str(name), names, n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise DataError(
            f"Expected one of the label columns {names} of {self.name!r}; got {name!r}.{hint} "
            "Fix: pass one of these names."
        )

    def subset(self, indices: Sequence[int] | np.ndarray, name: str | None = None) -> Dataset:
        """A new dataset with the rows at ``indices`` (in that order)."""
        idx = np.asarray(indices, dtype=np.int64)
        if isinstance(self.inputs, np.ndarray):
            inputs = self.inputs[idx]
        else:
            inputs = [self.inputs[i] for i in idx]
        return replace(
            self,
            inputs=inputs,
            labels=None if self.labels is None else self.labels[idx],
            label_columns=_map_columns(self.label_columns, lambda v: v[idx]),
            domains=None if self.domains is None else self.domains[idx],
            name=name or self.name,
            # A cached fingerprint belongs to the parent's inputs, not to this subset's.
            meta={k: v for k, v in self.meta.items() if k != "fingerprint"},
        )

    def without_labels(self) -> Dataset:
        return replace(self, labels=None, label_columns=None, meta=dict(self.meta))

    def select_domain(self, domain: str) -> Dataset:
        """Rows whose domain equals ``domain``."""
        if self.domains is None:
            raise DataError(
                f"Dataset {self.name!r} has no domain column, so domain={domain!r} cannot be "
                "selected. Load it with domain_col=... first."
            )
        mask = self.domains.astype(str) == str(domain)
        if not mask.any():
            have = sorted(set(self.domains.astype(str)))
            raise DataError(f"No rows with domain {domain!r} in {self.name!r}; domains are {have}.")
        return self.subset(np.flatnonzero(mask), name=f"{self.name}:{domain}")

    def fingerprint(self) -> str:
        """A content hash of the inputs alone: features depend on inputs, not on labels."""
        if "fingerprint" in self.meta:
            return self.meta["fingerprint"]
        x = self.inputs
        if self.modality == "text":
            fp = hash_strings(x)
        elif isinstance(x, np.ndarray):
            fp = hash_array(x)
        elif self.modality == "image":
            fp = hash_files(x)
        elif self.modality == "audio":
            # The same samples at another rate are another sound.
            rate = self.meta.get("sample_rate")
            fp = hash_json([rate, *(hash_array(np.asarray(w)) for w in x)])
        else:
            fp = hash_array(np.asarray(x))
        self.meta["fingerprint"] = fp
        return fp

    def summary(self) -> dict[str, Any]:
        """Sizes and class balance, for the run record.

        For :attr:`labels`: ``n_classes`` and ``class_counts``, plus ``n_labelled`` when some
        rows have no label and ``multilabel`` / ``mean_labels_per_row`` for sets of labels.
        With several label columns, ``label_columns`` holds the same per column.
        """
        out: dict[str, Any] = {"name": self.name, "modality": self.modality, "n": len(self)}
        if self.labels is not None:
            out.update(_label_summary(self.labels, full=False))
        if self.label_columns is not None:
            out["label_columns"] = {
                k: _label_summary(v, full=True) for k, v in self.label_columns.items()
            }
        if self.domains is not None:
            vals, cnt = np.unique(self.domains.astype(str), return_counts=True)
            out["domains"] = {str(v): int(c) for v, c in zip(vals, cnt, strict=True)}
        return out


@dataclass
class DatasetSplits:
    """The splits of one source: ``train`` and ``test``, and ``val`` where the source has one."""

    train: Dataset
    test: Dataset | None = None
    val: Dataset | None = None
    name: str = "data"

    def __iter__(self):
        splits = (("train", self.train), ("val", self.val), ("test", self.test))
        yield from ((k, v) for k, v in splits if v is not None)

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}={len(v)}" for k, v in self)
        return f"DatasetSplits(name={self.name!r}, {parts})"


def _column(values: Any, n: int, what: str) -> np.ndarray:
    arr = label_array(values)
    if arr.ndim != 1 or len(arr) != n:
        raise DataError(
            f"Expected one label per input ({n} inputs) in the {what}; got shape {arr.shape}. "
            "Pass a 1-D sequence of the same length as the inputs."
        )
    return arr


def _columns(columns: Any, n: int) -> dict[str, np.ndarray] | None:
    if not isinstance(columns, dict) or not all(isinstance(k, str) and k for k in columns):
        keys = list(columns) if isinstance(columns, dict) else ""
        raise DataError(
            "Expected label_columns as a dict of column name (a non-empty str) -> labels; "
            f"got {type(columns).__name__} {keys}."
        )
    return {k: _column(v, n, f"label column {k!r}") for k, v in columns.items()} or None


def _map_columns(columns: dict[str, np.ndarray] | None, fn) -> dict[str, np.ndarray] | None:
    return None if columns is None else {k: fn(v) for k, v in columns.items()}


def _label_summary(values: np.ndarray, full: bool) -> dict[str, Any]:
    """Class counts of one label column; ``full`` always gives ``n_labelled``."""
    counts = count_labels(values)
    out: dict[str, Any] = {"n_classes": len(counts), "class_counts": counts}
    labelled = ~missing_mask(values)
    if full or not labelled.all():
        out["n_labelled"] = int(labelled.sum())
    if is_multilabel_column(values):
        out["multilabel"] = True
        n_labels = len(label_values(values[labelled]))
        out["mean_labels_per_row"] = round(n_labels / max(int(labelled.sum()), 1), 4)
    return out
