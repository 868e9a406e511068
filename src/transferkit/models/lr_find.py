"""The learning-rate range test for an estimator's settings on some data.

The sweep itself (:mod:`transferkit.engine.lr_finder`) trains a prepared task; this workflow
prepares it the way :meth:`TransferClassifier.fit` would (same backbone, strategy, settings and
seed), without fitting the estimator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..data import check_labels
from ..engine.lr_finder import plot_lr_sweep, sweep_lr
from ..exceptions import ConfigError
from ..strategies import STRATEGIES, FitContext
from ..utils.io import atomic_write_json
from ..utils.seed import seed_everything
from .classifier import TransferClassifier

__all__ = ["lr_find"]


def lr_find(model: TransferClassifier, X: Any, y: Any = None, min_lr: float = 1e-7,
            max_lr: float = 1.0, num_steps: int = 100, out: str | Path | None = None
            ) -> dict[str, Any]:
    """The range test for a :class:`~transferkit.TransferClassifier`'s settings on ``X`` (, ``y``).

    The estimator is not fitted; it only supplies backbone, strategy and settings.

    Args:
        model: an unfitted (or fitted) TransferClassifier with a gradient-trained strategy.
        X: a labelled Dataset, or inputs with labels ``y``.
        min_lr, max_lr, num_steps: the sweep.
        out: a folder for ``lr_find.png`` and ``lr_find.json`` (``None``: no files).

    Returns:
        See :func:`~transferkit.engine.sweep_lr`; with ``out``, also ``plot`` (the PNG path).
    """
    model._validate_params()
    seed_everything(model.settings().seed)
    data = model.training_data(X, y)
    check_labels(data, None)
    classes = np.unique(data.labels)
    strategy = STRATEGIES.get(model.strategy)(**model.strategy_params())
    if not hasattr(strategy, "prepare"):
        raise ConfigError(
            f"lr_find sweeps the learning rate of a strategy trained by gradient descent; "
            f"strategy={model.strategy!r} is not one. Use strategy='finetune', 'lora' or 'scratch'."
        )
    bb, layer = model.backbone_for(data)
    ctx = FitContext(bb, layer, data, np.searchsorted(classes, data.labels), len(classes),
                     model.strategy_params())
    prep = strategy.prepare(ctx, for_sweep=True)
    result = sweep_lr(prep.task, prep.train, prep.config, min_lr, max_lr, num_steps)
    if out is not None:
        out = Path(out)
        result["plot"] = str(plot_lr_sweep(result, out / "lr_find.png",
                                           f"lr sweep: {bb.name} on {data.name}"))
        atomic_write_json(out / "lr_find.json", {**result, "backbone": bb.name,
                                                 "strategy": model.strategy, "data": data.name})
    return result
