"""Multi-label data as 0/1 matrices, and the metrics of a multi-label task.

A multi-label row holds a set of labels (a sorted tuple, :mod:`transferkit.data.labels`);
here it becomes one row of a ``(N, K)`` 0/1 matrix over the task's ``K`` sorted labels.
Metrics follow scikit-learn's definitions (``f1_score(average="micro" | "macro")``,
``accuracy_score`` on label sets, ``hamming_loss``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..exceptions import DataError

__all__ = ["label_sets", "multi_hot", "sets_from_multi_hot", "multilabel_metrics", "micro_f1"]


def label_sets(values: Any) -> list[tuple]:
    """Each row's labels as a tuple: a set stays, a single label ``x`` becomes ``(x,)``."""
    return [tuple(v) if isinstance(v, tuple | list) else (v,) for v in values]


def multi_hot(values: Any, classes: np.ndarray, what: str) -> np.ndarray:
    """``(N, K)`` float32 0/1 matrix of ``values`` (label sets) over ``classes``.

    Raises:
        DataError: a label outside ``classes`` (named, with what to do).
    """
    index = {c: j for j, c in enumerate(classes.tolist())}
    sets = label_sets(values)
    unseen = sorted({str(x) for s in sets for x in s if x not in index})
    if unseen:
        raise DataError(f"{what} has label(s) never seen in training: {unseen[:10]}. Expected "
                        f"labels among the {len(classes)} of training ({classes.tolist()[:10]}"
                        f"{' ...' if len(classes) > 10 else ''}); evaluate on data with the "
                        "same label set, or drop those rows.")
    out = np.zeros((len(sets), len(classes)), dtype=np.float32)
    for i, s in enumerate(sets):
        out[i, [index[x] for x in s]] = 1.0
    return out


def sets_from_multi_hot(binary: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """An ``object`` array of label tuples, one per row of the 0/1 matrix ``binary``."""
    out = np.empty(len(binary), dtype=object)
    for i, row in enumerate(np.asarray(binary, dtype=bool)):
        out[i] = tuple(c.item() if isinstance(c, np.generic) else c for c in classes[row])
    return out


def micro_f1(tp: float, fp: float, fn: float) -> float:
    """``2 TP / (2 TP + FP + FN)`` over every (row, label) pair; 0 when there are none."""
    denom = 2 * tp + fp + fn
    return float(2 * tp / denom) if denom > 0 else 0.0


def multilabel_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: list[Any],
                       proba: np.ndarray | None = None, threshold: float = 0.5
                       ) -> dict[str, Any]:
    """Micro- and macro-F1, subset accuracy, Hamming loss and per-label scores.

    Args:
        y_true: ``(N, K)`` 0/1 true labels.
        y_pred: ``(N, K)`` 0/1 predicted labels.
        classes: the ``K`` label names.
        proba: ``(N, K)`` per-label probabilities, for the mean binary log-loss.
        threshold: the threshold that made ``y_pred``, recorded beside the scores.

    ``accuracy`` is the subset accuracy (every label of a row right), so that averages over
    tasks read one number per task; ``macro_f1`` averages the labels present in ``y_true``.
    """
    t = np.asarray(y_true, dtype=bool)
    p = np.asarray(y_pred, dtype=bool)
    tp = (t & p).sum(0).astype(float)
    fp = (~t & p).sum(0).astype(float)
    fn = (t & ~p).sum(0).astype(float)
    k = len(classes)
    precision = np.divide(tp, tp + fp, out=np.zeros(k), where=(tp + fp) > 0)
    recall = np.divide(tp, tp + fn, out=np.zeros(k), where=(tp + fn) > 0)
    denom = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, denom, out=np.zeros(k), where=denom > 0)
    support = t.sum(0)
    present = support > 0
    n = int(len(t))
    subset = float((t == p).all(1).mean()) if n else float("nan")
    out: dict[str, Any] = {
        "n": n,
        "multilabel": True,
        "threshold": float(threshold),
        "accuracy": subset,
        "subset_accuracy": subset,
        "micro_f1": micro_f1(tp.sum(), fp.sum(), fn.sum()),
        "macro_f1": float(f1[present].mean()) if present.any() else float("nan"),
        "hamming_loss": float((t != p).mean()) if n else float("nan"),
        "mean_labels_per_row": {"true": float(t.sum(1).mean()) if n else 0.0,
                                "predicted": float(p.sum(1).mean()) if n else 0.0},
        "per_class": {
            str(c): {"precision": float(precision[j]), "recall": float(recall[j]),
                     "f1": float(f1[j]), "support": int(support[j])}
            for j, c in enumerate(classes)
        },
        "labels": [str(c) for c in classes],
    }
    if proba is not None and n:
        q = np.clip(np.asarray(proba, dtype=np.float64), 1e-12, 1 - 1e-12)
        out["log_loss"] = float(-(t * np.log(q) + ~t * np.log(1 - q)).mean())
    return out
