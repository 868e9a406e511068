"""A logistic head refitted toward the deployed head's weights (L2-SP on the head).

Li, Grandvalet & Davoine, *Explicit Inductive Bias for Transfer Learning with Convolutional
Networks*, ICML 2018 (https://arxiv.org/abs/1802.01483) pull fine-tuned weights toward their
starting point rather than toward zero; here the starting point is the deployed model's head,
so a few new labels move it only as far as they must and the old domain is kept. The
objective is the probe head's own (scikit-learn's ``LogisticRegression(C)``), with the
penalty centred on the old weights::

    C * sum_i CE(x_i W + b, y_i) + 1/2 ||W - W_0||^2 + 1/2 ||b - b_0||^2

The intercept is anchored too (the probe leaves it free): with a few dozen new rows of
another class balance, a free intercept alone moved far enough to cost the old domain three
points on Amazon kitchen -> books. ``anchor=False`` is a plain refit on the same rows
(penalty toward zero, intercept free), started from the old weights.
"""

from __future__ import annotations

import numpy as np
import torch

from ..heads.lbfgs import new_lbfgs
from ..utils.threads import torch_threads

__all__ = ["fit_anchored"]


def fit_anchored(X: np.ndarray, y: np.ndarray, W0: np.ndarray, b0: np.ndarray, C: float,
                 anchor: bool = True, max_iter: int = 100,
                 weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Minimise the objective above from ``(W0, b0)``; returns the new ``(W, b)``.

    ``weight`` (``(N,)``, mean 1) weighs each row's cross-entropy: readapt gives the few new
    rows as much weight in all as the rehearsed old ones.

    Shape:
        X: ``(N, F)`` standardised as the old head standardised its inputs; y: ``(N,)``
        class indices; W0: ``(F, K)``; b0: ``(K,)``.
    """
    n = len(X)
    with torch_threads(1):  # a few hundred rows: one thread is as fast and leaves the rest
        Xt = torch.from_numpy(np.asarray(X, np.float64))
        yt = torch.from_numpy(np.asarray(y, np.int64))
        centre = torch.from_numpy(np.asarray(W0, np.float64)) if anchor else \
            torch.zeros(W0.shape, dtype=torch.float64)
        b_centre = torch.from_numpy(np.asarray(b0, np.float64))
        W = torch.from_numpy(np.asarray(W0, np.float64)).clone().requires_grad_(True)
        b = torch.from_numpy(np.asarray(b0, np.float64)).clone().requires_grad_(True)
        w = torch.ones(n, dtype=torch.float64) if weight is None else \
            torch.from_numpy(np.asarray(weight, np.float64))
        opt = new_lbfgs([W, b], max_iter)
        reg = 1.0 / (2.0 * C * n)  # the objective divided by C n: O(1) for the line search

        def closure() -> torch.Tensor:
            opt.zero_grad()
            ce = torch.nn.functional.cross_entropy(Xt @ W + b, yt, reduction="none")
            loss = (w * ce).mean() + reg * ((W - centre) ** 2).sum()
            if anchor:
                loss = loss + reg * ((b - b_centre) ** 2).sum()
            loss.backward()
            return loss

        opt.step(closure)
    return W.detach().float().numpy(), b.detach().float().numpy()
