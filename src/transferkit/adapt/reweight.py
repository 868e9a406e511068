"""Importance weighting of source rows: domain-classifier density ratio and kernel mean matching.

Under covariate shift (``p(y|x)`` shared, ``p(x)`` different) the target risk equals the
source risk with each source row weighted by ``w(x) = p_t(x) / p_s(x)``. Two estimators:

* :func:`density_ratio_weights` — a probabilistic classifier tells source from target;
  ``w(x) = P(t|x) / P(s|x) * Ns / Nt`` (Bickel, Brückner & Scheffer, "Discriminative Learning
  Under Covariate Shift", JMLR 2009, https://jmlr.org/papers/v10/bickel09a.html).
* :func:`kmm_weights` — kernel mean matching: weights that make the weighted source mean
  embedding match the target's in an RBF kernel space (Huang, Smola, Gretton, Borgwardt &
  Schölkopf, "Correcting Sample Selection Bias by Unlabeled Data", NeurIPS 2006,
  https://papers.nips.cc/paper/3075).

Both return weights with mean 1 over the source rows; the head is then fitted with them.
"""

from __future__ import annotations

import logging

import numpy as np

from ..exceptions import ConfigError
from ..utils.params import Params
from .base import AdaptContext, register_adapt_method
from .feature_method import FeatureMethod
from .params import WEIGHT_CLIP

__all__ = ["density_ratio_weights", "domain_probabilities", "kmm_weights", "ReweightMethod",
           "KMMMethod", "effective_sample_size"]

log = logging.getLogger(__name__)


