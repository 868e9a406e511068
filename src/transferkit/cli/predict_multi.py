"""``transferkit predict`` on a multi-task run: one prediction column per task."""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np

__all__ = ["is_multitask", "predict_lines_per_task"]


def is_multitask(model: Any) -> bool:
    return hasattr(model, "task_classes_")


def predict_lines_per_task(model: Any, data: Any, shown: Any, args: argparse.Namespace,
                           write: Any) -> None:
    """Each input's top-k labels of every task: a table column, or a JSON key, per task."""
    per_task = {}
    for task in model.task_names_:
        proba = model.predict_proba(data, task=task)
        k = max(1, min(args.top_k, proba.shape[1]))
        top = np.argsort(-proba, axis=1)[:, :k]
        per_task[task] = [[(str(model.task_classes_[task][j]), float(proba[i, j])) for j in row]
                          for i, row in enumerate(top)]
    for i in range(len(shown)):
        if args.json:
            write(json.dumps({"input": str(shown[i]), "predictions": {
                t: [{"label": lab, "probability": round(p, 6)} for lab, p in rows[i]]
                for t, rows in per_task.items()}}))
        else:
            cols = "\t".join(f"{t}: " + "  ".join(f"{lab} ({p:.3f})" for lab, p in rows[i])
                             for t, rows in per_task.items())
            write(f"{cols}\t{str(shown[i])[:80]}")
