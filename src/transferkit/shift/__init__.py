"""How far is the target from the source? Three measures in a backbone's feature space.

* **MMD** (Gretton et al., *A Kernel Two-Sample Test*, JMLR 2012): the unbiased estimate of the
  squared maximum mean discrepancy with a Gaussian kernel ``exp(-|a - b|^2 / h)``, ``h`` the
  median squared distance between the pooled points (the median heuristic), and a
  permutation-test p-value (``(1 + #{permuted >= observed}) / (1 + n_permutations)``).
* **Proxy A-distance** (Ben-David et al., *Analysis of Representations for Domain
  Adaptation*, NeurIPS 2006): ``2 (1 - 2 err)`` with ``err`` the 5-fold cross-validated error of
  a linear (logistic) classifier telling source from target; 0 when it cannot, 2 when it
  always can (values below 0, i.e. worse than chance, are reported as 0).
* **Classifier two-sample test** (Lopez-Paz & Oquab, *Revisiting Classifier Two-Sample
  Tests*, ICLR 2017): the held-out ROC AUC of the same domain classifier; 0.5 is no shift.

With labels on both sides, the per-class picture adds each shared class's MMD and domain AUC
and the total-variation distance between the two class distributions (label shift).

Cost: the kernel is O(n^2), so each side is subsampled (seeded, without replacement) to at
most ``max_samples`` points (default 1,000), and both sides to the same size so that the
domain classifier's chance level is exactly 0.5. The sizes used are in the result.

The package, by concern: ``result`` (:class:`ShiftResult`), ``kernels`` (the MMD arithmetic),
``domain`` (the domain classifier), ``measure`` (:func:`shift_features`, on features) and
``datasets`` (:func:`shift`, on datasets through a backbone).
"""

from __future__ import annotations

from .datasets import shift
from .kernels import median_bandwidth, mmd2_unbiased
from .measure import pca_projection as pca_projection  # for the adapter; not in __all__
from .measure import shift_features
from .result import ShiftResult

__all__ = ["ShiftResult", "shift", "shift_features", "mmd2_unbiased", "median_bandwidth"]
