"""Build a multi-task job on the training engine and run it.

What fine-tuning decides for one task, decided once for the shared encoder: which layer
groups train (``unfreeze``, ``freeze_pattern``, gradual ``schedule``), at which rates
(``lr`` for the heads, ``lr * backbone_lr_mult * layer_decay**d`` below), and whether the
frozen lower groups run once on cached states (:mod:`transferkit.backbones.split`) instead of
at every step. The engine (:func:`~transferkit.engine.train`: Fabric, DDP, precision,
schedules, early stopping) runs it unchanged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ...backbones.split import split_below, states_fit_budget
from ...engine import (
    ExampleData,
    Freezer,
    TrainConfig,
    build_param_groups,
    find_checkpoint,
    plan_freezing,
    train,
)
from ...heads.base import holdout_split
from ...heads.torch_heads import make_torch_head
from .sampling import MultiTaskExamples, task_shares
from .task import MultiTaskModule, MultiTaskTrainingTask
from .weighting import LossWeights

__all__ = ["TaskData", "MultiTaskFit", "split_validation", "fit_multitask", "monitor_key"]

log = logging.getLogger(__name__)

# Settings a resumed run must share with the interrupted one.
_IDENTITY_KEYS = ("unfreeze", "freeze_pattern", "schedule", "epochs", "lr", "backbone_lr_mult",
                  "layer_decay", "lr_schedule", "warmup", "weight_decay", "patience",
                  "grad_accum", "batch_size", "seed", "head", "sampling", "temperature",
                  "batches", "loss_weights", "monitor", "conflict_every")


@dataclass
class TaskData:
    """One task's rows: inputs, labels, class count, and validation rows (or none).

    ``y`` (and ``y_val``) hold class indices ``(N,)`` for a single-label task, a 0/1 matrix
    ``(N, n_classes)`` for a multi-label one.
    """

    name: str
    inputs: Any
    y: np.ndarray
    n_classes: int
    val_inputs: Any = None
    y_val: np.ndarray | None = None
    val_note: str = ""

    @property
    def n_val(self) -> int:
        return 0 if self.y_val is None else len(self.y_val)

    @property
    def multilabel(self) -> bool:
        return np.ndim(self.y) == 2


@dataclass
class MultiTaskFit:
    """What a multi-task fit hands back to its estimator."""

    module: MultiTaskModule
    history: list[dict[str, Any]]
    summary: dict[str, Any] = field(default_factory=dict)


def split_validation(name: str, data: Any, y: np.ndarray, n_classes: int, seed: int,
                     val: Any = None, y_val: np.ndarray | None = None) -> TaskData:
    """A task's validation rows: those given, else 10% held out when the task has at least
    20 examples per class and 100 in all (the fine-tuning rule), else none. Single-label
    rows are held out stratified by class; multi-label rows (``y`` a 0/1 matrix) at random."""
    if val is not None:
        return TaskData(name, data.inputs, y, n_classes, val.inputs, y_val,
                        f"given ({len(val)} rows)")
    if len(y) >= 20 * n_classes and len(y) >= 100:
        if np.ndim(y) == 2:
            order = np.random.default_rng([int(seed), 0x3A1]).permutation(len(y))
            n_hold = max(1, round(0.1 * len(y)))
            fit_idx, hold_idx = np.sort(order[n_hold:]), np.sort(order[:n_hold])
            how = "at random"
        else:
            fit_idx, hold_idx = (np.sort(i) for i in holdout_split(y, 0.1, seed))
            how = "stratified"
        sub, held = data.subset(fit_idx), data.subset(hold_idx)
        return TaskData(name, sub.inputs, y[fit_idx], n_classes, held.inputs, y[hold_idx],
                        f"held out 10% of train ({len(hold_idx)} rows, {how})")
    return TaskData(name, data.inputs, y, n_classes, None, None,
                    f"none: {len(y)} examples for {n_classes} classes is below 20 per class")


def _concat(parts: list[Any]) -> Any:
    if all(isinstance(p, np.ndarray) for p in parts):
        return np.concatenate(parts)
    return [x for p in parts for x in p]


def _examples(backbone: Any, split: Any, inputs: Any, labels: np.ndarray,
              batch_size: int) -> ExampleData:
    if split is not None:  # the frozen lower groups run once, here
        return split.examples(split.encode(inputs, batch_size=max(batch_size, 64)), labels)
    return ExampleData(inputs, labels, backbone.preprocess, backbone.input_lengths(inputs))


def monitor_key(tasks: list[TaskData], monitor: str) -> str:
    """The history key that picks the best epoch: a task's accuracy (micro-F1 when it is
    multi-label), or the mean over tasks (``val_mean_score`` once a task is multi-label)."""
    if monitor == "mean":
        return ("val_mean_score" if any(t.multilabel for t in tasks)
                else "val_mean_accuracy")
    multi = any(t.name == monitor and t.multilabel for t in tasks)
    return f"val_{monitor}_{'micro_f1' if multi else 'accuracy'}"


def _labels_and_targets(tasks: list[TaskData]
                        ) -> tuple[np.ndarray, np.ndarray | None, dict[int, np.ndarray]]:
    """The engine's integer labels (train, val) and the multi-label tasks' 0/1 targets.

    A multi-label task's rows carry their row number in its target matrix (training rows
    first, then its validation rows), so that all tasks travel as one integer column.
    """
    train_y, val_y, targets = [], [], {}
    for i, t in enumerate(tasks):
        if t.multilabel:
            targets[i] = t.y if not t.n_val else np.concatenate([t.y, t.y_val])
            train_y.append(np.arange(len(t.y)))
            if t.n_val:
                val_y.append(len(t.y) + np.arange(t.n_val))
        else:
            train_y.append(np.asarray(t.y))
            if t.n_val:
                val_y.append(np.asarray(t.y_val))
    return (np.concatenate(train_y).astype(np.int64),
            np.concatenate(val_y).astype(np.int64) if val_y else None, targets)


def fit_multitask(backbone: Any, tasks: list[TaskData], s: Any,
                  identity: dict[str, Any] | None = None) -> MultiTaskFit:
    """Train one encoder and a head per task; ``s`` holds the resolved settings.

    With ``s.checkpoint_dir`` every epoch is checkpointed there (module: encoder, every head
    and the loss weights; optimiser; history); ``s.resume`` continues such a run after
    checking that ``identity`` (backbone, data, settings) matches the recorded one.
    """
    seed = int(s.seed)
    plan = plan_freezing(backbone, s.unfreeze, s.freeze_pattern)
    freezer = Freezer(backbone, plan, s.schedule)
    freezer.apply(0)
    names = [t.name for t in tasks]
    train_inputs = _concat([t.inputs for t in tasks])
    train_y, val_y, targets = _labels_and_targets(tasks)
    train_task = np.concatenate([np.full(len(t.y), i) for i, t in enumerate(tasks)])
    with_val = [t for t in tasks if t.n_val]
    val_inputs = _concat([t.val_inputs for t in with_val]) if with_val else None
    split = None
    if s.schedule == "none":
        split = split_below(backbone, plan, devices=int(s.devices))
        sized = [train_inputs] + ([val_inputs] if with_val else [])
        if split is not None and not states_fit_budget(
                sum(split.estimate_nbytes(x) for x in sized)):
            split = None
    encoder = backbone if split is None else split.top
    bs = int(s.batch_size)
    base = _examples(backbone, split, train_inputs, train_y, bs)
    shares = task_shares([len(t.y) for t in tasks], s.sampling, float(s.temperature))
    train_data = MultiTaskExamples(base, train_task, shares, batch_size=bs, seed=seed,
                                   batches=s.batches)
    val_data = None
    if with_val:
        val_task = np.concatenate([np.full(t.n_val, names.index(t.name)) for t in with_val])
        val_data = MultiTaskExamples(_examples(backbone, split, val_inputs, val_y, bs), val_task)
    heads = {t.name: make_torch_head(s.head, backbone.num_features, t.n_classes,
                                     seed=seed + i) for i, t in enumerate(tasks)}
    weights = LossWeights(names, s.loss_weights)
    module = MultiTaskModule(encoder, heads, [t.n_classes for t in tasks], weights)
    wd = float(s.weight_decay)
    groups = build_param_groups(freezer.candidates(), plan.all_groups, module.heads,
                                lr=float(s.lr), backbone_lr_mult=float(s.backbone_lr_mult),
                                layer_decay=float(s.layer_decay), weight_decay=wd)
    if weights.log_vars is not None:
        groups.append({"name": "loss_weights", "params": [weights.log_vars], "lr": float(s.lr),
                       "base_lr": float(s.lr), "weight_decay": 0.0})
    task = MultiTaskTrainingTask(module, groups, freezer, train_data,
                                 [t.n_val for t in tasks], int(s.conflict_every), targets)
    monitor = monitor_key(tasks, s.monitor)
    resume = s.get("resume")
    ckpt_dir = s.get("checkpoint_dir")
    if resume and not ckpt_dir:
        ckpt_dir = str(find_checkpoint(resume).parent)
    identity = dict(identity or {}) if (ckpt_dir or resume) else {}
    if identity:
        identity["settings"] = {k: s.get(k) for k in _IDENTITY_KEYS}
        identity["cached_frozen_part"] = split is not None  # its checkpoints hold the top alone
    config = TrainConfig(
        epochs=int(s.epochs), batch_size=bs, accumulate=int(s.grad_accum),
        precision=str(s.precision), devices=int(s.devices), seed=seed,
        monitor=monitor, mode="max", patience=s.patience, lr_schedule=str(s.lr_schedule),
        warmup=float(s.warmup), progress=bool(s.progress),
        checkpoint_dir=None if ckpt_dir is None else str(ckpt_dir),
        resume=None if not resume else str(resume), identity=identity)
    if s.monitor != "mean" and not any(t.name == s.monitor and t.n_val for t in tasks):
        log.warning("monitor=%r has no validation rows: the last epoch is kept", s.monitor)
    result = train(task, train_data, val_data, config)
    # Predictions run the whole backbone; the cached-state top shares its blocks.
    module.encoder = backbone
    trainable = sum(p.numel() for g in groups for p in g["params"])
    summary = {
        "freezing": plan.describe(), "schedule": s.schedule,
        "cached_frozen_part": split is not None,
        "sampling": s.sampling, "temperature": float(s.temperature), "batches": s.batches,
        "task_shares": {n: round(float(p), 6) for n, p in zip(names, shares, strict=True)},
        "loss_weights": s.loss_weights if s.loss_weights is not None else "equal",
        "final_loss_weights": weights.current(),
        "monitor": monitor, "conflict_every": int(s.conflict_every),
        "validation": {t.name: t.val_note for t in tasks},
        "multilabel": {t.name: {"threshold": 0.5, "threshold_rule": "fixed at 0.5 (a label is "
                                "predicted when its sigmoid probability is >= 0.5)"}
                       for t in tasks if t.multilabel},
        "head": s.head, "trainable_params": trainable,
        "total_params": sum(p.numel() for p in backbone.parameters())
        + sum(p.numel() for p in module.heads.parameters()),
        "examples_per_epoch": len(train_data), "batch_size": bs,
        **{k: v for k, v in result.summary().items()
           if k not in ("trainable_params", "total_params")},
    }
    with torch.no_grad():
        module.eval()
    return MultiTaskFit(module, result.history, summary)
