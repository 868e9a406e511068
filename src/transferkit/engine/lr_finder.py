"""The learning-rate range test (Smith 2017, https://arxiv.org/abs/1506.01186; fastai's lr_find).

Train for a few hundred steps while the learning rate grows exponentially from ``min_lr`` to
``max_lr``; record the exponentially smoothed (bias-corrected) loss; stop when it exceeds
``diverge`` times its minimum. The suggested rate is where the smoothed loss falls fastest
(steepest negative slope against ``log10(lr)``), searched before the loss minimum. The sweep
runs through the normal training loop (as a callback); the weights are put back afterwards.

The rates swept are the head's ``lr``; discriminative groups keep their ratios to it. The
estimator-level workflow (an unfitted ``TransferClassifier``'s settings on some data) is
:func:`transferkit.models.lr_find`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..exceptions import ConfigError
from ..utils.checks import check_number
from .callbacks import Callback
from .loop import train

if TYPE_CHECKING:
    from .data import ExampleData
    from .loop import Loop, TrainConfig
    from .task import Task

__all__ = ["LRFinder", "sweep_lr", "suggest_lr", "plot_lr_sweep"]


class LRFinder(Callback):
    """Grow every group's learning rate exponentially per step and record the loss.

    Args:
        min_lr: the first rate.
        max_lr: the last rate.
        num_steps: steps of the sweep.
        beta: smoothing factor of the loss average.
        diverge: stop when the smoothed loss exceeds ``diverge`` times its minimum.
    """

    order = 5  # after LRSchedule (0), so the sweep's rate wins

    def __init__(self, min_lr: float = 1e-7, max_lr: float = 1.0, num_steps: int = 100,
                 beta: float = 0.98, diverge: float = 4.0) -> None:
        self.min_lr, self.max_lr, self.num_steps = float(min_lr), float(max_lr), int(num_steps)
        self.beta, self.diverge = float(beta), float(diverge)
        self.lrs: list[float] = []
        self.losses: list[float] = []
        self.smoothed: list[float] = []
        self._avg = 0.0
        self._best = math.inf
        self._ratios: list[float] = []

    def lr_at(self, k: int) -> float:
        frac = k / max(1, self.num_steps - 1)
        return self.min_lr * (self.max_lr / self.min_lr) ** frac

    def on_fit_start(self, loop: Loop) -> None:
        loop.allow_nonfinite = True
        groups = loop.raw_optimizer.param_groups
        top = max(g["base_lr"] for g in groups)
        self._ratios = [g["base_lr"] / top for g in groups]

    def on_before_optimizer_step(self, loop: Loop) -> None:
        lr = self.lr_at(len(self.lrs))
        for g, r in zip(loop.raw_optimizer.param_groups, self._ratios, strict=True):
            g["lr"] = lr * r

    def on_train_batch_end(self, loop: Loop, loss: torch.Tensor) -> None:
        value = float(loss)
        k = len(self.lrs)
        self.lrs.append(self.lr_at(k))
        self.losses.append(value)
        if not math.isfinite(value):
            self.smoothed.append(math.nan)
            loop.should_stop = True
            return
        self._avg = self.beta * self._avg + (1 - self.beta) * value
        smooth = self._avg / (1 - self.beta ** (k + 1))
        self.smoothed.append(smooth)
        self._best = min(self._best, smooth)
        if (k > 5 and smooth > self.diverge * self._best) or k + 1 >= self.num_steps:
            loop.should_stop = True


def suggest_lr(lrs: list[float], smoothed: list[float], skip_start: int = 5, skip_end: int = 3
               ) -> dict[str, float | None]:
    """The steepest-descent rate and the minimum-loss rate (and a tenth of it) of a sweep."""
    lr = np.asarray(lrs, dtype=np.float64)
    s = np.asarray(smoothed, dtype=np.float64)
    ok = np.isfinite(s)
    lr, s = lr[ok], s[ok]
    if len(s) < skip_start + skip_end + 3:
        return {"steepest": None, "min_loss": None, "min_loss_div10": None}
    i_min = int(np.argmin(s))
    lo, hi = skip_start, max(skip_start + 2, min(i_min + 1, len(s) - skip_end))
    grad = np.gradient(s[lo:hi], np.log10(lr[lo:hi]))
    steep = float(lr[lo + int(np.argmin(grad))])
    return {"steepest": steep, "min_loss": float(lr[i_min]),
            "min_loss_div10": float(lr[i_min] / 10)}


def sweep_lr(task: Task, train_data: ExampleData, config: TrainConfig, min_lr: float = 1e-7,
             max_lr: float = 1.0, num_steps: int = 100) -> dict[str, Any]:
    """Run the range test on ``task``; its module's weights are restored afterwards.

    Returns:
        ``lrs``, ``losses``, ``smoothed``, ``suggestion`` (the steepest-descent rate, or the
        minimum-loss rate / 10 when the curve is too short) and ``suggestions`` (all three).
    """
    from dataclasses import replace

    check_number("lr_find", "min_lr", min_lr, low=0, low_open=True)
    check_number("lr_find", "num_steps", num_steps, low=10, integer=True)
    if not max_lr > min_lr:
        raise ConfigError(f"lr_find needs max_lr > min_lr; got min_lr={min_lr}, max_lr={max_lr}.")
    steps_per_epoch = max(1, math.ceil(len(train_data) / config.batch_size))
    cfg = replace(config, epochs=math.ceil(num_steps / steps_per_epoch), lr_schedule="constant",
                  warmup=0.0, checkpoint_dir=None, resume=None, patience=None, devices=1)
    saved = {k: v.detach().clone() for k, v in task.module.state_dict().items()}
    finder = LRFinder(min_lr, max_lr, num_steps)
    try:
        train(task, train_data, None, cfg, callbacks=[finder])
    finally:
        task.module.load_state_dict(saved)
    sugg = suggest_lr(finder.lrs, finder.smoothed)
    best = sugg["steepest"] or sugg["min_loss_div10"]
    return {"lrs": finder.lrs, "losses": finder.losses, "smoothed": finder.smoothed,
            "suggestion": best, "suggestions": sugg}


def plot_lr_sweep(result: dict[str, Any], path: str | Path, title: str = "learning-rate sweep"
                  ) -> Path:
    """Save the smoothed loss against the learning rate (log scale) as a PNG."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    try:
        ax.plot(result["lrs"], result["losses"], color="0.8", lw=1, label="loss")
        ax.plot(result["lrs"], result["smoothed"], color="C0", lw=2, label="smoothed loss")
        if result.get("suggestion"):
            ax.axvline(result["suggestion"], color="C3", ls="--",
                       label=f"suggested lr {result['suggestion']:.2g}")
        finite = [v for v in result["smoothed"] if math.isfinite(v)]
        raw = [v for v in result["losses"] if math.isfinite(v)]
        if finite:
            # From the lowest loss seen to a little above the start (divergence runs off top).
            lo = min(finite + raw)
            hi = max(finite[: max(1, len(finite) // 2)] + [finite[0]])
            ax.set_ylim(lo - 0.05 * abs(hi - lo), hi + 0.25 * abs(hi - lo) + 1e-9)
        ax.set_xscale("log")
        ax.set_xlabel("learning rate (head)")
        ax.set_ylabel("training loss")
        ax.set_title(title)
        ax.legend(loc="best", fontsize=8)
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path
