"""The strategy contract: how a TransferClassifier turns a backbone and labelled data into a model.

A strategy is created by name from ``STRATEGIES`` with the estimator's parameters, fitted on
a training :class:`~transferkit.data.Dataset` with integer labels, and asked for class
probabilities. It saves its own fitted state (safetensors + JSON, never pickle) into a run
folder and restores it from there.

Each strategy declares the parameters it reads in ``PARAMS``
(:mod:`transferkit.utils.params`); the estimator validates them and the command line offers
them from there, and the strategy reads them, defaults filled in, as ``self.settings.<name>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..registry import Registry
from ..utils.params import Params, Settings
from .params import COMMON

if TYPE_CHECKING:
    from ..backbones.base import Backbone
    from ..data.dataset import Dataset

__all__ = ["Strategy", "STRATEGIES", "register_strategy", "FitContext"]

STRATEGIES: Registry[type[Strategy]] = Registry("strategy")


def register_strategy(name: str, **info: Any):
    """Decorator: ``@register_strategy("probe")`` on a :class:`Strategy` subclass."""
    return STRATEGIES.register(name, **info)


class FitContext:
    """What a strategy gets to fit: the backbone, data, integer labels and the run's settings."""

    def __init__(
        self,
        backbone: Backbone,
        layer: int,
        train: Dataset,
        y: np.ndarray,
        n_classes: int,
        params: dict[str, Any],
        val: Dataset | None = None,
        y_val: np.ndarray | None = None,
        unlabelled: Dataset | None = None,
    ) -> None:
        self.backbone = backbone
        self.layer = layer
        self.train = train
        self.y = y
        self.n_classes = n_classes
        self.params = params
        self.val = val
        self.y_val = y_val
        #: inputs without labels given to ``fit(unlabelled=...)`` (the probe's self-training)
        self.unlabelled = unlabelled


class Strategy:
    """Base class; subclasses set ``name`` and implement the four methods below."""

    name: ClassVar[str] = ""
    #: whether fitting changes the backbone's weights (then they are saved with the model)
    trains_backbone: ClassVar[bool] = False
    #: whether fitting reads the backbone at all (the no-transfer baselines do not: the
    #: estimator hands them a ``none:<modality>`` placeholder instead of loading one)
    uses_backbone: ClassVar[bool] = True
    #: the parameters the strategy reads
    PARAMS: ClassVar[Params] = COMMON

    def __init__(self, **params: Any) -> None:
        self.PARAMS.validate(type(self).__name__, params)
        self.params = params
        self.settings: Settings = self.PARAMS.resolve(params)
        self.history: list[dict[str, Any]] = []
        self.summary: dict[str, Any] = {}

    def fit(self, ctx: FitContext) -> Strategy:
        raise NotImplementedError

    def predict_proba(self, backbone: Backbone, layer: int, data: Dataset) -> np.ndarray:
        raise NotImplementedError

    def save(self, folder: Path) -> dict[str, Any]:
        """Write fitted state into ``folder``; return JSON-able settings for :meth:`load`."""
        raise NotImplementedError

    @classmethod
    def load(cls, folder: Path, config: dict[str, Any], backbone: Backbone) -> Strategy:
        raise NotImplementedError
