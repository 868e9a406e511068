"""``TransferClassifier``: the scikit-learn-style estimator users fit, score, save and load."""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from .backbones.base import Backbone
from .data.dataset import Dataset, DatasetSplits
from .exceptions import ConfigError, DataError, NotFittedError
from .strategies import STRATEGIES
from .utils.checks import check_number
from .utils.seed import seed_everything

__all__ = ["TransferClassifier", "as_dataset"]

log = logging.getLogger(__name__)


def as_dataset(X: Any, y: Any = None, what: str = "X") -> Dataset:
    """Accept a Dataset, or raw inputs (+ labels), and return a Dataset."""
    if isinstance(X, DatasetSplits):
        raise DataError(
            f"{what} is a DatasetSplits ({', '.join(k for k, _ in X)}), not a single dataset. "
            "Did you mean to pass the training split, e.g. ds.train?"
        )
    if isinstance(X, Dataset):
        if y is not None:
            X = Dataset(X.inputs, np.asarray(y), X.modality, X.name, X.domains, dict(X.meta))
        return X
    if isinstance(X, str):
        raise DataError(
            f"{what} is a single string; expected a list of inputs. Wrap it: [{X[:40]!r}]."
        )
    from .data import from_arrays

    return from_arrays(X, labels=y)


class TransferClassifier(ClassifierMixin, BaseEstimator):
    """Classify with a pre-trained backbone, reused by a transfer strategy.

    Args:
        backbone: a backbone spec (``"minilm-l6"``, ``"efficientnet-lite0@3"``,
            ``"hf:<folder>"``, ``"random:minilm-l6"``) or a :class:`Backbone` instance.
        strategy: ``"probe"`` (frozen features + head), ``"finetune"`` (train the head and the
            top layer groups), ``"lora"`` (low-rank adapters + head), ``"scratch"`` (same
            architecture, random init, same budget), ``"auto"`` (chosen by examples per class),
            ``"prototypes"`` (class means, label-name priors at 1-4 shots) or ``"contrastive"``
            (SetFit-style pair tuning, then a head); more strategies register themselves.
        head: probe head: ``"logistic"``, ``"ridge"``, ``"svm"`` or ``"knn"``; for strategies
            that train by gradient: ``"linear"`` (``"logistic"`` means the same) or ``"mlp"``.
        C: inverse regularisation of the logistic/SVM head; ``None`` chooses it on held-out data.
        layer: which feature layer to use (``-1``: the last; a ``@k`` suffix on the spec wins).
        batch_size: inputs per forward pass when encoding; when training by gradient, examples
            per optimiser step (summed over devices and accumulation steps).
        cache: keep extracted features in the on-disk cache.
        seed: seeds every random choice; the same seed gives the same model.
        progress: show progress bars (only ever in a terminal).
        shots: train on this many examples per class, drawn from the training data with
            ``seed`` by ``sample_shots`` (the MTEB / SetFit N-shot protocol); ``None`` uses all.
        unfreeze: layer groups to train (fine-tuning): an int K (the top K groups + head; 0:
            head only), ``"all"``, or group names (``"layer.4,layer.5"``); ``None``: all.
        freeze_pattern: regular expression; backbone parameters whose names match stay frozen.
        epochs: passes over the training data (gradient-trained strategies).
        lr: learning rate of the head (default 1e-3); backbone groups get less, see below.
        backbone_lr_mult: backbone learning rate as a fraction of ``lr`` (default 0.1, i.e.
            10x smaller; 1.0 for scratch and for LoRA adapters).
        layer_decay: layer-wise decay: each group below the top trains at this factor times
            the rate of the group above (default 1.0: no decay).
        schedule: unfreezing schedule: ``"none"`` (all chosen groups from the start) or
            ``"gradual"`` (ULMFiT: head first, then one more group from the top per epoch).
        lr_schedule: ``"cosine"``, ``"linear"`` or ``"constant"``, after a linear warm-up.
        warmup: warm-up length as a fraction of all optimiser steps.
        weight_decay: AdamW weight decay (not on biases and norms; off under L2-SP).
        l2sp: L2-SP strength alpha: penalise the backbone's distance from its pre-trained
            weights (and the head's norm, with alpha/10); ``None`` or 0: off.
        head_init: how a gradient-trained linear head starts: ``"probe"`` (fitted first as a
            logistic probe on the frozen features, LP-FT; the default for finetune and lora)
            or ``"random"`` (the default for scratch).
        lora_r: rank of the LoRA adapters (``strategy="lora"``; alpha = 2 r).
        patience: early stopping: epochs without validation-loss improvement before stopping;
            the best epoch's weights are kept whenever there is validation data.
        devices: processes for data-parallel training on this machine (DDP: NCCL on GPUs,
            gloo on CPU); under ``torchrun`` the launcher decides.
        precision: ``"auto"`` (bf16 autocast on GPUs that support it, else fp32),
            ``"32-true"``, ``"bf16-mixed"`` or ``"16-mixed"``.
        grad_accum: micro-batches per optimiser step (gradient accumulation).
        checkpoint_dir: folder for per-epoch checkpoints (``last.ckpt``, ``best.ckpt``) and
            ``history.jsonl``; ``transferkit fit`` uses ``<run>/checkpoints``.
        resume: a run (or checkpoint) folder of an interrupted run to continue from; refused
            when its backbone, data or settings differ.
        num_iterations: ``strategy="contrastive"``: same-class and different-class pairs drawn
            per training example (SetFit's default, 20); more pairs, longer tuning.

    Example:
        >>> import transferkit as tk
        >>> ds = tk.load_dataset("banking77")
        >>> model = tk.TransferClassifier(backbone="minilm-l6").fit(ds.train)
        >>> model.score(ds.test)  # doctest: +SKIP
    """

    def __init__(
        self,
        backbone: str | Backbone = "minilm-l6",
        strategy: str = "probe",
        head: str = "logistic",
        C: float | None = None,
        layer: int = -1,
        batch_size: int = 64,
        cache: bool = True,
        seed: int = 0,
        progress: bool = True,
        shots: int | None = None,
        unfreeze: int | str | None = "all",
        freeze_pattern: str | None = None,
        epochs: int = 3,
        lr: float | None = None,
        backbone_lr_mult: float | None = None,
        layer_decay: float | None = None,
        schedule: str = "none",
        lr_schedule: str = "cosine",
        warmup: float = 0.1,
        weight_decay: float = 0.01,
        l2sp: float | None = None,
        head_init: str | None = None,
        lora_r: int = 8,
        patience: int | None = 3,
        devices: int = 1,
        precision: str = "auto",
        grad_accum: int = 1,
        checkpoint_dir: str | None = None,
        resume: str | None = None,
        num_iterations: int = 20,
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

    # --- fitting ---------------------------------------------------------------------------
    def _validate_params(self) -> None:
        owner = type(self).__name__
        strategy_cls = STRATEGIES.get(self.strategy)
        from .heads import HEADS
        from .strategies.finetune import check_training_params

        check_training_params(owner, self.get_params(deep=False))
        if hasattr(strategy_cls, "check_params"):  # strategies with their own heads / rules
            strategy_cls.check_params(owner, self.get_params(deep=False))
        else:
            HEADS.get(self.head)
        check_number(owner, "batch_size", self.batch_size, low=1, integer=True)
        check_number(owner, "seed", self.seed, low=0, integer=True)
        if self.C is not None:
            check_number(owner, "C", self.C, low=0, low_open=True)
        if self.shots is not None:
            check_number(owner, "shots", self.shots, low=1, integer=True)
        if not isinstance(self.backbone, str | Backbone):
            raise ConfigError(
                f"The 'backbone' parameter of {owner} must be a backbone name such as "
                f"'minilm-l6' or a Backbone instance. Got {type(self.backbone).__name__} instead."
            )

    def _make_backbone(self, data: Dataset) -> tuple[Backbone, int]:
        from .backbones.registry import backbone_for_data

        bb, layer = backbone_for_data(self.backbone, self.layer, self.seed, data)
        if bb is self.backbone and getattr(STRATEGIES.get(self.strategy), "trains_backbone",
                                           False):
            # fit must not change the object passed as a parameter: train a copy.
            import copy

            bb = copy.deepcopy(bb)
        return bb, layer

    def strategy_params(self) -> dict[str, Any]:
        """Parameters handed to the strategy (all estimator parameters but the backbone)."""
        return {k: v for k, v in self.get_params(deep=False).items() if k != "backbone"}

    def fit(self, X: Any, y: Any = None, *, val: Dataset | None = None) -> TransferClassifier:
        """Fit on a labelled Dataset (or raw inputs ``X`` with labels ``y``); returns ``self``."""
        from .data import check_labels

        self._validate_params()
        seed_everything(self.seed)
        train = as_dataset(X, y)
        train.require_single_labels(type(self).__name__)
        if self.shots is not None:
            from .data import sample_shots

            train = sample_shots(train, self.shots, self.seed)
        check_labels(train, val)
        t0 = time.perf_counter()
        self.classes_ = np.unique(train.labels)
        y_idx = np.searchsorted(self.classes_, train.labels)
        bb, layer = self._make_backbone(train)
        adapt = getattr(bb, "fit_preprocessing", None)
        if adapt is not None:
            adapt(train.inputs)
        self.backbone_, self.layer_ = bb, layer
        from .strategies import FitContext

        strategy = STRATEGIES.get(self.strategy)(**self.strategy_params())
        ctx = FitContext(
            bb, layer, train, y_idx, len(self.classes_), self.strategy_params(),
            val=val, y_val=None if val is None else self._encode_labels(val.labels),
        )
        self.strategy_ = strategy.fit(ctx)
        self.modality_ = train.modality
        self.train_summary_ = train.summary()
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    # --- inference -------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "strategy_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet. Call fit(...) first, or load a "
                "saved run with transferkit.load(path)."
            )

    def _encode_labels(self, labels: np.ndarray) -> np.ndarray:
        labels = np.asarray(labels)
        known = np.isin(labels, self.classes_)
        if not known.all():
            unseen = sorted({str(v) for v in labels[~known]})
            raise DataError(
                f"{len(unseen)} label(s) never seen in training: {unseen[:10]}"
                f"{' ...' if len(unseen) > 10 else ''}. The model knows "
                f"{len(self.classes_)} classes; evaluate on data with the same label set."
            )
        return np.searchsorted(self.classes_, labels)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(N, n_classes)``, columns ordered as ``classes_``."""
        self._check_fitted()
        data = as_dataset(X)
        if data.modality != self.modality_:
            raise DataError(
                f"This model was trained on {self.modality_} inputs; got {data.modality} inputs."
            )
        return self.strategy_.predict_proba(self.backbone_, self.layer_, data)

    def predict(self, X: Any) -> np.ndarray:
        self._check_fitted()
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """Accuracy on a labelled Dataset (or inputs ``X`` with labels ``y``)."""
        data = as_dataset(X, y)
        if data.labels is None:
            raise DataError("score() needs labels: pass a labelled Dataset or y=.")
        self._encode_labels(data.labels)
        pred = self.predict(data)
        return float(np.average(pred == data.labels, weights=sample_weight))

    def evaluate(self, X: Any, y: Any = None) -> dict[str, Any]:
        """Accuracy, macro-F1, per-class scores and the confusion matrix on labelled data."""
        from .evaluation import evaluate_classifier

        return evaluate_classifier(self, X, y)

    # --- persistence -----------------------------------------------------------------------
    def save(self, path: str, **record: Any) -> str:
        """Write the model into run folder ``path`` atomically; returns the folder path."""
        from .runs import save_model

        return str(save_model(self, path, **record))
