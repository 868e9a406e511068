"""Cosine k-nearest-neighbour probe head."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..utils.checks import check_number
from .base import ProbeHead, holdout_split, register_head

__all__ = ["KNNHead"]

_KS = (1, 3, 5, 10, 20)


def _unit(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    return X / (np.linalg.norm(X, axis=1, keepdims=True) + 1e-12)


def _vote(sims: np.ndarray, labels: np.ndarray, k: int, n_classes: int) -> np.ndarray:
    k = min(k, sims.shape[1])
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    votes = np.zeros((sims.shape[0], n_classes), dtype=np.float32)
    np.add.at(votes, (np.arange(sims.shape[0])[:, None], labels[top]), 1.0)
    return votes / k


@register_head("knn", description="cosine k-nearest neighbours, k chosen on held-out data")
class KNNHead(ProbeHead):
    """kNN on L2-normalised features; ``k=None`` picks k by held-out accuracy."""

    name = "knn"

    def __init__(self, k: int | None = None, **kw: Any) -> None:
        if k is not None:
            check_number("KNNHead", "k", k, low=1, integer=True)
        super().__init__(k=k, **kw)

    def fit(self, X: np.ndarray, y: np.ndarray, n_classes: int, seed: int = 0) -> KNNHead:
        Xn, y = _unit(X), np.asarray(y, dtype=np.int64)
        k = self.config["k"]
        if k is None:
            fit_idx, hold_idx = holdout_split(y, 0.2, seed)
            k = 5
            if len(hold_idx):
                sims = Xn[hold_idx] @ Xn[fit_idx].T
                accs = [(_vote(sims, y[fit_idx], kk, n_classes).argmax(1) == y[hold_idx]).mean()
                        for kk in _KS]
                k = _KS[int(np.argmax(accs))]
        self.config["k_chosen"] = int(k)
        self.config["n_classes"] = int(n_classes)
        self.arrays = {"features": Xn, "labels": y}
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        sims = _unit(X) @ self.arrays["features"].T
        return _vote(sims, self.arrays["labels"], self.config["k_chosen"], self.config["n_classes"])

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        return self.predict_proba(X)