def effective_sample_size(w: np.ndarray) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2``: how many rows the weights keep."""
    w = np.asarray(w, dtype=np.float64)
    return float(w.sum() ** 2 / max((w * w).sum(), 1e-300))


def _standardize(Xs: np.ndarray, Xt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    Z = np.concatenate([Xs, Xt]).astype(np.float64)
    mu, sd = Z.mean(0), Z.std(0) + 1e-6
    return (np.asarray(Xs) - mu) / sd, (np.asarray(Xt) - mu) / sd


def domain_probabilities(Xs: np.ndarray, Xt: np.ndarray, seed: int = 0, folds: int = 3
                         ) -> tuple[np.ndarray, np.ndarray, float]:
    """Out-of-fold ``P(target | x)`` for every source and target row, and the chosen C.

    A logistic domain classifier on standardised features, its C chosen from a grid by
    cross-validated log-loss, so the probabilities are calibrated enough to be used as a
    ratio; each row's probability comes from the fold model that did not see that row.
    """
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    Zs, Zt = _standardize(Xs, Xt)
    Z = np.concatenate([Zs, Zt])
    d = np.r_[np.zeros(len(Zs), dtype=np.int64), np.ones(len(Zt), dtype=np.int64)]
    k = int(min(folds, np.bincount(d, minlength=2).min()))
    if k < 2:
        raise ConfigError("Density-ratio weighting needs at least 2 source and 2 target rows.")
    rng = np.random.default_rng(seed)
    fold = np.empty(len(Z), dtype=np.int64)
    for label in (0, 1):  # stratified folds
        idx = rng.permutation(np.flatnonzero(d == label))
        fold[idx] = np.arange(len(idx)) % k
    best = (np.inf, 1.0, np.full(len(Z), 0.5))
    # Small problems: one BLAS thread is many times faster than contended threads.
    with threadpool_limits(1 if Z.size < 2_000_000 else None):
        for C in (1e-3, 1e-2, 1e-1, 1.0):
            p = np.empty(len(Z))
            for f in range(k):
                tr, te = fold != f, fold == f
                clf = LogisticRegression(C=C, max_iter=300).fit(Z[tr], d[tr])
                p[te] = clf.predict_proba(Z[te])[:, 1]
            q = np.clip(p, 1e-7, 1 - 1e-7)
            loss = -float(np.mean(d * np.log(q) + (1 - d) * np.log(1 - q)))
            if loss < best[0] - 1e-9:
                best = (loss, C, p)
    _, C, p = best
    return p[: len(Zs)], p[len(Zs):], float(C)


def density_ratio_weights(Xs: np.ndarray, Xt: np.ndarray, clip: float = 10.0, seed: int = 0
                          ) -> np.ndarray:
    """Importance weights ``p_t(x)/p_s(x)`` of the source rows from a domain classifier.

    Args:
        Xs: source features ``(Ns, D)``.
        Xt: target features ``(Nt, D)``.
        clip: largest weight, relative to the mean (extreme ratios make the weighted risk a
            high-variance estimate).
        seed: seeds the cross-validation folds.

    Returns:
        ``(Ns,)`` non-negative weights with mean 1; larger for source rows that look like
        target rows.
    """
    ps, _, _ = domain_probabilities(Xs, Xt, seed=seed)
    ps = np.clip(ps, 1e-6, 1 - 1e-6)
    w = ps / (1 - ps) * (len(Xs) / len(Xt))
    return _clip_normalise(w, clip)


def _clip_normalise(w: np.ndarray, clip: float) -> np.ndarray:
    w = np.asarray(w, dtype=np.float64)
    w = w / max(w.mean(), 1e-300)
    for _ in range(5):  # clipping moves the mean: clip, renormalise, repeat
        w = np.minimum(w, clip)
        w = w / max(w.mean(), 1e-300)
    return w


def _project(v: np.ndarray, B: float, lo: float, hi: float) -> np.ndarray:
    """Euclidean projection onto ``{0 <= b <= B, lo <= sum(b) <= hi}`` (bisection on a shift)."""
    b = np.clip(v, 0.0, B)
    s = b.sum()
    if lo <= s <= hi:
        return b
    goal = lo if s < lo else hi
    a, c = v.min() - B - 1.0, v.max() + 1.0  # shift range: sum(clip(v - t)) runs from n*B to 0
    for _ in range(60):
        t = 0.5 * (a + c)
        if np.clip(v - t, 0.0, B).sum() > goal:
            a = t
        else:
            c = t
    return np.clip(v - 0.5 * (a + c), 0.0, B)


def _kmm_block(Zs: np.ndarray, Zt: np.ndarray, gamma: float, B: float, eps: float,
               iters: int) -> np.ndarray:
    """Solve one KMM quadratic programme by accelerated projected gradient (FISTA)."""
    ns, nt = len(Zs), len(Zt)

    def rbf(A: np.ndarray, Bm: np.ndarray) -> np.ndarray:
        sq = (A * A).sum(1)[:, None] + (Bm * Bm).sum(1)[None, :] - 2 * A @ Bm.T
        return np.exp(-gamma * np.maximum(sq, 0.0))

    K = rbf(Zs, Zs)
    kappa = rbf(Zs, Zt).sum(1) * (ns / nt)
    # Lipschitz constant of the gradient K b - kappa: the top eigenvalue of K.
    v = np.ones(ns) / np.sqrt(ns)
    for _ in range(50):
        v = K @ v
        v /= np.linalg.norm(v) + 1e-300
    L = float(v @ K @ v) + 1e-9
    lo, hi = ns * (1 - eps), ns * (1 + eps)
    b = _project(np.ones(ns), B, lo, hi)
    z, t = b.copy(), 1.0
    for _ in range(iters):
        b_new = _project(z - (K @ z - kappa) / L, B, lo, hi)
        t_new = 0.5 * (1 + np.sqrt(1 + 4 * t * t))
        z = b_new + ((t - 1) / t_new) * (b_new - b)
        if np.abs(b_new - b).max() < 1e-4 * B:
            b = b_new
            break
        b, t = b_new, t_new
    return b


def kmm_weights(Xs: np.ndarray, Xt: np.ndarray, B: float = 10.0, gamma: float | None = None,
                max_rows: int = 3000, iters: int = 300, seed: int = 0) -> np.ndarray:
    """Kernel-mean-matching weights of the source rows.

    Minimises ``|| 1/Ns sum_i b_i phi(xs_i) - 1/Nt sum_j phi(xt_j) ||^2`` in an RBF kernel
    space over ``0 <= b_i <= B`` and ``|sum b - Ns| <= Ns * eps`` with
    ``eps = (sqrt(Ns) - 1) / sqrt(Ns)``, as in the paper.

    Args:
        Xs: source features ``(Ns, D)``.
        Xt: target features ``(Nt, D)``.
        B: upper bound of a weight.
        gamma: RBF ``exp(-gamma |x - x'|^2)`` on standardised features; ``None`` uses the
            median heuristic (``1 / median squared distance``).
        max_rows: the quadratic programme is solved on random blocks of at most this many
            source rows, each against at most this many target rows (ensemble KMM, Miao,
            Farahat & Kamel 2015), which keeps memory at ``O(max_rows^2)``.
        iters: projected-gradient iterations per block.
        seed: seeds the blocks and the median-heuristic sample.

    Returns:
        ``(Ns,)`` weights with mean 1.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # many small products: one BLAS thread avoids contention
        return _kmm(Xs, Xt, B, gamma, max_rows, iters, seed)


def _kmm(Xs: np.ndarray, Xt: np.ndarray, B: float, gamma: float | None, max_rows: int,
         iters: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    Zs, Zt = _standardize(Xs, Xt)
    if gamma is None:
        Z = np.concatenate([Zs, Zt])
        pick = rng.choice(len(Z), size=min(len(Z), 1000), replace=False)
        S = Z[pick]
        sq = (S * S).sum(1)[:, None] + (S * S).sum(1)[None, :] - 2 * S @ S.T
        med = float(np.median(sq[np.triu_indices(len(S), 1)]))
        gamma = 1.0 / max(med, 1e-12)
    ns = len(Zs)
    n_blocks = int(np.ceil(ns / max_rows))
    blocks = np.array_split(rng.permutation(ns), n_blocks)
    w = np.empty(ns)
    for idx in blocks:
        tsub = Zt if len(Zt) <= max_rows else Zt[rng.choice(len(Zt), max_rows, replace=False)]
        m = len(idx)
        eps = (np.sqrt(m) - 1) / np.sqrt(m)
        w[idx] = _kmm_block(Zs[idx], tsub, float(gamma), float(B), float(eps), iters)
    return w / max(w.mean(), 1e-300)


class _WeightedMethod(FeatureMethod):
    PARAMS = Params(FeatureMethod.PARAMS, WEIGHT_CLIP)

    def weights(self, ctx: AdaptContext, Xs: np.ndarray, Xt: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def prepare(self, ctx: AdaptContext, Xs: np.ndarray, Xt: np.ndarray):
        w = self.weights(ctx, Xs, Xt)
        ess = effective_sample_size(w)
        self.summary.update({
            "weights": {"min": float(w.min()), "max": float(w.max()),
                        "effective_sample_size": round(ess, 1), "n_source": int(len(w))},
        })
        if ess < 0.1 * len(w):
            log.warning("importance weights keep only %.0f of %d source rows (effective sample "
                        "size): the shift is large, expect a noisy head", ess, len(w))
        self.weights_ = w
        return Xs, ctx.ys, w


@register_adapt_method("reweight", needs_target_labels=False, deep=False,
                       description="importance weights p_t/p_s from a domain classifier")
class ReweightMethod(_WeightedMethod):
    """Weight source rows by a domain classifier's density ratio (``weight_clip`` caps them)."""

    name = "reweight"

    def weights(self, ctx, Xs, Xt) -> np.ndarray:
        clip = float(self.settings.weight_clip)
        return density_ratio_weights(Xs, Xt, clip=clip, seed=ctx.seed)


@register_adapt_method("kmm", needs_target_labels=False, deep=False,
                       description="kernel mean matching weights (Huang et al. 2006)")
class KMMMethod(_WeightedMethod):
    """Weight source rows by kernel mean matching (``weight_clip`` is the bound B)."""

    name = "kmm"

    def weights(self, ctx, Xs, Xt) -> np.ndarray:
        B = float(self.settings.weight_clip)
        return kmm_weights(Xs, Xt, B=B, seed=ctx.seed)
