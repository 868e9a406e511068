"""``transferkit fit DATA --label-col a,b``: one shared encoder, one head per label column.

Several label columns of one table are several tasks on the same inputs; they train as a
:class:`~transferkit.MultiTaskClassifier` whose task names are the column names. A column of
label sets (``--label-sep``) is a multi-label task, so it takes this path too, alone or
beside other columns.
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
from .out import claim_fit_out
from .params import param_kwargs

__all__ = ["has_several_label_columns", "needs_multitask_model", "multitask_from_columns",
           "column_tasks", "fit_columns_and_save", "save_multitask_run"]

#: strategies whose shared encoder trains by gradient: the only ones with one encoder, N heads
_SHARED_ENCODER_STRATEGIES = ("finetune",)


def has_several_label_columns(splits: DatasetSplits) -> bool:
    cols = splits.train.label_columns
    return cols is not None and len(cols) > 1


def needs_multitask_model(splits: DatasetSplits) -> bool:
    """Several label columns, or a column of label sets: a MultiTaskClassifier's job."""
    train = splits.train
    return has_several_label_columns(splits) or any(train.is_multilabel(c)
                                                    for c in train.label_names)


def column_tasks(data: Any) -> dict[str, Any]:
    """Label column name -> the rows labelled in it, as a one-column Dataset."""
    return {c: data.select_labels(c).labelled() for c in data.label_names}


def multitask_from_columns(args: argparse.Namespace, splits: DatasetSplits
                           ) -> MultiTaskClassifier:
    """The multi-task model for the label columns, from ``fit``'s flags."""
    kwargs = param_kwargs(args, TransferClassifier)
    strategy = kwargs.pop("strategy", "probe")
    cols = list(splits.train.label_names)
    multi = [c for c in cols if splits.train.is_multilabel(c)]
    if strategy not in _SHARED_ENCODER_STRATEGIES:
        what = (f"Several label columns {cols} train one shared encoder with a head per column"
                if len(cols) > 1 else
                f"The multi-label column {cols[0]!r} trains a head with one sigmoid per label "
                "on a fine-tuned encoder")
        single = [c for c in cols if c not in multi]
        fix = (f", or pick one column with --label-col {single[0]}" if single else
               ", or load one label per row (without --label-sep)")
        raise ConfigError(f"{what}: expected --strategy finetune, got {strategy!r}. Add "
                          f"--strategy finetune{fix}.")
    known = set(MultiTaskClassifier._get_param_names())
    unused = sorted(k for k in kwargs if k not in known)
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
        if m.get("multilabel"):
            echo(f"  {name}: test micro-F1 {m['micro_f1']:.4f}  macro-F1 {m['macro_f1']:.4f}  "
                 f"subset accuracy {m['subset_accuracy']:.4f}  Hamming loss "
                 f"{m['hamming_loss']:.4f}  (n={m['n']}, multi-label)")
        else:
            echo(f"  {name}: test accuracy {m['accuracy']:.4f}  macro-F1 {m['macro_f1']:.4f}  "
                 f"(n={m['n']})")
    return metrics


def fit_columns_and_save(source: str, args: argparse.Namespace, out: str | None,
                         splits: DatasetSplits, t0: float) -> tuple[str, dict[str, Any]]:
    """``fit``'s path for several label columns (or label sets): fit, evaluate per column,
    save the run; ``--resume RUN`` continues an interrupted one from its checkpoints."""
    cols = list(splits.train.label_names)
    if getattr(args, "group_by", None):
        raise ConfigError(f"--group-by scores one single-label column; got {cols} (several, or "
                          "sets of labels). Drop --group-by, or pick one single-label column "
                          "with --label-col.")
    model = multitask_from_columns(args, splits)
    name = Path(source.split(":")[0]).stem or "data"
    out = out or model.resume or f"runs/{name}-multitask"
    with claim_fit_out(args, model, out) as overwrite:
        tasks = column_tasks(splits.train)
        echo(f"fitting one encoder ({model.backbone}) with {len(tasks)} heads on "
             f"{splits.train.name}: " + ", ".join(_describe(c, d) for c, d in tasks.items()))
        model.fit(tasks, val=None if splits.val is None else column_tasks(splits.val))
        tests = {} if splits.test is None else column_tasks(splits.test)
        metrics = save_multitask_run(model, out, tests, {c: source for c in tasks}, t0,
                                     overwrite)
    return out, metrics


def _describe(column: str, data: Any) -> str:
    if data.is_multilabel():
        return f"{column} ({len(data.classes)} labels, multi-label)"
    return f"{column} ({len(np.unique(data.labels))} classes)"
