"""LogME: the log marginal evidence of a Bayesian linear model on the features.

You, Liu, Wang, Long, *LogME: Practical Assessment of Pre-trained Models for Transfer
Learning*, ICML 2021 (https://arxiv.org/abs/2102.11005).

For each target column ``y`` (a one-hot class indicator, or a regression target) LogME fits
``y = F w + e`` with a Gaussian prior ``w ~ N(0, I / alpha)`` and noise ``e ~ N(0, I / beta)``
and reports the log evidence ``log p(y | F, alpha, beta)`` at the ``(alpha, beta)`` that
maximise it, divided by ``N`` and averaged over the columns. Higher means the features explain
the labels with a simpler linear model, which tracks fine-tuned accuracy across backbones.

The maximisation is MacKay's fixed point (``gamma = sum beta s / (alpha + beta s)``,
``alpha = gamma / |m|^2``, ``beta = (N - gamma) / |y - F m|^2``). Written in the basis of the
singular vectors of ``F``, every quantity in the iteration is a sum over the ``r <= min(N, D)``
singular values, so one eigendecomposition of the Gram matrix serves all columns and the
iteration runs on a ``(r, K)`` array for all ``K`` classes at once: there is no per-class SVD
and no ``N x D`` product inside the loop.

Shapes: ``features`` ``(N, D)``; ``labels`` ``(N,)`` class labels, or for regression ``(N,)``
or ``(N, K)`` float targets.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import numpy as np

from ..exceptions import DataError
from ._linalg import one_blas_thread
from ._validate import as_class_labels, as_features

__all__ = ["logme", "log_evidence"]

_LOG_2PI = float(np.log(2.0 * np.pi))


def _spectrum(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Squared singular values ``s`` (r,), projections ``z = U^T y`` (r, K) and ``|y|^2`` (K,).

    Works on the smaller Gram matrix: ``F^T F`` (D x D) when N >= D, else ``F F^T`` (N x N).
    Directions with a numerically zero singular value are dropped: they contribute nothing to
    the evidence (their prior and posterior terms cancel exactly).
    """
    n, d = x.shape
    yy = np.einsum("nk,nk->k", y, y)
    # Below a few GFLOP one BLAS thread is as fast, and far faster on a busy machine.
    small = n * d * min(n, d) < 5e9
    with one_blas_thread() if small else nullcontext():
        if n >= d:
            s, v = np.linalg.eigh(x.T @ x)
            proj = v.T @ (x.T @ y)  # = sigma * z
        else:
            s, u = np.linalg.eigh(x @ x.T)
            proj = u.T @ y  # = z
    tol = max(float(s.max()), 0.0) * max(n, d) * np.finfo(np.float64).eps
    keep = s > tol
    s = s[keep]
    proj = proj[keep]
    z = proj / np.sqrt(s)[:, None] if n >= d else proj
    return s, z, yy


