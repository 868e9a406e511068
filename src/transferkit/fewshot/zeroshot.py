"""Zero-shot classification: embed the label names (or descriptions) and pick the closest.

No training example is needed: each label becomes one or more prompts (``"This is about
{}."`` with the label name, plus any descriptions), the backbone embeds them, and an input
gets the label whose averaged prompt embedding is most cosine-similar to its own embedding —
the "extreme transfer through semantic embeddings" of the sentence-encoder literature
(e.g. Yin et al. 2019, https://arxiv.org/abs/1909.00161; Reimers & Gurevych 2019). The
estimator is :class:`transferkit.ZeroShotClassifier` (:mod:`transferkit.models.zeroshot`);
this module holds the arithmetic it is made of (the label-name embeddings themselves —
prompts, the template ensemble, vocabulary neighbours — are in
:mod:`transferkit.strategies.label_names`, shared with the few-shot strategies).

Calibration uses unlabelled target text given to ``ZeroShotClassifier.fit``:

* ``"center"`` subtracts the mean embedding of that text from every input embedding (and the
  mean label embedding from the label embeddings), removing the direction all sentences of
  the domain share — which otherwise dominates cosine similarity;
* ``"prior"`` adds per-label biases so the average predicted distribution over the
  unlabelled text becomes uniform (an EM-style prior correction in the manner of Saerens et
  al. 2002, assuming roughly balanced target classes);
* ``"refine"`` does ``"prior"``, then moves each label embedding towards the mean of the
  unlabelled texts it is most confident about (the top 10 % of that text per label, with
  half the weight of the label embedding), and calibrates the prior again: one step of
  self-labelling (:func:`refine_label_embeddings`). It helps on average but not everywhere
  (``benchmarks/bench_fewshot_ideas.py``), so it is an option, not the default.
"""

from __future__ import annotations

import numpy as np

from ..strategies.label_names import embed_prompts, softmax, unit

__all__ = ["embed_prompts", "prior_bias", "refine_label_embeddings", "softmax", "unit"]


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


def refine_label_embeddings(E: np.ndarray, L: np.ndarray, temperature: float,
                            top: float = 0.1, weight: float = 0.5) -> np.ndarray:
    """One step of self-labelling on unlabelled inputs.

    Args:
        E: unit embeddings of unlabelled inputs ``(N, F)``.
        L: unit label embeddings ``(K, F)``.
        temperature: softmax temperature of the cosine similarities.
        top: fraction of ``N / K`` inputs per label taken as its confident examples.
        weight: weight of their (unit) mean added to the label embedding.

    Returns:
        ``(K, F)`` unit label embeddings; a label no input is assigned to keeps its own.
    """
    cos = E @ L.T
    P = softmax(cos / temperature + prior_bias(cos, temperature))
    pred, conf = P.argmax(1), P.max(1)
    m = max(1, int(top * len(E) / len(L)))
    out = np.array(L, dtype=np.float32)
    for c in range(len(L)):
        idx = np.flatnonzero(pred == c)
        if len(idx):
            mean = E[idx[np.argsort(-conf[idx], kind="stable")[:m]]].mean(0)
            out[c] = L[c] + weight * unit(mean)
    return unit(out)
