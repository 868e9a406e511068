"""The contract every fitted transferkit model shares, written once.

:class:`TransferModel` is the scikit-learn estimator base of every model kind
(:class:`~transferkit.TransferClassifier`, :class:`~transferkit.DomainAdapter`,
:class:`~transferkit.ZeroShotClassifier`, and the kinds that come later). It owns:

* parameters: validation from the declarations (:mod:`transferkit.utils.params`) of the
  estimator and of the method it chose, and the refusal of a keyword that method does not
  read; keywords declared by methods registered later arrive as ``**params`` and still work
  with ``get_params`` / ``set_params`` / ``clone``;
* inference: ``predict_proba`` / ``predict`` / ``score`` / ``evaluate`` and the fitted check
  (``NotFittedError`` naming the call to make);
* persistence: ``save`` / ``load`` through :mod:`transferkit.runs`, which owns the folder
  format; a kind writes and reads only its own state (``_save_state`` / ``_load_state``).

A kind implements ``fit``, ``_predict_proba(data)`` and, where it has any, its own state.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from ..backbones.base import Backbone
from ..data import Dataset, as_dataset
from ..data.validate import check_modality, unseen_labels
from ..evaluation import classification_metrics
from ..exceptions import ConfigError, DataError, NotFittedError
from ..runs import load as load_run
from ..runs import save_model
from ..utils.params import Params, Settings, reject_unused, unknown_keyword

__all__ = ["TransferModel", "StrategyModel", "check_backbone_param", "backbone_spec"]


def check_backbone_param(owner: str, value: Any) -> None:
    if not isinstance(value, str | Backbone):
        raise ConfigError(
            f"The 'backbone' parameter of {owner} must be a backbone name such as 'minilm-l6' "
            f"or a Backbone instance. Got {type(value).__name__} instead.")


def backbone_spec(given: str | Backbone, fitted: Backbone) -> str:
    """The spec a run folder records: as the user gave it, else the fitted backbone's name."""
    return given if isinstance(given, str) else fitted.name


