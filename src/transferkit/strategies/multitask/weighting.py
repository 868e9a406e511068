"""Per-task loss weights: fixed numbers, or learned from each task's uncertainty.

``"uncertainty"`` follows Kendall, Gal & Cipolla 2018 (https://arxiv.org/abs/1705.07115),
in the form most implementations use for classification: each task ``t`` has a learned
log-variance ``s_t`` (starting at 0) and contributes ``exp(-s_t) * L_t + s_t``. A noisy or
hard task grows its ``s_t`` and weighs less; the ``+ s_t`` keeps every weight from
collapsing to zero.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ...exceptions import ConfigError

__all__ = ["UNCERTAINTY", "LossWeights", "check_loss_weights", "parse_loss_weights"]

UNCERTAINTY = "uncertainty"


def check_loss_weights(owner: str, value: Any) -> None:
    """``None``, ``"uncertainty"`` or a dict task name -> weight > 0."""
    if value is None or value == UNCERTAINTY:
        return
    if isinstance(value, Mapping) and all(
            isinstance(w, int | float) and not isinstance(w, bool) and w > 0
            for w in value.values()):
        return
    raise ConfigError(
        f"The 'loss_weights' parameter of {owner} must be None (all 1), 'uncertainty' or a dict "
        f"task name -> weight > 0. Got {value!r} instead.")


def parse_loss_weights(text: str) -> Any:
    """The command line's form: ``uncertainty`` or ``intent=2,sentiment=1``."""
    if text.strip() == UNCERTAINTY:
        return UNCERTAINTY
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise ConfigError(f"--loss-weights expects 'uncertainty' or task=weight pairs "
                              f"('intent=2,sentiment=1'); got {text!r}.")
    return out


class LossWeights(nn.Module):
    """Combines per-task mean losses into the step's loss.

    Args:
        names: the task names, in task-id order.
        weights: ``None`` (all 1), ``"uncertainty"`` or a dict name -> weight (missing: 1).

    Shape:
        ``forward(losses, present)``: ``(T,)`` per-task mean losses and a ``(T,)`` bool mask
        of the tasks in the batch -> a scalar. Absent tasks contribute nothing (their
        log-variance would otherwise drift down with no loss to balance it).
    """

    def __init__(self, names: Sequence[str], weights: Any = None) -> None:
        super().__init__()
        self.names = list(names)
        self.learned = weights == UNCERTAINTY
        if isinstance(weights, Mapping):
            unknown = sorted(set(weights) - set(self.names))
            if unknown:
                raise ConfigError(
                    f"loss_weights names task(s) {unknown} that are not among the tasks "
                    f"{self.names}. Use the task names as keys.")
        fixed = [float(weights.get(n, 1.0)) if isinstance(weights, Mapping) else 1.0
                 for n in self.names]
        self.register_buffer("fixed", torch.tensor(fixed, dtype=torch.float32))
        # A parameter only when learned: a frozen one would sit in no optimiser group.
        self.log_vars = nn.Parameter(torch.zeros(len(self.names))) if self.learned else None

    def forward(self, losses: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        mask = present.to(losses.dtype)
        if self.log_vars is None:
            return (self.fixed.to(losses.dtype) * losses * mask).sum()
        s = self.log_vars.to(losses.dtype)
        return ((torch.exp(-s) * losses + s) * mask).sum()

    def current(self) -> dict[str, float]:
        """Each task's effective weight now (``exp(-s_t)`` when learned)."""
        with torch.no_grad():
            w = self.fixed if self.log_vars is None else torch.exp(-self.log_vars.detach())
            return {n: round(float(v), 6) for n, v in zip(self.names, w.cpu(), strict=True)}
