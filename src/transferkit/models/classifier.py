"""``TransferClassifier``: a pre-trained backbone reused by a transfer strategy."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..backbones import backbone_for_data
from ..backbones.base import Backbone
from ..backbones.none import NoBackbone
from ..data import Dataset, as_dataset, check_labels, check_modality, sample_shots
from ..runs import register_model_kind
from ..strategies import STRATEGIES, FitContext
from ..strategies.params import COMMON, LAYER
from ..utils.params import Param, Params
from ..utils.seed import seed_everything
from .base import StrategyModel, check_backbone_param
from .docs import document_params

__all__ = ["TransferClassifier"]


@register_model_kind
class TransferClassifier(StrategyModel):
    """Classify with a pre-trained backbone, reused by a transfer strategy.

    Every strategy registered with :func:`~transferkit.register_strategy` declares the
    parameters it reads; a keyword that the chosen strategy does not read is refused, naming
    the strategies that do. Keywords declared by strategies registered later are accepted as
    ``**params``.

    Args:
{params}

    Example:
        >>> import transferkit as tk
        >>> ds = tk.load_dataset("banking77")
        >>> model = tk.TransferClassifier(backbone="minilm-l6").fit(ds.train)
        >>> model.score(ds.test)  # doctest: +SKIP
    """

    PARAMS = Params(
        Param("backbone", "a backbone spec ('minilm-l6', 'efficientnet-lite0@3', "
              "'hf:<folder>', 'run:<folder>', 'random:minilm-l6') or a Backbone instance",
              "minilm-l6", "any", check=check_backbone_param),
        Param("strategy", "how the backbone is reused: 'probe' (frozen features + head), "
              "'finetune' (train the head and the top layer groups), 'lora' (low-rank adapters "
              "+ head), 'scratch' (same architecture, random init, same budget), 'auto' "
              "(chosen by examples per class), 'prototypes' (class means, label-name priors at "
              "1-4 shots), 'contrastive' (SetFit-style pair tuning, then a head); more register "
              "themselves", "probe", choices=STRATEGIES),
        LAYER,
        COMMON,
        Param("shots", "train on this many examples per class, drawn from the training data "
              "with seed by sample_shots (the MTEB / SetFit N-shot protocol); None uses all",
              None, "int", low=1),
    )

    def __init__(
        self,
        backbone: str | Backbone = "minilm-l6",
        strategy: str = "probe",
        head: str | None = None,
        C: float | None = None,
        layer: int | None = None,
        batch_size: int | None = None,
        cache: bool | None = None,
        seed: int | None = None,
        progress: bool | None = None,
        shots: int | None = None,
        unfreeze: int | str | None = None,
        freeze_pattern: str | None = None,
        epochs: int | None = None,
        lr: float | None = None,
        backbone_lr_mult: float | None = None,
        layer_decay: float | None = None,
        schedule: str | None = None,
        lr_schedule: str | None = None,
        warmup: float | None = None,
        weight_decay: float | None = None,
        l2sp: float | None = None,
        head_init: str | None = None,
        lora_r: int | None = None,
        patience: int | None = None,
        devices: int | None = None,
        precision: str | None = None,
        grad_accum: int | None = None,
        checkpoint_dir: str | None = None,
        resume: str | None = None,
        num_iterations: int | None = None,
        augment: str | None = None,
        augment_prob: float | None = None,
        **params: Any,
    ) -> None:
        self.backbone = backbone
        self.strategy = strategy
        self.head = head
        self.C = C
        self.layer = layer
        self.batch_size = batch_size
        self.cache = cache
        self.seed = seed
        self.progress = progress
        self.shots = shots
        self.unfreeze = unfreeze
        self.freeze_pattern = freeze_pattern
        self.epochs = epochs
        self.lr = lr
        self.backbone_lr_mult = backbone_lr_mult
        self.layer_decay = layer_decay
        self.schedule = schedule
        self.lr_schedule = lr_schedule
        self.warmup = warmup
        self.weight_decay = weight_decay
        self.l2sp = l2sp
        self.head_init = head_init
        self.lora_r = lora_r
        self.patience = patience
        self.devices = devices
        self.precision = precision
        self.grad_accum = grad_accum
        self.checkpoint_dir = checkpoint_dir
        self.resume = resume
        self.num_iterations = num_iterations
        self.augment = augment
        self.augment_prob = augment_prob
        self._set_method_params(params)

    # --- parameters -------------------------------------------------------------------------
    @classmethod
    def method_tables(cls) -> dict[str, Params]:
        return {name: STRATEGIES.get(name).PARAMS for name in STRATEGIES.names()}

    def chosen_methods(self) -> list[str]:
        return [self.strategy] if self.strategy in STRATEGIES else []

    def chosen_phrase(self) -> str:
        return f"strategy={self.strategy!r}"

    def _validate_params(self) -> None:
        super()._validate_params()
        check = getattr(STRATEGIES.get(self.strategy), "check_params", None)
        if check is not None:  # rules across parameters (finetune: the last layer only)
            check(type(self).__name__, self.get_params(deep=False))

    def strategy_params(self) -> dict[str, Any]:
        """Parameters handed to the strategy (all estimator parameters but the backbone)."""
        return {k: v for k, v in self.get_params(deep=False).items() if k != "backbone"}

    def backbone_for(self, data: Dataset) -> tuple[Backbone, int]:
        """The backbone and feature layer this estimator fits ``data`` with (a copy of a
        backbone object given, when the strategy trains it)."""
        s = self.settings()
        if not getattr(STRATEGIES.get(self.strategy), "uses_backbone", True):
            # A no-transfer baseline: nothing pre-trained is loaded, let alone run.
            return NoBackbone(data.modality), -1
        trains = getattr(STRATEGIES.get(self.strategy), "trains_backbone", False)
        return backbone_for_data(self.backbone, s.layer, s.seed, data, copy=trains)

    def training_data(self, X: Any, y: Any = None) -> Dataset:
        """The labelled rows ``fit`` trains on: ``shots`` per class when set."""
        train = as_dataset(X, y)
        train.require_single_labels(type(self).__name__)
        if self.shots is not None:
            train = sample_shots(train, self.shots, self.settings().seed)
        return train

    # --- fitting ----------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, *, val: Dataset | None = None,
            unlabelled: Any = None) -> TransferClassifier:
        """Fit on a labelled Dataset (or raw inputs ``X`` with labels ``y``); returns ``self``.

        Args:
            X: a labelled :class:`~transferkit.data.Dataset`, or inputs with labels ``y``.
            y: labels of raw inputs ``X``.
            val: validation data for early stopping (strategies that train by gradient).
            unlabelled: inputs of the same kind without labels (a Dataset, or raw inputs),
                for the probe's ``self_train``; other strategies ignore them. Giving the
                texts you will evaluate on makes the fit transductive.
        """
        self._validate_params()
        seed_everything(self.settings().seed)
        train = self.training_data(X, y)
        check_labels(train, val)
        t0 = time.perf_counter()
        self.classes_ = np.unique(train.labels)
        y_idx = np.searchsorted(self.classes_, train.labels)
        bb, layer = self.backbone_for(train)
        self.backbone_, self.layer_ = bb, layer
        params = self.strategy_params()
        y_val = None if val is None else self._encode_labels(val, "the validation data")
        pool = None
        if unlabelled is not None:
            pool = as_dataset(unlabelled, what="unlabelled of fit()")
            check_modality(pool, train.modality, f"{type(self).__name__}.fit(unlabelled=...) "
                                                 "(the same kind of input as the training data)")
        ctx = FitContext(bb, layer, train, y_idx, len(self.classes_), params, val=val,
                         y_val=y_val, unlabelled=pool)
        self.strategy_ = STRATEGIES.get(self.strategy)(**params).fit(ctx)
        self.modality_ = train.modality
        self.train_summary_ = train.summary()
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def _method_class(self, state: dict[str, Any]) -> type:
        return STRATEGIES.get(self.strategy)


document_params(TransferClassifier)
