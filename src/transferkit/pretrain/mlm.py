"""``mlm``: masked-token prediction (Devlin et al. 2019, https://arxiv.org/abs/1810.04805).

all-MiniLM-L6-v2 ships without its masked-LM head, so the head is initialised here: BERT's
transform (dense, GELU, LayerNorm) and an output projection *tied* to the encoder's input
embeddings (only a bias of its own), as in BERT. Only the encoder is kept afterwards.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..exceptions import ConfigError
from .objectives import register_objective
from .text_batches import held_out_generator, mask_tokens, tokenize
from .text_objective import TextObjective

__all__ = ["MaskedLanguageModel"]


@register_objective("mlm", "text", "masked-token prediction; a new MLM head tied to the "
                    "input embeddings")
class MaskedLanguageModel(TextObjective):
    """Predict 15 % of the tokens from the rest.

    Args:
        backbone: the text backbone to pre-train.
        max_length: longest input in tokens.
        mask_rate: fraction of real tokens to predict.

    Shape:
        ``forward(backbone, batch)``: ``input_ids`` / ``attention_mask`` / ``labels`` of shape
        ``(B, T)`` -> the scalar mean cross-entropy over the masked tokens.
    """

    def __init__(self, backbone: Any, max_length: int = 128, mask_rate: float = 0.15) -> None:
        super().__init__(backbone, max_length)
        if not 0.0 < float(mask_rate) < 1.0:
            raise ConfigError(f"mask_rate must be in (0, 1); got {mask_rate!r}.")
        self.mask_rate = float(mask_rate)
        self.mask_id = backbone.tokenizer.mask_token_id
        if self.mask_id is None:
            raise ConfigError(
                f"The tokenizer of {backbone.name!r} has no [MASK] token, so 'mlm' cannot mask "
                "inputs. Fix: use objective='tsdae' or 'simcse'.")
        eps = float(getattr(backbone.model.config, "layer_norm_eps", 1e-12))
        h = self.hidden
        self.transform = nn.Sequential(nn.Linear(h, h), nn.GELU(), nn.LayerNorm(h, eps=eps))
        self.bias = nn.Parameter(torch.zeros(self.vocab_size))
        nn.init.normal_(self.transform[0].weight, std=0.02)
        nn.init.zeros_(self.transform[0].bias)

    def collate(self, rows: Any, held_out: bool = False) -> dict[str, torch.Tensor]:
        batch = tokenize(self.tokenizer, rows, self.max_length)
        gen = held_out_generator(rows) if held_out else None
        special = self.special_mask(batch["input_ids"], batch["attention_mask"])
        batch["input_ids"], batch["labels"] = mask_tokens(
            batch["input_ids"], special, self.mask_id, self.vocab_size, self.mask_rate, gen)
        return batch

    def logits(self, backbone: Any, hidden: torch.Tensor) -> torch.Tensor:
        """``(N, H)`` token states -> ``(N, V)`` scores, through the tied output projection."""
        return F.linear(self.transform(hidden), self.output_embeddings(backbone), self.bias)

    def forward(self, backbone: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        hidden = self.token_states(backbone, batch)
        chosen = batch["labels"] != -100
        # Only the masked positions go through the vocabulary-sized projection.
        logits = self.logits(backbone, hidden[chosen])
        return F.cross_entropy(logits.float(), batch["labels"][chosen])

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "mask_rate": self.mask_rate, "head": "new, tied"}
