"""``TransferClassifier``: the scikit-learn-style estimator users fit, score, save and load."""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from .backbones import create_backbone, parse_backbone_spec
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
        strategy: ``"probe"`` (frozen features + head); more strategies register themselves.
        head: probe head: ``"logistic"``, ``"ridge"``, ``"svm"`` or ``"knn"``.
        C: inverse regularisation of the logistic/SVM head; ``None`` chooses it on held-out data.
        layer: which feature layer to use (``-1``: the last; a ``@k`` suffix on the spec wins).
        batch_size: inputs per forward pass when encoding.
        cache: keep extracted features in the on-disk cache.
        seed: seeds every random choice; the same seed gives the same model.
        progress: show progress bars (only ever in a terminal).

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

    # --- fitting ---------------------------------------------------------------------------
    def _validate_params(self) -> None:
        owner = type(self).__name__
        STRATEGIES.get(self.strategy)
        from .heads import HEADS

        HEADS.get(self.head)
        check_number(owner, "batch_size", self.batch_size, low=1, integer=True)
        check_number(owner, "seed", self.seed, low=0, integer=True)
        if self.C is not None:
            check_number(owner, "C", self.C, low=0, low_open=True)
        if not isinstance(self.backbone, str | Backbone):
            raise ConfigError(
                f"The 'backbone' parameter of {owner} must be a backbone name such as "
                f"'minilm-l6' or a Backbone instance. Got {type(self.backbone).__name__} instead."
            )

    def _make_backbone(self, data: Dataset) -> tuple[Backbone, int]:
        if isinstance(self.backbone, Backbone):
            bb, layer = self.backbone, self.layer
        else:
            spec, spec_layer = parse_backbone_spec(self.backbone)
            kwargs: dict[str, Any] = {"seed": self.seed}
            if data.modality == "tabular":
                kwargs["in_features"] = int(np.asarray(data.inputs).shape[1])
            bb = create_backbone(spec, **kwargs)
            layer = spec_layer if spec_layer != -1 else self.layer
        if bb.modality != data.modality:
            raise DataError(
                f"Backbone {bb.name!r} encodes {bb.modality} inputs but the data {data.name!r} "
                f"is {data.modality}. Pick a {data.modality} backbone (`transferkit zoo` lists them)."
            )
        bb.check_layer(layer)
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
        if train.labels is None:
            raise DataError(
                f"The training data {train.name!r} has no labels. Give label_col= when loading, "
                "or pass y= to fit()."
            )
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
        from .evaluation import classification_metrics

        data = as_dataset(X, y)
        if data.labels is None:
            raise DataError("evaluate() needs labels: pass a labelled Dataset or y=.")
        y_true = self._encode_labels(data.labels)
        proba = self.predict_proba(data)
        return classification_metrics(y_true, proba.argmax(1), list(self.classes_), proba)

    # --- persistence -----------------------------------------------------------------------
    def save(self, path: str, **record: Any) -> str:
        """Write the model into run folder ``path`` atomically; returns the folder path."""
        from .runs import save_model

        return str(save_model(self, path, **record))
