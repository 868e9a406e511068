"""Inputs in batches for a backbone: shortest first, tokenised once, on the backbone's device.

:meth:`Backbone.features <transferkit.backbones.base.Backbone.features>`, the feature cache
(:mod:`transferkit.features`) and the frozen-part encoders of :mod:`.split` all batch through
here.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

    from .base import Backbone

__all__ = ["iter_batches", "iter_input_batches", "show_progress"]


def show_progress(progress: bool) -> bool:
    """Whether to draw a progress bar: asked for, and the output is a terminal."""
    return bool(progress) and sys.stderr.isatty()


def iter_input_batches(
    backbone: Backbone, inputs: Sequence[Any], batch_size: int, progress: bool = False,
    encoded: Any = None,
) -> Iterator[tuple[np.ndarray, dict[str, torch.Tensor]]]:
    """Yield ``(indices, batch)``: ``inputs`` in batches ready for the backbone, on its
    device; text is batched shortest-first.

    A backbone with a ``pretokenize(inputs)`` method (text backbones) has the whole input
    tokenised once: batches are sorted by true token length (so each pads to its own longest
    input) and collated from those tokens, with no second tokenisation. Otherwise inputs are
    sorted by :meth:`~transferkit.backbones.base.Backbone.input_lengths` and each batch goes
    through ``preprocess``. ``encoded``: ``backbone.pretokenize(inputs)`` when the caller
    already has it.
    """
    n = len(inputs)
    pretokenize = getattr(backbone, "pretokenize", None)
    if encoded is None and callable(pretokenize) and n:
        encoded = pretokenize(inputs)
    lengths = encoded.lengths if encoded is not None else backbone.input_lengths(inputs)
    order = np.argsort(lengths, kind="stable") if lengths is not None else np.arange(n)
    starts = range(0, n, batch_size)
    if show_progress(progress):
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc=f"encoding with {backbone.name}", unit="batch", leave=False)
    device = backbone.device
    for s in starts:
        idx = order[s : s + batch_size]
        if encoded is not None:
            batch = encoded.collate(idx)
        else:
            chunk = inputs[idx] if isinstance(inputs, np.ndarray) else [inputs[i] for i in idx]
            batch = backbone.preprocess(chunk)
        yield idx, {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def iter_batches(
    backbone: Backbone, inputs: Sequence[Any], layer: int, batch_size: int, progress: bool = False
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(indices, features)`` batch by batch, batched as :func:`iter_input_batches`."""
    for idx, batch in iter_input_batches(backbone, inputs, batch_size, progress):
        yield idx, backbone.forward_features(batch, layer).float().cpu().numpy()
