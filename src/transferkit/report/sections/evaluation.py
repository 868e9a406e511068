"""Final metrics: headline numbers, confusion matrix, top confusions, per-class scores."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import plots
from ..formatting import is_number

__all__ = ["prepare", "top_confusions"]

MANY_CLASSES = 20


def top_confusions(cm: Any, labels: list[str], n: int = 10) -> list[tuple[str, str, int, float]]:
    """The ``n`` largest off-diagonal cells: ``(true, predicted, count, share of true class)``."""
    m = np.asarray(cm, dtype=np.int64)
    off = m.copy()
    np.fill_diagonal(off, 0)
    flat = np.argsort(off, axis=None, kind="stable")[::-1][:n]
    rows = []
    support = m.sum(1)
    for idx in flat:
        i, j = np.unravel_index(idx, m.shape)
        if off[i, j] <= 0:
            break
        rows.append((labels[i], labels[j], int(off[i, j]), float(off[i, j] / max(support[i], 1))))
    return rows


TILES = [("accuracy", "accuracy"), ("macro_f1", "macro-F1"), ("log_loss", "log-loss"),
         ("n", "test examples")]


def _confusion(metrics: dict) -> dict[str, Any] | None:
    """The confusion matrix as a heat map, and its largest off-diagonal cells."""
    cm = metrics.get("confusion_matrix")
    if not isinstance(cm, list) or not cm:
        return None
    k = len(cm)
    labels = [str(x) for x in metrics.get("labels") or range(k)]
    if len(labels) != k:
        labels = [str(i) for i in range(k)]
    return {"k": k, "plot": plots.confusion_heatmap(cm, labels),
            "top": top_confusions(cm, labels, n=20 if k > MANY_CLASSES else 10)}


def _per_class(metrics: dict) -> dict[str, Any] | None:
    """Precision, recall, F1 and support per class; the hardest first when there are many."""
    pc = metrics.get("per_class")
    if not isinstance(pc, dict) or not pc:
        return None
    items = [(str(c), v) for c, v in pc.items() if isinstance(v, dict)]
    many = len(items) > MANY_CLASSES
    if many:  # the hardest classes are the ones a reader looks for
        items.sort(key=lambda cv: (cv[1].get("f1") if is_number(cv[1].get("f1")) else 2.0))
    return {"hardest_first": many,
            "rows": [(c, v.get("precision"), v.get("recall"), v.get("f1"), v.get("support"))
                     for c, v in items]}


def prepare(record: dict) -> dict[str, Any] | None:
    """Headline numbers, the confusion matrix and per-class scores; None without metrics."""
    metrics = record.get("metrics")
    if not isinstance(metrics, dict) or not metrics:
        return None
    data = {"tiles": [(metrics[k], label) for k, label in TILES if is_number(metrics.get(k))],
            "confusion": _confusion(metrics), "per_class": _per_class(metrics)}
    return data if any(data.values()) else None
