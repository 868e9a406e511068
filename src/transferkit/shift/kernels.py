"""The MMD's kernel arithmetic (Gretton et al., JMLR 2012): pairwise squared distances, the
median-heuristic bandwidth, and the unbiased MMD^2 for many sample memberships at once (one
kernel matrix serves the observed split and every permutation). Also used by
:mod:`transferkit.drift`."""

from __future__ import annotations

import numpy as np

__all__ = ["mmd2_unbiased", "median_bandwidth"]


def _sq_dists(z: np.ndarray) -> np.ndarray:
    sq = np.einsum("ij,ij->i", z, z)
    d = sq[:, None] + sq[None, :] - 2.0 * (z @ z.T)
    np.maximum(d, 0.0, out=d)
    np.fill_diagonal(d, 0.0)
    return d


def median_bandwidth(sq_dists: np.ndarray) -> float:
    """The median of the off-diagonal squared distances (the median heuristic)."""
    iu = np.triu_indices(sq_dists.shape[0], k=1)
    vals = sq_dists[iu]
    h = float(np.median(vals))
    if h <= 0:
        pos = vals[vals > 0]
        h = float(pos.mean()) if len(pos) else 1.0
    return h


def _mmd_from_kernel(k: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Unbiased MMD^2 for each column of the 0/1 membership matrix ``a`` (n, P): 1 = sample X."""
    n = k.shape[0]
    m = a.sum(axis=0)
    mb = n - m
    ka = k @ a
    k1 = k.sum(axis=1)
    total = k1.sum()
    diag = np.diag(k)
    s_aa = np.einsum("np,np->p", a, ka)
    s_a1 = a.T @ k1
    s_bb = total - 2.0 * s_a1 + s_aa
    s_ab = s_a1 - s_aa
    tr_a = a.T @ diag
    tr_b = diag.sum() - tr_a
    return ((s_aa - tr_a) / (m * (m - 1)) + (s_bb - tr_b) / (mb * (mb - 1))
            - 2.0 * s_ab / (m * mb))


def mmd2_unbiased(x: np.ndarray, y: np.ndarray, bandwidth: float | None = None) -> float:
    """Unbiased squared MMD between samples ``x`` (n, D) and ``y`` (m, D), Gaussian kernel.

    ``bandwidth`` is ``h`` in ``exp(-|a - b|^2 / h)``; ``None`` uses the median heuristic.
    """
    z = np.concatenate([np.asarray(x, np.float64), np.asarray(y, np.float64)])
    d = _sq_dists(z)
    h = median_bandwidth(d) if bandwidth is None else float(bandwidth)
    k = np.exp(-d / h)
    a = np.zeros((len(z), 1))
    a[: len(x)] = 1.0
    return float(_mmd_from_kernel(k, a)[0])
