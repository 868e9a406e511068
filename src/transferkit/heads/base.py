"""The probe-head contract: a small classifier on frozen features, saved without pickle."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..registry import Registry

__all__ = ["ProbeHead", "HEADS", "register_head", "holdout_split", "probe_head_kwargs",
           "make_probe_head"]

HEADS: Registry[ProbeHead] = Registry("head")


def register_head(name: str, **info: Any):
    return HEADS.register(name, **info)


class ProbeHead:
    """A classifier on fixed features.

    Subclasses implement :meth:`fit` and :meth:`decision_function`; their fitted arrays live
    in ``self.arrays`` (saved as safetensors) and their plain settings in ``self.config``
    (saved as JSON), so :meth:`from_state` can rebuild them exactly.
    """

    name: ClassVar[str] = ""
    probabilistic: ClassVar[bool] = True

    def __init__(self, **config: Any) -> None:
        self.config: dict[str, Any] = dict(config)
        self.arrays: dict[str, np.ndarray] = {}

    def fit(self, X: np.ndarray, y: np.ndarray, n_classes: int, seed: int = 0) -> ProbeHead:
        """Fit on features ``X`` ``(N, F)`` and integer labels ``y`` in ``[0, n_classes)``."""
        raise NotImplementedError

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """Scores ``(N, n_classes)``; higher means more likely."""
        raise NotImplementedError

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        s = self.decision_function(X)
        s = s - s.max(axis=1, keepdims=True)
        e = np.exp(s)
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.decision_function(X).argmax(axis=1)

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> ProbeHead:
        head = cls(**config)
        head.arrays = {k: np.asarray(v) for k, v in arrays.items()}
        return head


def probe_head_kwargs(head: str, C: float | None) -> dict[str, Any]:
    """Keyword arguments of probe head ``head``: ``C`` where it has one (logistic, SVM)."""
    return {"C": C} if C is not None and head in ("logistic", "svm") else {}


def make_probe_head(settings: Any) -> ProbeHead:
    """A new probe head as ``settings.head`` and ``settings.C`` describe it."""
    return HEADS.create(settings.head, **probe_head_kwargs(settings.head, settings.C))


def holdout_split(y: np.ndarray, frac: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified indices (fit, held out) used to choose regularisation strengths.

    Classes with a single example stay entirely in the fitting part.
    """
    rng = np.random.default_rng(seed)
    fit_idx, hold_idx = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = int(round(len(idx) * frac)) if len(idx) > 1 else 0
        k = min(k, len(idx) - 1)
        hold_idx.append(idx[:k])
        fit_idx.append(idx[k:])
    return np.concatenate(fit_idx), np.concatenate(hold_idx)
