"""What a strategy hands the training loop: a module, parameter groups and a step.

:class:`Task` is the whole interface between strategies and the engine. The loop owns
devices, processes, precision, optimiser, schedule, checkpoints and callbacks; a task owns
its module, says which parameters train at which rate, and computes a loss from a batch.
Fine-tuning, LoRA and from-scratch training use :class:`ClassificationTask`; domain
adaptation, contrastive few-shot tuning or multi-task training subclass :class:`Task` with
their own step.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .freezing import Freezer
from .l2sp import L2SPPenalty

__all__ = ["Task", "ClassifierModule", "ClassificationTask"]


class Task:
    """Base class: override :meth:`param_groups` and :meth:`training_step` (others optional).

    Attributes:
        module: every weight the task uses; the engine moves, wraps and checkpoints it.
        validation_keys: the sums :meth:`validation_step` returns; ``count`` divides the
            others (``loss`` -> ``val_loss``, ``correct`` -> ``val_accuracy``, ``x`` -> ``val_x``).
    """

    module: nn.Module
    validation_keys: tuple[str, ...] = ("loss", "correct", "count")
    #: whether the loop re-estimates trainable BatchNorm statistics after each epoch (through
    #: :meth:`forward_inputs`, on the training data)
    recalibrates_norms: bool = False

    def param_groups(self) -> list[dict[str, Any]]:
        """Optimiser groups: dicts with ``name``, ``params``, ``lr`` and ``weight_decay``."""
        raise NotImplementedError

    def training_step(self, model: nn.Module, batch: dict[str, Any]) -> torch.Tensor:
        """Mean loss over ``batch``; ``model`` is the engine-wrapped :attr:`module` (call it)."""
        raise NotImplementedError

    def validation_step(self, module: nn.Module, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Sums over ``batch`` for :attr:`validation_keys` (no gradient is recorded)."""
        return {}

    def finish_validation(self, totals: dict[str, float]) -> dict[str, float]:
        """The epoch's validation metrics from :meth:`validation_step`'s sums, reduced over
        every batch and process: each sum over ``count`` (``loss`` -> ``val_loss``,
        ``correct`` -> ``val_accuracy``, ``x`` -> ``val_x``). Override for metrics that are
        not means, such as an F1 score, a ratio of totals."""
        n = max(totals.get("count", 0.0), 1.0)
        names = {"loss": "val_loss", "correct": "val_accuracy"}
        return {names.get(k, f"val_{k}"): v / n for k, v in totals.items() if k != "count"}

    def forward_inputs(self, module: nn.Module, batch: dict[str, Any]) -> Any:
        """Run ``module`` on a training batch without a loss (BatchNorm recalibration)."""
        raise NotImplementedError

    def on_epoch_start(self, epoch: int) -> None:
        """Called before each epoch (0-based), before any batch; e.g. gradual unfreezing."""

    def epoch_metrics(self) -> dict[str, float]:
        """Extra numbers for the epoch's history record."""
        return {}


class ClassifierModule(nn.Module):
    """Backbone features (from feature layer ``layer``) followed by a head; returns logits.

    Shape:
        ``forward(inputs)``: the backbone's preprocessed batch dict -> ``(B, n_classes)``.
    """

    def __init__(self, backbone: nn.Module, head: nn.Module, layer: int = -1) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.layer = int(layer)

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.head(self.backbone.forward_features(inputs, self.layer))


class ClassificationTask(Task):
    """Cross-entropy on labelled batches, with optional freezing schedule and L2-SP.

    Args:
        module: a :class:`ClassifierModule`, or any module from ``batch["inputs"]`` to logits
            (the multi-task module: all heads' logits side by side).
        groups: optimiser groups (see :func:`~transferkit.engine.param_groups.build_param_groups`).
        freezer: applies the (possibly gradual) freezing at the start of each epoch.
        l2sp: the L2-SP penalty, or ``None``.
        label_smoothing: passed to ``cross_entropy``.
    """

    def __init__(self, module: nn.Module, groups: list[dict[str, Any]],
                 freezer: Freezer | None = None, l2sp: L2SPPenalty | None = None,
                 label_smoothing: float = 0.0) -> None:
        self.module = module
        self.groups = groups
        self.freezer = freezer
        self.l2sp = l2sp
        self.label_smoothing = float(label_smoothing)

    recalibrates_norms = True

    def param_groups(self) -> list[dict[str, Any]]:
        return self.groups

    def forward_inputs(self, module: nn.Module, batch: dict[str, Any]) -> Any:
        return module(batch["inputs"])

    def on_epoch_start(self, epoch: int) -> None:
        if self.freezer is not None:
            self.freezer.apply(epoch)

    def training_step(self, model: nn.Module, batch: dict[str, Any]) -> torch.Tensor:
        logits = model(batch["inputs"])
        loss = F.cross_entropy(logits.float(), batch["labels"],
                               label_smoothing=self.label_smoothing)
        if self.l2sp is not None:
            loss = loss + self.l2sp()
        return loss

    def validation_step(self, module: nn.Module, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        logits = module(batch["inputs"]).float()
        y = batch["labels"]
        return {
            "loss": F.cross_entropy(logits, y, reduction="sum"),
            "correct": (logits.argmax(1) == y).sum(),
            "count": torch.tensor(float(len(y)), device=logits.device),
        }

    def epoch_metrics(self) -> dict[str, float]:
        if self.l2sp is None:
            return {}
        with torch.no_grad():
            return {"l2sp_distance": float(self.l2sp.distance())}
