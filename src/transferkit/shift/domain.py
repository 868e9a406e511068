"""The domain classifier behind the proxy A-distance and the classifier two-sample test: a
5-fold cross-validated logistic regression telling source from target. Also used by
:mod:`transferkit.drift`."""

from __future__ import annotations

import math

import numpy as np

from ..select._linalg import one_blas_thread
from ..select.knn import stratified_folds

_FOLDS = 5


def _domain_classifier(z: np.ndarray, d: np.ndarray, seed: int) -> np.ndarray:
    """Held-out probability of "target" for every pooled point (5-fold, logistic regression)."""

    fold = stratified_folds(d, _FOLDS, seed)
    p = np.empty(len(z))
    with one_blas_thread():  # small fits: one thread is as fast, and immune to a busy machine
        _fit_folds(z, d, fold, p)
    return p


def _fit_folds(z: np.ndarray, d: np.ndarray, fold: np.ndarray, p: np.ndarray) -> None:
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    for f in range(_FOLDS):
        te, tr = fold == f, fold != f
        mu, sd = z[tr].mean(axis=0), z[tr].std(axis=0)
        sd[sd == 0] = 1.0
        clf = LogisticRegression(C=1.0, max_iter=500)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit((z[tr] - mu) / sd, d[tr])
        p[te] = clf.predict_proba((z[te] - mu) / sd)[:, 1]


def _auc(p: np.ndarray, d: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(d, p)) if len(np.unique(d)) == 2 else math.nan
