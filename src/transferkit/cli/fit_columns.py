"""``transferkit fit DATA --label-col a,b``: one shared encoder, one head per label column.

Several label columns of one table are several tasks on the same inputs; they train as a
:class:`~transferkit.MultiTaskClassifier` whose task names are the column names.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..data import DatasetSplits
from ..exceptions import ConfigError
from ..models import MultiTaskClassifier, TransferClassifier
from .common import echo
from .out import claim_out
from .params import param_kwargs

__all__ = ["has_several_label_columns", "multitask_from_columns", "column_tasks",
           "fit_columns_and_save", "save_multitask_run"]

#: strategies whose shared encoder trains by gradient: the only ones with one encoder, N heads
_SHARED_ENCODER_STRATEGIES = ("finetune",)


def has_several_label_columns(splits: DatasetSplits) -> bool:
    cols = splits.train.label_columns
    return cols is not None and len(cols) > 1


def column_tasks(data: Any) -> dict[str, Any]:
    """Label column name -> the rows labelled in it, as a single-label Dataset."""
    return {c: data.select_labels(c).labelled() for c in data.label_columns}


def multitask_from_columns(args: argparse.Namespace, splits: DatasetSplits
                           ) -> MultiTaskClassifier:
    """The multi-task model for the label columns, from ``fit``'s flags."""
    kwargs = param_kwargs(args, TransferClassifier)
    strategy = kwargs.pop("strategy", "probe")
    cols = list(splits.train.label_columns)
    if strategy not in _SHARED_ENCODER_STRATEGIES:
        raise ConfigError(
            f"Several label columns {cols} train one shared encoder with a head per column: "
            f"expected --strategy finetune, got {strategy!r}. Add --strategy finetune, or pick "
            f"one column with --label-col {cols[0]}.")
    known = set(MultiTaskClassifier._get_param_names())
    unused = sorted(k for k in kwargs if k not in known and k not in ("checkpoint_dir",))
    if unused:
        raise ConfigError(
            f"--{unused[0].replace('_', '-')} does not apply to several label columns (one "
            f"encoder, one head per column): expected only flags MultiTaskClassifier reads, "
            f"got {unused}. Drop it, or fit one column at a time.")
    return MultiTaskClassifier(**{k: v for k, v in kwargs.items() if k in known})


def save_multitask_run(model: MultiTaskClassifier, out: str, tests: dict[str, Any],
                       sources: dict[str, str], t0: float, overwrite: bool) -> dict[str, Any]:
    """Evaluate every task on its test rows and write the run (atomically, as fit does)."""
    tests = {n: d for n, d in tests.items() if d is not None}
    metrics = model.evaluate_tasks(tests) if tests else {}
    record = {
        "dataset": {"tasks": model.train_summary_, "sources": sources,
                    "test": {n: d.summary() for n, d in tests.items()}},
        "timings": {"fit_seconds": round(model.fit_seconds_, 3),
                    "total_seconds": round(time.perf_counter() - t0, 3)},
    }
    model.save(out, metrics=metrics, record=record, overwrite=overwrite)
    for name, m in (metrics.get("tasks") or {}).items():
        echo(f"  {name}: test accuracy {m['accuracy']:.4f}  macro-F1 {m['macro_f1']:.4f}  "
             f"(n={m['n']})")
    return metrics


def fit_columns_and_save(source: str, args: argparse.Namespace, out: str | None,
                         splits: DatasetSplits, t0: float) -> tuple[str, dict[str, Any]]:
    """``fit``'s path for several label columns: fit, evaluate per column, save the run."""
    if getattr(args, "group_by", None):
        raise ConfigError("--group-by scores one label column; got several "
                          f"{list(splits.train.label_columns)}. Drop --group-by, or pick one "
                          "column with --label-col.")
    model = multitask_from_columns(args, splits)
    name = Path(source.split(":")[0]).stem or "data"
    out = out or f"runs/{name}-multitask"
    with claim_out(args, out):
        tasks = column_tasks(splits.train)
        echo(f"fitting one encoder ({model.backbone}) with {len(tasks)} heads on "
             f"{splits.train.name}: " + ", ".join(f"{c} ({len(np.unique(d.labels))} classes)"
                                                  for c, d in tasks.items()))
        model.fit(tasks, val=None if splits.val is None else column_tasks(splits.val))
        tests = {} if splits.test is None else column_tasks(splits.test)
        metrics = save_multitask_run(model, out, tests, {c: source for c in tasks}, t0,
                                     bool(args.overwrite))
    return out, metrics
