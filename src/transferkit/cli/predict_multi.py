"""``transferkit predict`` on a multi-task run: one prediction column per task.

A single-label task shows its top-k classes with their probabilities. A multi-label task
shows its predicted set of labels joined with ``|`` (the separator ``--label-sep`` reads),
then its top-k labels with their own probabilities.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np

__all__ = ["is_multitask", "predict_lines_per_task", "SET_SEP"]

#: joins a multi-label prediction: ``billing|urgent``
SET_SEP = "|"


def is_multitask(model: Any) -> bool:
    return hasattr(model, "task_classes_")


def _multilabel(model: Any, task: str) -> bool:
    return bool(getattr(model, "multilabel_", {}).get(task))


def predict_lines_per_task(model: Any, data: Any, shown: Any, args: argparse.Namespace,
                           write: Any) -> None:
    """Each input's top-k labels of every task (and a multi-label task's predicted set): a
    table column, or a JSON key, per task."""
    per_task, sets = {}, {}
    for task in model.task_names_:
        proba = model.predict_proba(data, task=task)
        k = max(1, min(args.top_k, proba.shape[1]))
        top = np.argsort(-proba, axis=1)[:, :k]
        per_task[task] = [[(str(model.task_classes_[task][j]), float(proba[i, j])) for j in row]
                          for i, row in enumerate(top)]
        if _multilabel(model, task):
            classes = model.task_classes_[task]
            keep = proba >= model.thresholds_[task]
            sets[task] = [SET_SEP.join(str(c) for c in classes[row]) for row in keep]
    for i in range(len(shown)):
        if args.json:
            out = {}
            for t, rows in per_task.items():
                scored = [{"label": lab, "probability": round(p, 6)} for lab, p in rows[i]]
                out[t] = {"labels": sets[t][i], "probabilities": scored} if t in sets else scored
            write(json.dumps({"input": str(shown[i]), "predictions": out}))
        else:
            cols = []
            for t, rows in per_task.items():
                scored = "  ".join(f"{lab} ({p:.3f})" for lab, p in rows[i])
                cols.append(f"{t}: {sets[t][i] or '(none)'} [{scored}]" if t in sets
                            else f"{t}: {scored}")
            write("\t".join(cols) + f"\t{str(shown[i])[:80]}")
