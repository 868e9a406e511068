"""The pretext task the engine trains: encoder + objective, a loss per batch, tokens counted."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..engine import Freezer, Task
from .objectives import PretextObjective

__all__ = ["PretextModule", "PretextTask", "held_out_loss", "loss_sums"]


class PretextModule(nn.Module):
    """The backbone and the objective's head in one module (the engine moves, wraps and
    checkpoints it whole); calling it on a batch gives the mean pretext loss.

    ``tokens_seen`` is a buffer, so a checkpoint carries it and a resumed run goes on counting.
    """

    def __init__(self, backbone: nn.Module, objective: PretextObjective) -> None:
        super().__init__()
        self.backbone = backbone
        self.objective = objective
        self.register_buffer("tokens_seen", torch.zeros((), dtype=torch.int64))

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        if self.training:
            self.tokens_seen += self.objective.tokens(batch)
        return self.objective(self.backbone, batch)

    def encode(self, batch: dict[str, torch.Tensor]) -> Any:
        """The encoder on the batch's clean inputs, no loss (BatchNorm recalibration)."""
        return self.objective.encode_inputs(self.backbone, batch)


class PretextTask(Task):
    """Minimise the pretext loss; the held-out pretext loss is ``val_loss``.

    Args:
        module: the :class:`PretextModule`.
        groups: optimiser groups (the objective's head first, then the backbone's groups).
        freezer: applies the freezing plan at the start of each epoch.
    """

    validation_keys = ("loss", "count")
    # Trainable BatchNorm layers (image encoders) get their statistics re-estimated on the
    # clean training images when their running averages are stale, as in fine-tuning.
    recalibrates_norms = True

    def __init__(self, module: PretextModule, groups: list[dict[str, Any]],
                 freezer: Freezer) -> None:
        self.module = module
        self.groups = groups
        self.freezer = freezer

    def param_groups(self) -> list[dict[str, Any]]:
        return self.groups

    def on_epoch_start(self, epoch: int) -> None:
        self.freezer.apply(epoch)

    def training_step(self, model: nn.Module, batch: dict[str, Any]) -> torch.Tensor:
        return model(batch["inputs"])

    def forward_inputs(self, module: nn.Module, batch: dict[str, Any]) -> Any:
        return module.encode(batch["inputs"])

    def validation_step(self, module: nn.Module, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        return loss_sums(module, batch["inputs"])


def loss_sums(module: nn.Module, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``{"loss": mean loss * rows, "count": rows}`` of one batch (rows weigh the mean)."""
    rows = next(iter(inputs.values())).shape[0]
    loss = module(inputs).double()
    return {"loss": loss * rows,
            "count": torch.tensor(float(rows), dtype=torch.float64, device=loss.device)}


@torch.no_grad()
def held_out_loss(module: PretextModule, data: Any, batch_size: int) -> float:
    """The mean pretext loss of ``module`` over held-out ``data`` (the loop's ``val_loss``, but
    before any training: the starting point of the curve)."""
    was_training = module.training
    module.eval()
    total, rows = 0.0, 0
    try:
        for start in range(0, len(data), batch_size):
            idx = data.eval_order()[start:start + batch_size]
            out = loss_sums(module, data.batch(idx)["inputs"])
            total += float(out["loss"])
            rows += int(out["count"])
    finally:
        module.train(was_training)
    return total / max(rows, 1)
