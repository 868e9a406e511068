"""Examples, batches and the per-epoch plan of which rank sees which rows.

The plan makes three promises the rest of the engine relies on:

* the same ``(seed, epoch)`` gives the same row order on every machine and after a resume;
* ``batch_size`` is the number of examples per optimiser step for the whole job, whatever the
  number of processes or accumulation steps, and each step's loss is the mean over exactly
  those examples (ranks whose share is empty run a zero-weighted duplicate so that collective
  operations stay in step);
* every rank takes the same number of micro-batches per epoch, so DDP never waits forever.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from ..data.augment import Augmenter

__all__ = ["ExampleData", "MicroBatch", "epoch_plan", "eval_shard", "augment_seed"]


class ExampleData:
    """Raw inputs (+ integer labels) turned into tensor batches by ``preprocess``.

    Args:
        inputs: a list or array of raw inputs (texts, image arrays or paths, table rows).
        labels: ``(N,)`` integer labels, or ``None``.
        preprocess: raw inputs -> dict of CPU tensors (a backbone's ``preprocess``).
        lengths: per-input lengths; evaluation batches are built shortest-first from them.
        augment: an :class:`~transferkit.data.augment.Augmenter` for training batches; it
            applies only to batches asked for with an ``augment_seed`` (the training loop
            does; validation, prediction and BatchNorm recalibration do not).
    """

    def __init__(
        self,
        inputs: Any,
        labels: np.ndarray | None,
        preprocess: Callable[[Any], dict[str, torch.Tensor]],
        lengths: np.ndarray | None = None,
        augment: Augmenter | None = None,
    ) -> None:
        self.inputs = inputs
        self.labels = None if labels is None else np.asarray(labels, dtype=np.int64)
        self.preprocess = preprocess
        self.lengths = lengths
        self.augment = augment

    def __len__(self) -> int:
        return len(self.inputs)

    def take(self, idx: Sequence[int] | np.ndarray) -> Any:
        idx = np.asarray(idx, dtype=np.int64)
        if isinstance(self.inputs, np.ndarray):
            return self.inputs[idx]
        return [self.inputs[i] for i in idx]

    def batch(self, idx: Sequence[int] | np.ndarray, augment_seed: int | None = None
              ) -> dict[str, Any]:
        """``{"inputs": preprocess(rows), "labels": LongTensor}`` for rows ``idx``; with an
        ``augment_seed`` and an augmenter, the inputs are augmented, reproducibly per seed."""
        rows = self.take(idx)
        aug = self.augment if augment_seed is not None else None
        if aug is not None:
            rows = aug.rows(rows, augment_seed)
        inputs = self.preprocess(rows)
        if aug is not None:
            inputs = aug.tensors(inputs, augment_seed)
        out: dict[str, Any] = {"inputs": inputs}
        if self.labels is not None:
            out["labels"] = torch.from_numpy(self.labels[np.asarray(idx, dtype=np.int64)])
        return out

    def eval_order(self) -> np.ndarray:
        """Row order for inference: by length when known (less padding), else as given."""
        if self.lengths is None:
            return np.arange(len(self))
        return np.argsort(np.asarray(self.lengths), kind="stable")


@dataclass(frozen=True)
class MicroBatch:
    """Rows one rank processes in one forward/backward, and the weight of its mean loss.

    ``scale`` turns the rank's mean loss into its share of the step's global mean: DDP
    averages gradients over ranks, so ``scale = n_local * world / n_step``; summing over
    accumulation steps then gives the exact mean over the step's examples.
    """

    idx: np.ndarray
    scale: float


def epoch_plan(
    n: int, batch_size: int, epoch: int, seed: int, rank: int = 0, world: int = 1,
    accumulate: int = 1, shuffle: bool = True,
) -> list[list[MicroBatch]]:
    """For each optimiser step of ``epoch``, the micro-batches this ``rank`` runs.

    Args:
        n: number of training examples.
        batch_size: examples per optimiser step, over all ranks and accumulation steps.
        epoch: the epoch index (seeds the shuffle together with ``seed``).
        seed: the run's seed.
        rank: this process's global rank.
        world: number of processes.
        accumulate: micro-batches per rank per step (gradient accumulation).
        shuffle: shuffle rows (``False`` keeps their order).

    Returns:
        ``steps`` lists of ``accumulate`` :class:`MicroBatch` each; every rank gets the same
        number of steps and micro-batches.
    """
    rng = np.random.default_rng([int(seed), int(epoch)])
    order = rng.permutation(n) if shuffle else np.arange(n)
    steps = math.ceil(n / batch_size)
    parts = world * accumulate
    plan: list[list[MicroBatch]] = []
    for s in range(steps):
        chunk = order[s * batch_size : (s + 1) * batch_size]
        # Split the step's rows into world*accumulate nearly equal parts; rank r owns parts
        # r, r+world, ... so every rank's micro-batches differ in size by at most one row.
        pieces = np.array_split(chunk, parts)
        mine = []
        for a in range(accumulate):
            idx = pieces[a * world + rank]
            if len(idx) == 0:  # fewer rows than parts: run a weightless duplicate to stay in step
                mine.append(MicroBatch(chunk[:1], 0.0))
            else:
                mine.append(MicroBatch(idx, len(idx) * world / len(chunk)))
        plan.append(mine)
    return plan


def augment_seed(seed: int, epoch: int, rank: int, step: int, micro: int) -> int:
    """The seed of one training micro-batch's augmentation: a function of where it is in the
    run alone, so a resumed run augments exactly as an uninterrupted one would."""
    state = np.random.SeedSequence([int(seed), int(epoch), int(rank), int(step), int(micro),
                                    0xA06]).generate_state(2, dtype=np.uint32)
    return int(state[0]) << 31 | int(state[1]) >> 1


def eval_shard(order: np.ndarray, batch_size: int, rank: int = 0, world: int = 1
               ) -> list[np.ndarray]:
    """This rank's evaluation batches: a contiguous share of ``order``, in batches."""
    share = np.array_split(order, world)[rank]
    return [share[i : i + batch_size] for i in range(0, len(share), batch_size)]
