"""Cheap empirical scores: cross-validated kNN and logistic-probe accuracy on the features.

Where LogME and H-score are proxies, these are small versions of the real thing: how well a
simple classifier on the frozen features does on held-out examples. The kNN score is pure
numpy (cosine similarity, majority vote among the ``k`` nearest); the probe score fits
scikit-learn's logistic regression per fold and is the slower, usually stronger, estimate.

Folds are stratified: examples are shuffled within each class (seeded) and dealt out to the
folds in turn, so every fold holds nearly the same share of every class.

Shapes: ``features`` ``(N, D)``; ``labels`` ``(N,)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..exceptions import DataError
from ..utils.checks import check_number
from ._linalg import one_blas_thread
from ._validate import as_class_labels, as_features

__all__ = ["knn_score", "probe_score", "stratified_folds", "check_cv_labels"]


def stratified_folds(codes: np.ndarray, folds: int, seed: int = 0) -> np.ndarray:
    """Fold index (``0..folds-1``) of every example, stratified by class and seeded."""
    rng = np.random.default_rng(seed)
    order = np.concatenate(
        [rng.permutation(np.flatnonzero(codes == c)) for c in range(int(codes.max()) + 1)]
    )
    fold = np.empty(len(codes), dtype=np.int64)
    fold[order] = np.arange(len(codes)) % folds
    return fold


def check_cv_labels(labels: Any, n: int, folds: int, score: str) -> tuple[np.ndarray, np.ndarray]:
    """Check labels for ``folds``-fold cross-validation; returns ``(classes, codes)``.

    Raises:
        ConfigError: ``folds`` not an integer >= 2.
        DataError: fewer examples per fold than classes, or a class with a single example
            (it could never be predicted when held out).
    """
    check_number(score, "folds", folds, low=2, integer=True)
    classes, codes = as_class_labels(labels, n, score)
    k = len(classes)
    if n // folds < k:
        raise DataError(
            f"{score} with folds={folds} would hold out {n // folds} examples per fold, fewer than "
            f"the {k} classes, so a fold cannot contain every class. Fix: use fewer folds "
            f"(folds <= {max(n // k, 1)}) or more examples (at least {folds * k})."
        )
    counts = np.bincount(codes, minlength=k)
    single = np.flatnonzero(counts < 2)
    if len(single):
        names = ", ".join(repr(_plain(classes[i])) for i in single[:5])
        raise DataError(
            f"{score} needs at least two examples of every class for cross-validation; got "
            f"{len(single)} class(es) with one example ({names}): held out, they can never be "
            "predicted. Fix: add examples of those classes, or drop them."
        )
    return classes, codes


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def knn_score(features: Any, labels: Any, folds: int = 5, k: int = 10, seed: int = 0) -> float:
    """Cross-validated accuracy of a cosine k-nearest-neighbour classifier (higher is better).

    Args:
        features: ``(N, D)`` features of the target data.
        labels: ``(N,)`` class labels.
        folds: number of stratified folds (>= 2).
        k: neighbours per vote (capped by the training-fold size); ties go to the class whose
            neighbours are most similar in total.
        seed: seed of the fold assignment.

    Returns:
        Held-out accuracy in ``[0, 1]``, pooled over all folds.

    Raises:
        DataError: bad features, fewer than two classes, fewer examples per fold than classes,
            a class with a single example.
        ConfigError: ``folds`` or ``k`` out of range.
    """
    x = as_features(features, "kNN score")
    n = x.shape[0]
    check_number("knn_score", "k", k, low=1, integer=True)
    _, codes = check_cv_labels(labels, n, folds, "kNN score")
    n_classes = int(codes.max()) + 1
    x = x - x.mean(axis=0)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x = x / np.maximum(norms, 1e-12)
    fold = stratified_folds(codes, folds, seed)
    correct = 0
    for f in range(folds):
        test, train = np.flatnonzero(fold == f), np.flatnonzero(fold != f)
        kk = min(int(k), len(train))
        xtr, ytr = x[train], codes[train]
        for start in range(0, len(test), 1024):
            rows = test[start : start + 1024]
            sim = x[rows] @ xtr.T
            nn = np.argpartition(-sim, kk - 1, axis=1)[:, :kk]
            nn_sim = np.take_along_axis(sim, nn, axis=1)
            votes = np.zeros((len(rows), n_classes))
            r = np.repeat(np.arange(len(rows)), kk)
            # One vote per neighbour, plus a tie-breaking fraction of its similarity.
            np.add.at(votes, (r, ytr[nn].ravel()), 1.0 + 1e-3 * (nn_sim.ravel() + 1.0))
            correct += int((votes.argmax(axis=1) == codes[rows]).sum())
    return correct / n


def probe_score(features: Any, labels: Any, folds: int = 5, C: float = 1.0, seed: int = 0) -> float:
    """Cross-validated accuracy of a logistic-regression probe on standardised features.

    Args:
        features: ``(N, D)`` features of the target data.
        labels: ``(N,)`` class labels.
        folds: number of stratified folds (>= 2).
        C: inverse L2 regularisation of the logistic regression.
        seed: seed of the fold assignment.

    Returns:
        Held-out accuracy in ``[0, 1]``, pooled over all folds.

    Raises:
        DataError / ConfigError: as :func:`knn_score`.
    """
    x = as_features(features, "probe score")
    n = x.shape[0]
    check_number("probe_score", "C", C, low=0.0, low_open=True)
    _, codes = check_cv_labels(labels, n, folds, "probe score")
    fold = stratified_folds(codes, folds, seed)
    correct = 0
    with one_blas_thread():  # small fits: one thread is as fast, and immune to a busy machine
        correct = _probe_folds(x, codes, fold, folds, C)
    return correct / n


def _probe_folds(x: np.ndarray, codes: np.ndarray, fold: np.ndarray, folds: int, C: float) -> int:
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    correct = 0
    for f in range(folds):
        test, train = fold == f, fold != f
        mu, sd = x[train].mean(axis=0), x[train].std(axis=0)
        sd[sd == 0] = 1.0
        clf = LogisticRegression(C=C, max_iter=300)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit((x[train] - mu) / sd, codes[train])
        correct += int((clf.predict((x[test] - mu) / sd) == codes[test]).sum())
    return correct
