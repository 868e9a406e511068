"""Sentence pairs for contrastive few-shot tuning, generated as SetFit does.

SetFit (Tunstall et al. 2022, https://arxiv.org/abs/2209.11055; ``setfit.sampler.
ContrastiveDataset`` with ``num_iterations`` set) draws ``num_iterations * N`` positive pairs
(both examples of one class; an example may pair with itself) and as many negative pairs
(examples of two different classes) from the ``N`` labelled examples, cycling through the
shuffled unique pairs when there are fewer of them. The targets are cosine similarities:
1 for a positive pair, 0 for a negative one.

Here the unique pairs are enumerated per class for positives; negatives are enumerated while
there are at most a few million of them and sampled uniformly without enumeration beyond
that, which leaves the distribution unchanged and keeps memory flat at 64+ shots.
"""

from __future__ import annotations

import numpy as np

from ..exceptions import ConfigError, DataError
from ..utils.checks import check_number

__all__ = ["make_pairs"]

_ENUMERATE_LIMIT = 2_000_000


def _cycle(pairs: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` rows of ``pairs`` (k, 2): shuffled, repeated (reshuffled per pass) when k < n."""
    out, have = [], 0
    while have < n:
        take = pairs[rng.permutation(len(pairs))][: n - have]
        out.append(take)
        have += len(take)
    return np.concatenate(out) if out else np.zeros((0, 2), dtype=np.int64)


def _positive_pairs(y: np.ndarray) -> np.ndarray:
    chunks = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        i, j = np.triu_indices(len(idx), k=0)
        chunks.append(np.stack([idx[i], idx[j]], axis=1))
    return np.concatenate(chunks)


def _negative_pairs(y: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    total = len(y) * (len(y) - 1) // 2
    counts = np.unique(y, return_counts=True)[1]
    n_neg = total - int((counts * (counts - 1) // 2).sum())
    if n_neg <= _ENUMERATE_LIMIT or n > n_neg // 2:
        i, j = np.triu_indices(len(y), k=1)
        keep = y[i] != y[j]
        return _cycle(np.stack([i[keep], j[keep]], axis=1), n, rng)
    # Far more negatives than needed: rejection-sample distinct unordered pairs.
    seen: set[tuple[int, int]] = set()
    out = np.empty((n, 2), dtype=np.int64)
    k = 0
    while k < n:
        a = rng.integers(0, len(y), size=2 * (n - k) + 16)
        b = rng.integers(0, len(y), size=len(a))
        for u, v in zip(np.minimum(a, b).tolist(), np.maximum(a, b).tolist(), strict=True):
            if y[u] != y[v] and (u, v) not in seen:
                seen.add((u, v))
                out[k] = (u, v)
                k += 1
                if k == n:
                    break
    return out


def make_pairs(
    y: np.ndarray, num_iterations: int = 20, seed: int = 0, max_pairs: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positive and negative pairs of example indices, SetFit-style, in a seeded random order.

    Args:
        y: ``(N,)`` integer (or any comparable) labels of the labelled examples.
        num_iterations: pairs per example and kind: ``num_iterations * N`` positives and as
            many negatives (SetFit's default is 20).
        seed: seed of the shuffles and samples; the same seed gives the same pairs.
        max_pairs: cap on the total number of pairs (half positive, half negative).

    Returns:
        ``(a, b, target)``: index arrays of the two sides and the target cosine similarity
        (``1.0`` positive, ``0.0`` negative), ``2 * num_iterations * N`` rows (or ``max_pairs``).

    Raises:
        ConfigError: ``num_iterations`` or ``max_pairs`` not a positive integer.
        DataError: fewer than two classes (no negative pair exists).
    """
    check_number("make_pairs", "num_iterations", num_iterations, low=1, integer=True)
    if max_pairs is not None:
        check_number("make_pairs", "max_pairs", max_pairs, low=2, integer=True)
    y = np.asarray(y)
    if y.ndim != 1 or len(y) == 0:
        raise ConfigError(f"make_pairs needs a non-empty 1-D label array; got shape {y.shape}.")
    if len(np.unique(y)) < 2:
        raise DataError(
            "Contrastive pairs need examples of at least two classes (a negative pair joins two "
            f"classes); got only {np.unique(y).tolist()}."
        )
    rng = np.random.default_rng(seed)
    n = num_iterations * len(y)
    if max_pairs is not None:
        n = min(n, max_pairs // 2)
    pos = _cycle(_positive_pairs(y), n, rng)
    neg = _negative_pairs(y, n, rng)
    pairs = np.concatenate([pos, neg])
    target = np.concatenate([np.ones(n, np.float32), np.zeros(n, np.float32)])
    order = rng.permutation(len(pairs))
    # Either side first: the loss is symmetric, but the batches then mix sides fairly.
    flip = rng.random(len(pairs)) < 0.5
    pairs = pairs[order]
    pairs[flip] = pairs[flip][:, ::-1]
    return pairs[:, 0].copy(), pairs[:, 1].copy(), target[order]
