"""NCE: negative conditional entropy of the target labels given the source labels.

Tran, Nguyen, Hassner, *Transferability and Hardness of Supervised Classification Tasks*,
ICCV 2019 (https://arxiv.org/abs/1908.08142): ``NCE = -H(Y | Z)`` where ``Z`` is the label the
source (pre-training) classifier gives each target example. It needs a backbone that keeps its
source-task head (EfficientNet's ImageNet classifier, for instance).

Shapes: ``source`` ``(N,)`` source labels or ``(N, C_source)`` source probabilities/logits;
``labels`` ``(N,)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..exceptions import DataError
from ._validate import as_class_labels

__all__ = ["nce"]


def _source_codes(source: Any, score: str) -> np.ndarray:
    z = np.asarray(source)
    if z.ndim == 2:
        if z.dtype.kind not in "biuf" or not np.isfinite(z).all():
            raise DataError(
                f"{score} expects finite source-class scores of shape (N, C_source); got "
                f"{'non-finite values' if z.dtype.kind in 'biuf' else f'dtype {z.dtype}'}."
            )
        return z.argmax(axis=1)
    if z.ndim == 1:
        return np.unique(z, return_inverse=True)[1].reshape(-1)
    raise DataError(
        f"{score} expects source labels (N,) or source-class probabilities (N, C_source); got "
        f"shape {z.shape}."
    )


def nce(source_labels_or_probs: Any, labels: Any) -> float:
    """Negative conditional entropy ``-H(Y | Z)`` in nats (higher is better, at most 0).

    Args:
        source_labels_or_probs: for each target example, the source (pre-training) class the
            source model predicts — as ``(N,)`` labels, or as ``(N, C_source)`` probabilities or
            logits, of which the arg-max is used.
        labels: ``(N,)`` target class labels.

    Returns:
        ``0`` when the source label determines the target label; ``-log K`` at worst for
        ``K`` balanced classes. Relabelling either side leaves it unchanged.

    Raises:
        DataError: mismatched lengths, fewer than two target classes, bad source scores.
    """
    z = _source_codes(source_labels_or_probs, "NCE")
    n = len(z)
    _, y = as_class_labels(labels, n, "NCE", what="source labels/probabilities")
    joint = np.zeros((int(z.max()) + 1, int(y.max()) + 1))
    np.add.at(joint, (z, y), 1.0)
    joint /= n
    pz = joint.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(joint > 0, joint * np.log(joint / pz), 0.0)
    return float(terms.sum())
