"""Zero-shot classification: embed the label names (or descriptions) and pick the closest.

No training example is needed: each label becomes one or more prompts (``"This is about
{}."`` with the label name, plus any descriptions), the backbone embeds them, and an input
gets the label whose averaged prompt embedding is most cosine-similar to its own embedding —
the "extreme transfer through semantic embeddings" of the sentence-encoder literature
(e.g. Yin et al. 2019, https://arxiv.org/abs/1909.00161; Reimers & Gurevych 2019). The
estimator is :class:`transferkit.ZeroShotClassifier` (:mod:`transferkit.models.zeroshot`);
this module holds the arithmetic it is made of.

Calibration uses unlabelled target text given to ``ZeroShotClassifier.fit``:

* ``"center"`` subtracts the mean embedding of that text from every input embedding (and the
  mean label embedding from the label embeddings), removing the direction all sentences of
  the domain share — which otherwise dominates cosine similarity;
* ``"prior"`` adds per-label biases so the average predicted distribution over the
  unlabelled text becomes uniform (an EM-style prior correction in the manner of Saerens et
  al. 2002, assuming roughly balanced target classes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..backbones.base import Backbone
from ..exceptions import ConfigError
from ..utils.defaults import BATCH_SIZE

__all__ = ["embed_prompts", "prior_bias", "softmax", "unit"]


def unit(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    return X / (np.linalg.norm(X, axis=-1, keepdims=True) + 1e-12)


def embed_prompts(
    backbone: Backbone, prompts: Mapping[Any, Sequence[str]], layer: int = -1,
    batch_size: int = BATCH_SIZE,
) -> np.ndarray:
    """One unit vector per label: the normalised mean of its prompts' unit embeddings.

    Args:
        backbone: a text backbone.
        prompts: label -> its texts (at least one each), in the order of the result's rows.
        layer: feature layer.
        batch_size: texts per forward pass.

    Returns:
        ``(n_labels, F)`` float32, rows of unit length.
    """
    texts = [t for ts in prompts.values() for t in ts]
    if not texts or any(not ts for ts in prompts.values()):
        raise ConfigError("Every label needs at least one prompt text to embed.")
    E = unit(backbone.features(texts, layer=layer, batch_size=batch_size))
    out, i = [], 0
    for ts in prompts.values():
        out.append(E[i : i + len(ts)].mean(0))
        i += len(ts)
    return unit(np.stack(out))


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def prior_bias(cos: np.ndarray, temperature: float, rounds: int = 20) -> np.ndarray:
    """Per-label biases that make the mean predicted distribution over ``cos`` (cosine
    similarities of unlabelled inputs, ``(N, n_labels)``) uniform: an EM-style prior
    correction (Saerens et al. 2002), assuming roughly balanced classes."""
    logits = cos / temperature
    b = np.zeros(cos.shape[1])
    for _ in range(rounds):
        p = softmax(logits + b).mean(0)
        b -= np.log(p * len(p) + 1e-12)
    return (b - b.mean()).astype(np.float32)
