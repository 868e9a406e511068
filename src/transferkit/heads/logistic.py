"""Multinomial logistic regression fitted with full-batch L-BFGS in torch.

Minimises the same objective as scikit-learn's ``LogisticRegression(C=C)`` (sum of
cross-entropies times ``C`` plus half the squared weight norm, intercept unpenalised), but
runs a warm-started regularisation path in one process, which makes choosing ``C`` by
held-out accuracy cheap even with 77 classes and 10,000 examples.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..utils.checks import check_number
from ..utils.threads import threads_for, torch_threads
from .base import ProbeHead, holdout_split, register_head

__all__ = ["LogisticHead"]

_C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
#: L-BFGS iterations per fit on the regularisation path (each fit starts from the previous one)
_PATH_MAX_ITER = 50


def _fit_lbfgs(
    X: torch.Tensor, y: torch.Tensor, n_classes: int, C: float, max_iter: int,
    init: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    n, d = X.shape
    W = torch.zeros(d, n_classes, dtype=X.dtype) if init is None else init[0].clone()
    b = torch.zeros(n_classes, dtype=X.dtype) if init is None else init[1].clone()
    W.requires_grad_(True)
    b.requires_grad_(True)
    opt = torch.optim.LBFGS(
        [W, b], lr=1.0, max_iter=max_iter, tolerance_grad=1e-6, tolerance_change=1e-9,
        history_size=20, line_search_fn="strong_wolfe",
    )
    # Dividing sklearn's objective by C*n keeps the loss O(1) for the line search.
    reg = 1.0 / (2.0 * C * n)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(X @ W + b, y) + reg * (W * W).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    return W.detach(), b.detach()


@register_head("logistic", description="multinomial logistic regression, C chosen on held-out data")
class LogisticHead(ProbeHead):
    """Logistic regression; ``C=None`` picks C from a grid by stratified held-out accuracy.

    Args:
        C: inverse regularisation strength (scikit-learn's meaning), or ``None`` to choose.
        max_iter: L-BFGS iterations per fit.
        standardize: scale features to zero mean and unit variance first.
    """

    name = "logistic"

    def __init__(self, C: float | None = None, max_iter: int = 200, standardize: bool = True,
                 **kw: Any) -> None:
        if C is not None:
            check_number("LogisticHead", "C", C, low=0, low_open=True)
        check_number("LogisticHead", "max_iter", max_iter, low=1, integer=True)
        super().__init__(C=C, max_iter=max_iter, standardize=standardize, **kw)

    def _scale(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        if self.config.get("standardize", True) and "mean" in self.arrays:
            X = (X - self.arrays["mean"]) / self.arrays["scale"]
        return X

    def fit(self, X: np.ndarray, y: np.ndarray, n_classes: int, seed: int = 0) -> LogisticHead:
        X = np.asarray(X, dtype=np.float32)
        with torch_threads(threads_for(X.shape[0] * X.shape[1] * n_classes * 2)):
            return self._fit(X, y, n_classes, seed)

    def _fit(self, X: np.ndarray, y: np.ndarray, n_classes: int, seed: int) -> LogisticHead:
        if self.config["standardize"]:
            self.arrays["mean"] = X.mean(0)
            self.arrays["scale"] = X.std(0) + 1e-6
        # float64 where it is cheap: L-BFGS then converges to scikit-learn's optimum exactly.
        small = X.shape[0] * X.shape[1] * n_classes < 5e7
        Xs = torch.from_numpy(self._scale(X)).to(torch.float64 if small else torch.float32)
        yt = torch.from_numpy(np.asarray(y, dtype=np.int64))
        C = self.config["C"]
        scores: dict[str, float] = {}
        if C is None:
            fit_idx, hold_idx = holdout_split(np.asarray(y), 0.2, seed)
            if len(hold_idx) >= n_classes:
                best, init, worse = (-1.0, 1.0, None), None, 0
                Xf, yf = Xs[fit_idx], yt[fit_idx]
                # Ranking C by held-out accuracy does not need the last digits of the optimum:
                # the path's fits stop early; the final fit converges fully.
                path_iter = min(int(self.config["max_iter"]), _PATH_MAX_ITER)
                for c in _C_GRID:
                    init = _fit_lbfgs(Xf, yf, n_classes, c, path_iter, init)
                    acc = float(((Xs[hold_idx] @ init[0] + init[1]).argmax(1) == yt[hold_idx])
                                .double().mean())
                    scores[str(c)] = acc
                    if acc > best[0] + 1e-9:
                        best, worse = (acc, c, init), 0
                    else:
                        worse += 1
                    # Held-out accuracy along C rises then falls; the weakly regularised end
                    # is the slowest to fit, so stop two steps past the peak.
                    if worse == 2:
                        break
                C, start = best[1], best[2]
            else:
                C, start = 1.0, None
        else:
            start = None
        # Warm start from the path's solution at the chosen C: the refit on all rows is short.
        W, b = _fit_lbfgs(Xs, yt, n_classes, float(C), self.config["max_iter"], start)
        self.arrays["coef"] = W.float().numpy()
        self.arrays["intercept"] = b.float().numpy()
        self.chosen = {"C": float(C), "holdout_accuracy_by_C": scores}
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        return self._scale(X) @ self.arrays["coef"] + self.arrays["intercept"]
