"""Probe heads fitted with per-example weights (importance weighting, boosting).

The logistic head is fitted exactly with weights (weighted cross-entropy, full-batch L-BFGS,
same objective and parameterisation as :class:`~transferkit.heads.LogisticHead`, so the
result is a plain ``LogisticHead`` that saves and loads as usual). Every other head is fitted
on a weighted bootstrap resample of the rows, which gives any probe head the same expected
training distribution.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..heads import HEADS
from ..heads.base import ProbeHead, holdout_split
from ..heads.logistic import LogisticHead
from ..utils.threads import threads_for, torch_threads

__all__ = ["fit_head", "fit_weighted_logistic"]

# Wider than the probe head's grid at the strong end: on standardised sentence embeddings the
# most transferable logistic heads are often strongly regularised (C ~ 1e-3..1e-2), and a
# source hold-out can only pick what the grid offers.
_C_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)


def _lbfgs(X: torch.Tensor, y: torch.Tensor, w: torch.Tensor, n_classes: int, C: float,
           max_iter: int, init: tuple[torch.Tensor, torch.Tensor] | None = None
           ) -> tuple[torch.Tensor, torch.Tensor]:
    d = X.shape[1]
    W = torch.zeros(d, n_classes, dtype=X.dtype) if init is None else init[0].clone()
    b = torch.zeros(n_classes, dtype=X.dtype) if init is None else init[1].clone()
    W.requires_grad_(True)
    b.requires_grad_(True)
    opt = torch.optim.LBFGS([W, b], lr=1.0, max_iter=max_iter, tolerance_grad=1e-6,
                            tolerance_change=1e-9, history_size=20, line_search_fn="strong_wolfe")
    wsum = float(w.sum())
    # sum_i w_i CE_i * C + |W|^2 / 2, divided by C * sum(w) (as LogisticHead does with n).
    reg = 1.0 / (2.0 * C * wsum)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        ce = torch.nn.functional.cross_entropy(X @ W + b, y, reduction="none")
        loss = (w * ce).sum() / wsum + reg * (W * W).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    return W.detach(), b.detach()


def fit_weighted_logistic(
    X: np.ndarray, y: np.ndarray, n_classes: int, weights: np.ndarray | None = None,
    C: float | None = None, seed: int = 0, max_iter: int = 200,
) -> LogisticHead:
    """A :class:`LogisticHead` minimising the importance-weighted cross-entropy.

    ``C=None`` picks C from 1e-3 to 100 on a stratified 20% hold-out by *weighted* accuracy
    (importance-weighted cross-validation, Sugiyama et al. 2007,
    https://jmlr.org/papers/v8/sugiyama07a.html).
    Weights are rescaled to mean 1; ``None`` means all ones.
    """
    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y, dtype=np.int64)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
    w = w * (len(w) / max(w.sum(), 1e-12))
    head = LogisticHead(C=C, max_iter=max_iter)
    mean, scale = X.mean(0), X.std(0) + 1e-6
    head.arrays["mean"], head.arrays["scale"] = mean, scale
    small = X.shape[0] * X.shape[1] * n_classes < 5e7
    dt = torch.float64 if small else torch.float32
    with torch_threads(threads_for(X.shape[0] * X.shape[1] * n_classes * 2)):
        Xs = torch.from_numpy((X - mean) / scale).to(dt)
        yt = torch.from_numpy(y)
        wt = torch.from_numpy(w).to(dt)
        scores: dict[str, float] = {}
        if C is None:
            fit_idx, hold_idx = holdout_split(y, 0.2, seed)
            C = 1.0
            if len(hold_idx) >= n_classes:
                best, init = -1.0, None
                for c in _C_GRID:
                    init = _lbfgs(Xs[fit_idx], yt[fit_idx], wt[fit_idx], n_classes, c, max_iter,
                                  init)
                    hit = ((Xs[hold_idx] @ init[0] + init[1]).argmax(1) == yt[hold_idx]).to(dt)
                    acc = float((hit * wt[hold_idx]).sum() / wt[hold_idx].sum())
                    scores[str(c)] = acc
                    if acc > best + 1e-9:
                        best, C = acc, c
        W, b = _lbfgs(Xs, yt, wt, n_classes, float(C), max_iter)
    head.arrays["coef"] = W.float().numpy()
    head.arrays["intercept"] = b.float().numpy()
    head.config["C"] = float(C)
    head.chosen = {"C": float(C), "weighted_holdout_accuracy_by_C": scores}
    return head


def fit_head(
    name: str, X: np.ndarray, y: np.ndarray, n_classes: int, weights: np.ndarray | None = None,
    seed: int = 0, **kwargs: Any,
) -> ProbeHead:
    """Fit probe head ``name`` on ``(X, y)``, honouring per-row ``weights`` when given.

    The logistic head always goes through :func:`fit_weighted_logistic` (its C grid reaches
    stronger regularisation than the plain probe's); other heads use weighted resampling.
    """
    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y, dtype=np.int64)
    if name == "logistic":
        return fit_weighted_logistic(X, y, n_classes, weights, C=kwargs.get("C"), seed=seed)
    if weights is None:
        return HEADS.create(name, **kwargs).fit(X, y, n_classes, seed=seed)
    rng = np.random.default_rng(seed)
    p = np.asarray(weights, dtype=np.float64)
    idx = rng.choice(len(y), size=len(y), replace=True, p=p / p.sum())
    # Keep every class present so the head's label space is unchanged.
    missing = np.setdiff1d(np.unique(y), np.unique(y[idx]))
    if len(missing):
        idx = np.concatenate([idx, [np.flatnonzero(y == c)[0] for c in missing]])
    return HEADS.create(name, **kwargs).fit(X[idx], y[idx], n_classes, seed=seed)
