"""The multi-task module and the engine :class:`~transferkit.engine.Task` that trains it.

One shared encoder, one head per task, one loss combiner (:mod:`.weighting`). A batch holds
one task or several (:mod:`.sampling`): the encoder runs once on the whole batch, every head
runs on every row (heads are small, and a head left out of the graph would stall DDP), and
each task's loss is taken over its own rows only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...engine import ClassificationTask, Freezer
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
    """Weighted per-task cross-entropy on mixed batches, with per-task validation metrics.

    A :class:`~transferkit.engine.ClassificationTask` for its parameter groups, its forward
    pass (the module on ``batch["inputs"]``) and its freezing schedule; the step, validation
    and epoch numbers are per task.

    Validation returns, beside the usual ``val_loss`` / ``val_accuracy`` over all rows,
    ``val_<task>_accuracy``, ``val_<task>_loss`` and ``val_mean_accuracy`` (the mean over
    tasks with validation rows). The loop divides every sum by the number of validation rows,
    so each task's sums are scaled by ``rows / task rows`` to come out as that task's mean.

    Args:
        module: the :class:`MultiTaskModule`.
        groups: optimiser groups.
        freezer: the encoder's freezing (gradual unfreezing applies per epoch).
        train: the training examples (their draw is renewed every epoch).
        val_rows_per_task: validation rows of each task (zeros: no validation for it).
        conflict_every: measure gradient cosines every this many training steps (0: never).
    """

    def __init__(self, module: MultiTaskModule, groups: list[dict[str, Any]],
                 freezer: Freezer | None, train: MultiTaskExamples,
                 val_rows_per_task: Sequence[int] = (), conflict_every: int = 0) -> None:
        super().__init__(module, groups, freezer)
        self.train = train
        self.names = list(module.names)
        self.val_rows = np.asarray(list(val_rows_per_task) or [0] * len(self.names))
        self.conflict_every = int(conflict_every)
        self.conflicts = ConflictTally(self.names)
        self._steps = 0
        with_val = [n for n, c in zip(self.names, self.val_rows, strict=True) if c]
        self.validation_keys = ("loss", "correct", "count", *(f"{n}_accuracy" for n in with_val),
                                *(f"{n}_loss" for n in with_val),
                                *(("mean_accuracy",) if with_val else ()))
        self._reset_counts()

    def _reset_counts(self) -> None:
        k = len(self.names)
        self.seen = np.zeros(k, dtype=np.int64)
        self.loss_sums = np.zeros(k)
        self.conflicts.reset()

    # --- the Task contract (param_groups and forward_inputs: ClassificationTask's) ---------
    def on_epoch_start(self, epoch: int) -> None:
        super().on_epoch_start(epoch)  # the freezing schedule
        self.train.set_epoch(epoch)
        self._reset_counts()

    def training_step(self, model: nn.Module, batch: dict[str, Any]) -> torch.Tensor:
        if self.conflict_every and self._steps % self.conflict_every == 0:
            self._measure_conflict(batch)
        self._steps += 1
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
                losses.append(F.cross_entropy(part[rows], y[rows]))
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
            batch = _to(self.train.probe_batch(self._steps), device)
        task = batch["task"]
        logits = self.module(batch["inputs"]).float()
        y = batch["labels"]
        losses = {t: F.cross_entropy(self.module.task_slice(logits, t)[task == t], y[task == t])
                  for t in range(len(self.names)) if bool((task == t).any())}
        self.conflicts.add(gradient_cosines(losses, shared))

    @torch.no_grad()
    def validation_step(self, module: nn.Module, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        logits = module(batch["inputs"]).float()
        task, y = batch["task"], batch["labels"]
        n_all = float(self.val_rows.sum())
        k_val = float((self.val_rows > 0).sum())
        loss = torch.zeros((), device=logits.device)
        correct = torch.zeros((), device=logits.device)
        out: dict[str, torch.Tensor] = {"mean_accuracy": torch.zeros((), device=logits.device)}
        for t, name in enumerate(self.names):
            rows = task == t
            if not self.val_rows[t]:
                continue
            part = self.module.task_slice(logits, t)[rows]
            lt = F.cross_entropy(part, y[rows], reduction="sum") if len(part) else loss * 0
            ct = (part.argmax(1) == y[rows]).sum().float()
            scale = n_all / float(self.val_rows[t])
            out[f"{name}_accuracy"] = ct * scale
            out[f"{name}_loss"] = lt * scale
            out["mean_accuracy"] = out["mean_accuracy"] + ct * scale / k_val
            loss, correct = loss + lt, correct + ct
        out.update(loss=loss, correct=correct,
                   count=torch.tensor(float(len(y)), device=logits.device))
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
