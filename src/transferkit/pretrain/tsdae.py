"""``tsdae``: the denoising auto-encoder of Wang, Reimers & Gurevych 2021 (TSDAE,
https://arxiv.org/abs/2104.06979).

The encoder reads a review with 60 % of its words deleted; its pooled sentence vector is the
only thing a small transformer decoder may attend to while it rebuilds the original text
token by token. The decoder is tied to the encoder where the paper ties it: it embeds tokens
with the encoder's own embedding layer and scores them with the transposed input embedding
matrix. Its one (or few) blocks are new, and only the encoder is kept afterwards.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..backbones.text_split import pool_tokens
from ..exceptions import ConfigError
from .objectives import register_objective
from .text_batches import delete_words, held_out_generator, tokenize
from .text_objective import TextObjective

__all__ = ["DenoisingAutoEncoder"]


@register_objective("tsdae", "text", "denoising auto-encoder: rebuild a text from the "
                    "embedding of its copy with 60% of the words deleted")
class DenoisingAutoEncoder(TextObjective):
    """Rebuild each text from the sentence embedding of a corrupted copy.

    Args:
        backbone: the text backbone to pre-train.
        max_length: longest input (and reconstruction) in tokens.
        deletion: probability that a word is deleted from the encoder's input.
        decoder_layers: transformer blocks in the decoder.

    Shape:
        ``forward(backbone, batch)``: noisy ``input_ids`` / ``attention_mask`` ``(B, T)`` and
        clean ``target_ids`` / ``target_mask`` ``(B, T')`` -> the scalar mean cross-entropy of
        the next clean token.
    """

    def __init__(self, backbone: Any, max_length: int = 128, deletion: float = 0.6,
                 decoder_layers: int = 1) -> None:
        super().__init__(backbone, max_length)
        if not 0.0 < float(deletion) < 1.0:
            raise ConfigError(f"deletion must be in (0, 1); got {deletion!r}.")
        if not isinstance(decoder_layers, int) or decoder_layers < 1:
            raise ConfigError(f"decoder_layers must be an int >= 1; got {decoder_layers!r}.")
        cfg = backbone.model.config
        self.deletion = float(deletion)
        self.pooling = getattr(backbone, "pooling", "mean")
        block = nn.TransformerDecoderLayer(
            self.hidden, int(cfg.num_attention_heads), int(cfg.intermediate_size),
            dropout=float(getattr(cfg, "hidden_dropout_prob", 0.1)), activation="gelu",
            batch_first=True)
        self.decoder = nn.TransformerDecoder(block, int(decoder_layers))
        self.bias = nn.Parameter(torch.zeros(self.vocab_size))

    def collate(self, rows: Any, held_out: bool = False) -> dict[str, torch.Tensor]:
        gen = held_out_generator(rows) if held_out else None
        noisy = [delete_words(str(t), self.deletion, gen) for t in rows]
        batch = tokenize(self.tokenizer, noisy, self.max_length)
        clean = tokenize(self.tokenizer, rows, self.max_length)
        batch["target_ids"], batch["target_mask"] = clean["input_ids"], clean["attention_mask"]
        return batch

    def embed_targets(self, backbone: Any, ids: torch.Tensor) -> torch.Tensor:
        """The decoder's token inputs, through the encoder's embedding layer (tied)."""
        embeddings = getattr(backbone.model, "embeddings", None)
        if embeddings is not None:  # word + position embeddings and their LayerNorm (BERT)
            return embeddings(input_ids=ids)
        return backbone.model.get_input_embeddings()(ids)

    def forward(self, backbone: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        hidden = self.token_states(backbone, batch)
        # The decoder sees one vector: the sentence embedding (not L2-normalised).
        memory = pool_tokens(hidden, batch["attention_mask"], self.pooling)[:, None, :]
        ids, mask = batch["target_ids"], batch["target_mask"].bool()
        inputs, targets, real = ids[:, :-1], ids[:, 1:], mask[:, 1:]
        width = inputs.shape[1]  # True above the diagonal: a token never sees later ones
        causal = torch.ones(width, width, dtype=torch.bool, device=inputs.device).triu(1)
        out = self.decoder(self.embed_targets(backbone, inputs), memory, tgt_mask=causal,
                           tgt_key_padding_mask=~mask[:, :-1], tgt_is_causal=True)
        logits = F.linear(out[real], self.output_embeddings(backbone), self.bias)
        return F.cross_entropy(logits.float(), targets[real])

    def tokens(self, batch: dict[str, torch.Tensor]) -> int:
        return int(batch["target_mask"].sum())

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "deletion": self.deletion,
                "decoder_layers": len(self.decoder.layers), "decoder": "new blocks, tied "
                "input embeddings and output projection"}
