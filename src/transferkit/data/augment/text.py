"""Text policies: EDA-style word edits and token masking, with nothing downloaded.

* ``eda`` (Wei & Zou 2019, https://arxiv.org/abs/1901.11196) without WordNet: each augmented
  text gets one of random deletion, random swap and random insertion, drawn uniformly. The
  synonym steps of the paper need a thesaurus (nltk + a download); here insertion repeats a
  word of the same text at a random place instead. ``alpha`` is the share of words edited:
  ``max(1, floor(alpha * L))`` words of an ``L``-word text are deleted or inserted, or that
  many positions are swapped (pairs; one swap at least). Texts of one word are left alone.
* ``token-mask``: replaces a share ``p`` of a text's real tokens (never CLS, SEP, padding)
  with the tokenizer's own mask token, the corruption masked-language models were trained
  to read through.

The label of an example never changes: only its input does.
"""

from __future__ import annotations

import math
import random
from typing import Any

import torch

from ...exceptions import ConfigError
from .policy import AugmentContext, AugmentPolicy, Knob, register_augmentation

__all__ = ["EDAPolicy", "TokenMaskPolicy", "eda_edit_budget"]


def eda_edit_budget(n_words: int, alpha: float) -> int:
    """Words an EDA edit may change in an ``n_words`` text: ``max(1, floor(alpha * n))``."""
    return max(1, math.floor(alpha * n_words))


@register_augmentation("eda", "text", "EDA: random deletion, swap or insertion of words "
                       "(no synonyms, no downloads)")
class EDAPolicy(AugmentPolicy):
    """Easy Data Augmentation without the thesaurus (module docstring)."""

    stage = "rows"
    KNOBS = (Knob("alpha", 0.1, "float", 0.0, 0.5, "share of a text's words edited"),)
    EXAMPLE = "eda,alpha=0.1"

    def augment_row(self, row: Any, rng: random.Random) -> Any:
        if not isinstance(row, str):
            raise ConfigError(f"augment='eda' edits words of texts; got a "
                              f"{type(row).__name__} input. Fix: use it with text data, or "
                              "augment='none'.")
        words = row.split()
        if len(words) < 2 or self.alpha <= 0:
            return row
        n = eda_edit_budget(len(words), float(self.alpha))
        op = rng.randrange(3)
        if op == 0:  # deletion: drop n words, keep at least one
            drop = set(rng.sample(range(len(words)), min(n, len(words) - 1)))
            words = [w for i, w in enumerate(words) if i not in drop]
        elif op == 1:  # swap: n positions change, in pairs
            for _ in range(max(1, n // 2)):
                i, j = rng.sample(range(len(words)), 2)
                words[i], words[j] = words[j], words[i]
        else:  # insertion: n copies of the text's own words at random places
            for _ in range(n):
                words.insert(rng.randrange(len(words) + 1), rng.choice(words))
        return " ".join(words)


@register_augmentation("token-mask", "text", "replace a share of tokens with the tokenizer's "
                       "mask token")
class TokenMaskPolicy(AugmentPolicy):
    """Mask ``round(p * L)`` (at least one) of each text's ``L`` real tokens."""

    stage = "tensors"
    KNOBS = (Knob("p", 0.15, "float", 0.0, 0.5, "share of real tokens masked"),)
    EXAMPLE = "token-mask,p=0.15"

    def bind(self, context: AugmentContext) -> None:
        if context.mask_token_id is None:
            raise ConfigError(
                f"augment='token-mask' needs the tokenizer's mask token, but backbone "
                f"{context.backbone!r} has none (expected a tokenizer with mask_token_id; got "
                "None). Fix: use augment='eda', or a masked-language-model encoder.")
        super().bind(context)

    def augment_tensors(self, inputs: dict[str, Any], generator: torch.Generator
                        ) -> dict[str, Any]:
        ids = inputs.get("input_ids")
        if not isinstance(ids, torch.Tensor):
            raise ConfigError("augment='token-mask' expected tokenised text (input_ids) in the "
                              f"batch; got keys {sorted(inputs)}. Fix: use a text backbone.")
        ctx = self.context
        if ctx is None or ctx.mask_token_id is None:  # never bound: bind() says what is wrong
            self.bind(ctx or AugmentContext("text"))
            ctx = self.context
        real = inputs.get("attention_mask", torch.ones_like(ids)).bool()
        for s in ctx.special_ids:
            real &= ids != s
        score = torch.rand(ids.shape, generator=generator)
        score[~real] = 2.0  # never chosen
        counts = (real.sum(1).float() * float(self.p)).round().clamp_min(1).long()
        counts = torch.minimum(counts, real.sum(1))
        ranks = score.argsort(1).argsort(1)  # 0 = the smallest score of the row
        out = ids.clone()
        out[ranks < counts[:, None]] = int(ctx.mask_token_id)
        inputs["input_ids"] = out
        return inputs
