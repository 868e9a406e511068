"""Long texts encoded sentence by sentence: the mean of the sentence embeddings.

Sentence encoders such as all-MiniLM-L6-v2 were trained on sentence pairs and short
paragraphs. Embedded whole, a review of ten sentences is dominated by what it is about (the
product, the plot) and its verdict is diluted; embedded sentence by sentence and averaged,
each sentence's tone counts. On the Amazon reviews (median 90-143 tokens, so truncation at 256
tokens is not the cause) splitting every review moves the frozen MiniLM probe from 79-85 % to
86-89 % and zero-shot sentiment from the label names from 68-74 % to 80-82 %
(``benchmarks/bench_sentences.py``); a one-sentence text is encoded exactly as before.

:class:`SentenceMean` wraps any text backbone; with ``min_tokens`` it splits only texts longer
than that (``ZeroShotClassifier(segment="auto")``, the default, splits texts of more than
:data:`AUTO_MIN_TOKENS` tokens). Only :meth:`SentenceMean.features` (frozen
features: probe, prototypes, zero-shot, ranking, shift, feature-level adaptation, drift)
segments; a strategy that trains the encoder runs the wrapped backbone's own forward on whole
texts. Spec: ``<text backbone>+sentences`` (``minilm-l6+sentences``, ``hf:<folder>+sentences``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..exceptions import BackboneError
from ..utils.defaults import BATCH_SIZE
from .base import Backbone

__all__ = ["AUTO_MIN_TOKENS", "SEGMENT_SUFFIX", "SentenceMean", "split_sentences"]

#: spec suffix that wraps a text backbone in :class:`SentenceMean`
SEGMENT_SUFFIX = "+sentences"

# A sentence ends at . ! ? (with any closing quotes or brackets) followed by space, or at a
# line break. Abbreviations ("e.g. this") split too: the halves are still averaged together.
_BOUNDARY = re.compile(r"(?<=[.!?])\s+|(?<=[.!?][\"')\]])\s+|\s*[\r\n]+\s*")
#: pieces shorter than this (stray punctuation, list bullets) are not sentences of their own
_MIN_CHARS = 3
#: inputs whose sentences are encoded together: bounds the sentence list held in memory
_INPUT_BLOCK = 8192
#: ``segment="auto"`` splits only texts longer than this many tokens. Short texts of two or
#: three sentences are mostly one request with its context ("I moved abroad. Can I still use
#: my card?"): split, the context and the question lose each other, and Banking77's zero-shot
#: and probe accuracies fell 0.6 points when its 14 % multi-sentence queries were split.
#: Reviews gain from splitting at every length measured (benchmarks/bench_sentences.py has
#: the table over thresholds); above 64 tokens no Banking77 query is split, and 69-84 % of the
#: Amazon reviews are.
AUTO_MIN_TOKENS = 64


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``; the text itself when it has one (or nothing to split)."""
    parts = [p.strip() for p in _BOUNDARY.split(text)]
    parts = [p for p in parts if len(p) >= _MIN_CHARS]
    return parts if len(parts) > 1 else [text]


class SentenceMean(Backbone):
    """``inner``'s features of each sentence, averaged per text (re-normalised when the inner
    backbone normalises its vectors).

    Args:
        inner: a text backbone.
        min_tokens: split only texts longer than this many tokens (of the inner backbone's
            tokenizer; words where it has none); ``0`` splits every text of several sentences.
    """

    modality = "text"

    def __init__(self, inner: Backbone, min_tokens: int = 0) -> None:
        if not isinstance(inner, Backbone) or inner.modality != "text":
            got = getattr(inner, "modality", type(inner).__name__)
            raise BackboneError(
                f"Splitting inputs into sentences ('{SEGMENT_SUFFIX}') needs a text backbone; "
                f"got {getattr(inner, 'name', inner)!r}, which encodes {got} inputs. Drop "
                f"'{SEGMENT_SUFFIX}' from the backbone spec."
            )
        if isinstance(inner, SentenceMean):
            inner = inner.inner
        super().__init__(f"{inner.name}{SEGMENT_SUFFIX}", inner.num_features,
                         {**inner.preprocess_config, "segment": "sentences",
                          **({"min_tokens": int(min_tokens)} if min_tokens else {})})
        self.inner = inner
        self.min_tokens = int(min_tokens)
        self.license, self.source = inner.license, inner.source
        self.rebuildable = inner.rebuildable
        self.lineage, self.parent = inner.lineage, inner.parent

    # what the rest of transferkit asks a text backbone for, answered by the inner one
    @property
    def tokenizer(self) -> Any:
        return getattr(self.inner, "tokenizer", None)

    @property
    def max_length(self) -> int | None:
        return getattr(self.inner, "max_length", None)

    @property
    def num_feature_layers(self) -> int:
        return self.inner.num_feature_layers

    def files_fingerprint(self) -> str:
        return self.inner.files_fingerprint()

    def input_lengths(self, inputs: Sequence[str]) -> np.ndarray | None:
        return self.inner.input_lengths(inputs)

    def preprocess(self, inputs: Sequence[str]) -> dict[str, torch.Tensor]:
        return self.inner.preprocess(inputs)

    def forward_features(self, batch: dict[str, torch.Tensor], layer: int = -1) -> torch.Tensor:
        return self.inner.forward_features(batch, layer)

    def layer_groups(self) -> list[tuple[str, nn.Module]]:
        return self.inner.layer_groups()

    def split_top(self, k: int) -> Any:
        return self.inner.split_top(k)

    def reinitialize(self, seed: int = 0) -> Backbone:
        self.inner.reinitialize(seed)
        self.source, self.rebuildable = self.inner.source, False
        return self

    def _long(self, texts: list[str]) -> np.ndarray:
        """Which of ``texts`` are longer than ``min_tokens`` (all of them when it is 0)."""
        if not self.min_tokens:
            return np.ones(len(texts), dtype=bool)
        tok = self.tokenizer
        if tok is None:
            counts = [len(t.split()) for t in texts]
        else:
            counts = [len(ids) for ids in tok(texts, add_special_tokens=False,
                                              truncation=False, verbose=False)["input_ids"]]
        return np.asarray(counts) > self.min_tokens

    def features(
        self,
        inputs: Sequence[str],
        layer: int = -1,
        batch_size: int = BATCH_SIZE,
        progress: bool = False,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Every input's sentences encoded by the inner backbone and averaged; ``(N, F)``."""
        n = len(inputs)
        result = out if out is not None else np.empty((n, self.num_features), dtype=np.float32)
        renormalize = bool(self.preprocess_config.get("normalize"))
        for start in range(0, n, _INPUT_BLOCK):
            block = [str(t) for t in inputs[start : start + _INPUT_BLOCK]]
            pieces = [split_sentences(t) if long else [t]
                      for t, long in zip(block, self._long(block), strict=True)]
            counts = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
            flat = [s for p in pieces for s in p]
            S = self.inner.features(flat, layer=layer, batch_size=batch_size, progress=progress)
            starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
            mean = np.add.reduceat(np.asarray(S, dtype=np.float64), starts, axis=0)
            mean /= counts[:, None]
            if renormalize:
                mean /= np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)
            result[start : start + len(block)] = mean
        return result