def _evidence_terms(
    s: np.ndarray, z2: np.ndarray, yy: np.ndarray, n: int, alpha: np.ndarray, beta: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(evidence, gamma, |m|^2, |y - F m|^2)`` per column for given ``alpha``, ``beta`` (K,)."""
    denom = alpha[None, :] + beta[None, :] * s[:, None]  # (r, K)
    gamma = (beta[None, :] * s[:, None] / denom).sum(axis=0)
    mm = ((beta[None, :] ** 2) * s[:, None] * z2 / denom**2).sum(axis=0)
    outside = np.maximum(yy - z2.sum(axis=0), 0.0)  # the part of y no feature direction reaches
    res = ((alpha[None, :] / denom) ** 2 * z2).sum(axis=0) + outside
    evidence = (
        0.5 * n * np.log(beta)
        - 0.5 * n * _LOG_2PI
        + 0.5 * np.log(alpha[None, :] / denom).sum(axis=0)
        - 0.5 * beta * res
        - 0.5 * alpha * mm
    )
    return evidence, gamma, mm, res


def _maximise(
    s: np.ndarray, z: np.ndarray, yy: np.ndarray, n: int, tol: float = 1e-7, max_iter: int = 500
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The fixed-point iteration for all columns at once; returns evidence, alpha, beta, steps.

    Stops when ``alpha / beta`` has settled for every column, or when the evidence per example
    no longer moves (a column whose optimum lies at the boundary, e.g. noise-free labels with
    ``N < D``, has ``beta`` growing without bound while its evidence converges).
    """
    k = z.shape[1]
    z2 = z**2
    # Start from the scale of the data: the answer is the same, the iteration is shorter.
    scale = float(s.mean()) if len(s) else 1.0
    alpha = np.full(k, scale)
    beta = np.ones(k)
    lo, hi = 1e-150, 1e150  # keeps squares finite; far beyond any meaningful precision
    previous = np.full(k, -np.inf)
    steps = 0
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        for steps in range(1, max_iter + 1):  # noqa: B007 - returned after the loop
            evidence, gamma, mm, res = _evidence_terms(s, z2, yy, n, alpha, beta)
            new_alpha = np.clip(gamma / np.maximum(mm, lo), lo, hi)
            new_beta = np.clip(np.maximum(n - gamma, lo) / np.maximum(res, lo), lo, hi)
            change = np.abs(np.log(new_alpha / new_beta) - np.log(alpha / beta))
            settled = np.abs(evidence - previous) < 1e-9 * n
            alpha, beta, previous = new_alpha, new_beta, evidence
            if np.all((change < tol) | settled):
                break
        evidence, *_ = _evidence_terms(s, z2, yy, n, alpha, beta)
    return evidence, alpha, beta, steps


def log_evidence(features: Any, targets: Any, alpha: float, beta: float) -> np.ndarray:
    """``log p(y | F, alpha, beta)`` of each target column at fixed ``alpha``, ``beta``.

    The quantity LogME maximises (LogME reports the maximum divided by ``N``). Exposed for
    checking and teaching; it equals the log density of ``y`` under
    ``N(0, F F^T / alpha + I / beta)``.

    Args:
        features: ``(N, D)`` array.
        targets: ``(N,)`` or ``(N, K)`` float array.
        alpha: prior precision of the weights (> 0).
        beta: noise precision (> 0).

    Returns:
        ``(K,)`` log evidences (``(1,)`` for a 1-D target).
    """
    x = as_features(features, "log_evidence")
    y = np.asarray(targets, dtype=np.float64)
    y = y[:, None] if y.ndim == 1 else y
    s, z, yy = _spectrum(x, y)
    k = y.shape[1]
    a, b = np.full(k, float(alpha)), np.full(k, float(beta))
    ev, *_ = _evidence_terms(s, z**2, yy, x.shape[0], a, b)
    return ev


def logme(features: Any, labels: Any, regression: bool = False) -> float:
    """LogME transferability score: mean log evidence per example (higher is better).

    Args:
        features: ``(N, D)`` features of the target data under a candidate backbone.
        labels: ``(N,)`` class labels (any type), or with ``regression=True`` an ``(N,)`` or
            ``(N, K)`` array of float targets.
        regression: treat ``labels`` as real-valued targets instead of classes.

    Returns:
        The evidence per example, averaged over the classes (or target columns). Values are
        comparable between backbones on the same labels, not between datasets. Scaling all
        features by one constant leaves it unchanged; so does relabelling the classes.

    Raises:
        DataError: NaN/inf or all-constant features, fewer than two classes, labels and
            features of different lengths, non-numeric regression targets.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> y = rng.integers(0, 3, 300)
        >>> good = np.eye(3)[y] + 0.1 * rng.normal(size=(300, 3))
        >>> logme(good, y) > logme(rng.normal(size=(300, 3)), y)
        True
    """
    x = as_features(features, "LogME")
    n = x.shape[0]
    if regression:
        y = np.asarray(labels)
        if y.dtype.kind not in "biuf":
            raise DataError(
                f"LogME(regression=True) expects numeric targets; got dtype {y.dtype}. Fix: pass "
                "floats, or regression=False for class labels."
            )
        y = y.astype(np.float64)
        y = y[:, None] if y.ndim == 1 else y
        if y.ndim != 2 or y.shape[0] != n:
            raise DataError(
                f"LogME expects targets of shape ({n},) or ({n}, K) for {n} feature rows; got "
                f"{np.shape(labels)}. Fix: pass features and targets of the same examples."
            )
        if not np.isfinite(y).all():
            raise DataError(
                "LogME expects finite regression targets; got NaN or inf. Fix: drop those rows."
            )
    else:
        _, codes = as_class_labels(labels, n, "LogME")
        y = np.zeros((n, int(codes.max()) + 1))
        y[np.arange(n), codes] = 1.0
    s, z, yy = _spectrum(x, y)
    evidence, *_ = _maximise(s, z, yy, n)
    return float(np.mean(evidence) / n)
