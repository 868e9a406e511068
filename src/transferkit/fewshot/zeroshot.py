"""Zero-shot classification: embed the label names (or descriptions) and pick the closest.

No training example is needed: each label becomes one or more prompts (``"This is about
{}."`` with the label name, plus any descriptions), the backbone embeds them, and an input
gets the label whose averaged prompt embedding is most cosine-similar to its own embedding —
the "extreme transfer through semantic embeddings" of the sentence-encoder literature
(e.g. Yin et al. 2019, https://arxiv.org/abs/1909.00161; Reimers & Gurevych 2019).

Calibration uses unlabelled target text given to :meth:`ZeroShotClassifier.fit`:

* ``"center"`` subtracts the mean embedding of that text from every input embedding (and the
  mean label embedding from the label embeddings), removing the direction all sentences of
  the domain share — which otherwise dominates cosine similarity;
* ``"prior"`` adds per-label biases so the average predicted distribution over the
  unlabelled text becomes uniform (an EM-style prior correction in the manner of Saerens et
  al. 2002, assuming roughly balanced target classes).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from ..backbones import create_backbone, parse_backbone_spec
from ..backbones.base import Backbone
from ..data.dataset import Dataset
from ..exceptions import ConfigError, DataError, NotFittedError, RunError
from ..utils.checks import check_choice, check_number
from .labels_file import (
    check_label_names,
    check_template,
    label_prompts,
    normalize_descriptions,
    read_label_file,
)

__all__ = ["ZeroShotClassifier", "embed_prompts", "load_zeroshot"]

log = logging.getLogger(__name__)

_CALIBRATIONS = [None, "center", "prior"]
_DEFAULT_MULTI_THRESHOLD = 0.3
_ARRAYS_FILE = "zeroshot.safetensors"


def _unit(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    return X / (np.linalg.norm(X, axis=-1, keepdims=True) + 1e-12)


def embed_prompts(
    backbone: Backbone, prompts: Mapping[Any, Sequence[str]], layer: int = -1,
    batch_size: int = 64,
) -> np.ndarray:
    """One unit vector per label: the normalised mean of its prompts' unit embeddings.

    Args:
        backbone: a text backbone.
        prompts: label -> its texts (at least one each), in the order of the result's rows.
        layer: feature layer.
        batch_size: texts per forward pass.

    Returns:
        ``(n_labels, F)`` float32, rows of unit length.
    """
    texts = [t for ts in prompts.values() for t in ts]
    if not texts or any(not ts for ts in prompts.values()):
        raise ConfigError("Every label needs at least one prompt text to embed.")
    E = _unit(backbone.features(texts, layer=layer, batch_size=batch_size))
    out, i = [], 0
    for ts in prompts.values():
        out.append(E[i : i + len(ts)].mean(0))
        i += len(ts)
    return _unit(np.stack(out))


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class ZeroShotClassifier(ClassifierMixin, BaseEstimator):
    """Classify text into labels it has never seen examples of, from their names or descriptions.

    Args:
        backbone: a text backbone spec (``"minilm-l6"``, ``"hf:<folder>"``, ``"run:<folder>"``)
            or a :class:`Backbone` instance.
        labels: the label names, e.g. ``["positive", "negative"]``; underscores and hyphens
            read as spaces in prompts (``card_arrival`` -> "card arrival").
        descriptions: label -> description (a string, or a list of phrasings that are
            averaged), or the path of a YAML/JSON label file (see
            :mod:`transferkit.fewshot.labels_file`); labels without a description use their name.
        template: prompt for a label name, with one ``{}`` slot; ``None`` embeds the bare name.
            A label with descriptions is embedded from them (as written) instead of its name.
        calibrate: ``None``; ``"center"`` (subtract the mean embedding of the unlabelled text
            given to ``fit``); or ``"prior"`` (bias labels so that the mean prediction on that
            text is uniform).
        multi_label: score each label on its own (a sigmoid around ``threshold``) and predict
            an indicator matrix, instead of one label per input.
        threshold: cosine similarity from which a label is predicted when ``multi_label``;
            ``None`` means 0.3.
        temperature: softmax temperature on cosine similarities (smaller is sharper).
        layer: which feature layer to use (``-1``: the last).
        batch_size: inputs per forward pass when encoding.
        cache: keep input features in the on-disk cache.
        progress: show progress bars (only ever in a terminal).

    Example:
        >>> import transferkit as tk
        >>> zs = tk.ZeroShotClassifier(labels=["travel", "cooking", "sports"])
        >>> zs.fit().predict(["I want to fly to Paris"])  # doctest: +SKIP
        array(['travel'], dtype='<U7')
    """

    def __init__(
        self,
        backbone: str | Backbone = "minilm-l6",
        labels: Sequence[str] | None = None,
        descriptions: Mapping[str, Any] | str | os.PathLike | None = None,
        template: str | None = "This is about {}.",
        calibrate: str | None = None,
        multi_label: bool = False,
        threshold: float | None = None,
        temperature: float = 0.05,
        layer: int = -1,
        batch_size: int = 64,
        cache: bool = True,
        progress: bool = True,
    ) -> None:
        self.backbone = backbone
        self.labels = labels
        self.descriptions = descriptions
        self.template = template
        self.calibrate = calibrate
        self.multi_label = multi_label
        self.threshold = threshold
        self.temperature = temperature
        self.layer = layer
        self.batch_size = batch_size
        self.cache = cache
        self.progress = progress

    # --- parameters --------------------------------------------------------------------------
    def _resolve_labels(self) -> tuple[dict[str, list[str]], str | None]:
        """``{label: [description texts]}`` in the order given, and the template to use."""
        owner = type(self).__name__
        template = self.template
        spec: dict[str, list[str]] = {}
        if self.descriptions is not None:
            if isinstance(self.descriptions, (str, os.PathLike)):
                spec, file_template = read_label_file(self.descriptions)
                if file_template is not None and template == "This is about {}.":
                    template = file_template  # the file's template wins over the default
            else:
                partial = 1 if self.labels is not None else 2  # labels may name the rest
                spec = normalize_descriptions(self.descriptions, "descriptions", partial)
        if self.labels is not None:
            names = check_label_names(self.labels, owner)
            extra = sorted(set(spec) - set(names))
            if extra:
                raise ConfigError(
                    f"descriptions of {owner} name label(s) not in 'labels': {extra}. Fix: add "
                    "them to labels, or drop the labels argument (descriptions then define them)."
                )
            spec = {n: spec.get(n, []) for n in names}
        if not spec:
            raise ConfigError(
                f"{owner} needs labels=[...] or descriptions={{label: text}} (or a label file); "
                "got neither."
            )
        return spec, template

    def _validate_params(self) -> None:
        owner = type(self).__name__
        if self.calibrate is not None:
            check_choice(owner, "calibrate", self.calibrate, [c for c in _CALIBRATIONS if c])
        check_number(owner, "temperature", self.temperature, low=0, low_open=True)
        check_number(owner, "batch_size", self.batch_size, low=1, integer=True)
        if self.threshold is not None:
            check_number(owner, "threshold", self.threshold, low=-1.0, high=1.0)
        check_template(self.template, owner)
        if not isinstance(self.backbone, str | Backbone):
            raise ConfigError(
                f"The 'backbone' parameter of {owner} must be a backbone name such as "
                f"'minilm-l6' or a Backbone instance. Got {type(self.backbone).__name__} instead."
            )

    def _make_backbone(self) -> tuple[Backbone, int]:
        if isinstance(self.backbone, Backbone):
            bb, layer = self.backbone, self.layer
        else:
            spec, spec_layer = parse_backbone_spec(self.backbone)
            bb = create_backbone(spec)
            layer = spec_layer if spec_layer != -1 else self.layer
        if bb.modality != "text":
            raise ConfigError(
                f"{type(self).__name__} embeds label names, so it needs a text backbone; "
                f"{bb.name!r} encodes {bb.modality} inputs."
            )
        bb.check_layer(layer)
        return bb, layer

    # --- fitting -----------------------------------------------------------------------------
    def fit(self, X: Any = None, y: Any = None) -> ZeroShotClassifier:
        """Embed the labels; with ``calibrate``, calibrate on unlabelled target text ``X``.

        Args:
            X: unlabelled inputs of the target domain (a Dataset or a list of strings), needed
                only by ``calibrate``; otherwise optional and unused.
            y: ignored (present for scikit-learn compatibility).

        Returns:
            ``self``.
        """
        t0 = time.perf_counter()
        self._validate_params()
        spec, template = self._resolve_labels()
        if self.calibrate is not None and X is None:
            raise ConfigError(
                f"calibrate={self.calibrate!r} needs unlabelled text of the target domain: call "
                "fit(texts) with some (a few hundred is plenty), or use calibrate=None."
            )
        bb, layer = self._make_backbone()
        self.backbone_, self.layer_ = bb, layer
        order = sorted(spec)
        self.classes_ = np.array(order)
        self.template_ = template
        self.descriptions_ = {k: list(spec[k]) for k in order}
        self.prompts_ = label_prompts(self.descriptions_, template)
        self.label_embeddings_ = embed_prompts(bb, self.prompts_, layer, self.batch_size)
        self.center_ = np.zeros(bb.num_features, dtype=np.float32)
        self.label_center_ = np.zeros(bb.num_features, dtype=np.float32)
        self.bias_ = np.zeros(len(order), dtype=np.float32)
        self.modality_ = "text"
        self.calibration_ = {"method": self.calibrate, "n": 0}
        if X is not None and self.calibrate is not None:
            data = self._as_text_data(X, "fit")
            E = self._features(data)
            if self.calibrate == "center":
                self.center_ = E.mean(0).astype(np.float32)
                self.label_center_ = self.label_embeddings_.mean(0).astype(np.float32)
            else:
                self.bias_ = self._prior_bias(self._cosines(E, centred=False))
            self.calibration_ = {"method": self.calibrate, "n": int(len(data))}
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def _prior_bias(self, cos: np.ndarray, rounds: int = 20) -> np.ndarray:
        logits = cos / self.temperature
        b = np.zeros(cos.shape[1])
        for _ in range(rounds):
            p = _softmax(logits + b).mean(0)
            b -= np.log(p * len(p) + 1e-12)
        return (b - b.mean()).astype(np.float32)

    # --- inference ---------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "label_embeddings_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet. Call fit() first (no data "
                "needed; unlabelled target text only for calibrate=), or load a saved run."
            )

    def _as_text_data(self, X: Any, what: str) -> Dataset:
        from ..estimator import as_dataset

        data = as_dataset(X, what=f"X of {what}()")
        if data.modality != "text":
            raise DataError(
                f"{type(self).__name__} classifies text; got {data.modality} inputs in {what}()."
            )
        return data

    def _features(self, data: Dataset) -> np.ndarray:
        from ..features import extract_features

        return _unit(extract_features(
            self.backbone_, data, layer=self.layer_, batch_size=self.batch_size,
            cache=self.cache, progress=self.progress,
        ))

    def _cosines(self, E: np.ndarray, centred: bool = True) -> np.ndarray:
        L = self.label_embeddings_
        if centred and self.center_.any():
            E, L = _unit(E - self.center_), _unit(L - self.label_center_)
        return E @ L.T

    def similarities(self, X: Any) -> np.ndarray:
        """Cosine similarity of each input to each label, ``(N, n_labels)``, after centring."""
        self._check_fitted()
        return self._cosines(self._features(self._as_text_data(X, "similarities")))

    def decision_function(self, X: Any) -> np.ndarray:
        """Logits ``(N, n_labels)``: similarities over the temperature, plus prior biases."""
        return self.similarities(X) / self.temperature + self.bias_

    def predict_proba(self, X: Any) -> np.ndarray:
        """Label probabilities ``(N, n_labels)``, columns ordered as ``classes_``.

        A softmax of the scaled similarities; with ``multi_label``, an independent sigmoid per
        label that crosses 0.5 at ``threshold``.
        """
        if self.multi_label:
            s = self.similarities(X)
            thr = _DEFAULT_MULTI_THRESHOLD if self.threshold is None else self.threshold
            return 1.0 / (1.0 + np.exp(-(s - thr) / self.temperature))
        return _softmax(self.decision_function(X))

    def predict(self, X: Any) -> np.ndarray:
        """Labels ``(N,)``; with ``multi_label``, a 0/1 indicator matrix ``(N, n_labels)``."""
        proba = self.predict_proba(X)
        if self.multi_label:
            return (proba >= 0.5).astype(np.int64)
        return self.classes_[proba.argmax(axis=1)]

    def _encode_labels(self, data: Dataset) -> np.ndarray:
        from .labels_file import match_dataset_labels

        names = match_dataset_labels(
            list(self.classes_), data.labels, data.meta.get("label_names"), where=repr(data.name),
            allow_extra=True,
        )
        return np.searchsorted(self.classes_, names)

    def _labelled(self, X: Any, y: Any, what: str) -> Dataset:
        from ..estimator import as_dataset

        if self.multi_label:
            raise ConfigError(
                f"{what}() measures single-label accuracy; with multi_label=True compare "
                "predict(X) with your indicator matrix (e.g. sklearn.metrics.f1_score)."
            )
        data = as_dataset(X, y)
        if data.labels is None:
            raise DataError(f"{what}() needs labels: pass a labelled Dataset or y=.")
        return data

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """Accuracy on a labelled Dataset (or texts ``X`` with labels ``y``)."""
        data = self._labelled(X, y, "score")
        y_idx = self._encode_labels(data)
        pred = self.predict_proba(data).argmax(1)
        return float(np.average(pred == y_idx, weights=sample_weight))

    def evaluate(self, X: Any, y: Any = None) -> dict[str, Any]:
        """Accuracy, macro-F1, per-class scores and the confusion matrix on labelled data."""
        from ..evaluation import classification_metrics

        data = self._labelled(X, y, "evaluate")
        y_idx = self._encode_labels(data)
        proba = self.predict_proba(data)
        return classification_metrics(y_idx, proba.argmax(1), list(self.classes_), proba)

    # --- persistence -------------------------------------------------------------------------
    def save(self, path: str | os.PathLike, metrics: dict[str, Any] | None = None,
             record: dict[str, Any] | None = None, config: dict[str, Any] | None = None) -> str:
        """Write the model into run folder ``path`` atomically; returns the folder path.

        The folder holds ``model.json`` (``"estimator": "ZeroShotClassifier"``), the label
        embeddings and calibration in ``zeroshot.safetensors``, ``config.yaml``,
        ``metrics.json`` and ``record.json``; the backbone's weights only when they cannot be
        rebuilt from its spec.
        """
        import yaml
        from safetensors.numpy import save_file

        from ..runs import MODEL_FORMAT, _classes_json
        from ..utils.io import atomic_dir, atomic_write_json

        self._check_fitted()
        bb = self.backbone_
        params = self.get_params(deep=False)
        params["backbone"] = self.backbone if isinstance(self.backbone, str) else bb.name
        # The run must not depend on a label file that may move: store its content instead.
        params["descriptions"] = self.descriptions_
        params["labels"] = None
        params["template"] = self.template_
        final = Path(path)
        with atomic_dir(final) as tmp:
            save_file({
                "label_embeddings": np.ascontiguousarray(self.label_embeddings_),
                "center": self.center_, "label_center": self.label_center_, "bias": self.bias_,
            }, str(tmp / _ARRAYS_FILE))
            save_weights = not bb.rebuildable
            if save_weights:
                from safetensors.torch import save_file as save_torch

                save_torch({k: v.detach().cpu().contiguous() for k, v in bb.state_dict().items()},
                           str(tmp / "backbone.safetensors"))
            meta = {
                "format": "transferkit-model",
                "format_version": MODEL_FORMAT,
                "estimator": type(self).__name__,
                "params": params,
                "classes": _classes_json(self.classes_),
                "modality": "text",
                "layer": int(self.layer_),
                "prompts": self.prompts_,
                "calibration": self.calibration_,
                "backbone": {
                    "spec": params["backbone"],
                    "kwargs": getattr(bb, "init_kwargs", {}),
                    "fingerprint": None if save_weights else bb.fingerprint(),
                    "info": bb.info(),
                },
            }
            atomic_write_json(tmp / "model.json", meta)
            cfg = {**params, **(config or {})}
            (tmp / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
            atomic_write_json(tmp / "metrics.json", metrics or {})
            rec = self._record(metrics or {}, cfg)
            rec.update(record or {})
            atomic_write_json(tmp / "record.json", rec)
        return str(final)

    def _record(self, metrics: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
        from datetime import datetime, timezone

        from ..runs import RECORD_SCHEMA, environment

        return {
            "schema_version": RECORD_SCHEMA,
            "kind": "zeroshot",
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "config": config,
            "seed": None,
            "environment": environment(),
            "dataset": {"calibration": self.calibration_},
            "backbone": {**self.backbone_.info(), "trainable_params": 0},
            "strategy": {"name": "zeroshot", "labels": [str(c) for c in self.classes_],
                         "prompts": self.prompts_, "calibrate": self.calibrate,
                         "multi_label": self.multi_label},
            "history": [],
            "metrics": metrics,
            "timings": {"fit_seconds": round(getattr(self, "fit_seconds_", 0.0), 3)},
        }

    @classmethod
    def load(cls, path: str | os.PathLike) -> ZeroShotClassifier:
        """Restore a model written by :meth:`save` (``transferkit.load`` does the same)."""
        from ..utils.io import read_json

        folder = Path(path)
        if not (folder / "model.json").exists():
            raise RunError(
                f"Cannot load a model from {str(folder)!r}: no model.json there. Expected a run "
                "folder written by ZeroShotClassifier.save or `transferkit zeroshot --out`."
            )
        return load_zeroshot(folder, read_json(folder / "model.json"))


def load_zeroshot(folder: str | os.PathLike, meta: dict[str, Any]) -> ZeroShotClassifier:
    """Rebuild a :class:`ZeroShotClassifier` from run folder ``folder`` and its ``model.json``."""
    import warnings

    from safetensors.numpy import load_file

    from ..runs import MODEL_FORMAT, _classes_from_json

    folder = Path(folder)
    if meta.get("estimator") != ZeroShotClassifier.__name__:
        raise RunError(
            f"{str(folder)!r} holds a {meta.get('estimator')!r}, not a ZeroShotClassifier.")
    if meta.get("format_version", 0) > MODEL_FORMAT:
        raise RunError(
            f"{str(folder)!r} was saved by a newer transferkit (model format "
            f"{meta['format_version']}; this version reads up to {MODEL_FORMAT}). Upgrade "
            "transferkit."
        )
    names = ZeroShotClassifier._get_param_names()
    model = ZeroShotClassifier(**{k: v for k, v in meta["params"].items() if k in names})
    bb_meta = meta["backbone"]
    bb = create_backbone(parse_backbone_spec(bb_meta["spec"])[0], **bb_meta.get("kwargs", {}))
    if (folder / "backbone.safetensors").exists():
        from safetensors.torch import load_file as load_torch

        bb.load_state_dict(load_torch(str(folder / "backbone.safetensors")), strict=True)
    elif bb_meta.get("fingerprint") and bb.fingerprint() != bb_meta["fingerprint"]:
        warnings.warn(
            f"The weights of backbone {bb_meta['spec']!r} differ from those the run was saved "
            "with; predictions may differ from the recorded metrics.", stacklevel=2,
        )
    arrays = load_file(str(folder / _ARRAYS_FILE))
    model.backbone_, model.layer_ = bb, int(meta["layer"])
    model.classes_ = _classes_from_json(meta["classes"])
    model.prompts_ = {str(k): list(v) for k, v in meta["prompts"].items()}
    model.descriptions_ = {str(k): list(v) for k, v in (model.descriptions or {}).items()}
    model.template_ = model.template
    model.label_embeddings_ = arrays["label_embeddings"]
    model.center_, model.label_center_ = arrays["center"], arrays["label_center"]
    model.bias_ = arrays["bias"]
    model.modality_ = "text"
    model.calibration_ = meta.get("calibration", {"method": model.calibrate, "n": 0})
    model.fit_seconds_ = 0.0
    return model

