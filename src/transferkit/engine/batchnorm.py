"""Re-estimating BatchNorm statistics on the data being trained on ("precise BN").

A BatchNorm layer that trains normalises with each batch's statistics but predicts with
running averages. Pre-trained CNNs keep TensorFlow's momentum (0.01 per step), set for
ImageNet's hundreds of thousands of steps: after the few hundred steps of a small
fine-tuning job the running averages are still mostly ImageNet's (or, from scratch, still
mean 0 / variance 1), so evaluation sees activations the weights were never trained on. On
MNIST that put fine-tuned EfficientNet below the frozen probe and made scratch predict a
single class.

The fix (Wu & Johnson 2021, "Rethinking 'Batch' in BatchNorm"): after training, recompute
the statistics of every BatchNorm layer that trains with an equal-weight average over a
fixed set of training batches under the current weights. Done before training starts it
is AdaBN (Li et al. 2016): the normalisation follows the target data before the head is
initialised. Layers that stay frozen keep their statistics (see :mod:`.freezing`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from .data import ExampleData
from .freezing import norm_is_frozen

__all__ = ["training_norms", "statistics_are_stale", "recalibrate_batchnorm"]

#: at most this many training examples are used to re-estimate the statistics
MAX_EXAMPLES = 4096
#: running averages whose starting values still weigh more than this are re-estimated
STALE_WEIGHT = 0.01


def training_norms(module: nn.Module) -> list[_BatchNorm]:
    """BatchNorm layers that run in training mode while ``module`` trains (not frozen: the
    same rule :func:`~.freezing.set_train_mode` applies)."""
    return [m for m in module.modules()
            if isinstance(m, _BatchNorm) and not norm_is_frozen(m) and m.track_running_stats]


def statistics_are_stale(module: nn.Module, steps: int) -> bool:
    """Whether, after ``steps`` training steps, some training BatchNorm layer's running
    averages still carry more than 1% of their starting values (``(1 - momentum)**steps``).

    PyTorch's default momentum (0.1) forgets the start within ~45 steps, so networks built
    with it skip the extra pass; TensorFlow's 0.01 needs ~460.
    """
    for m in training_norms(module):
        if m.momentum is not None and (1.0 - float(m.momentum)) ** max(steps, 0) > STALE_WEIGHT:
            return True
    return False


@torch.no_grad()
def recalibrate_batchnorm(
    module: nn.Module,
    forward: Callable[[dict[str, Any]], Any],
    data: ExampleData,
    batch_size: int,
    seed: int = 0,
    max_examples: int = MAX_EXAMPLES,
    to_device: Callable[[Any], Any] = lambda b: b,
    all_reduce_mean: Callable[[torch.Tensor], torch.Tensor] | None = None,
    shard: tuple[int, int] = (0, 1),
) -> int:
    """Replace the running statistics of ``module``'s training BatchNorm layers.

    Args:
        module: the model; only its trainable BatchNorm layers change (buffers only).
        forward: runs the model on one batch (``batch -> anything``); gradients are off.
        data: training examples (labels unused).
        batch_size: examples per forward pass: the same size the layers train with, since
            batch statistics depend on it.
        seed: picks which rows are used when there are more than ``max_examples``.
        max_examples: cap on the rows used.
        to_device: moves a batch to the model's device.
        all_reduce_mean: averages a tensor over processes (DDP); ``None`` in one process.
        shard: ``(rank, world_size)``: each process uses every world_size-th batch.

    Returns:
        The number of layers recalibrated (0 when there is nothing to do).
    """
    norms = training_norms(module)
    if not norms or len(data) == 0:
        return 0
    rows = np.arange(len(data))
    if len(rows) > max_examples:
        rows = np.sort(np.random.default_rng(seed).choice(rows, max_examples, replace=False))
    # One image per batch cannot give a variance: fold a short tail into the previous batch.
    starts = list(range(0, len(rows), batch_size))
    if len(starts) > 1 and len(rows) - starts[-1] < 2:
        starts.pop()
    bounds = [*starts[1:], len(rows)]
    rank, world = shard
    if world > 1 and len(starts) >= world:
        starts, bounds = starts[rank::world], bounds[rank::world]
    was_training = {m: m.training for m in module.modules()}
    momenta = [m.momentum for m in norms]
    module.eval()  # dropout off; only the BatchNorm layers below see batch statistics
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average: every batch weighs the same
        m.train()
    try:
        for s, e in zip(starts, bounds, strict=True):
            forward(to_device(data.batch(rows[s:e])))
    finally:
        for m, mom in zip(norms, momenta, strict=True):
            m.momentum = mom
        for m, mode in was_training.items():
            m.training = mode
    if all_reduce_mean is not None:
        for m in norms:
            m.running_mean.copy_(all_reduce_mean(m.running_mean))
            m.running_var.copy_(all_reduce_mean(m.running_var))
    return len(norms)
