"""Histogram gradient boosting (scikit-learn): the tabular baseline, stored without pickle.

scikit-learn's fitted trees live in Python objects that only pickle can save. Here each
tree's node table is exported as plain arrays (split feature, numeric threshold, which side
missing values take, children, leaf values) and the model predicts by walking all trees at
once in NumPy: the same raw scores as ``HistGradientBoostingClassifier`` (to float rounding),
from safetensors alone. Categorical splits are not used (every column is numeric here).

Regularisation: the number of boosting rounds is chosen by early stopping on a stratified
held-out 20% of the training rows (scikit-learn's validation loss, 10 rounds of patience),
then the model is refitted on all rows with that many rounds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from ...heads.base import holdout_split
from .common import softmax

__all__ = ["GradientBoosting", "export_trees", "tree_scores"]

MAX_ITER = 200
#: rounds without a held-out improvement before early stopping
PATIENCE = 10


def _model(max_iter: int, seed: int, early: bool) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        max_iter=max_iter, learning_rate=0.1, max_leaf_nodes=31, early_stopping=early,
        n_iter_no_change=PATIENCE, categorical_features=None, random_state=seed)


def export_trees(model: HistGradientBoostingClassifier) -> dict[str, np.ndarray]:
    """The fitted trees of ``model`` as flat arrays (all trees' nodes end to end)."""
    feats, thr, miss, left, right, leaf, value, roots, column = [], [], [], [], [], [], [], [], []
    offset = 0
    for per_iter in model._predictors:
        for k, pred in enumerate(per_iter):
            n = pred.nodes
            if np.any(n["is_categorical"]):
                raise ValueError("categorical splits cannot be exported")
            feats.append(n["feature_idx"].astype(np.int64))
            thr.append(n["num_threshold"].astype(np.float64))
            miss.append(n["missing_go_to_left"].astype(np.uint8))
            is_leaf = n["is_leaf"].astype(bool)
            left.append(np.where(is_leaf, 0, n["left"]).astype(np.int64) + offset)
            right.append(np.where(is_leaf, 0, n["right"]).astype(np.int64) + offset)
            leaf.append(is_leaf.astype(np.uint8))
            value.append(n["value"].astype(np.float64))
            roots.append(offset)
            column.append(k)
            offset += len(n)
    base = np.asarray(model._baseline_prediction, dtype=np.float64).ravel()
    return {"feature": np.concatenate(feats), "threshold": np.concatenate(thr),
            "missing_left": np.concatenate(miss), "left": np.concatenate(left),
            "right": np.concatenate(right), "is_leaf": np.concatenate(leaf),
            "value": np.concatenate(value), "roots": np.asarray(roots, dtype=np.int64),
            "column": np.asarray(column, dtype=np.int64), "baseline": base}


def tree_scores(trees: dict[str, np.ndarray], X: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Raw scores ``(N, K')`` of exported ``trees`` on ``X``: baseline + each tree's leaf
    value, summed per output column (one column for two classes)."""
    X = np.asarray(X, dtype=np.float64)
    n_out = len(trees["baseline"])
    out = np.tile(trees["baseline"], (len(X), 1))
    feature, threshold = trees["feature"], trees["threshold"]
    miss, left, right, is_leaf = (trees["missing_left"].astype(bool), trees["left"],
                                  trees["right"], trees["is_leaf"].astype(bool))
    onehot = np.zeros((len(trees["roots"]), n_out))
    onehot[np.arange(len(trees["roots"])), trees["column"]] = 1.0
    for s in range(0, len(X), chunk):
        xb = X[s:s + chunk]
        rows = np.arange(len(xb))[:, None]
        node = np.broadcast_to(trees["roots"], (len(xb), len(trees["roots"]))).copy()
        while True:
            inner = ~is_leaf[node]
            if not inner.any():
                break
            x = xb[rows, feature[node]]
            go_left = np.where(np.isnan(x), miss[node], x <= threshold[node])
            node = np.where(inner, np.where(go_left, left[node], right[node]), node)
        out[s:s + chunk] += trees["value"][node] @ onehot
    return out


class GradientBoosting:
    name = "hgb"
    description = "HistGradientBoostingClassifier, rounds chosen by held-out early stopping"

    def __init__(self) -> None:
        self.trees: dict[str, np.ndarray] = {}
        self.chosen: dict[str, Any] = {}
        self.n_classes = 0

    def fit(self, inputs: Any, y: np.ndarray, n_classes: int, seed: int = 0) -> GradientBoosting:
        X = np.asarray(inputs, dtype=np.float64)
        # OpenMP threads on a small table cost more in waiting than they save (and on a busy
        # 2-core machine far more): one thread below a million cells.
        with threadpool_limits(limits=1 if X.size < 1_000_000 else None, user_api="openmp"):
            return self._fit(X, y, n_classes, seed)

    def _fit(self, X: np.ndarray, y: np.ndarray, n_classes: int, seed: int) -> GradientBoosting:
        y = np.asarray(y, dtype=np.int64)
        fit_idx, hold_idx = holdout_split(y, 0.2, seed)
        rounds, scores = MAX_ITER // 2, {}
        if len(hold_idx) >= n_classes and len(np.unique(y[fit_idx])) > 1 and \
                np.isin(y[hold_idx], y[fit_idx]).all():
            m = _model(MAX_ITER, seed, early=True)
            m.fit(X[fit_idx], y[fit_idx], X_val=X[hold_idx], y_val=y[hold_idx])
            # the best round is PATIENCE before the stop, unless it ran out of rounds
            rounds = max(1, m.n_iter_ - (PATIENCE if m.n_iter_ < MAX_ITER else 0))
            scores = {"validation_loss": [float(v) for v in m.validation_score_]}
        self.n_classes = n_classes
        if len(np.unique(y)) < 2:
            self.trees, self.chosen = {}, {"rounds": 0, "constant": int(y[0])}
            return self
        m = _model(rounds, seed, early=False).fit(X, y)
        self.trees = export_trees(m)
        self.classes = m.classes_.astype(np.int64)
        self.trees["classes"] = self.classes
        self.chosen = {"rounds": int(rounds), **scores}
        return self

    def predict_proba(self, inputs: Any) -> np.ndarray:
        X = np.asarray(inputs, dtype=np.float64)
        out = np.zeros((len(X), self.n_classes))
        if not self.trees:
            out[:, self.chosen["constant"]] = 1.0
            return out
        raw = tree_scores(self.trees, X)
        if raw.shape[1] == 1:  # binary: sigmoid(z) == softmax([0, z])
            raw = np.hstack([np.zeros_like(raw), raw])
        out[:, self.trees["classes"]] = softmax(raw)
        return out

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"n_classes": self.n_classes, "chosen": self.chosen}, dict(self.trees)

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> GradientBoosting:
        self = cls()
        self.n_classes = int(config["n_classes"])
        self.chosen = dict(config.get("chosen", {}))
        self.trees = dict(arrays)
        return self
