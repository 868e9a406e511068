"""Subspace alignment: map the source's principal subspace onto the target's.

Fernando, Habrard, Sebban & Tuytelaars, "Unsupervised Visual Domain Adaptation Using
Subspace Alignment", ICCV 2013, https://arxiv.org/abs/1409.5241. With ``d``-dimensional PCA
bases ``Ps`` and ``Pt``, source rows become ``(Xs - mu_s) Ps Ps^T Pt`` and target rows
``(Xt - mu_t) Pt``; the head is trained on the first and applied to the second.
"""

from __future__ import annotations

import numpy as np

from ..exceptions import ConfigError
from ..utils.params import Param, Params
from .base import AdaptContext, register_adapt_method
from .feature_method import FeatureMethod

__all__ = ["pca_basis", "subspace_alignment", "SubspaceMethod"]


def pca_basis(X: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(D,)`` and the top-``d`` principal directions ``(D, d)`` of ``X``."""
    X = np.asarray(X, dtype=np.float64)
    mu = X.mean(0)
    _, _, vt = np.linalg.svd(X - mu, full_matrices=False)
    return mu, vt[:d].T


def subspace_alignment(Xs: np.ndarray, Xt: np.ndarray, d: int
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Aligned source rows ``(Ns, d)``, and the target mean and basis that map new rows.

    Returns:
        ``(Xs_aligned, mu_t, Pt)``; target (or any new) rows map to ``(X - mu_t) @ Pt``.
    """
    mu_s, Ps, mu_t, Pt = _bases(Xs, Xt, d)
    return ((np.asarray(Xs) - mu_s) @ Ps @ (Ps.T @ Pt)).astype(np.float32), mu_t, Pt


def _bases(Xs: np.ndarray, Xt: np.ndarray, d: int):
    mu_s, Ps = pca_basis(Xs, d)
    mu_t, Pt = pca_basis(Xt, d)
    return mu_s, Ps, mu_t, Pt


@register_adapt_method("subspace", needs_target_labels=False, deep=False,
                       description="subspace alignment of PCA bases (Fernando et al. 2013)")
class SubspaceMethod(FeatureMethod):
    """Subspace alignment with ``subspace_dim`` components (default: min(100, D, N-1))."""

    name = "subspace"
    PARAMS = Params(FeatureMethod.PARAMS, Param(
        "subspace_dim", "PCA dimensions of subspace alignment (None: up to 100)", None, "int",
        low=1))

    def prepare(self, ctx: AdaptContext, Xs: np.ndarray, Xt: np.ndarray):
        cap = min(Xs.shape[1], len(Xs) - 1, len(Xt) - 1)
        d = self.settings.subspace_dim or min(100, cap)
        if not 1 <= int(d) <= cap:
            raise ConfigError(
                f"The 'subspace_dim' parameter of DomainAdapter must be an int in [1, {cap}] "
                f"for these data (features {Xs.shape[1]}, rows {len(Xs)}/{len(Xt)}). "
                f"Got {d!r} instead."
            )
        mu_s, Ps, mu_t, Pt = _bases(Xs, Xt, int(d))
        self.state = {"mean": mu_t.astype(np.float32), "basis": Pt.astype(np.float32),
                      "source_mean": mu_s.astype(np.float32),
                      "source_map": (Ps @ (Ps.T @ Pt)).astype(np.float32)}
        self.summary["subspace_dim"] = int(d)
        return self.source_transform(Xs), ctx.ys, None

    def source_transform(self, X: np.ndarray) -> np.ndarray:
        st = self.state
        return (np.asarray(X, dtype=np.float32) - st["source_mean"]) @ st["source_map"]

    def transform(self, X: np.ndarray) -> np.ndarray:
        return ((np.asarray(X, dtype=np.float32) - self.state["mean"]) @ self.state["basis"])
