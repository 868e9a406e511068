"""CORAL: align the second-order statistics of source features to the target's.

Sun, Feng & Saenko, "Return of Frustratingly Easy Domain Adaptation", AAAI 2016,
https://arxiv.org/abs/1511.05547. The source features are whitened with their own
(regularised) covariance and re-coloured with the target's; the head is trained on the
re-coloured source and applied to target features unchanged.
"""

from __future__ import annotations

import numpy as np

from ..utils.params import Param, Params
from .base import AdaptContext, register_adapt_method
from .feature_method import FeatureMethod

__all__ = ["coral_map", "coral_transform", "CoralMethod"]


def _sqrtm(C: np.ndarray, inverse: bool = False) -> np.ndarray:
    vals, vecs = np.linalg.eigh(C)
    vals = np.clip(vals, 1e-12, None)
    p = -0.5 if inverse else 0.5
    return (vecs * vals**p) @ vecs.T


def coral_map(Xs: np.ndarray, Xt: np.ndarray, eps: float = 1.0
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(mu_s, A, mu_t)`` with ``A = Cs^{-1/2} Ct^{1/2}`` of the regularised covariances;
    source rows map to ``(X - mu_s) A + mu_t``."""
    Xs = np.asarray(Xs, dtype=np.float64)
    Xt = np.asarray(Xt, dtype=np.float64)
    mu_s, mu_t = Xs.mean(0), Xt.mean(0)
    Cs = np.atleast_2d(np.cov(Xs - mu_s, rowvar=False))
    Ct = np.atleast_2d(np.cov(Xt - mu_t, rowvar=False))
    d = Xs.shape[1]
    Cs = Cs + eps * float(np.trace(Cs)) / d * np.eye(d)
    Ct = Ct + eps * float(np.trace(Ct)) / d * np.eye(d)
    return mu_s, _sqrtm(Cs, inverse=True) @ _sqrtm(Ct), mu_t


def coral_transform(Xs: np.ndarray, Xt: np.ndarray, eps: float = 1.0,
                    match_mean: bool = True) -> np.ndarray:
    """Re-colour source features so that their covariance equals the target's.

    Args:
        Xs: source features ``(Ns, D)``.
        Xt: target features ``(Nt, D)``.
        eps: ridge added to each covariance, as a fraction of that domain's mean feature
            variance (the paper adds the identity to standardised features: ``eps=1``).
        match_mean: also move the source mean onto the target mean.

    Returns:
        ``(Ns, D)`` float32: ``(Xs - mu_s) Cs^{-1/2} Ct^{1/2} + mu_t`` with the regularised
        covariances ``Cs`` and ``Ct`` (``mu_s`` added back instead when ``match_mean=False``).
        Its covariance equals ``Ct`` up to the regularisation.
    """
    mu_s, A, mu_t = coral_map(Xs, Xt, eps)
    out = (np.asarray(Xs, dtype=np.float64) - mu_s) @ A + (mu_t if match_mean else mu_s)
    return out.astype(np.float32)


@register_adapt_method("coral", needs_target_labels=False, deep=False,
                       description="CORAL: re-colour source features with the target covariance")
class CoralMethod(FeatureMethod):
    """CORAL on frozen features, then any probe head (``coral_eps`` sets the ridge)."""

    name = "coral"
    PARAMS = Params(FeatureMethod.PARAMS, Param(
        "coral_eps", "CORAL's covariance ridge, relative to the mean feature variance", 1.0,
        "float", low=0, low_open=True))

    def prepare(self, ctx: AdaptContext, Xs: np.ndarray, Xt: np.ndarray):
        eps = float(self.settings.coral_eps)
        mu_s, A, mu_t = coral_map(Xs, Xt, eps)
        self.state = {"mu_s": mu_s.astype(np.float32), "A": A.astype(np.float32),
                      "mu_t": mu_t.astype(np.float32)}
        self.summary["coral_eps"] = eps
        return self.source_transform(Xs), ctx.ys, None

    def source_transform(self, X: np.ndarray) -> np.ndarray:
        st = self.state
        return (np.asarray(X, dtype=np.float32) - st["mu_s"]) @ st["A"] + st["mu_t"]
