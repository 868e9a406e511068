"""The no-transfer reference for a ranking: the baseline's cross-validated accuracy.

``rank`` scores backbones without training them; its kNN and probe scores are
cross-validated accuracies. The modality's no-transfer baseline (TF-IDF, pixels, gradient
boosting), cross-validated on the same folds, puts them on a scale that answers the
question a ranking is for: would any of these backbones beat a model that uses no
pre-trained weights at all?
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..data.dataset import Dataset, DatasetSplits
from ..exceptions import ConfigError
from ..models import TransferClassifier
from ..select.knn import check_cv_labels, stratified_folds
from ..strategies.baseline import BASELINE_DESCRIPTIONS, check_baseline

__all__ = ["baseline_score"]


def baseline_score(data: Dataset | DatasetSplits, folds: int = 5, seed: int = 0,
                   baseline: str | None = None) -> dict[str, Any]:
    """Cross-validated accuracy of the no-transfer baseline on ``data``.

    The folds are :func:`transferkit.select.knn.stratified_folds` with the same ``folds`` and
    ``seed`` as ``rank``'s cross-validated scores, so the numbers compare one to one.

    Args:
        data: labelled data (a ``DatasetSplits`` stands for its training split).
        folds: number of stratified folds (at least 2).
        seed: seed of the folds and of each fit.
        baseline: which baseline (``"tfidf"``, ``"pixels"``, ``"cnn"``, ``"hgb"``); ``None``
            for the modality's default.

    Returns:
        ``{"baseline", "description", "accuracy", "fold_accuracies", "folds", "seconds"}``.

    Raises:
        ConfigError: no baseline applies to the data's modality, or ``baseline`` is not one
            of those that do.
        DataError: too few examples per class for ``folds`` folds.
    """
    ds = data.train if isinstance(data, DatasetSplits) else data
    if not isinstance(ds, Dataset):
        raise ConfigError(f"baseline_score expects a Dataset; got {type(ds).__name__}. Fix: "
                          "load it with tk.load_dataset(...) or tk.from_arrays(...).")
    kind = check_baseline(ds.modality, baseline, owner="baseline_score")
    _, codes = check_cv_labels(ds.labels, len(ds), folds, "baseline_score")
    fold = stratified_folds(codes, folds, seed)
    t0 = time.perf_counter()
    accs = []
    for f in range(folds):
        train, test = ds.subset(np.flatnonzero(fold != f)), ds.subset(np.flatnonzero(fold == f))
        model = TransferClassifier(strategy="baseline", baseline=kind, seed=seed,
                                   progress=False).fit(train)
        accs.append(float(model.score(test)))
    return {"baseline": kind, "description": BASELINE_DESCRIPTIONS[kind],
            "accuracy": float(np.mean(accs)), "fold_accuracies": accs, "folds": int(folds),
            "seconds": round(time.perf_counter() - t0, 3)}
