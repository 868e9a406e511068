"""The multi-task module and the engine :class:`~transferkit.engine.Task` that trains it.

One shared encoder, one head per task, one loss combiner (:mod:`.weighting`). A batch holds
one task or several (:mod:`.sampling`): the encoder runs once on the whole batch, every head
runs on every row (heads are small, and a head left out of the graph would stall DDP), and
each task's loss is taken over its own rows only: cross-entropy for a single-label task,
binary cross-entropy over its labels for a multi-label one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...engine import ClassificationTask, Freezer
from ...evaluation import micro_f1
from .conflict import ConflictTally, gradient_cosines
from .sampling import MultiTaskExamples
from .weighting import LossWeights

__all__ = ["MultiTaskModule", "TaskHeadModule", "MultiTaskTrainingTask"]


class MultiTaskModule(nn.Module):
    """Encoder + one head per task + the loss weights.

    Shape:
        ``forward(inputs)``: the encoder's batch dict -> ``(B, sum of class counts)``, the
        heads' logits side by side in task order (:attr:`offsets` says where each starts).
    """

    def __init__(self, encoder: nn.Module, heads: dict[str, nn.Module],
                 n_classes: Sequence[int], weights: LossWeights) -> None:
        super().__init__()
        self.encoder = encoder
        self.heads = nn.ModuleDict(heads)
        self.names = list(heads)
        self.n_classes = [int(c) for c in n_classes]
        self.offsets = np.concatenate([[0], np.cumsum(self.n_classes)]).tolist()
        self.weights = weights

    def encode(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.encoder.forward_features(inputs, -1)

    def head_logits(self, features: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.heads[n](features) for n in self.names], dim=1)

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.head_logits(self.encode(inputs))

    def task_slice(self, logits: torch.Tensor, t: int) -> torch.Tensor:
        return logits[:, self.offsets[t]:self.offsets[t + 1]]


class TaskHeadModule(nn.Module):
    """One task's view of a trained multi-task model: encoder then that task's head."""

    def __init__(self, encoder: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.head(self.encoder.forward_features(inputs, -1))


class MultiTaskTrainingTask(ClassificationTask):
    """Weighted per-task losses on mixed batches, with per-task validation metrics.

    A :class:`~transferkit.engine.ClassificationTask` for its parameter groups, its forward
    pass (the module on ``batch["inputs"]``) and its freezing schedule; the step, validation
    and epoch numbers are per task.

    A single-label task trains with cross-entropy on its class indices. A multi-label task
    (a key of ``targets``) trains with binary cross-entropy, one sigmoid per label, averaged
    over labels and rows; its batch labels are row numbers into its 0/1 target matrix (so
    every task's labels travel as one integer column through the engine's batches).

    Validation returns, beside the usual ``val_loss`` / ``val_accuracy`` over all rows
    (exact matches for multi-label rows), ``val_<task>_loss`` and for a single-label task
    ``val_<task>_accuracy``, for a multi-label one ``val_<task>_micro_f1``,
    ``val_<task>_subset_accuracy`` and ``val_<task>_hamming_loss`` (label predicted when its
    probability is >= 0.5). ``val_mean_accuracy`` is the mean over the tasks with validation
    rows when all are single-label; with a multi-label task, ``val_mean_score`` averages each
    task's accuracy or micro-F1 instead. The loop divides every sum by the number of
    validation rows, so each task's sums are scaled by ``rows / task rows`` to come out as
    that task's mean; the micro-F1 counts are kept whole and turned into a ratio in
    :meth:`finish_validation`.

    Args:
        module: the :class:`MultiTaskModule`.
        groups: optimiser groups.
        freezer: the encoder's freezing (gradual unfreezing applies per epoch).
        train: the training examples (their draw is renewed every epoch).
        val_rows_per_task: validation rows of each task (zeros: no validation for it).
        conflict_every: measure gradient cosines every this many training steps of an epoch
            (0: never).
        targets: task id -> ``(rows, labels)`` 0/1 matrix, for the multi-label tasks.
    """

    def __init__(self, module: MultiTaskModule, groups: list[dict[str, Any]],
                 freezer: Freezer | None, train: MultiTaskExamples,
                 val_rows_per_task: Sequence[int] = (), conflict_every: int = 0,
                 targets: Mapping[int, np.ndarray] | None = None) -> None:
        super().__init__(module, groups, freezer)
        self.train = train
        self.names = list(module.names)
        self.val_rows = np.asarray(list(val_rows_per_task) or [0] * len(self.names))
        self.conflict_every = int(conflict_every)
        self.conflicts = ConflictTally(self.names)
        self.targets = {int(t): torch.as_tensor(np.asarray(m, dtype=np.float32))
                        for t, m in (targets or {}).items()}
        self._epoch, self._step_in_epoch = 0, 0
        with_val = [n for n, c in zip(self.names, self.val_rows, strict=True) if c]
        per_task = []
        for t, n in enumerate(self.names):
            if not self.val_rows[t]:
                continue
            per_task += ([f"{n}_subset_accuracy", f"{n}_hamming_loss", f"{n}_tp", f"{n}_fp",
                          f"{n}_fn"] if t in self.targets else [f"{n}_accuracy"])
        self.validation_keys = ("loss", "correct", "count", *per_task,
                                *(f"{n}_loss" for n in with_val))
        self._reset_counts()

    @property
    def multilabel_tasks(self) -> list[str]:
        return [self.names[t] for t in sorted(self.targets)]

    def _reset_counts(self) -> None:
        k = len(self.names)
        self.seen = np.zeros(k, dtype=np.int64)
        self.loss_sums = np.zeros(k)
        self.conflicts.reset()

    def _target(self, t: int, y: torch.Tensor) -> torch.Tensor:
        """Task ``t``'s 0/1 targets of the rows whose labels are ``y`` (row numbers)."""
        m = self.targets[t]
        if m.device != y.device:
            m = self.targets[t] = m.to(y.device)
        return m[y]

    def _loss(self, t: int, logits: torch.Tensor, y: torch.Tensor,
              reduction: str = "mean") -> torch.Tensor:
        """Task ``t``'s loss on its rows: cross-entropy, or for a multi-label task binary
        cross-entropy averaged over labels (then over rows, or summed with ``"sum"``)."""
        if t not in self.targets:
            return F.cross_entropy(logits, y, reduction=reduction)
        per_row = F.binary_cross_entropy_with_logits(
            logits, self._target(t, y), reduction="none").mean(1)
        return per_row.mean() if reduction == "mean" else per_row.sum()

    # --- the Task contract (param_groups and forward_inputs: ClassificationTask's) ---------
    def on_epoch_start(self, epoch: int) -> None:
        super().on_epoch_start(epoch)  # the freezing schedule
        # The sampler's draw and the conflict probes are functions of (seed, epoch, step):
        # a resumed run draws and measures as the uninterrupted one did.
        self.train.set_epoch(epoch)
        self._epoch, self._step_in_epoch = int(epoch), 0
        self._reset_counts()

    def training_step(self, model: nn.Module, batch: dict[str, Any]) -> torch.Tensor:
        if self.conflict_every and self._step_in_epoch % self.conflict_every == 0:
            self._measure_conflict(batch)
        self._step_in_epoch += 1
        logits = model(batch["inputs"]).float()
        losses, present = self._task_losses(logits, batch["task"], batch["labels"])
        with torch.no_grad():
            counts = torch.bincount(batch["task"], minlength=len(self.names)).cpu().numpy()
            self.seen += counts
            self.loss_sums += losses.detach().double().cpu().numpy() * counts
        return self.module.weights(losses, present)

    def _task_losses(self, logits: torch.Tensor, task: torch.Tensor, y: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor]:
        losses, present = [], []
        for t in range(len(self.names)):
            rows = task == t
            part = self.module.task_slice(logits, t)
            if bool(rows.any()):
                losses.append(self._loss(t, part[rows], y[rows]))
                present.append(True)
            else:  # zero, but in the graph: DDP expects a gradient for every head
                losses.append(part.sum() * 0.0)
                present.append(False)
        return torch.stack(losses), torch.tensor(present, device=logits.device)

    def _measure_conflict(self, batch: dict[str, Any]) -> None:
        """Cosines between the tasks' gradients on the encoder, on this batch; computed on the
        unwrapped module so that DDP's gradient hooks see nothing of it."""
        shared = [p for p in self.module.encoder.parameters() if p.requires_grad]
        if not shared or self.train.n_tasks < 2:
            return
        if len(torch.unique(batch["task"])) < 2:  # a one-task step: measure on a probe batch
            device = batch["labels"].device
            probe_seed = self._epoch * 1_000_003 + self._step_in_epoch
            batch = _to(self.train.probe_batch(probe_seed), device)
        task = batch["task"]
        logits = self.module(batch["inputs"]).float()
        y = batch["labels"]
        losses = {t: self._loss(t, self.module.task_slice(logits, t)[task == t], y[task == t])
                  for t in range(len(self.names)) if bool((task == t).any())}
        self.conflicts.add(gradient_cosines(losses, shared))

    @torch.no_grad()
    def validation_step(self, module: nn.Module, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        logits = module(batch["inputs"]).float()
        task, y = batch["task"], batch["labels"]
        n_all = float(self.val_rows.sum())
        zero = torch.zeros((), device=logits.device)
        loss, correct = zero, zero
        out: dict[str, torch.Tensor] = {}
        for t, name in enumerate(self.names):
            rows = task == t
            if not self.val_rows[t]:
                continue
            part, yt = self.module.task_slice(logits, t)[rows], y[rows]
            lt = self._loss(t, part, yt, reduction="sum") if len(part) else zero
            scale = n_all / float(self.val_rows[t])
            if t in self.targets:
                truth, pred = self._target(t, yt) > 0.5, part > 0  # sigmoid >= 0.5
                ct = (pred == truth).all(1).sum().float()
                out[f"{name}_subset_accuracy"] = ct * scale
                out[f"{name}_hamming_loss"] = (pred != truth).float().mean(1).sum() * scale
                # whole counts: the loop's division by all rows is undone in finish_validation
                for key, hit in (("tp", pred & truth), ("fp", pred & ~truth),
                                 ("fn", ~pred & truth)):
                    out[f"{name}_{key}"] = hit.sum().float()
            else:
                ct = (part.argmax(1) == yt).sum().float()
                out[f"{name}_accuracy"] = ct * scale
            out[f"{name}_loss"] = lt * scale
            loss, correct = loss + lt, correct + ct
        out.update(loss=loss, correct=correct,
                   count=torch.tensor(float(len(y)), device=logits.device))
        return out

    def finish_validation(self, totals: dict[str, float]) -> dict[str, float]:
        counts = {k: totals.pop(k) for k in list(totals)
                  if k.rsplit("_", 1)[-1] in ("tp", "fp", "fn")}
        out = super().finish_validation(totals)
        scores = []
        for t, name in enumerate(self.names):
            if not self.val_rows[t]:
                continue
            if t in self.targets:
                out[f"val_{name}_micro_f1"] = micro_f1(
                    counts[f"{name}_tp"], counts[f"{name}_fp"], counts[f"{name}_fn"])
                scores.append(out[f"val_{name}_micro_f1"])
            else:
                scores.append(out[f"val_{name}_accuracy"])
        if scores:
            key = "val_mean_score" if self.targets else "val_mean_accuracy"
            out[key] = float(np.mean(scores))
        return out

    def epoch_metrics(self) -> dict[str, Any]:
        seen = {n: int(c) for n, c in zip(self.names, self.seen, strict=True)}
        out: dict[str, Any] = {
            "task_examples": seen,
            "train_loss_by_task": {n: round(float(s / max(c, 1)), 6) for n, s, c in
                                   zip(self.names, self.loss_sums, self.seen, strict=True)},
            "loss_weights": self.module.weights.current(),
        }
        if self.conflict_every:
            out["grad_cosine"] = self.conflicts.epoch_summary()
        return out


def _to(obj: Any, device: torch.device) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, dict):
        return {k: _to(v, device) for k, v in obj.items()}
    return obj
