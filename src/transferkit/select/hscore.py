"""H-score: how much of the feature variance lies between the class means.

Bao, Li, Huang, Zheng, *An Information-Theoretic Approach to Transferability in Task Transfer
Learning*, ICIP 2019: ``H(f) = tr(cov(f)^-1 cov(E[f | y]))``.

In high dimension with few examples the sample covariance is singular or badly conditioned
and the plain H-score mostly measures noise. Ibrahim, Ponomareva, Mazumder (*Newer is not
always better: rethinking transferability metrics*, ICLR 2023) fix this by shrinking the
covariance towards a scaled identity with the Ledoit-Wolf coefficient; that is the default
here (``shrinkage=True``): ``tr(((1 - a) S + a (tr S / D) I)^-1 (1 - a) S_between)`` with the
Ledoit-Wolf coefficient ``a``.

Shapes: ``features`` ``(N, D)``; ``labels`` ``(N,)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._linalg import pinvh, solve
from ._validate import as_class_labels, as_features

__all__ = ["hscore", "ledoit_wolf_shrinkage"]


def ledoit_wolf_shrinkage(centered: np.ndarray) -> float:
    """The Ledoit-Wolf ``a`` in ``(1 - a) S + a (tr S / D) I`` for centred ``(N, D)`` data.

    Ledoit & Wolf, *A well-conditioned estimator for large-dimensional covariance matrices*,
    J. Multivariate Analysis 2004 (the same estimate as ``sklearn.covariance.ledoit_wolf``).
    """
    n, d = centered.shape
    x2 = centered**2
    emp_trace = x2.sum(axis=0) / n
    mu = emp_trace.sum() / d
    gram = centered.T @ centered
    delta_ = float((gram**2).sum()) / n**2
    beta_ = float((x2.T @ x2).sum())
    beta = (beta_ / n - delta_) / (d * n)
    delta = (delta_ - 2.0 * mu * emp_trace.sum() + d * mu**2) / d
    beta = min(beta, delta)
    return 0.0 if beta <= 0 or delta <= 0 else float(beta / delta)


def hscore(features: Any, labels: Any, shrinkage: bool = True) -> float:
    """H-score transferability: ``tr(cov(f)^-1 cov(E[f | y]))`` (higher is better).

    Args:
        features: ``(N, D)`` features of the target data.
        labels: ``(N,)`` class labels.
        shrinkage: shrink the feature covariance with the Ledoit-Wolf coefficient (advised
            whenever ``D`` is not small next to ``N``); ``False`` gives the original score with a
            pseudo-inverse.

    Returns:
        A value in ``[0, K - 1]`` for ``K`` classes without shrinkage (the sum of the squared
        canonical correlations between features and classes); it is invariant to scaling all
        features by one constant, and without shrinkage to any invertible linear map.

    Raises:
        DataError: NaN/inf or all-constant features, fewer than two classes, mismatched lengths.
    """
    x = as_features(features, "H-score")
    n, d = x.shape
    classes, codes = as_class_labels(labels, n, "H-score")
    x = x - x.mean(axis=0)
    cov = x.T @ x / n
    if shrinkage:
        a = ledoit_wolf_shrinkage(x)
        mu = np.trace(cov) / d
        cov = (1.0 - a) * cov
        cov[np.diag_indices(d)] += a * mu
    counts = np.bincount(codes, minlength=len(classes)).astype(np.float64)
    means = np.zeros((len(classes), d))
    np.add.at(means, codes, x)
    means /= counts[:, None]
    # Between-class covariance; the overall mean is zero after centring.
    between = (means * (counts / n)[:, None]).T @ means
    if shrinkage:
        # Ibrahim et al.'s regularised H-score shrinks the between-class part by (1 - a) too;
        # without it a singular sample covariance inflates the score of pure noise.
        sol = solve(cov, (1.0 - a) * between)
    else:
        sol = pinvh(cov) @ between
    return float(np.trace(sol))
