"""Ridge and linear-SVM probe heads (closed-form ridge; liblinear SVM)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..utils.checks import check_number
from .base import ProbeHead, holdout_split, register_head

__all__ = ["RidgeHead", "LinearSVMHead"]

_ALPHAS = (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)


def _standardize(head: ProbeHead, X: np.ndarray, fit: bool) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if fit:
        head.arrays["mean"] = X.mean(0).astype(np.float32)
        head.arrays["scale"] = (X.std(0) + 1e-6).astype(np.float32)
    return (X - head.arrays["mean"]) / head.arrays["scale"]


@register_head("ridge", description="ridge classifier (one-vs-all least squares), alpha chosen")
class RidgeHead(ProbeHead):
    """Least squares on ±1 targets; ``alpha=None`` picks alpha by held-out accuracy.

    Uses one eigendecomposition of ``X^T X`` for the whole alpha path.
    """

    name = "ridge"
    probabilistic = False

    def __init__(self, alpha: float | None = None, **kw: Any) -> None:
        if alpha is not None:
            check_number("RidgeHead", "alpha", alpha, low=0, low_open=True)
        super().__init__(alpha=alpha, **kw)

    @staticmethod
    def _solve(X: np.ndarray, Y: np.ndarray, alphas: tuple[float, ...]) -> list[np.ndarray]:
        evals, evecs = np.linalg.eigh(X.T @ X)
        XtY = evecs.T @ (X.T @ Y)
        return [evecs @ (XtY / (evals + a)[:, None]) for a in alphas]

    def fit(self, X: np.ndarray, y: np.ndarray, n_classes: int, seed: int = 0) -> RidgeHead:
        Xs = _standardize(self, X, fit=True)
        Y = -np.ones((len(y), n_classes))
        Y[np.arange(len(y)), y] = 1.0
        alpha = self.config["alpha"]
        if alpha is None:
            fit_idx, hold_idx = holdout_split(np.asarray(y), 0.2, seed)
            alpha = 1.0
            if len(hold_idx) >= n_classes:
                Ws = self._solve(Xs[fit_idx], Y[fit_idx] - Y[fit_idx].mean(0), _ALPHAS)
                accs = [((Xs[hold_idx] @ W).argmax(1) == y[hold_idx]).mean() for W in Ws]
                alpha = _ALPHAS[int(np.argmax(accs))]
        ymean = Y.mean(0)
        (W,) = self._solve(Xs, Y - ymean, (float(alpha),))
        self.arrays["coef"] = W.astype(np.float32)
        self.arrays["intercept"] = ymean.astype(np.float32)
        self.chosen = {"alpha": float(alpha)}
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        return _standardize(self, X, fit=False) @ self.arrays["coef"] + self.arrays["intercept"]


@register_head("svm", description="linear SVM (liblinear, one-vs-rest)")
class LinearSVMHead(ProbeHead):
    """Linear SVM; probabilities are a softmax of the margins (scores, not calibrated)."""

    name = "svm"
    probabilistic = False

    def __init__(self, C: float = 1.0, **kw: Any) -> None:
        check_number("LinearSVMHead", "C", C, low=0, low_open=True)
        super().__init__(C=C, **kw)

    def fit(self, X: np.ndarray, y: np.ndarray, n_classes: int, seed: int = 0) -> LinearSVMHead:
        from sklearn.svm import LinearSVC

        Xs = _standardize(self, X, fit=True)
        svc = LinearSVC(C=self.config["C"], random_state=seed, max_iter=5000).fit(Xs, y)
        coef = np.zeros((Xs.shape[1], n_classes), dtype=np.float32)
        intercept = np.full(n_classes, -1e3, dtype=np.float32)
        if n_classes == 2 and svc.coef_.shape[0] == 1:
            coef[:, 1], intercept[1] = svc.coef_[0], svc.intercept_[0]
            intercept[0] = 0.0
        else:
            coef[:, svc.classes_] = svc.coef_.T
            intercept[svc.classes_] = svc.intercept_
        self.arrays["coef"], self.arrays["intercept"] = coef, intercept
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        return _standardize(self, X, fit=False) @ self.arrays["coef"] + self.arrays["intercept"]
