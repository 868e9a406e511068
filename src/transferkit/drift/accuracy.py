"""Accuracy without labels, from the model's confidence.

* **ATC** — Average Thresholded Confidence (Garg, Balakrishnan, Lipton, Neyshabur & Sedghi,
  *Leveraging Unlabeled Data to Predict Out-of-Distribution Performance*, ICLR 2022,
  https://arxiv.org/abs/2201.04234): on labelled held-out in-domain data, choose the
  threshold ``t`` on the max-softmax confidence such that the share of examples above ``t``
  equals the accuracy there; on new data, the estimate is the share above ``t``.
* **AC** — average confidence: the mean max-softmax probability (over-optimistic when the
  model is over-confident, which is why ATC calibrates a threshold instead).

The calibration data must be held out from training: on training rows the model is more
confident and more accurate than anywhere else, and the threshold would be wrong.
"""

from __future__ import annotations

import numpy as np

__all__ = ["atc_threshold", "atc_estimate", "average_confidence"]


def atc_threshold(proba: np.ndarray, correct: np.ndarray) -> float:
    """The confidence threshold at which the share above it equals the accuracy.

    Args:
        proba: ``(N, K)`` softmax outputs on held-out in-domain data.
        correct: ``(N,)`` whether each prediction was right.
    """
    conf = proba.max(axis=1)
    acc = float(np.mean(correct))
    # The (1 - acc) quantile leaves a share `acc` of the confidences above it.
    return float(np.quantile(conf, 1.0 - acc))


def atc_estimate(proba: np.ndarray, threshold: float) -> float:
    """Estimated accuracy: the share of max-softmax confidences above ``threshold``."""
    return float(np.mean(proba.max(axis=1) > threshold))


def average_confidence(proba: np.ndarray) -> float:
    return float(np.mean(proba.max(axis=1)))
