"""Classification metrics for records and reports."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["classification_metrics"]


def classification_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, classes: list[Any], proba: np.ndarray | None = None
) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class precision/recall/F1/support, confusion matrix, log-loss.

    ``y_true`` and ``y_pred`` are integer indices into ``classes``.
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    k = len(classes)
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    tp = np.diag(cm).astype(float)
    support = cm.sum(1)
    predicted = cm.sum(0)
    precision = np.divide(tp, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros(k), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(k), where=denom > 0)
    present = support > 0
    out: dict[str, Any] = {
        "n": int(len(y_true)),
        "accuracy": float((y_true == y_pred).mean()) if len(y_true) else float("nan"),
        "macro_f1": float(f1[present].mean()) if present.any() else float("nan"),
        "per_class": {
            str(c): {"precision": float(precision[i]), "recall": float(recall[i]),
                     "f1": float(f1[i]), "support": int(support[i])}
            for i, c in enumerate(classes)
        },
        "confusion_matrix": cm.tolist(),
        "labels": [str(c) for c in classes],
    }
    if proba is not None and len(y_true):
        p = np.clip(np.asarray(proba)[np.arange(len(y_true)), y_true], 1e-12, 1.0)
        out["log_loss"] = float(-np.log(p).mean())
    return out
