"""LEEP: log expected empirical prediction of the source classifier, re-mapped to the target.

Nguyen, Hassner, Seeger, Archambeau, *LEEP: A New Measure to Evaluate Transferability of
Learned Representations*, ICML 2020 (https://arxiv.org/abs/2002.12462). With ``theta(x)`` the
source model's class probabilities, the empirical joint ``P(y, z) = mean over examples of class
y of theta(x)_z`` gives ``P(y | z)``, and ``LEEP = mean_i log sum_z P(y_i | z) theta(x_i)_z``:
the average log-likelihood of a classifier that only re-maps source classes to target ones.

Shapes: ``source_probs`` ``(N, C_source)`` with rows summing to 1; ``labels`` ``(N,)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..exceptions import DataError
from ._validate import as_class_labels

__all__ = ["leep"]


def leep(source_probs: Any, labels: Any) -> float:
    """LEEP score (an average log-likelihood, higher is better, at most 0).

    Args:
        source_probs: ``(N, C_source)`` probabilities over the source (pre-training) classes,
            e.g. the softmax of an ImageNet classifier's logits on the target inputs.
        labels: ``(N,)`` target class labels.

    Returns:
        The mean log-probability of the true target label under the re-mapped source
        classifier: ``0`` is perfect, ``-log K`` is chance for ``K`` balanced classes.

    Raises:
        DataError: not probabilities (negative values, rows not summing to 1: logits need a
            softmax first), non-finite values, mismatched lengths, fewer than two classes.
    """
    p = np.asarray(source_probs)
    if p.ndim != 2 or p.dtype.kind not in "biuf":
        raise DataError(
            f"LEEP expects source-class probabilities of shape (N, C_source); got shape "
            f"{p.shape} of dtype {p.dtype}. Fix: pass softmax(source_logits) of the backbone."
        )
    p = p.astype(np.float64)
    if not np.isfinite(p).all():
        raise DataError("LEEP expects finite source probabilities; got NaN or inf values.")
    sums = p.sum(axis=1)
    if (p < 0).any() or not np.allclose(sums, 1.0, atol=1e-3):
        raise DataError(
            "LEEP expects probabilities (non-negative rows summing to 1); got values in "
            f"[{p.min():.3g}, {p.max():.3g}] with row sums in "
            f"[{sums.min():.3g}, {sums.max():.3g}]. "
            "Fix: these look like logits — apply a softmax first "
            "(scipy.special.softmax(logits, axis=1))."
        )
    p = p / sums[:, None]
    n = p.shape[0]
    classes, y = as_class_labels(labels, n, "LEEP", what="source probabilities")
    onehot = np.zeros((n, len(classes)))
    onehot[np.arange(n), y] = 1.0
    joint = onehot.T @ p / n  # (K, C_source): P(y, z)
    pz = joint.sum(axis=0, keepdims=True)
    cond = np.divide(joint, pz, out=np.zeros_like(joint), where=pz > 0)  # P(y | z)
    lik = np.einsum("nc,nc->n", p, cond[y])  # sum_z P(y_i | z) theta_z(x_i)
    return float(np.mean(np.log(np.maximum(lik, np.finfo(np.float64).tiny))))
