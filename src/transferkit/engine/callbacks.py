"""Callbacks: small objects whose ``on_*`` methods the loop calls; every hook is a no-op here.

Callbacks run in ascending :attr:`Callback.order` (ties: the order given). The built-in ones:

* :class:`EarlyStopping` — stop after ``patience`` epochs without improvement of the loop's
  monitored metric, and put the best epoch's weights back at the end;
* :class:`Checkpoint` — write ``last.ckpt`` every epoch and ``best.ckpt`` at each new best,
  atomically (rank 0 only), so a killed run resumes from its last finished epoch;
* :class:`MetricLogger` — the history as JSON lines in the run folder;
* :class:`Progress` — a progress bar on rank 0, only when stderr is a terminal;
* :class:`~transferkit.engine.schedules.LRSchedule` — warm-up + cosine / linear decay.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ..utils.io import atomic_write_text
from .checkpoints import save_checkpoint

if TYPE_CHECKING:
    from .loop import Loop

__all__ = ["Callback", "EarlyStopping", "Checkpoint", "MetricLogger", "Progress"]

log = logging.getLogger(__name__)


class Callback:
    """Base class: override the hooks you need; ``state_dict`` makes a callback resumable."""

    #: callbacks run in ascending order
    order: int = 0

    @property
    def key(self) -> str:
        return type(self).__name__

    def on_fit_start(self, loop: Loop) -> None: ...

    def on_epoch_start(self, loop: Loop) -> None: ...

    def on_before_optimizer_step(self, loop: Loop) -> None: ...

    def on_train_batch_end(self, loop: Loop, loss: torch.Tensor) -> None: ...

    def on_epoch_end(self, loop: Loop, record: dict[str, Any]) -> None: ...

    def on_fit_end(self, loop: Loop) -> None: ...

    def on_exception(self, loop: Loop, error: BaseException) -> None: ...

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class EarlyStopping(Callback):
    """Stop when the loop's monitored metric has not improved for ``patience`` epochs.

    The loop decides what "improved" means (``TrainConfig.monitor`` and ``mode``) and marks
    each epoch's record with ``is_best``. This callback keeps a copy of the trainable weights
    (and buffers) of the best epoch and restores them when training ends.

    Args:
        patience: epochs without improvement before stopping; ``None`` never stops early
            but still restores the best weights.
        restore_best: put the best epoch's weights back at the end.
    """

    order = 10

    def __init__(self, patience: int | None = 3, restore_best: bool = True) -> None:
        self.patience = patience
        self.restore_best = restore_best
        self.wait = 0
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None
        self.snapshot: dict[str, torch.Tensor] | None = None

    def on_epoch_end(self, loop: Loop, record: dict[str, Any]) -> None:
        if record.get("is_best") is None:
            return
        if record["is_best"]:
            self.wait = 0
            self.best_epoch = record["epoch"]
            self.snapshot = loop.trainable_state()
        else:
            self.wait += 1
            if self.patience is not None and self.wait >= self.patience:
                self.stopped_epoch = record["epoch"]
                loop.should_stop = True

    def on_fit_end(self, loop: Loop) -> None:
        if self.restore_best and self.snapshot is not None:
            loop.load_trainable_state(self.snapshot)
            log.info("restored the weights of epoch %s (best %s)", self.best_epoch,
                     loop.config.monitor)

    def state_dict(self) -> dict[str, Any]:
        return {"wait": self.wait, "best_epoch": self.best_epoch,
                "stopped_epoch": self.stopped_epoch, "snapshot": self.snapshot}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.wait = state.get("wait", 0)
        self.best_epoch = state.get("best_epoch")
        self.stopped_epoch = state.get("stopped_epoch")
        self.snapshot = state.get("snapshot")


class Checkpoint(Callback):
    """Write ``last.ckpt`` after every epoch and ``best.ckpt`` at every new best (rank 0).

    Files are written to a temporary name and renamed into place, so a kill at any moment
    leaves the previous checkpoint intact. ``last.ckpt`` holds everything a resume needs
    (weights, optimiser state, epoch, history, callback states); ``best.ckpt`` the weights.

    Args:
        folder: the checkpoint folder (created when needed).
    """

    order = 100

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def on_epoch_end(self, loop: Loop, record: dict[str, Any]) -> None:
        if loop.is_global_zero:
            self.folder.mkdir(parents=True, exist_ok=True)
            save_checkpoint(self.folder / "last.ckpt", loop.checkpoint_state(),
                            loop.config.identity)
            if record.get("is_best"):
                save_checkpoint(self.folder / "best.ckpt",
                                {"epoch": record["epoch"], "module": loop.module_state()},
                                loop.config.identity, meta=False)
        loop.fabric.barrier()


class MetricLogger(Callback):
    """Keep ``history.jsonl`` (one JSON object per finished epoch) in ``folder`` (rank 0)."""

    order = 90

    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / "history.jsonl"

    def on_epoch_end(self, loop: Loop, record: dict[str, Any]) -> None:
        if loop.is_global_zero:
            text = "".join(json.dumps(r) + "\n" for r in loop.history)
            atomic_write_text(self.path, text)


class Progress(Callback):
    """A tqdm bar per epoch (rank 0, only when stderr is a terminal) and a log line per epoch."""

    order = 200

    def __init__(self, enabled: bool = True, every: int = 10) -> None:
        self.enabled = enabled
        self.every = every
        self.bar: Any = None

    def _active(self, loop: Loop) -> bool:
        return self.enabled and loop.is_global_zero and sys.stderr.isatty()

    def on_epoch_start(self, loop: Loop) -> None:
        if self._active(loop):
            from tqdm.auto import tqdm

            self.bar = tqdm(total=loop.steps_per_epoch, unit="step", leave=False,
                            desc=f"epoch {loop.epoch + 1}/{loop.config.epochs}")

    def on_train_batch_end(self, loop: Loop, loss: torch.Tensor) -> None:
        if self.bar is not None:
            self.bar.update(1)
            if self.bar.n % self.every == 0:
                self.bar.set_postfix(loss=f"{float(loss):.4f}")

    def on_epoch_end(self, loop: Loop, record: dict[str, Any]) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if loop.is_global_zero:
            parts = [f"epoch {record['epoch']}/{loop.config.epochs}",
                     f"train_loss {record['train_loss']:.4f}"]
            if "val_loss" in record:
                parts.append(f"val_loss {record['val_loss']:.4f}")
            if "val_accuracy" in record:
                parts.append(f"val_accuracy {record['val_accuracy']:.4f}")
            parts.append(f"{record['seconds']:.1f}s")
            log.info("  ".join(parts))

    def on_exception(self, loop: Loop, error: BaseException) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
