"""``simcse``: unsupervised SimCSE (Gao, Yao & Chen 2021, https://arxiv.org/abs/2104.08821).

Each text is encoded twice; the two dropout masks make two views, and in-batch InfoNCE pulls
each text's views together and pushes the other texts away. No head at all: the loss reads
the sentence embeddings themselves.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ..backbones.text_split import pool_tokens
from ..exceptions import ConfigError
from .objectives import register_objective
from .text_batches import tokenize
from .text_objective import TextObjective

__all__ = ["ContrastiveDropout"]

#: the fixed seed of the held-out views' dropout, so the held-out loss compares epochs fairly
_HELD_OUT_SEED = 20_210_416


@register_objective("simcse", "text", "contrastive: two dropout views of each text, "
                    "in-batch InfoNCE")
class ContrastiveDropout(TextObjective):
    """Two dropout views per text, InfoNCE over the batch.

    Args:
        backbone: the text backbone to pre-train.
        max_length: longest input in tokens.
        temperature: the softmax temperature of the cosine similarities.

    Shape:
        ``forward(backbone, batch)``: ``input_ids`` / ``attention_mask`` ``(B, T)``, ``B >= 2``
        -> the scalar mean InfoNCE loss.
    """

    min_batch = 2  # a text's negatives are the other texts of its batch

    def __init__(self, backbone: Any, max_length: int = 64, temperature: float = 0.05) -> None:
        super().__init__(backbone, max_length)
        if not float(temperature) > 0:
            raise ConfigError(f"temperature must be > 0; got {temperature!r}.")
        self.temperature = float(temperature)
        self.pooling = getattr(backbone, "pooling", "mean")

    def collate(self, rows: Any, held_out: bool = False) -> dict[str, torch.Tensor]:
        return tokenize(self.tokenizer, rows, self.max_length)

    def _views(self, backbone: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        both = {k: torch.cat([v, v]) for k, v in batch.items()}  # one pass, two dropout masks
        hidden = self.token_states(backbone, both)
        return pool_tokens(hidden, both["attention_mask"], self.pooling)

    def forward(self, backbone: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        if self.training:
            z = self._views(backbone, batch)
        else:
            # Held out: the views still need dropout (without it they are identical), drawn
            # from a fixed seed; the loop restores eval mode after validating.
            device = batch["input_ids"].device
            with torch.random.fork_rng(devices=[] if device.type == "cpu" else [device]):
                torch.manual_seed(_HELD_OUT_SEED)
                backbone.train()
                try:
                    z = self._views(backbone, batch)
                finally:
                    backbone.eval()
        a, b = F.normalize(z.float(), dim=-1).chunk(2)
        scores = a @ b.T / self.temperature
        return F.cross_entropy(scores, torch.arange(len(a), device=scores.device))

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "temperature": self.temperature}
