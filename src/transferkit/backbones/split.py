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

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["FrozenSplit"]


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

    def encode(self, inputs: Sequence[Any], batch_size: int = 64) -> list[np.ndarray]:
        """The frozen part's output for every input, one array per row, in input order."""
        raise NotImplementedError

    def collate(self, states: Sequence[np.ndarray]) -> dict[str, torch.Tensor]:
        """A batch for :attr:`top` from rows that :meth:`encode` returned."""
        raise NotImplementedError

    def estimate_nbytes(self, inputs: Sequence[Any]) -> int:
        """What :meth:`encode` of ``inputs`` would take in memory, without encoding."""
        raise NotImplementedError

    @staticmethod
    def nbytes(states: Sequence[np.ndarray]) -> int:
        """Memory the encoded rows take."""
        return int(sum(s.nbytes for s in states))