class TransferModel(ClassifierMixin, BaseEstimator):
    """Base class of the model kinds; see the module docstring."""

    #: the estimator's own declared parameters (the chosen method's come from its registry)
    PARAMS: ClassVar[Params] = Params()
    #: the call the not-fitted error tells the user to make
    fit_call: ClassVar[str] = "fit(X, y)"
    #: an attribute that exists once ``fit`` has succeeded
    fitted_attr: ClassVar[str] = "strategy_"
    #: ``record["kind"]`` of its runs
    record_kind: ClassVar[str] = "fit"

    # --- parameters -------------------------------------------------------------------------
    def _set_method_params(self, params: dict[str, Any]) -> None:
        """Store keywords that methods declare beyond the signature (``__init__``'s
        ``**params``); unknown names fail at once, with the closest declared ones."""
        known = self.method_param_names()
        for name, value in params.items():
            if name not in known:
                raise unknown_keyword(type(self).__name__, name,
                                      set(self._get_param_names()) | known)
            setattr(self, name, value)
        self._method_params = tuple(params)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        out = super().get_params(deep=deep)
        for name in getattr(self, "_method_params", ()):
            out[name] = getattr(self, name)
        return out

    def set_params(self, **params: Any) -> TransferModel:
        fixed = set(self._get_param_names())
        extra = {k: params.pop(k) for k in list(params) if k not in fixed}
        if extra:
            self._set_method_params({**{k: getattr(self, k) for k in
                                        getattr(self, "_method_params", ())}, **extra})
        return super().set_params(**params)

    @classmethod
    def method_tables(cls) -> dict[str, Params]:
        """Method name -> its declared parameters (the strategies or adaptation methods)."""
        return {}

    @classmethod
    def method_param_names(cls) -> set[str]:
        return {n for table in cls.method_tables().values() for n in table}

    def chosen_methods(self) -> list[str]:
        """The methods this estimator's settings will fit (their parameters are read)."""
        return []

    def chosen_phrase(self) -> str:
        return ", ".join(self.chosen_methods())

    def declared_params(self) -> Params:
        """The estimator's own table plus those of the chosen methods."""
        tables = self.method_tables()
        out: dict[str, Any] = dict(self.PARAMS)
        for m in self.chosen_methods():
            for name, p in tables[m].items():
                out.setdefault(name, p)
        return Params(*out.values())

    def _validate_params(self) -> None:
        """Validate every given value against its declaration; refuse the ones no chosen
        method reads (naming the methods that do)."""
        owner = type(self).__name__
        params = self.get_params(deep=False)
        self.PARAMS.validate(owner, params)
        tables = self.method_tables()
        used = set(self.PARAMS)
        for m in self.chosen_methods():
            tables[m].validate(owner, params)
            used |= set(tables[m])
        takers: dict[str, list[str]] = {}
        for m, table in tables.items():
            for name in table:
                takers.setdefault(name, []).append(m)
        reject_unused(owner, {k: v for k, v in params.items() if k not in self.PARAMS}, used,
                      takers, self.chosen_phrase())

    def settings(self) -> Settings:
        """Every parameter the estimator and its chosen methods read, defaults filled in."""
        return self.declared_params().resolve(self.get_params(deep=False))

    # --- data ---------------------------------------------------------------------------------
    def _input_data(self, X: Any, what: str = "X") -> Dataset:
        return self._check_modality(as_dataset(X, what=what))

    def _labelled_data(self, X: Any, y: Any, call: str) -> Dataset:
        data = self._check_modality(as_dataset(X, y))
        if data.labels is None:
            raise DataError(f"{call}() needs labels: pass a labelled Dataset or y=.")
        return data

    def _check_modality(self, data: Dataset) -> Dataset:
        # Checked before anything reads the inputs: a text model would happily "classify" the
        # paths of an image folder, and label checks would blame the labels instead.
        if hasattr(self, "modality_"):
            check_modality(data, self.modality_,
                           f"This {type(self).__name__} (trained on {self.modality_} data)")
        return data

    def _encode_labels(self, data: Dataset, what: str | None = None) -> np.ndarray:
        """``data``'s labels as indices into ``classes_``; labels never seen in training fail."""
        labels = np.asarray(data.labels)
        n, listed, hint = unseen_labels(self.classes_, labels, "training", "given")
        if n:
            raise DataError(
                f"{what or repr(data.name)} has {n} label(s) never seen in training: "
                f"{listed}. The model knows {len(self.classes_)} classes "
                f"({[_plain(c) for c in self.classes_][:20]}).{hint} Evaluate on data with the "
                "same label set, or drop those rows.")
        return np.searchsorted(self.classes_, labels)

    # --- inference ----------------------------------------------------------------------------
    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, self.fitted_attr)

    def _check_fitted(self) -> None:
        if not self.__sklearn_is_fitted__():
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet. Call {self.fit_call} first, or "
                f"load a saved run with transferkit.load(path).")

    def _predict_proba(self, data: Dataset) -> np.ndarray:
        raise NotImplementedError

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(N, n_classes)``, columns ordered as ``classes_``."""
        self._check_fitted()
        return self._predict_proba(self._input_data(X))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each input, ``(N,)``."""
        self._check_fitted()
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """Accuracy on a labelled Dataset (or inputs ``X`` with labels ``y``)."""
        self._check_fitted()
        data = self._labelled_data(X, y, "score")
        y_idx = self._encode_labels(data)
        pred = self._predict_proba(self._input_data(data)).argmax(axis=1)
        return float(np.average(pred == y_idx, weights=sample_weight))

    def evaluate(self, X: Any, y: Any = None) -> dict[str, Any]:
        """Accuracy, macro-F1, per-class scores, the confusion matrix and log-loss."""
        self._check_fitted()
        data = self._labelled_data(X, y, "evaluate")
        y_idx = self._encode_labels(data)
        proba = self._predict_proba(self._input_data(data))
        return classification_metrics(y_idx, proba.argmax(1), list(self.classes_), proba)

    # --- persistence --------------------------------------------------------------------------
    def save(self, path: str | os.PathLike, metrics: dict[str, Any] | None = None,
             record: dict[str, Any] | None = None, config: dict[str, Any] | None = None,
             overwrite: bool = False) -> str:
        """Write the model into run folder ``path`` atomically; returns the folder path.

        Args:
            path: the run folder (replaced as a whole only once everything is written). A
                folder holding files transferkit did not write is refused.
            metrics: final metrics for ``metrics.json`` and the record.
            record: extra record sections; a dict updates the section of that name.
            config: extra configuration for ``config.yaml``.
            overwrite: replace a finished run already at ``path`` (refused otherwise).
        """
        return str(save_model(self, path, metrics=metrics, record=record, config=config,
                              overwrite=overwrite))

    @classmethod
    def load(cls, path: str | os.PathLike) -> TransferModel:
        """Restore a model of this kind from run folder ``path`` (``transferkit.load`` takes
        any kind)."""
        return load_run(path, expect=cls)

    def _run_params(self) -> dict[str, Any]:
        """Constructor parameters as the run folder stores them (the backbone as a spec)."""
        params = self.get_params(deep=False)
        params["backbone"] = backbone_spec(self.backbone, self.backbone_)
        return params

    def _run_config(self) -> dict[str, Any]:
        """``config.yaml``: every setting read, resolved, that a command-line flag can set
        back (so the file works as ``--config``)."""
        declared = self.declared_params()
        resolved = self.settings()
        out = {k: v for k, v in resolved.items() if declared[k].cli}
        out["backbone"] = backbone_spec(self.backbone, self.backbone_)
        return out

    def _saves_backbone_weights(self) -> bool:
        return not self.backbone_.rebuildable

    def _save_state(self, folder: Path) -> dict[str, Any]:
        """Write the kind's arrays into ``folder``; return its JSON state for ``model.json``."""
        return {}

    def _load_state(self, folder: Path, state: dict[str, Any], record: dict[str, Any]) -> None:
        """Restore the kind's fitted state from :meth:`_save_state`'s output and the record."""
        self.train_summary_ = record.get("dataset", {}).get("train", {})
        self.fit_seconds_ = record.get("timings", {}).get("fit_seconds", 0.0)

    def _record_fields(self) -> dict[str, Any]:
        """The record sections of this kind (``kind``, ``dataset``, ``strategy``...)."""
        return {"kind": self.record_kind,
                "backbone": {**self.backbone_.info(), "trainable_params": 0},
                "timings": {"fit_seconds": round(getattr(self, "fit_seconds_", 0.0), 3)}}

    @classmethod
    def _from_run_params(cls, params: dict[str, Any], format_version: int) -> TransferModel:
        """An unfitted model with the parameters a run folder stored.

        Format 1 stored every keyword with a concrete default; those the chosen methods do not
        read are dropped, so that a loaded old run can be refitted.
        """
        known = set(cls._get_param_names()) | cls.method_param_names()
        model = cls(**{k: v for k, v in params.items() if k in known})
        if format_version < 2:
            used = set(model.declared_params())
            model.set_params(**{k: None for k in model.get_params(deep=False)
                                if k not in used and k not in ("backbone",)})
        return model


