"""Task sampling: how many examples of each task every epoch and every optimiser step sees.

The sampling decides each task's *share* of the training examples:

* ``proportional``: share ``n_t / sum(n)`` (the union of the datasets, shuffled);
* ``temperature``: share ``n_t ** (1/T)``, normalised (T=1: proportional, large T: uniform;
  Arivazhagan et al. 2019, https://arxiv.org/abs/1907.05019);
* ``round_robin``: equal shares, whatever the sizes (MT-DNN's task-by-task cycle, spread
  over each batch instead of alternating whole batches).

and ``batches`` how a step holds them:

* ``"per_task"`` (default; MT-DNN, Liu et al. 2019): each optimiser step is one task's
  batch; the shares are shares of the steps, spread evenly over the epoch (round robin with
  three tasks: A, B, C, A, B, C, ...). Texts are padded only to their own task's longest,
  so a task of long reviews does not slow the steps of a task of short queries;
* ``"mixed"``: every step holds every task in its share (a batch of 32 with two equal
  shares: 16 + 16), one encoder forward for all; lower-variance steps, but every row is
  padded to the longest of any task.

An epoch is ``sum(n_t)`` examples. Each task's rows are drawn in seeded permutations, cycled
when its share exceeds its size (small tasks are up-sampled) and cut when it falls short.
The layout is mapped onto the rows :func:`~transferkit.engine.epoch_plan` puts in each step,
so it holds whatever the number of processes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ...engine import ExampleData, epoch_plan
from ...exceptions import ConfigError

__all__ = ["SAMPLINGS", "BATCHES", "task_shares", "epoch_counts", "MultiTaskExamples"]

SAMPLINGS = ("proportional", "temperature", "round_robin")
BATCHES = ("per_task", "mixed")


def task_shares(sizes: Sequence[int], sampling: str, temperature: float = 2.0) -> np.ndarray:
    """Each task's share of the training examples (sums to 1)."""
    n = np.asarray(sizes, dtype=np.float64)
    if sampling == "proportional":
        p = n
    elif sampling == "temperature":
        if not temperature > 0:
            raise ConfigError(f"temperature must be > 0; got {temperature!r}. Use 1 for "
                              "proportional sampling, larger values for more uniform.")
        p = n ** (1.0 / float(temperature))
    elif sampling == "round_robin":
        p = np.ones_like(n)
    else:
        raise ConfigError(f"sampling must be one of {SAMPLINGS}; got {sampling!r}.")
    return p / p.sum()


def epoch_counts(total: int, shares: np.ndarray) -> np.ndarray:
    """Whole example counts per task summing to ``total`` (largest remainders)."""
    raw = np.asarray(shares) * total
    counts = np.floor(raw).astype(np.int64)
    rest = total - int(counts.sum())
    counts[np.argsort(-(raw - counts), kind="stable")[:rest]] += 1
    return counts


def _even_layout(counts: np.ndarray) -> np.ndarray:
    """Task ids of ``sum(counts)`` positions, each task spread evenly along them."""
    pos = np.concatenate([(np.arange(c) + 0.5) / c for c in counts if c])
    ids = np.concatenate([np.full(c, t) for t, c in enumerate(counts) if c])
    return ids[np.argsort(pos, kind="stable")]


class MultiTaskExamples:
    """Several tasks' examples behind one :class:`~transferkit.engine.ExampleData` interface.

    ``base`` holds every task's rows, task after task (``task_of_row`` says whose). For
    training (``shares`` given), index ``i`` of an epoch is a virtual position that
    :meth:`set_epoch` maps to a row; for validation (``shares=None``) it is the row itself.
    Batches carry ``task`` (``(B,)`` task ids) beside ``inputs`` and ``labels``.
    """

    def __init__(self, base: ExampleData, task_of_row: np.ndarray,
                 shares: np.ndarray | None = None, batch_size: int = 32, seed: int = 0,
                 batches: str = "per_task") -> None:
        if batches not in BATCHES:
            raise ConfigError(f"batches must be one of {BATCHES}; got {batches!r}.")
        self.batches = batches
        self.base = base
        self.task_of_row = np.asarray(task_of_row, dtype=np.int64)
        self.shares = shares
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.n_tasks = int(self.task_of_row.max()) + 1
        self.rows_of_task = [np.flatnonzero(self.task_of_row == t) for t in range(self.n_tasks)]
        self.mapping: np.ndarray | None = None
        if shares is not None:
            self.set_epoch(0)

    # --- the ExampleData interface the loop reads ---------------------------------------------
    def __len__(self) -> int:
        return len(self.base)

    @property
    def labels(self) -> np.ndarray | None:
        return self.base.labels

    @property
    def lengths(self) -> Any:
        return self.base.lengths

    def take(self, idx: Any) -> Any:
        return self.base.take(self._rows(idx))

    def batch(self, idx: Any) -> dict[str, Any]:
        rows = self._rows(idx)
        out = self.base.batch(rows)
        out["task"] = torch.from_numpy(self.task_of_row[rows])
        return out

    def eval_order(self) -> np.ndarray:
        return self.base.eval_order()

    # --- sampling ------------------------------------------------------------------------------
    def _rows(self, idx: Any) -> np.ndarray:
        idx = np.asarray(idx, dtype=np.int64)
        return idx if self.mapping is None else self.mapping[idx]

    def set_epoch(self, epoch: int) -> None:
        """Draw epoch ``epoch``'s rows: every task its share, spread evenly over the steps."""
        if self.shares is None:
            return
        n = len(self.base)
        # The rows the loop puts in each step (the same on every rank, before sharding).
        steps = [np.concatenate([mb.idx for mb in step])
                 for step in epoch_plan(n, self.batch_size, epoch, self.seed)]
        order = np.concatenate(steps)
        if self.batches == "mixed":
            layout = _even_layout(epoch_counts(n, self.shares))  # task of each position
        else:  # whole steps per task: the j-th step's task, repeated over its rows
            step_task = _even_layout(epoch_counts(len(steps), self.shares))
            layout = np.repeat(step_task, [len(s) for s in steps])
        counts = np.bincount(layout, minlength=self.n_tasks)
        drawn = [iter(self._draw(t, int(c), epoch)) for t, c in enumerate(counts)]
        mapping = np.empty(n, dtype=np.int64)
        for j, t in enumerate(layout):
            mapping[order[j]] = next(drawn[t])
        self.mapping = mapping

    def _draw(self, task: int, count: int, epoch: int) -> np.ndarray:
        rows = self.rows_of_task[task]
        if count == 0:
            return rows[:0]
        rng = np.random.default_rng([self.seed, int(epoch), task, 7])
        reps = -(-count // len(rows))
        return np.concatenate([rng.permutation(rows) for _ in range(reps)])[:count]

    def probe_batch(self, step: int, per_task: int = 16) -> dict[str, Any]:
        """A small batch holding every task (seeded by ``step``): the gradient-conflict
        measurement needs each task's loss on the same encoder state."""
        rng = np.random.default_rng([self.seed, int(step), 11])
        rows = np.concatenate([rng.choice(r, min(per_task, len(r)), replace=False)
                               for r in self.rows_of_task])
        out = self.base.batch(rows)
        out["task"] = torch.from_numpy(self.task_of_row[rows])
        return out

    def epoch_task_counts(self) -> np.ndarray:
        """Examples of each task in the current epoch's draw."""
        rows = np.arange(len(self.base)) if self.mapping is None else self.mapping
        return np.bincount(self.task_of_row[rows], minlength=self.n_tasks)
