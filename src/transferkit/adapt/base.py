"""The adaptation-method contract and what a method gets to fit.

An adaptation method is a :class:`~transferkit.strategies.Strategy` (same ``predict_proba`` /
``save`` / ``load`` contract, so run folders and reports treat it like any other) whose
``fit`` receives an :class:`AdaptContext`: labelled source data, *unlabelled* target data and,
only when the user asked for it, a few labelled target rows.

Methods register by name in :data:`ADAPT_METHODS` with :func:`register_adapt_method`.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..backbones.split import states_fit_budget
from ..exceptions import DataError
from ..features import extract_features
from ..registry import Registry
from ..strategies.base import Strategy
from ..utils.params import Params
from .params import ADAPT_COMMON
from .sources import source_ids_of

if TYPE_CHECKING:
    from ..backbones.base import Backbone
    from ..data.dataset import Dataset

__all__ = ["ADAPT_METHODS", "AdaptContext", "AdaptMethod", "register_adapt_method"]

log = logging.getLogger(__name__)

ADAPT_METHODS: Registry[type[AdaptMethod]] = Registry("adaptation method")


def register_adapt_method(name: str, **info: Any):
    """Decorator: ``@register_adapt_method("coral", needs_target_labels=False)``.

    ``info`` keys read elsewhere: ``needs_target_labels`` (bool), ``deep`` (trains through the
    engine), ``description`` (one line for listings and ``--help``).
    """
    return ADAPT_METHODS.register(name, **info)


class AdaptContext:
    """Everything a method may use to fit.

    Attributes:
        backbone: the encoder.
        layer: its feature layer.
        source: labelled source training data.
        ys: source labels as integer indices into the model's classes.
        target: target data with its labels removed (``target.labels is None``, always).
        n_classes: number of classes (those of the source).
        params: the estimator's hyper-parameters.
        target_labelled: the few labelled target rows, only when ``target_labels=`` allows it.
        yt: their labels as integer indices, or ``None``.
        shared: a dict the candidates of one fit share (states of the frozen lower layers).
        source_names: the sources' names when ``source`` is the union of several sources
            (:func:`~transferkit.adapt.sources.union_of_sources`), else ``None``.
    """

    def __init__(
        self,
        backbone: Backbone,
        layer: int,
        source: Dataset,
        ys: np.ndarray,
        target: Dataset,
        n_classes: int,
        params: dict[str, Any],
        target_labelled: Dataset | None = None,
        yt: np.ndarray | None = None,
        shared: dict[Any, Any] | None = None,
        source_names: list[str] | None = None,
    ) -> None:
        if target.labels is not None:
            # The one guard every method relies on: unlabelled means unlabelled.
            raise DataError("internal: the target handed to an adaptation method has labels.")
        self.backbone = backbone
        self.layer = layer
        self.source = source
        self.ys = np.asarray(ys, dtype=np.int64)
        self.target = target
        self.n_classes = int(n_classes)
        self.params = params
        #: the settings every method reads, defaults filled in
        self.common = ADAPT_COMMON.resolve(params)
        self.target_labelled = target_labelled
        self.yt = None if yt is None else np.asarray(yt, dtype=np.int64)
        self._features: dict[tuple[int, int], tuple[Dataset, np.ndarray]] = {}
        #: kept across the candidates of one fit (frozen-part states are the same for all)
        self.shared: dict[Any, Any] = {} if shared is None else shared
        self.source_names = list(source_names) if source_names else None

    @property
    def source_ids(self) -> np.ndarray | None:
        """Each source row's source, an index into :attr:`source_names` (``None`` with one
        source)."""
        if self.source_names is None:
            return None
        return source_ids_of(self.source, self.source_names)

    @property
    def seed(self) -> int:
        return int(self.common.seed)

    def features(self, data: Dataset) -> np.ndarray:
        """Frozen-backbone features of ``data`` (cached on disk and, per context, in memory)."""
        key = (id(data), len(data))
        if key not in self._features:
            # The dataset is kept with its features, so its id cannot be reused meanwhile.
            self._features[key] = data, np.asarray(
                extract_features(
                    self.backbone, data, layer=self.layer,
                    batch_size=self.common.batch_size, cache=self.common.cache,
                    progress=self.common.progress,
                ),
                dtype=np.float32,
            )
        return self._features[key][1]

    def fits_frozen_states(self, split: Any, *datasets: Dataset | None) -> bool:
        """Whether the frozen part's output for ``datasets`` fits the memory budget
        (:data:`~transferkit.backbones.split.MAX_FROZEN_STATE_BYTES`); beyond it, training
        runs the full forward."""
        need = sum(split.estimate_nbytes(d.inputs) for d in datasets
                   if d is not None and not self._has_states(split, d))
        have = sum(split.nbytes(v[1]) for k, v in self.shared.items()
                   if k[0] == "frozen-states")
        return states_fit_budget(need, have)

    def _states_key(self, split: Any, data: Dataset) -> tuple:
        return ("frozen-states", id(data), len(data), split.k, self.layer)

    def _has_states(self, split: Any, data: Dataset) -> bool:
        return self._states_key(split, data) in self.shared

    def frozen_states(self, split: Any, data: Dataset) -> list[np.ndarray]:
        """The frozen part's output for every row of ``data`` (a
        :class:`~transferkit.backbones.split.FrozenSplit`), computed once per fit: every
        candidate that tunes the same top groups reuses it."""
        key = self._states_key(split, data)
        if key not in self.shared:
            t0 = time.perf_counter()
            states = split.encode(data.inputs, batch_size=self.common.batch_size)
            log.info("encoded %d rows of %r through the frozen part in %.1f s (%.0f MB)",
                     len(data), data.name, time.perf_counter() - t0, split.nbytes(states) / 1e6)
            self.shared[key] = data, states
        return self.shared[key][1]


class AdaptMethod(Strategy):
    """Base class of adaptation methods.

    Subclasses implement :meth:`fit` (taking an :class:`AdaptContext`), :meth:`predict_proba`,
    :meth:`save` and :meth:`load`. :meth:`embed` returns the representation the classifier
    sees (used by label-free validators); the default is the frozen backbone's features.
    """

    name: ClassVar[str] = ""
    #: whether the method needs labelled target rows (TrAdaBoost, union fine-tuning)
    needs_target_labels: ClassVar[bool] = False
    PARAMS: ClassVar[Params] = ADAPT_COMMON

    def fit(self, ctx: AdaptContext) -> AdaptMethod:  # type: ignore[override]
        raise NotImplementedError

    def features(self, backbone: Backbone, layer: int, data: Dataset) -> np.ndarray:
        return np.asarray(
            extract_features(
                backbone, data, layer=layer,
                batch_size=self.settings.batch_size, cache=self.settings.cache,
                progress=self.settings.progress,
            ),
            dtype=np.float32,
        )

    def solves_source_rows(self, data: Dataset) -> np.ndarray | None:
        """Which source rows this model is meant to classify (a boolean mask), when it leaves
        some sources out on purpose; ``None``: all of them."""
        return None

    def forget_outputs(self) -> None:
        """Drop inference results kept to serve repeated requests while the fit was scored
        (none by default)."""

    def embed(self, backbone: Backbone, layer: int, data: Dataset) -> np.ndarray:
        """The representation of ``data`` that the classifier reads, ``(N, D)``."""
        return self.features(backbone, layer, data)

    def embed_source(self, backbone: Backbone, layer: int, data: Dataset) -> np.ndarray:
        """The representation of *source-domain* rows on the source's side of the alignment
        (the same as :meth:`embed` for methods with one shared representation)."""
        return self.embed(backbone, layer, data)

    def predict_proba_source(self, backbone: Backbone, layer: int, data: Dataset) -> np.ndarray:
        """Class probabilities of *source-domain* rows, through the source's side of the
        alignment (CORAL re-colours them, subspace alignment projects them with the source
        basis); the same as :meth:`predict_proba` for methods with one shared representation.
        Used to measure how well the adapted model still solves the source task."""
        return self.predict_proba(backbone, layer, data)