class StrategyModel(TransferModel):
    """A kind whose fitted state is one strategy or adaptation method, in ``strategy_``: it
    predicts through it, saves its state and records its summary and history."""

    def strategy_params(self) -> dict[str, Any]:
        """Parameters handed to the strategy (all but the backbone)."""
        raise NotImplementedError

    def _method_class(self, state: dict[str, Any]) -> type:
        """The strategy class that ``_save_state``'s output restores."""
        raise NotImplementedError

    def _predict_proba(self, data: Dataset) -> np.ndarray:
        return self.strategy_.predict_proba(self.backbone_, self.layer_, data)

    def _saves_backbone_weights(self) -> bool:
        return self.strategy_.trains_backbone or not self.backbone_.rebuildable

    def _save_state(self, folder: Path) -> dict[str, Any]:
        cfg = self.strategy_.save(folder)
        cfg["params"] = self.strategy_params()
        return {"strategy": cfg}

    def _load_state(self, folder: Path, state: dict[str, Any], record: dict[str, Any]) -> None:
        super()._load_state(folder, state, record)
        cfg = state["strategy"]
        self.strategy_ = self._method_class(cfg).load(folder, cfg, self.backbone_)

    def _record_fields(self) -> dict[str, Any]:
        summary = self.strategy_.summary
        return {
            "kind": self.record_kind,
            "seed": self.settings().seed,
            "dataset": {"train": self.train_summary_},
            "backbone": {**self.backbone_.info(),
                         "trainable_params": summary.get("trainable_params")},
            "strategy": {"name": self.strategy, **summary},
            "history": list(self.strategy_.history),
            "timings": {"fit_seconds": round(self.fit_seconds_, 3)},
        }


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v
