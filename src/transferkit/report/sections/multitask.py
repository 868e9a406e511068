"""Multi-task runs: each task's numbers side by side, and which tasks fight over the encoder."""

from __future__ import annotations

from typing import Any

__all__ = ["prepare"]


def prepare(record: dict) -> dict[str, Any] | None:
    """Per-task table (classes, rows, share, loss weight, validation and test scores; micro-F1
    and subset accuracy for a multi-label task) and the gradient-conflict table; None for runs
    of other kinds."""
    mt = record.get("multitask")
    if not isinstance(mt, dict) or not isinstance(mt.get("tasks"), dict):
        return None
    tests = ((record.get("metrics") or {}).get("tasks") or {})
    rows = []
    for name, t in mt["tasks"].items():
        test = tests.get(name) or {}
        multi = bool(t.get("multilabel"))
        rows.append([name, f"{t.get('n_classes')} labels (multi-label)" if multi
                     else t.get("n_classes"), t.get("n_train"), t.get("share"),
                     t.get("loss_weight"), t.get("val_micro_f1" if multi else "val_accuracy"),
                     test.get("accuracy"), test.get("macro_f1"), test.get("micro_f1")])
    gc = mt.get("grad_conflict") or {}
    pairs = [[p, v.get("mean_cosine"), v.get("min_cosine"), v.get("negative_share"),
              v.get("samples")] for p, v in (gc.get("pairs") or {}).items()]
    return {"rows": rows, "pairs": pairs, "every": gc.get("every_steps"),
            "fighting": gc.get("fighting") or []}
