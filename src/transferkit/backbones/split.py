"""A backbone cut in two: a frozen lower part run once, a trainable top trained on its output.

Fine-tuning only the top ``K`` layer groups leaves everything below them fixed, so their
output for a given input never changes during training. :meth:`Backbone.split_top
<transferkit.backbones.base.Backbone.split_top>` returns a :class:`FrozenSplit` when a
backbone can hand that intermediate output over; training then encodes every row through the
frozen part once (:meth:`FrozenSplit.encode`) and each step runs only the top groups
(:attr:`FrozenSplit.top`), forward and backward. Tuning the top 2 of MiniLM's 7 groups this
way skips five sevenths of the forward pass at every step and every epoch after the first.

The top shares its modules with the backbone (it holds the same block objects, not copies),
so training it trains the backbone; inference afterwards runs the whole backbone as usual.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..engine.data import ExampleData
from ..utils.defaults import BATCH_SIZE

__all__ = ["FrozenSplit", "MAX_FROZEN_STATE_BYTES", "split_below", "states_fit_budget"]

log = logging.getLogger(__name__)

#: largest total size of cached frozen-layer states in one fit (float16 token states: 200k
#: MiniLM tokens per 150 MB); beyond it, training runs the whole forward
MAX_FROZEN_STATE_BYTES = 6 * 1024**3


class FrozenSplit:
    """The two halves of a backbone split below its top ``k`` layer groups.

    Subclasses implement :meth:`encode` and :meth:`collate` and set :attr:`top`.

    Attributes:
        k: how many layer groups the top holds.
        top: an ``nn.Module`` with ``num_features`` and ``forward_features(batch, layer=-1)``,
            reading the batches :meth:`collate` makes; its parameters are the backbone's own.
    """

    k: int
    top: nn.Module

    def encode(self, inputs: Sequence[Any], batch_size: int = BATCH_SIZE) -> list[np.ndarray]:
        """The frozen part's output for every input, one array per row, in input order."""
        raise NotImplementedError

    def collate(self, states: Sequence[np.ndarray]) -> dict[str, torch.Tensor]:
        """A batch for :attr:`top` from rows that :meth:`encode` returned."""
        raise NotImplementedError

    def estimate_nbytes(self, inputs: Sequence[Any]) -> int:
        """What :meth:`encode` of ``inputs`` would take in memory, without encoding."""
        raise NotImplementedError

    def examples(self, states: Sequence[np.ndarray], labels: np.ndarray | None = None) -> Any:
        """Encoded rows as :class:`~transferkit.engine.data.ExampleData` for :attr:`top`,
        with their token counts as lengths (inference batches them shortest-first)."""

        lengths = np.fromiter(map(len, states), dtype=np.int64, count=len(states))
        return ExampleData(states, labels, self.collate, lengths)

    @staticmethod
    def nbytes(states: Sequence[np.ndarray]) -> int:
        """Memory the encoded rows take."""
        return int(sum(s.nbytes for s in states))


def split_below(backbone: Any, plan: Any, layer: int = -1,
                devices: int = 1) -> FrozenSplit | None:
    """The backbone's split below the groups ``plan`` trains, or ``None`` when there is none:
    the trained groups must be a top run (not all, not none), ``layer`` the final one, and
    training one process (with ``devices`` > 1 each process would hold its own copy of the
    cached states).

    ``plan`` is a :class:`~transferkit.engine.freezing.FreezePlan` without a
    ``freeze_pattern`` (a pattern-frozen parameter inside the top would still train here).
    """
    k = len(plan.groups)
    if devices > 1 or getattr(plan, "pattern_frozen", None) or not 0 < k < len(plan.all_groups) \
            or list(plan.groups) != list(plan.all_groups[-k:]) \
            or layer % backbone.num_feature_layers != backbone.num_feature_layers - 1:
        return None
    return backbone.split_top(k)


def states_fit_budget(need: int, have: int = 0) -> bool:
    """Whether ``need`` more bytes of cached states (beside ``have``) fit
    :data:`MAX_FROZEN_STATE_BYTES`; logs a warning when they do not."""
    if need + have <= MAX_FROZEN_STATE_BYTES:
        return True
    log.warning("caching the frozen layers' output would take %.1f GB (budget %.1f GB): "
                "training runs the whole encoder forward instead", (need + have) / 1e9,
                MAX_FROZEN_STATE_BYTES / 1e9)
    return False
