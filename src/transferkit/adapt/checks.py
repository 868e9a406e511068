"""Input checks of domain adaptation: compatible domains, label sets, target-label policy.

Each check raises :class:`~transferkit.exceptions.DataError` or
:class:`~transferkit.exceptions.ConfigError` saying what was expected, what arrived and how
to fix it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data.dataset import Dataset
from ..data.validate import unseen_labels
from ..exceptions import ConfigError, DataError

__all__ = ["check_domains", "check_label_subset", "pick_target_labels"]


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def check_domains(source: Dataset, target: Dataset) -> None:
    """Source and target must be non-empty, of one modality and (tabular) of one width."""
    if len(target) == 0:
        raise DataError(
            f"The target {target.name!r} is empty: adaptation needs target inputs (labels are "
            "not needed). Check the domain filter (e.g. ':domain=kitchen') or the file.")
    if len(source) == 0:
        raise DataError(f"The source {source.name!r} is empty: it needs labelled rows.")
    if source.labels is None:
        raise DataError(
            f"The source {source.name!r} has no labels; adaptation learns the task from "
            "labelled source rows. Load it with label_col=... (or a 'label' column).")
    if source.modality != target.modality:
        raise DataError(
            f"Source {source.name!r} is {source.modality} data but target {target.name!r} is "
            f"{target.modality}: both domains must have the same kind of inputs for one "
            "backbone to encode them.")
    if source.modality == "tabular":
        ds, dt = np.asarray(source.inputs).shape[1], np.asarray(target.inputs).shape[1]
        if ds != dt:
            raise DataError(
                f"Source {source.name!r} has {ds} feature columns but target {target.name!r} "
                f"has {dt}: both domains need the same columns in the same order. Select them "
                "with feature_cols=[...] when loading.")
    if source.modality == "image" and isinstance(source.inputs, np.ndarray) \
            and isinstance(target.inputs, np.ndarray):
        cs = source.inputs.shape[3] if source.inputs.ndim == 4 else 1
        ct = target.inputs.shape[3] if target.inputs.ndim == 4 else 1
        if (cs == 1) != (ct == 1):
            # Not an error (lenet converts to grey; RGB backbones expand grey) but worth saying.
            import logging

            logging.getLogger(__name__).info(
                "source images have %d channel(s), target images %d", cs, ct)


def check_label_subset(classes: np.ndarray, labels: np.ndarray, what: str = "target") -> None:
    """Every label in ``labels`` must be one of the source ``classes`` (target ⊂ source).

    The source may have classes the target lacks (partial adaptation is fine); the target may
    not have classes the source lacks: a classifier trained on the source cannot predict them.
    """
    n, listed, hint = unseen_labels(classes, labels, "source", what)
    if n:
        raise DataError(
            f"The {what} has {n} label(s) the source lacks: {listed}. The "
            f"source has {[_plain(c) for c in classes][:20]}.{hint} The target's classes must "
            "be a subset of the source's: drop those target rows or add source examples of "
            "those classes.")


def pick_target_labels(target: Dataset, mode: Any, classes: np.ndarray, seed: int
                       ) -> tuple[Dataset | None, np.ndarray | None, np.ndarray | None]:
    """Apply the ``target_labels`` policy; the only function that may read target labels.

    Args:
        target: the target data as given.
        mode: ``None``/``"none"`` (labels never read), ``"all"`` (every target row is a
            labelled training row), or an int ``k`` (``k`` seeded rows per class).
        classes: the source classes.
        seed: seeds the per-class sample.

    Returns:
        ``(labelled rows, their labels as class indices, their row numbers in target)``, or
        three ``None`` when no target label may be used.
    """
    if mode is None or (isinstance(mode, str) and mode.lower() == "none"):
        return None, None, None
    if isinstance(mode, bool) or not (mode == "all" or isinstance(mode, int | np.integer)):
        raise ConfigError(
            "The 'target_labels' parameter of DomainAdapter must be None (never read target "
            f"labels), 'all', or an int k >= 1 (k labelled rows per class). Got {mode!r} instead.")
    if target.labels is None:
        raise DataError(
            f"target_labels={mode!r} asks for labelled target rows but the target "
            f"{target.name!r} has no labels. Load it with label_col=... (on the command line: "
            "--target-labels COLUMN), or use target_labels=None.")
    check_label_subset(classes, target.labels, f"target {target.name!r}")
    if mode == "all":
        rows = np.arange(len(target))
    else:
        k = int(mode)
        if k < 1:
            raise ConfigError(f"target_labels must be >= 1 labelled rows per class; got {k}.")
        rng = np.random.default_rng(seed)
        rows_l = []
        for c in np.unique(target.labels):
            idx = np.flatnonzero(target.labels == c)
            rows_l.append(rng.permutation(idx)[: min(k, len(idx))])
        rows = np.sort(np.concatenate(rows_l))
    sub = target.subset(rows, name=f"{target.name}:labelled")
    return sub, np.searchsorted(classes, sub.labels), rows
