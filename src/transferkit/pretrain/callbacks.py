"""Two engine callbacks of pre-training: a step budget and the per-step pretext loss curve."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import torch

from ..engine import Callback

if TYPE_CHECKING:
    from ..engine import Loop

__all__ = ["MaxSteps", "LossCurve"]


class MaxSteps(Callback):
    """Stop after ``max_steps`` optimiser steps (a CPU-time bound); the learning-rate schedule
    is fitted to the shorter run, so it still warms up and decays in full.

    The loop still validates the interrupted epoch, so the held-out loss of the last weights
    is measured and early stopping can restore the best ones.
    """

    order = -10  # before the schedule reads ``total_steps``

    def __init__(self, max_steps: int | None) -> None:
        self.max_steps = max_steps
        self.hit = False

    def on_fit_start(self, loop: Loop) -> None:
        if self.max_steps is not None:
            loop.total_steps = min(loop.total_steps, int(self.max_steps))

    def on_train_batch_end(self, loop: Loop, loss: torch.Tensor) -> None:
        if self.max_steps is not None and loop.global_step >= self.max_steps:
            self.hit = True
            loop.should_stop = True

    def state_dict(self) -> dict[str, Any]:
        return {"hit": self.hit}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.hit = bool(state.get("hit", False))


class LossCurve(Callback):
    """The training pretext loss, averaged over windows of ``every`` steps, with the tokens
    seen and the seconds spent so far: ``points = [{"step", "loss", "tokens", "seconds"}]``."""

    order = 5  # before EarlyStopping (10) puts the best epoch's buffers back

    def __init__(self, every: int = 1) -> None:
        self.every = max(1, int(every))
        self.points: list[dict[str, Any]] = []
        self._window: list[float] = []
        self._seconds = 0.0
        self._t0 = 0.0

    def on_fit_start(self, loop: Loop) -> None:
        self._t0 = time.perf_counter()

    def on_train_batch_end(self, loop: Loop, loss: torch.Tensor) -> None:
        self._window.append(float(loss))
        if len(self._window) >= self.every or loop.should_stop:
            self._flush(loop)

    def on_epoch_end(self, loop: Loop, record: dict[str, Any]) -> None:
        if self._window:
            self._flush(loop)

    def _flush(self, loop: Loop) -> None:
        self.points.append({
            "step": int(loop.global_step),
            "loss": sum(self._window) / len(self._window),
            "tokens": int(loop.module.tokens_seen),
            "seconds": round(self._seconds + time.perf_counter() - self._t0, 3),
        })
        self._window = []

    def state_dict(self) -> dict[str, Any]:
        return {"points": list(self.points),
                "seconds": self._seconds + time.perf_counter() - self._t0}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.points = list(state.get("points", []))
        self._seconds = float(state.get("seconds", 0.0))
