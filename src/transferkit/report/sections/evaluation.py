"""Final metrics: headline numbers, confusion matrix, top confusions, per-class scores."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import plots
from ..html import esc, figure, fmt, is_number, note, section, table

__all__ = ["render", "top_confusions"]

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


def _tiles(metrics: dict) -> str:
    names = [("accuracy", "accuracy"), ("macro_f1", "macro-F1"), ("log_loss", "log-loss"),
             ("n", "test examples")]
    tiles = [f'<div class="tile"><div class="v">{fmt(metrics[k])}</div>'
             f'<div class="k">{esc(label)}</div></div>'
             for k, label in names if is_number(metrics.get(k))]
    return f'<div class="tiles">{"".join(tiles)}</div>' if tiles else ""


def _confusion(metrics: dict) -> str:
    cm = metrics.get("confusion_matrix")
    if not isinstance(cm, list) or not cm:
        return ""
    k = len(cm)
    labels = [str(x) for x in metrics.get("labels") or range(k)]
    if len(labels) != k:
        labels = [str(i) for i in range(k)]
    parts = [figure(plots.confusion_heatmap(cm, labels),
                    f"Confusion matrix ({k} classes): rows are true classes, columns predictions; "
                    "colour is the share of each true class" + ("; cells show counts." if k <= 20
                                                              else "."))]
    conf = top_confusions(cm, labels, n=20 if k > MANY_CLASSES else 10)
    if conf:
        rows = [(esc(t), esc(p), fmt(c), f"{100 * s:.1f}%") for t, p, c, s in conf]
        parts.append("<h3>Top confusions</h3>" +
                     table(["true class", "predicted as", "count", "share of true class"], rows,
                           raw=True, cls="confusions"))
    elif k:
        parts.append(note("No confusions: every test example was classified correctly.", "good"))
    return "".join(parts)


def _per_class(metrics: dict) -> str:
    pc = metrics.get("per_class")
    if not isinstance(pc, dict) or not pc:
        return ""
    items = [(str(c), v) for c, v in pc.items() if isinstance(v, dict)]
    many = len(items) > MANY_CLASSES
    if many:  # the hardest classes are the ones a reader looks for
        items.sort(key=lambda cv: (cv[1].get("f1") if is_number(cv[1].get("f1")) else 2.0))
    rows = [(c, v.get("precision"), v.get("recall"), v.get("f1"), v.get("support"))
            for c, v in items]
    title = "Per-class precision, recall and F1" + (" (hardest first)" if many else "")
    return (f"<h3>{esc(title)}</h3>"
            f'<div class="scroll">{table(["class", "precision", "recall", "F1", "support"], rows)}'
            "</div>")


def render(record: dict) -> str:
    metrics = record.get("metrics")
    if not isinstance(metrics, dict) or not metrics:
        return ""
    body = _tiles(metrics) + _confusion(metrics) + _per_class(metrics)
    if not body:
        return ""
    return section("metrics", "Test metrics", body,
                   intro="Measured on held-out data the model never saw during fitting.")
