"""Several labelled source domains for one target: their union, and which row came from where.

Multi-source adaptation fits on the *union* of the sources, so every single-source method
works on it unchanged; the source each row came from travels in the union's ``domains``
column (the source's name), and the multi-source methods (:mod:`~transferkit.adapt.multisource`
and the ``m3sda`` deep method) read it through :attr:`AdaptContext.source_ids
<transferkit.adapt.AdaptContext.source_ids>`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from ..data.dataset import Dataset
from ..exceptions import DataError

__all__ = ["union_of_sources", "source_names_of", "source_ids_of"]


def _unique_names(sources: Sequence[Dataset]) -> list[str]:
    """The sources' names, made distinct (``books``, ``books-2``) when two share one."""
    names: list[str] = []
    for ds in sources:
        base = str(ds.name) or "source"
        name, k = base, 2
        while name in names:
            name, k = f"{base}-{k}", k + 1
        names.append(name)
    return names


def _check_sources(sources: Sequence[Dataset], names: list[str]) -> None:
    first = sources[0]
    for ds, name in zip(sources, names, strict=True):
        if len(ds) == 0:
            raise DataError(f"The source {name!r} is empty: every source needs labelled rows. "
                            "Check its domain filter or file, or leave it out.")
        if ds.labels is None:
            raise DataError(
                f"The source {name!r} has no labels; each source teaches the task with "
                "labelled rows. Load it with label_col=... (or a 'label' column), or pass it "
                "as target data instead.")
        if ds.modality != first.modality:
            raise DataError(
                f"The sources mix kinds of data: {names[0]!r} is {first.modality}, {name!r} is "
                f"{ds.modality}. One backbone encodes every source and the target: give "
                "sources of one modality.")
        if ds.modality in ("tabular", "image") and isinstance(ds.inputs, np.ndarray) \
                and isinstance(first.inputs, np.ndarray) \
                and ds.inputs.shape[1:] != first.inputs.shape[1:]:
            raise DataError(
                f"The sources' inputs differ in shape: {names[0]!r} rows are "
                f"{first.inputs.shape[1:]}, {name!r} rows are {ds.inputs.shape[1:]}. Give every "
                "source the same columns (tabular) or image size (resize the images).")
    classes = [set(np.unique(ds.labels).tolist()) for ds in sources]
    if len(sources) == 2 and not classes[0] & classes[1]:
        raise DataError(
            f"The sources {names[0]!r} and {names[1]!r} share no label: {names[0]!r} has "
            f"{sorted(map(str, classes[0]))[:10]}, {names[1]!r} has "
            f"{sorted(map(str, classes[1]))[:10]}. Sources of one adaptation must label the "
            "same task: check the label columns or label names.")
    for i, (own, name) in enumerate(zip(classes, names, strict=True)):
        others = set().union(*(c for j, c in enumerate(classes) if j != i))
        if not own & others:
            raise DataError(
                f"The source {name!r} shares no label with the other sources: it has "
                f"{sorted(map(str, own))[:10]}, the others have {sorted(map(str, others))[:10]}. "
                "Sources of one adaptation must label the same task: check its label column "
                "or label names, or leave it out.")


def union_of_sources(sources: Sequence[Dataset]) -> Dataset:
    """One labelled dataset holding every source's rows, each row's ``domains`` entry naming
    the source it came from.

    Raises:
        DataError: an empty or unlabelled source, sources of different modalities or input
            shapes, or a source whose labels share no class with the other sources (named).
    """
    sources = list(sources)
    if not sources:
        raise DataError("Expected at least one source dataset; got an empty list.")
    names = _unique_names(sources)
    _check_sources(sources, names)
    first = sources[0]
    if isinstance(first.inputs, np.ndarray):
        inputs = np.concatenate([np.asarray(ds.inputs) for ds in sources])
    else:
        inputs = [x for ds in sources for x in ds.inputs]
    labels = np.concatenate([np.asarray(ds.labels, dtype=object) for ds in sources])
    kinds = {type(v) for v in labels.tolist()}
    if len(kinds) == 1 and kinds <= {int, np.int64, float, str, np.str_}:
        labels = np.asarray(labels.tolist())  # back to a plain numeric or string array
    domains = np.concatenate([np.full(len(ds), name, dtype=object)
                              for ds, name in zip(sources, names, strict=True)])
    return replace(first, inputs=inputs, labels=labels, label_columns=None, domains=domains,
                   name="+".join(names), meta={"sources": names})


def source_names_of(data: Dataset) -> list[str] | None:
    """The source names of a union built by :func:`union_of_sources` (``None`` for one
    source)."""
    names = data.meta.get("sources")
    return list(names) if names else None


def source_ids_of(data: Dataset, names: Sequence[str]) -> np.ndarray:
    """Each row's source as an index into ``names`` (rows of a union or of its subsets)."""
    if data.domains is None:
        raise DataError(f"internal: {data.name!r} carries no source names per row.")
    lookup = {n: i for i, n in enumerate(names)}
    return np.asarray([lookup[str(d)] for d in data.domains], dtype=np.int64)
