"""``ZeroShotClassifier``: classify text into labels it has never seen examples of."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file, save_file

from ..backbones import create_backbone, parse_backbone_spec
from ..backbones.base import Backbone
from ..backbones.segment import AUTO_MIN_TOKENS, SentenceMean
from ..data import Dataset, as_dataset, check_modality
from ..exceptions import ConfigError
from ..features import extract_features
from ..fewshot.labels_file import (
    check_label_names,
    check_template,
    label_prompts,
    match_dataset_labels,
    normalize_descriptions,
    read_label_file,
)
from ..fewshot.zeroshot import (
    embed_prompts,
    prior_bias,
    refine_label_embeddings,
    softmax,
    unit,
)
from ..runs import register_model_kind
from ..strategies.label_names import (
    TEMPLATE_ENSEMBLE,
    humanize,
    label_name_embeddings,
    vocabulary_neighbours,
)
from ..strategies.params import BATCH_SIZE, CACHE, LAYER, PROGRESS
from ..utils.params import Param, Params
from .base import TransferModel, check_backbone_param
from .docs import document_params

__all__ = ["ZeroShotClassifier"]

_DEFAULT_TEMPLATE = "This is about {}."
_DEFAULT_MULTI_THRESHOLD = 0.3
_ARRAYS_FILE = "zeroshot.safetensors"


def _check_template(owner: str, value: Any) -> None:
    check_template(value, owner)


@register_model_kind
class ZeroShotClassifier(TransferModel):
    """Classify text into labels it has never seen examples of, from their names or descriptions.

    Each label becomes one or more prompts, the backbone embeds them, and an input gets the
    label whose averaged prompt embedding is closest (cosine); see
    :mod:`transferkit.fewshot.zeroshot`.

    Args:
{params}

    Example:
        >>> import transferkit as tk
        >>> zs = tk.ZeroShotClassifier(labels=["travel", "cooking", "sports"])
        >>> zs.fit().predict(["I want to fly to Paris"])  # doctest: +SKIP
        array(['travel'], dtype='<U7')
    """

    fit_call = "fit() (no data needed; unlabelled target text only for calibrate=)"
    fitted_attr = "label_embeddings_"
    record_kind = "zeroshot"
    PARAMS = Params(
        Param("backbone", "a text backbone spec ('minilm-l6', 'hf:<folder>', 'run:<folder>') "
              "or a Backbone instance", "minilm-l6", "any", check=check_backbone_param),
        Param("labels", "the label names, e.g. ['positive', 'negative']; underscores and "
              "hyphens read as spaces in prompts (card_arrival -> 'card arrival')", None, "any",
              cli=False),
        Param("descriptions", "label -> description (a string, or a list of phrasings that are "
              "averaged), or the path of a YAML/JSON label file; labels without a description "
              "use their name", None, "any", cli=False),
        Param("template", "prompt for a label name, with one {} slot; None embeds the bare "
              "name. A label with descriptions is embedded from them (as written) instead",
              _DEFAULT_TEMPLATE, "any", check=_check_template),
        Param("prompt_ensemble", "also embed each label name with generic templates "
              f"{list(TEMPLATE_ENSEMBLE)} and average (labels with descriptions use those alone)",
              True, "bool"),
        Param("neighbors", "widen a one-word label name (without descriptions) with up to this "
              "many words of the tokenizer's vocabulary nearest to it in the encoder's own space "
              "and nearer to it than to any other label (cosine >= 0.4), in the same templates; "
              "0: off", 20, "int", low=0),
        Param("calibrate", "None; 'center' (subtract the mean embedding of the unlabelled text "
              "given to fit); or 'prior' (bias labels so that the mean prediction on that text "
              "is uniform); or 'refine' ('prior', then each label embedding moves toward the "
              "mean of the 10% of that text it is surest of, and 'prior' again)", None,
              choices=("center", "prior", "refine")),
        Param("segment", "how a text of several sentences is embedded: 'auto' (texts of more "
              f"than {AUTO_MIN_TOKENS} tokens sentence by sentence, the embeddings averaged; "
              "shorter ones whole), 'sentences' (every text of several sentences split; "
              "reviews gain more, short queries lose a little) or 'whole' (the text at once, "
              "truncated at the backbone's max length)", "auto",
              choices=("auto", "sentences", "whole")),
        Param("multi_label", "score each label on its own (a sigmoid around threshold) and "
              "predict an indicator matrix, instead of one label per input", False, "bool"),
        Param("threshold", "cosine similarity from which a label is predicted when multi_label "
              f"(default {_DEFAULT_MULTI_THRESHOLD})", None, "float", low=-1.0, high=1.0),
        Param("temperature", "softmax temperature on cosine similarities (smaller is sharper)",
              0.05, "float", low=0, low_open=True),
        LAYER,
        BATCH_SIZE,
        CACHE,
        PROGRESS,
    )

    def __init__(
        self,
        backbone: str | Backbone = "minilm-l6",
        labels: Sequence[str] | None = None,
        descriptions: Mapping[str, Any] | str | os.PathLike | None = None,
        template: str | None = _DEFAULT_TEMPLATE,
        prompt_ensemble: bool | None = None,
        neighbors: int | None = None,
        calibrate: str | None = None,
        segment: str | None = None,
        multi_label: bool | None = None,
        threshold: float | None = None,
        temperature: float | None = None,
        layer: int | None = None,
        batch_size: int | None = None,
        cache: bool | None = None,
        progress: bool | None = None,
    ) -> None:
        self.backbone = backbone
        self.labels = labels
        self.descriptions = descriptions
        self.template = template
        self.prompt_ensemble = prompt_ensemble
        self.neighbors = neighbors
        self.calibrate = calibrate
        self.segment = segment
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
                if file_template is not None and template == _DEFAULT_TEMPLATE:
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

    def _make_backbone(self) -> tuple[Backbone, int]:
        layer = self.settings().layer
        if isinstance(self.backbone, Backbone):
            bb = self.backbone
        else:
            spec, spec_layer = parse_backbone_spec(self.backbone)
            bb = create_backbone(spec)
            layer = spec_layer if spec_layer != -1 else layer
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
        data = None if X is None else self._input_data(X, "X of fit()")  # text, before labels
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
        self.modality_ = "text"
        s = self.settings()
        self.label_embeddings_ = self._embed_labels(bb, layer, template)
        self.center_ = np.zeros(bb.num_features, dtype=np.float32)
        self.label_center_ = np.zeros(bb.num_features, dtype=np.float32)
        self.bias_ = np.zeros(len(order), dtype=np.float32)
        self.calibration_ = {"method": self.calibrate, "n": 0}
        if data is not None and self.calibrate is not None:
            E = self._features(data)
            if self.calibrate == "center":
                self.center_ = E.mean(0).astype(np.float32)
                self.label_center_ = self.label_embeddings_.mean(0).astype(np.float32)
            else:
                if self.calibrate == "refine":
                    self.label_embeddings_ = refine_label_embeddings(
                        unit(E), self.label_embeddings_, s.temperature)
                self.bias_ = prior_bias(self._cosines(E, centred=False), s.temperature)
            self.calibration_ = {"method": self.calibrate, "n": int(len(data))}
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def _embed_labels(self, bb: Backbone, layer: int, template: str | None) -> np.ndarray:
        """Label embeddings; sets ``prompts_`` (every text embedded per label) and
        ``neighbours_`` (the vocabulary words each one-word name was widened with)."""
        s = self.settings()
        order = [str(c) for c in self.classes_]
        self.prompts_ = label_prompts(self.descriptions_, template)
        self.neighbours_ = {k: [] for k in order}
        bare = [k for k in order if not self.descriptions_[k]]
        out = np.zeros((len(order), bb.num_features), dtype=np.float32)
        described = [k for k in order if self.descriptions_[k]]
        if described:
            E = embed_prompts(bb, {k: self.prompts_[k] for k in described}, layer, s.batch_size)
            out[[order.index(k) for k in described]] = E
        if bare:
            tpls = [check_template(template)]
            if s.prompt_ensemble:
                tpls += [t for t in TEMPLATE_ENSEMBLE if t not in tpls]
            names = [humanize(k) for k in bare]
            # Neighbours are chosen against every label's name, described or not.
            all_names = [humanize(k) for k in order]
            nb_all = vocabulary_neighbours(bb, all_names, int(s.neighbors), layer, s.batch_size,
                                           s.cache)
            nb = [nb_all[order.index(k)] for k in bare]
            E = label_name_embeddings(bb, names, tpls, nb, layer, s.batch_size, s.cache)
            out[[order.index(k) for k in bare]] = E
            for k, n, ws in zip(bare, names, nb, strict=True):
                self.prompts_[k] = [t.format(n) for t in tpls] + [t.format(w) for w in ws
                                                                  for t in tpls]
                self.neighbours_[k] = list(ws)
        return out

    # --- inference ---------------------------------------------------------------------------
    def _input_data(self, X: Any, what: str = "X") -> Dataset:
        data = as_dataset(X, what=what)
        check_modality(data, "text", f"{type(self).__name__} (it compares texts with label "
                                     f"names; {what})")
        return data

    def _input_backbone(self) -> Backbone:
        """The backbone that embeds inputs: ``backbone_``, wrapped to embed (long) texts sentence
        by sentence unless ``segment='whole'`` (label prompts are single sentences either way)."""
        bb, segment = self.backbone_, self.settings().segment
        if segment == "whole" or isinstance(bb, SentenceMean):
            return bb
        min_tokens = AUTO_MIN_TOKENS if segment == "auto" else 0
        wrapped = self.__dict__.get("_segmented")
        if wrapped is None or wrapped.inner is not bb or wrapped.min_tokens != min_tokens:
            wrapped = self.__dict__["_segmented"] = SentenceMean(bb, min_tokens)
        return wrapped

    def _features(self, data: Dataset) -> np.ndarray:
        s = self.settings()
        return unit(extract_features(self._input_backbone(), data, layer=self.layer_,
                                     batch_size=s.batch_size, cache=s.cache,
                                     progress=s.progress))

    def _cosines(self, E: np.ndarray, centred: bool = True) -> np.ndarray:
        L = self.label_embeddings_
        if centred and self.center_.any():
            E, L = unit(E - self.center_), unit(L - self.label_center_)
        return E @ L.T

    def similarities(self, X: Any) -> np.ndarray:
        """Cosine similarity of each input to each label, ``(N, n_labels)``, after centring."""
        self._check_fitted()
        return self._cosines(self._features(self._input_data(X)))

    def decision_function(self, X: Any) -> np.ndarray:
        """Logits ``(N, n_labels)``: similarities over the temperature, plus prior biases."""
        return self.similarities(X) / self.settings().temperature + self.bias_

    def _predict_proba(self, data: Dataset) -> np.ndarray:
        """A softmax of the scaled similarities; with ``multi_label``, an independent sigmoid
        per label that crosses 0.5 at ``threshold``."""
        s = self.settings()
        sims = self._cosines(self._features(data))
        if s.multi_label:
            thr = _DEFAULT_MULTI_THRESHOLD if s.threshold is None else s.threshold
            return 1.0 / (1.0 + np.exp(-(sims - thr) / s.temperature))
        return softmax(sims / s.temperature + self.bias_)

    def predict(self, X: Any) -> np.ndarray:
        """Labels ``(N,)``; with ``multi_label``, a 0/1 indicator matrix ``(N, n_labels)``."""
        proba = self.predict_proba(X)
        if self.settings().multi_label:
            return (proba >= 0.5).astype(np.int64)
        return self.classes_[proba.argmax(axis=1)]

    def _labelled_data(self, X: Any, y: Any, call: str) -> Dataset:
        if self.settings().multi_label:
            raise ConfigError(
                f"{call}() measures single-label accuracy; with multi_label=True compare "
                "predict(X) with your indicator matrix (e.g. sklearn.metrics.f1_score)."
            )
        return super()._labelled_data(X, y, call)

    def _encode_labels(self, data: Dataset, what: str | None = None) -> np.ndarray:
        names = match_dataset_labels(
            list(self.classes_), data.labels, data.meta.get("label_names"), where=repr(data.name),
            allow_extra=True,
        )
        return np.searchsorted(self.classes_, names)

    # --- the run folder -----------------------------------------------------------------------
    def _run_params(self) -> dict[str, Any]:
        params = super()._run_params()
        # The run must not depend on a label file that may move: store its content instead.
        params.update(descriptions=self.descriptions_, labels=None, template=self.template_)
        return params

    def _run_config(self) -> dict[str, Any]:
        # None is a template of its own here (the bare label name), not "the default".
        return {**super()._run_config(), "template": self.template_}

    def _save_state(self, folder: Path) -> dict[str, Any]:
        save_file({
            "label_embeddings": np.ascontiguousarray(self.label_embeddings_),
            "center": self.center_, "label_center": self.label_center_, "bias": self.bias_,
        }, str(folder / _ARRAYS_FILE))
        # The resolved segmenting: calibration and scores were taken on inputs embedded that
        # way, so a later default must not change how this run embeds them.
        return {"prompts": self.prompts_, "neighbours": self.neighbours_,
                "calibration": self.calibration_, "segment": self.settings().segment}

    def _load_state(self, folder: Path, state: dict[str, Any], record: dict[str, Any]) -> None:
        arrays = load_file(str(folder / _ARRAYS_FILE))
        self.prompts_ = {str(k): list(v) for k, v in state["prompts"].items()}
        self.neighbours_ = {str(k): list(v) for k, v in (state.get("neighbours") or {}).items()}
        self.descriptions_ = {str(k): list(v) for k, v in (self.descriptions or {}).items()}
        self.template_ = self.template
        self.label_embeddings_ = arrays["label_embeddings"]
        self.center_, self.label_center_ = arrays["center"], arrays["label_center"]
        self.bias_ = arrays["bias"]
        self.calibration_ = state.get("calibration") or {"method": self.calibrate, "n": 0}
        # Runs saved before texts were split embedded them whole.
        self.segment = state.get("segment", "whole")
        self.fit_seconds_ = 0.0

    def _record_fields(self) -> dict[str, Any]:
        return {
            "kind": self.record_kind,
            "seed": None,
            "dataset": {"calibration": self.calibration_},
            "backbone": {**self.backbone_.info(), "trainable_params": 0},
            "strategy": {"name": "zeroshot", "labels": [str(c) for c in self.classes_],
                         "prompts": self.prompts_, "neighbours": self.neighbours_,
                         "calibrate": self.calibrate,
                         "multi_label": bool(self.settings().multi_label)},
            "history": [],
            "timings": {"fit_seconds": round(getattr(self, "fit_seconds_", 0.0), 3)},
        }


document_params(ZeroShotClassifier)
