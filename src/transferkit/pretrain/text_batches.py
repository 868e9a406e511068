"""Token batches for the text pretext objectives: tokenising, masking, word deletion.

Noise is drawn from torch's global generator, which the engine reseeds from ``(seed, epoch,
rank)`` at the start of every epoch: the same seed gives the same masks, and a resumed run
draws what the uninterrupted one would have. Held-out batches take their noise from a
generator seeded by the batch's own texts, so the held-out pretext loss is measured on the
same corrupted inputs every epoch and its changes are the model's, not the noise's.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

import torch

__all__ = ["tokenize", "mask_tokens", "delete_words", "held_out_generator"]


def held_out_generator(texts: Sequence[str]) -> torch.Generator:
    """A generator seeded by the texts themselves (the same batch always gets the same noise)."""
    digest = zlib.crc32("\x1f".join(texts).encode("utf-8", "replace"))
    return torch.Generator().manual_seed(int(digest))


def tokenize(tokenizer: Any, texts: Sequence[str], max_length: int) -> dict[str, torch.Tensor]:
    """Padded ``input_ids`` / ``attention_mask`` (int64), truncated to ``max_length`` tokens."""
    enc = tokenizer(list(texts), padding=True, truncation=True, max_length=int(max_length),
                    return_tensors="pt", return_token_type_ids=False)
    return {"input_ids": enc["input_ids"].long(), "attention_mask": enc["attention_mask"].long()}


def mask_tokens(input_ids: torch.Tensor, special: torch.Tensor, mask_id: int, vocab_size: int,
                rate: float = 0.15, generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masking (Devlin et al. 2019, https://arxiv.org/abs/1810.04805): pick ``rate`` of
    the real tokens; of those 80 % become ``[MASK]``, 10 % a random token, 10 % stay.

    Shape:
        ``input_ids``, ``special`` (True for padding and special tokens): ``(B, T)`` ->
        ``(masked ids (B, T), labels (B, T))``; labels are ``-100`` where nothing is predicted.
    """
    u = torch.rand(input_ids.shape, generator=generator)
    chosen = (u < rate) & ~special
    # At least one prediction per row that has a real token: short texts would give none.
    none = ~chosen.any(1) & (~special).any(1)
    if none.any():
        score = torch.rand(input_ids.shape, generator=generator).masked_fill(special, -1.0)
        first = score.argmax(1)
        chosen[none, first[none]] = True
    labels = input_ids.masked_fill(~chosen, -100)
    how = torch.rand(input_ids.shape, generator=generator)
    out = input_ids.clone()
    out[chosen & (how < 0.8)] = int(mask_id)
    swap = chosen & (how >= 0.8) & (how < 0.9)
    out[swap] = torch.randint(vocab_size, (int(swap.sum()),), generator=generator)
    return out, labels


def delete_words(text: str, rate: float, generator: torch.Generator | None = None) -> str:
    """TSDAE's deletion noise (Wang et al. 2021, https://arxiv.org/abs/2104.06979): each
    whitespace-separated word is dropped with probability ``rate``; one word always stays.
    Words are split on whitespace (the paper used nltk's tokenizer, not needed for this)."""
    words = text.split()
    if len(words) <= 1:
        return text
    keep = torch.rand(len(words), generator=generator) >= rate
    if not bool(keep.any()):
        keep[int(torch.randint(len(words), (1,), generator=generator))] = True
    return " ".join(w for w, k in zip(words, keep.tolist(), strict=True) if k)
