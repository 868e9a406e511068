"""``transferkit fit`` — fit a model on a dataset, evaluate it on held-out data, save the run."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..data import Dataset, DatasetSplits, train_test_split
from ..data.groups import leave_one_group_out, pool_splits
from ..engine.distributed import is_global_zero
from ..models import TransferClassifier
from ..strategies import STRATEGIES
from .common import add_data_args, add_group_arg, echo, load_source
from .fit_columns import fit_columns_and_save, needs_multitask_model
from .out import add_out_flags, claim_fit_out
from .params import add_param_flags, param_kwargs
from .report import add_report_flag, auto_report


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fit",
        help="fit a transfer model and save it as a run folder",
        description=(
            "Fit a model on SOURCE (a built-in dataset name such as 'banking77', a CSV/TSV/"
            "JSONL/Parquet file, or an image folder with one sub-folder per class), evaluate it "
            "on the source's test split (or a held-out part of it), and save the run folder."
        ),
    )
    p.add_argument("source", help="dataset name, file (file.csv:domain=NAME), or folder")
    add_out_flags(p, "run folder to write (default: runs/<source>-<strategy>)")
    p.add_argument("--test-size", type=float, default=0.2,
                   help="held-out fraction when the source has no test split (default 0.2)")
    p.add_argument("--config", help="YAML file of flag values (flags given here override it)")
    p.add_argument("--unlabelled", choices=("train", "test"), default=None,
                   help="give fit the texts of this split without their labels, for the "
                   "probe's --self-train: 'train' (semi-supervised; with --shots, the training "
                   "rows not sampled are unlabelled data) or 'test' (transductive: the "
                   "evaluation inputs themselves)")
    add_data_args(p)
    add_group_arg(p)
    add_param_flags(p, TransferClassifier)
    add_report_flag(p)
    p.set_defaults(func=run)


def split_source(obj: Dataset | DatasetSplits, test_size: float, seed: int) -> DatasetSplits:
    """Use the source's own test split, or hold out a stratified ``test_size`` of it."""

    if isinstance(obj, Dataset):
        return train_test_split(obj, test_size=test_size, seed=seed)
    if obj.test is None:
        s = train_test_split(obj.train, test_size=test_size, seed=seed)
        return DatasetSplits(train=s.train, test=s.test, val=obj.val, name=obj.name)
    return obj


def fit_and_save(source: str, args: argparse.Namespace, out: str | None
                 ) -> tuple[str, dict[str, Any]]:
    t0 = time.perf_counter()
    group_by = getattr(args, "group_by", None)
    loaded = load_source(source, args)
    # --group-by: all rows train the saved model; the metrics come from group folds.
    splits = (DatasetSplits(pool_splits(loaded), name=getattr(loaded, "name", "data"))
              if group_by else split_source(loaded, args.test_size, args.seed or 0))
    if needs_multitask_model(splits):  # one shared encoder, a head per column (or label sets)
        return fit_columns_and_save(source, args, out, splits, t0)
    kwargs = param_kwargs(args, TransferClassifier)
    model = TransferClassifier(**kwargs)
    name = Path(source.split(":")[0]).stem or "data"
    # --resume RUN continues that run and writes it.
    out = out or model.resume or f"runs/{name}-{model.strategy}"
    engine = getattr(STRATEGIES.get(model.strategy), "uses_engine", False)
    with claim_fit_out(args, model, out, checkpoints=engine) as overwrite:
        metrics = _fit(model, splits, source, t0, out, overwrite=overwrite,
                       unlabelled=getattr(args, "unlabelled", None), group_by=group_by)
    return out, metrics


def group_metrics(model: TransferClassifier, data: Dataset, group_by: str) -> dict[str, Any]:
    """Leave-one-group-out scores of ``model``'s settings on ``data``: a fresh copy is fitted
    on all groups but one and scored on that one, for each group in turn. ``accuracy`` is
    over every held-out row; ``macro_f1`` the mean over groups; ``folds`` per group."""
    from sklearn.base import clone

    folds, correct, n = [], 0.0, 0
    for group, train, test in leave_one_group_out(data, group_by):
        m = clone(model).set_params(checkpoint_dir=None).fit(train).evaluate(test)
        folds.append({"group": group, "n": len(test), "accuracy": float(m["accuracy"]),
                      "macro_f1": float(m["macro_f1"])})
        correct += m["accuracy"] * len(test)
        n += len(test)
        echo(f"  held out {group_by}={group}: accuracy {m['accuracy']:.4f} (n={len(test)})")
    return {"accuracy": correct / n, "macro_f1": float(np.mean([f["macro_f1"] for f in folds])),
            "n": n, "protocol": f"leave-one-{group_by}-out", "group_by": group_by,
            "folds": folds}


def _fit(model: TransferClassifier, splits: DatasetSplits, source: str, t0: float, out: str,
         overwrite: bool, unlabelled: str | None = None, group_by: str | None = None
         ) -> dict[str, Any]:
    splits.train.require_single_labels("transferkit fit")  # before "fitting ... N classes"
    shots = f" ({model.shots} per class used)" if model.shots else ""
    uses = getattr(STRATEGIES.get(model.strategy), "uses_backbone", True)
    with_ = f"with {model.backbone}" if uses else "(no pre-trained weights)"
    echo(f"fitting {model.strategy} {with_} on {splits.train.name}: "
         f"{len(splits.train)} training examples{shots}, {len(splits.train.classes)} classes")
    pool = {"train": splits.train, "test": splits.test}.get(unlabelled or "")
    model.fit(splits.train, val=splits.val,
              unlabelled=None if pool is None else pool.without_labels())
    if not is_global_zero():  # under torchrun, rank 0 alone evaluates and writes the run
        return {}
    folds = None
    if group_by:  # after the whole fit: the folds take their features from its encoding
        echo(f"leave-one-{group_by}-out over {splits.train.name}:")
        folds = group_metrics(model, splits.train, group_by)
    metrics = folds if folds is not None else (
        model.evaluate(splits.test) if splits.test is not None else {})
    record = {
        # With --shots the model saw a sample of the training split: record what it saw.
        "dataset": {"train": getattr(model, "train_summary_", None) or splits.train.summary(),
                    "test": None if splits.test is None else splits.test.summary(),
                    "source": source,
                    # Inputs given to fit without labels: 'test' makes the fit transductive.
                    "unlabelled": None if pool is None else {"split": unlabelled,
                                                             "n": len(pool)}},
        "timings": {"fit_seconds": round(model.fit_seconds_, 3),
                    "total_seconds": round(time.perf_counter() - t0, 3)},
    }
    model.save(out, metrics=metrics, record=record, overwrite=overwrite)
    return metrics


def task_means(metrics: dict[str, Any]) -> str:
    subset = any(m.get("multilabel") for m in metrics["tasks"].values())
    what = "accuracy (subset accuracy for a multi-label task)" if subset else "accuracy"
    return f"{what} {metrics['accuracy']:.4f}  macro-F1 {metrics['macro_f1']:.4f}"


def run(args: argparse.Namespace) -> int:
    out, metrics = fit_and_save(args.source, args, args.out)
    if not is_global_zero():
        return 0
    if metrics.get("averaged_over") == "tasks":  # several heads: each was shown above
        echo(f"mean over {len(metrics['tasks'])} tasks: {task_means(metrics)}")
    elif metrics:
        echo(f"test accuracy {metrics['accuracy']:.4f}  macro-F1 {metrics['macro_f1']:.4f}  "
             f"(n={metrics['n']})")
    echo(f"saved run to {out}")
    auto_report(args, out)
    return 0
