"""Learning-rate schedules: linear warm-up, then cosine or linear decay (or constant).

Each optimiser group keeps its own ``base_lr`` (discriminative and layer-wise rates are set
once, when the groups are built); a schedule multiplies every group by the same factor, so
the ratios between groups hold for the whole run.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .callbacks import Callback

if TYPE_CHECKING:
    from .loop import Loop

__all__ = ["LR_SCHEDULES", "lr_factor", "LRSchedule"]

LR_SCHEDULES = ("cosine", "linear", "constant")


def lr_factor(step: int, total: int, warmup: int, kind: str = "cosine", floor: float = 0.0
              ) -> float:
    """Multiplier of the base learning rate at optimiser step ``step`` (0-based).

    Args:
        step: the step about to be taken.
        total: number of steps in the run.
        warmup: steps of linear warm-up from ``1/(warmup+1)`` to 1.
        kind: ``"cosine"`` (half cosine to ``floor``), ``"linear"`` (straight line to ``floor``)
            or ``"constant"``.
        floor: the factor reached at the last step.
    """
    if warmup > 0 and step < warmup:
        return (step + 1) / (warmup + 1)
    if kind == "constant":
        return 1.0
    span = max(1, total - warmup)
    t = min(1.0, max(0.0, (step - warmup) / span))
    if kind == "linear":
        return floor + (1.0 - floor) * (1.0 - t)
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * t))


class LRSchedule(Callback):
    """Set every group's ``lr = base_lr * lr_factor(step)`` before each optimiser step.

    Args:
        kind: see :func:`lr_factor`.
        warmup: warm-up length as a fraction of all steps (``0.1`` = first 10%).
    """

    def __init__(self, kind: str = "cosine", warmup: float = 0.1) -> None:
        self.kind = kind
        self.warmup = float(warmup)

    def on_before_optimizer_step(self, loop: Loop) -> None:
        total = loop.total_steps
        warm = int(round(self.warmup * total))
        f = lr_factor(loop.global_step, total, warm, self.kind)
        for g in loop.optimizer.param_groups:
            g["lr"] = g["base_lr"] * f
