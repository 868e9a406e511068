"""Which new examples to label within a budget: uncertainty, diversity, or both.

``"diverse"`` follows Zhdanov, *Diverse mini-batch Active Learning*, 2019
(https://arxiv.org/abs/1901.05954): keep the ``4 x budget`` examples the model is least sure
of (smallest margin between its two most probable classes), cluster them into ``budget``
groups with k-means weighted by that uncertainty, and label the example nearest each centre —
uncertain, and not all alike (the most uncertain examples of a new domain are often
near-duplicates).
"""

from __future__ import annotations

import numpy as np

__all__ = ["SELECTIONS", "select_to_label", "margin"]

SELECTIONS = ("diverse", "uncertainty", "random")
#: candidates per labelled example kept by the uncertainty filter of "diverse"
_PREFILTER = 4


def margin(proba: np.ndarray) -> np.ndarray:
    """Probability of the most likely class minus that of the second (small: unsure)."""
    top2 = np.sort(proba, axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


def select_to_label(features: np.ndarray, proba: np.ndarray, budget: int,
                    how: str = "diverse", seed: int = 0) -> np.ndarray:
    """Indices (sorted) of ``budget`` rows to label.

    Args:
        features: ``(N, D)`` the pool's features (for diversity).
        proba: ``(N, K)`` the deployed model's probabilities on the pool (for uncertainty).
        budget: how many rows to choose (``<= N``).
        how: ``"diverse"``, ``"uncertainty"`` or ``"random"``.
        seed: seeds k-means and the random choice.
    """
    n = len(proba)
    if budget >= n:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    if how == "random":
        return np.sort(rng.choice(n, budget, replace=False))
    order = np.argsort(margin(proba), kind="stable")
    if how == "uncertainty":
        return np.sort(order[:budget])
    from sklearn.cluster import KMeans

    cand = order[: min(n, _PREFILTER * budget)]
    X = np.asarray(features[cand], dtype=np.float64)
    weight = 1.0 - margin(proba[cand]) + 1e-3
    km = KMeans(n_clusters=budget, n_init=3, random_state=seed).fit(X, sample_weight=weight)
    d = ((X[:, None, :] - km.cluster_centers_[None]) ** 2).sum(-1)
    chosen: list[int] = []
    for c in range(budget):  # the nearest candidate to each centre not taken yet
        for i in np.argsort(d[:, c]):
            if i not in chosen:
                chosen.append(int(i))
                break
    return np.sort(cand[chosen])
