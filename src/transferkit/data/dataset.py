"""The in-memory dataset every loader returns and every strategy consumes.

Inputs by modality:

* ``text``: a list of ``str``.
* ``image``: either a list of file paths (decoded lazily, in batches) or a ``uint8`` array of
  shape ``(N, H, W)`` or ``(N, H, W, C)``; float arrays in ``[0, 1]`` are accepted too.
* ``tabular``: a ``float32`` array of shape ``(N, D)``.
* ``audio``: a list of 1-D ``float32`` waveforms, with ``meta["sample_rate"]``.

Labels are kept as given (strings or integers); the model owns the label encoding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..exceptions import DataError
from ..utils.fingerprint import hash_array, hash_files, hash_json, hash_strings

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
    """

    inputs: Any
    labels: np.ndarray | None = None
    modality: str = "text"
    name: str = "data"
    domains: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.modality not in MODALITIES:
            raise DataError(
                f"modality must be one of {MODALITIES}; got {self.modality!r}. "
                "Pass modality= explicitly, or use the loader for your kind of data."
            )
        n = len(self.inputs)
        if self.labels is not None:
            self.labels = np.asarray(self.labels)
            if self.labels.ndim != 1 or len(self.labels) != n:
                raise DataError(
                    f"Expected one label per input ({n} inputs); got labels of shape "
                    f"{self.labels.shape}. Pass a 1-D sequence of the same length as the inputs."
                )
        if self.domains is not None:
            self.domains = np.asarray(self.domains)
            if len(self.domains) != n:
                raise DataError(f"Expected one domain per input ({n}); got {len(self.domains)}.")

    def __len__(self) -> int:
        return len(self.inputs)

    def __repr__(self) -> str:
        lab = "unlabelled" if self.labels is None else f"{len(self.classes)} classes"
        return f"Dataset(name={self.name!r}, modality={self.modality!r}, n={len(self)}, {lab})"

    @property
    def has_labels(self) -> bool:
        return self.labels is not None

    @property
    def classes(self) -> np.ndarray:
        """Sorted unique labels."""
        if self.labels is None:
            return np.array([])
        return np.unique(self.labels)

    def class_counts(self) -> dict[Any, int]:
        if self.labels is None:
            return {}
        values, counts = np.unique(self.labels, return_counts=True)
        return {_plain(v): int(c) for v, c in zip(values, counts, strict=True)}

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
            domains=None if self.domains is None else self.domains[idx],
            name=name or self.name,
            # A cached fingerprint belongs to the parent's inputs, not to this subset's.
            meta={k: v for k, v in self.meta.items() if k != "fingerprint"},
        )

    def without_labels(self) -> Dataset:
        return replace(self, labels=None, meta=dict(self.meta))

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
            fp = hash_json([hash_array(np.asarray(w)) for w in x])
        else:
            fp = hash_array(np.asarray(x))
        self.meta["fingerprint"] = fp
        return fp

    def summary(self) -> dict[str, Any]:
        """Sizes and class balance, for the run record."""
        out: dict[str, Any] = {"name": self.name, "modality": self.modality, "n": len(self)}
        if self.labels is not None:
            out["n_classes"] = int(len(self.classes))
            out["class_counts"] = self.class_counts()
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


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v
