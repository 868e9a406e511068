"""Two-sample tests between a stored reference window and a new window, on a model's own
features and outputs (Rabanser, Günnemann & Lipton, *Failing Loudly: An Empirical Study of
Methods for Detecting Dataset Shift*, NeurIPS 2019, https://arxiv.org/abs/1810.11953).

Each test is a pure function of arrays and returns ``(statistic, p_value)``:

* :func:`mmd_test` — unbiased MMD^2 on the backbone features, Gaussian kernel with the
  median-heuristic bandwidth, permutation null (the kernel code of :mod:`transferkit.shift`);
* :func:`bbsd_test` — black-box shift detection: a univariate Kolmogorov–Smirnov test per
  softmax output, Bonferroni over the outputs;
* :func:`classifier_test` — a domain classifier (reference vs window, cross-fitted logistic
  regression of :mod:`transferkit.shift`): its held-out AUC and the Mann–Whitney p-value of
  the window's scores above the reference's;
* :func:`label_shift` — BBSE (Lipton, Wang & Smola, *Detecting and Correcting for Label
  Shift with Black Box Predictors*, ICML 2018, https://arxiv.org/abs/1802.03916): the
  window's class priors from the reference confusion matrix, and a chi-square test of the
  predicted-class counts.
"""

from __future__ import annotations

import math

import numpy as np

from ..shift.domain import _domain_classifier
from ..shift.kernels import _mmd_from_kernel, _sq_dists, median_bandwidth

__all__ = ["mmd_test", "bbsd_test", "classifier_test", "label_shift", "TESTS",
           "permutations_for"]

#: permutations per batch of the MMD null (a (n, batch) membership matrix at a time)
_PERM_BATCH = 512


def permutations_for(level: float) -> int:
    """Permutations that let a permutation p-value (at least ``1 / (1 + n)``) reach ``level``
    with room to spare: ``2 / level`` (at least 200)."""
    return max(200, int(math.ceil(2.0 / level)))


def mmd_test(ref: np.ndarray, win: np.ndarray, n_permutations: int = 200,
             seed: int = 0) -> tuple[float, float]:
    """MMD^2 between ``ref`` ``(m, D)`` and ``win`` ``(n, D)`` and its permutation p-value
    ``(1 + #{permuted >= observed}) / (1 + n_permutations)``."""
    z = np.concatenate([ref, win]).astype(np.float64)
    d = _sq_dists(z)
    k = np.exp(-d / median_bandwidth(d))
    m, total = len(ref), len(z)
    obs = np.zeros((total, 1))
    obs[:m] = 1.0
    stat = float(_mmd_from_kernel(k, obs)[0])
    rng = np.random.default_rng(seed)
    exceed = 0
    for start in range(0, n_permutations, _PERM_BATCH):
        p = min(_PERM_BATCH, n_permutations - start)
        # Each column ranks the pooled points at random; the first m ranks play "reference".
        ranks = np.argsort(rng.random((total, p)), axis=0).argsort(axis=0)
        exceed += int((_mmd_from_kernel(k, (ranks < m).astype(np.float64)) >= stat).sum())
    return stat, (1 + exceed) / (1 + n_permutations)


def bbsd_test(ref_proba: np.ndarray, win_proba: np.ndarray) -> tuple[float, float]:
    """Largest KS statistic over the softmax outputs and its Bonferroni-corrected p-value.

    With two classes the second output is one minus the first: one test, no correction.
    """
    from scipy.stats import ks_2samp

    cols = range(1) if ref_proba.shape[1] == 2 else range(ref_proba.shape[1])
    results = [ks_2samp(ref_proba[:, c], win_proba[:, c]) for c in cols]
    stat = max(float(r.statistic) for r in results)
    p = min(1.0, len(results) * min(float(r.pvalue) for r in results))
    return stat, p


def classifier_test(ref: np.ndarray, win: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """Held-out AUC of a reference-vs-window classifier and the one-sided Mann–Whitney
    p-value that the window's held-out scores rank above the reference's (0.5: no shift)."""
    from scipy.stats import mannwhitneyu

    z = np.concatenate([ref, win]).astype(np.float64)
    dom = np.r_[np.zeros(len(ref), np.int64), np.ones(len(win), np.int64)]
    p = _domain_classifier(z, dom, seed)
    res = mannwhitneyu(p[dom == 1], p[dom == 0], alternative="greater")
    auc = float(res.statistic) / (len(win) * len(ref))
    return auc, float(res.pvalue)


def label_shift(confusion: np.ndarray, ref_priors: np.ndarray, ref_pred: np.ndarray,
                win_pred: np.ndarray) -> dict[str, object]:
    """BBSE class priors of the window and a chi-square test of its predicted classes.

    Args:
        confusion: ``(K, K)`` joint ``P(predicted = i, true = j)`` on the labelled reference.
        ref_priors: ``(K,)`` class frequencies of the reference.
        ref_pred, win_pred: predicted class indices on the reference and on the window.

    Returns:
        ``p_value`` (the predicted-class counts of reference and window are the same
        distribution), ``priors`` (BBSE estimate, clipped at 0 and normalised) and ``weights``
        (``priors / ref_priors``, the importance weights that correct for the shift).
    """
    from scipy.stats import chi2_contingency

    k = confusion.shape[0]
    mu = np.bincount(win_pred, minlength=k) / max(1, len(win_pred))
    w, *_ = np.linalg.lstsq(confusion, mu, rcond=None)  # lstsq: a singular C still answers
    w = np.clip(w, 0.0, None)
    priors = w * ref_priors
    priors = priors / priors.sum() if priors.sum() > 0 else ref_priors
    table = np.stack([np.bincount(ref_pred, minlength=k), np.bincount(win_pred, minlength=k)])
    table = table[:, table.sum(0) > 0]  # a class neither side predicts carries no evidence
    p = 1.0 if table.shape[1] < 2 else float(chi2_contingency(table)[1])
    weights = np.divide(priors, ref_priors, out=np.zeros_like(priors), where=ref_priors > 0)
    return {"p_value": p, "priors": priors.round(4).tolist(), "weights": weights.round(4).tolist()}


#: the detection tests by name, and what each reads: "features" or "proba"
TESTS = {"mmd": "features", "bbsd": "proba", "classifier": "features"}
