"""The tasks of a :class:`~transferkit.MultiTaskClassifier`: their names, their label columns
(single labels or sets of labels) encoded for the heads, and the data bookkeeping of a fit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..backbones.base import Backbone
from ..data import Dataset
from ..data.labels import missing_mask
from ..evaluation import label_sets, multi_hot
from ..exceptions import ConfigError, DataError
from ..utils.fingerprint import hash_array

__all__ = ["THRESHOLD", "check_task_names", "check_tasks", "task_labels", "encode_labels",
           "identity", "best_value", "concat"]


def check_task_names(names: list[str]) -> None:
    """Task names: non-empty strings, each once."""
    bad = [n for n in names if not isinstance(n, str) or not n.strip()]
    if bad:
        raise ConfigError(f"Task names must be non-empty strings; got {bad!r}. Name each task, "
                          "e.g. tasks={'intent': ds1, 'sentiment': ds2}.")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"Duplicate task name(s) {dup}: expected each task once, got {names}. "
                          "Give each task its own name (name=spec on the command line).")


def check_tasks(owner: str, value: Any) -> None:
    if value is None:
        return
    pairs = list(value.items()) if isinstance(value, Mapping) else value
    if not isinstance(pairs, list | tuple) or not all(
            isinstance(p, tuple | list) and len(p) == 2 for p in pairs):
        raise ConfigError(f"The 'tasks' parameter of {owner} must be a dict task name -> "
                          f"labelled Dataset (or a list of (name, Dataset) pairs). Got "
                          f"{type(value).__name__} instead.")
    check_task_names([p[0] for p in pairs])


def task_labels(name: str, data: Dataset) -> tuple[np.ndarray, bool]:
    """A task's classes (its labels, for a multi-label task) and whether it is multi-label;
    refuses a task with nothing to learn: one class, or one label set on every row."""
    multilabel = data.is_multilabel()
    if multilabel:
        missing = int(missing_mask(data.labels).sum())
        if missing:
            raise DataError(
                f"Task {name!r}: expected a label set on every row, got {missing} of "
                f"{len(data)} rows without one. Drop them (data.labelled()) or fill them in.")
        sets = set(label_sets(data.labels))
        if len(sets) < 2:
            raise DataError(
                f"Task {name!r} is multi-label but every row has the same label set "
                f"{sets.pop()!r}: expected at least 2 different sets to learn anything, got 1. "
                "Drop the task, or give it rows with other labels.")
        return data.classes, True
    data.require_single_labels(f"MultiTaskClassifier task {name!r}")
    classes = np.unique(data.labels)
    if len(classes) < 2:
        raise DataError(
            f"Task {name!r} has one class ({classes[0]!r}): expected at least 2 to learn "
            "anything, got 1. Drop the task, or give it rows of other classes.")
    return classes, False


#: the probability from which a multi-label task predicts a label
THRESHOLD = 0.5


def encode_labels(classes: np.ndarray, multilabel: bool, data: Dataset, what: str
                   ) -> np.ndarray:
    """``data``'s labels as class indices ``(N,)``, or for a multi-label task as a 0/1 matrix
    ``(N, labels)`` (a single label on a row is a set of one)."""
    if multilabel:
        return multi_hot(data.labels, classes, what)
    if data.is_multilabel():
        example = next(v for v in data.labels if isinstance(v, tuple))
        raise DataError(f"{what} holds sets of labels (e.g. {example!r}), but the task learned "
                        "one label per row: expected one label per row. Give it its "
                        "single-label column, or load it without label_sep=.")
    labels = np.asarray(data.labels)
    unseen = sorted({str(v) for v in labels if v not in set(classes.tolist())})
    if unseen:
        raise DataError(f"{what} has label(s) never seen in training: {unseen[:10]}. "
                        f"Expected labels among {len(classes)} classes; evaluate on data "
                        "with the same label set, or drop those rows.")
    return np.searchsorted(classes, labels)


def identity(bb: Backbone, pairs: list[tuple[str, Dataset, Dataset | None]],
              classes: dict[str, np.ndarray], multilabel: dict[str, bool]) -> dict[str, Any]:
    """What a run is, for its checkpoints: a resume must match it."""
    tasks = {n: {"n": len(d), "fingerprint": d.fingerprint(),
                 "labels": hash_array(np.asarray([str(v) for v in d.labels])),
                 "classes": [str(c) for c in classes[n]],
                 "multilabel": bool(multilabel[n])} for n, d, _ in pairs}
    joint = hash_array(np.asarray([f"{n}:{t['fingerprint']}:{t['labels']}"
                                   for n, t in tasks.items()]))
    return {"backbone": {"spec": str(bb.name), "fingerprint": bb.fingerprint()},
            "data": {"n": sum(t["n"] for t in tasks.values()), "fingerprint": joint},
            "tasks": tasks, "strategy": "multitask"}


def best_value(history: list[dict[str, Any]], key: str) -> float | None:
    """The value of ``key`` at the best epoch (else the last epoch holding it)."""
    best = [h[key] for h in history if h.get("is_best") and key in h]
    if best:
        return best[-1]
    vals = [h[key] for h in history if key in h]
    return vals[-1] if vals else None


def concat(parts: list[Any]) -> Any:
    if all(isinstance(p, np.ndarray) for p in parts):
        return np.concatenate(parts)
    return [x for p in parts for x in p]

