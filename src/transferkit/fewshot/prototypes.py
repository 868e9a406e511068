"""Prototype classifier: each class is the mean of its examples' features (Snell et al. 2017,
"Prototypical Networks for Few-shot Learning", https://arxiv.org/abs/1703.05175).

Options, read from the estimator's parameters (defaults in brackets):

* ``distance`` [``"cosine"``]: ``"cosine"`` compares unit-length features with the mean of the
  unit-length class examples; ``"euclidean"`` uses squared distance to the raw class mean.
* ``shrinkage`` [``None``]: a shared within-class covariance, shrunk towards a scaled
  identity by this weight in ``[0, 1]`` or by the Ledoit–Wolf estimate (``"auto"``); the
  distance is then Mahalanobis (linear discriminant analysis with tied covariance).
* ``label_prior`` [``"auto"``]: add each label name's zero-shot embedding (see
  :mod:`transferkit.fewshot.zeroshot`) to its class as ``prior_weight`` [1.0] pseudo-examples;
  ``"auto"`` does so for text with at most 4 examples in some class and labels that read as
  names (strings, or integer codes with ``meta["label_names"]``).
* ``template`` [``"This is about {}."``]: the prompt for label names in the prior.

Every variant is linear in the (normalised) features, so a fitted model is two arrays.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file, save_file

from ..exceptions import ConfigError
from ..features import extract_features
from ..strategies.base import FitContext, Strategy, register_strategy
from ..strategies.label_names import (
    check_label_prior,
    data_label_names,
    embed_prompts,
    parse_label_prior,
)
from ..strategies.params import COMMON
from ..utils.checks import check_number
from ..utils.params import Param, Params
from .labels_file import check_template

__all__ = ["PrototypeStrategy", "prototype_scores"]

_DEFAULT_TEMPERATURE = 0.05
_SCALE_GRID = np.exp2(np.arange(-4.0, 4.25, 0.25))
_AUTO_PRIOR_MAX_SHOTS = 4


def _check_shrinkage(owner: str, value: Any) -> None:
    if value != "auto":
        check_number(owner, "shrinkage", value, low=0.0, high=1.0)


def _parse_shrinkage(text: str) -> float | str:
    return text if text == "auto" else float(text)


def _check_template(owner: str, value: Any) -> None:
    check_template(value, owner)


def _unit(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    return X / (np.linalg.norm(X, axis=1, keepdims=True) + 1e-12)


def _class_sums(X: np.ndarray, y: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    sums = np.zeros((k, X.shape[1]))
    np.add.at(sums, y, X)
    return sums, np.bincount(y, minlength=k).astype(np.float64)


def _shared_precision(X: np.ndarray, y: np.ndarray, means: np.ndarray, shrinkage: Any) -> tuple[
        np.ndarray, float]:
    """Inverse of the shrunk pooled within-class covariance, and the shrinkage used."""
    R = X - means[y]
    n, d = R.shape
    S = R.T @ R / max(n - len(means), 1)
    if shrinkage == "auto":
        from sklearn.covariance import ledoit_wolf_shrinkage

        alpha = float(ledoit_wolf_shrinkage(R, assume_centered=True))
    else:
        alpha = float(shrinkage)
    mu = np.trace(S) / d
    cov = (1 - alpha) * S + alpha * mu * np.eye(d)
    return np.linalg.inv(cov + 1e-9 * mu * np.eye(d)), alpha


def prototype_scores(X: np.ndarray, means: np.ndarray, metric: str, precision: np.ndarray | None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Linear form ``(W, b)`` of the prototype scores: ``score = X @ W + b`` (higher is closer).

    Cosine: ``W = unit(means).T / T``; Euclidean: ``-|x - m|^2 / 2T`` up to a per-input
    constant; Mahalanobis (``precision`` given): ``-(x - m)' P (x - m) / 2`` likewise.
    ``T`` is the default temperature 0.05; callers rescale.
    """
    if precision is not None:
        W = precision @ means.T
        b = -0.5 * np.einsum("kd,dk->k", means, W)
        return W, b
    if metric == "cosine":
        return _unit(means).T / _DEFAULT_TEMPERATURE, np.zeros(len(means))
    return means.T / _DEFAULT_TEMPERATURE, -0.5 * (means * means).sum(1) / _DEFAULT_TEMPERATURE


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


@register_strategy(
    "prototypes",
    description="class means in feature space (cosine / Euclidean / shrunk Mahalanobis), "
    "optional zero-shot label-name priors",
)
class PrototypeStrategy(Strategy):
    """Nearest class mean on frozen (cached) features; no gradient, fits in milliseconds."""

    name = "prototypes"

    PARAMS = Params(
        COMMON,
        Param("distance", "prototypes: 'cosine' (unit-length features against the mean of the "
              "unit-length class examples) or 'euclidean' (squared distance to the raw mean)",
              "cosine", choices=("cosine", "euclidean")),
        Param("shrinkage", "prototypes: a shared within-class covariance shrunk toward a scaled "
              "identity by this weight in [0, 1], or by the Ledoit-Wolf estimate ('auto'); the "
              "distance is then Mahalanobis. None: no covariance", None, "any",
              check=_check_shrinkage, parse=_parse_shrinkage),
        Param("label_prior", "prototypes: add each label name's zero-shot embedding to its class "
              "as prior_weight pseudo-examples: True, False, or 'auto' (text with at most 4 "
              "examples in some class and labels that read as names)", "auto", "any",
              check=check_label_prior, parse=parse_label_prior),
        Param("prior_weight", "prototypes: pseudo-examples each label-name prior counts as",
              1.0, "float", low=0),
        Param("template", "prototypes: the prompt of a label name in the prior, with one {} slot",
              "This is about {}.", check=_check_template),
    )

    def _features(self, backbone, layer, data) -> np.ndarray:
        s = self.settings
        return np.asarray(extract_features(backbone, data, layer=layer, batch_size=s.batch_size,
                                           cache=s.cache, progress=s.progress))

    def _transform(self, X: np.ndarray) -> np.ndarray:
        return _unit(X) if self.config_["distance"] == "cosine" else np.asarray(X, np.float64)

    # --- the label-name prior ----------------------------------------------------------------
    def _prior(self, ctx: FitContext, counts: np.ndarray, opts: dict[str, Any]
               ) -> np.ndarray | None:
        want = opts["label_prior"]
        if not want or opts["prior_weight"] == 0:
            return None
        names = data_label_names(ctx.train) if ctx.backbone.modality == "text" else None
        if want == "auto" and (names is None or counts.min() > _AUTO_PRIOR_MAX_SHOTS):
            return None
        if names is None:
            raise ConfigError(
                "label_prior=True needs a text backbone and labels that read as names (strings, "
                "or integer codes with meta['label_names']); this data has neither."
            )

        prompts = {i: [opts["template"].format(n)] for i, n in enumerate(names)}
        return embed_prompts(ctx.backbone, prompts, ctx.layer,
                             self.settings.batch_size).astype(np.float64)

    # --- the contract ------------------------------------------------------------------------
    def fit(self, ctx: FitContext) -> PrototypeStrategy:
        t0 = time.perf_counter()
        s = self.settings
        opts = {"distance": s.distance, "shrinkage": s.shrinkage, "label_prior": s.label_prior,
                "prior_weight": float(s.prior_weight), "template": s.template}
        self.config_ = opts
        X = self._transform(self._features(ctx.backbone, ctx.layer, ctx.train))
        y = np.asarray(ctx.y, dtype=np.int64)
        k = ctx.n_classes
        t1 = time.perf_counter()
        sums, counts = _class_sums(X, y, k)
        prior = self._prior(ctx, counts, opts)
        w = opts["prior_weight"] if prior is not None else 0.0
        if prior is not None:
            if opts["distance"] == "euclidean":
                # Put the unit label embedding on the scale of this class's features.
                prior = prior * (np.linalg.norm(sums / counts[:, None], axis=1, keepdims=True))
            sums = sums + w * prior
        means = sums / (counts + w)[:, None]
        precision, alpha = (None, None)
        if opts["shrinkage"] is not None:
            precision, alpha = _shared_precision(X, y, sums / (counts + w)[:, None],
                                                 opts["shrinkage"])
        W, b = prototype_scores(X, means, opts["distance"], precision)
        scale, loo = self._fit_scale(X, y, sums, counts + w, opts["distance"], precision)
        self.arrays_ = {"coef": (W * scale).astype(np.float32),
                        "intercept": (b * scale).astype(np.float32),
                        "prototypes": means.astype(np.float32)}
        t2 = time.perf_counter()
        self.summary = {
            "distance": opts["distance"],
            "shrinkage": alpha,
            "label_prior": prior is not None,
            "prior_weight": w,
            "scale": float(scale),
            "leave_one_out_accuracy": loo,
            "shots_min": int(counts.min()),
            "seconds_features": round(t1 - t0, 3),
            "seconds_fit": round(t2 - t1, 3),
            "trainable_params": 0,
        }
        return self

    def _fit_scale(self, X, y, sums, counts, metric, precision) -> tuple[float, float | None]:
        """A multiplier of the scores minimising leave-one-out log-loss.

        Needs something left in every class once an example is taken out (2+ shots, or 1 shot
        and a label prior); otherwise the default temperature stays.
        """
        if (counts[y] - 1 <= 1e-9).any() or len(y) > 20000:
            return 1.0, None
        # Each example scored against its own class mean with itself left out.
        own = (sums[y] - X) / (counts[y] - 1)[:, None]
        W, b = prototype_scores(X, sums / counts[:, None], metric, precision)
        S = X @ W + b
        rows = np.arange(len(y))
        if precision is not None:
            so = np.einsum("nd,de,ne->n", X, precision, own) - 0.5 * np.einsum(
                "nd,de,ne->n", own, precision, own)
        elif metric == "cosine":
            so = (X * _unit(own)).sum(1) / _DEFAULT_TEMPERATURE
        else:
            so = ((X * own).sum(1) - 0.5 * (own * own).sum(1)) / _DEFAULT_TEMPERATURE
        S[rows, y] = so
        losses = [-_log_softmax(s * S)[rows, y].mean() for s in _SCALE_GRID]
        best = float(_SCALE_GRID[int(np.argmin(losses))])
        return best, float((S.argmax(1) == y).mean())

    def predict_proba(self, backbone, layer, data) -> np.ndarray:
        X = self._transform(self._features(backbone, layer, data)).astype(np.float32)
        z = X @ self.arrays_["coef"] + self.arrays_["intercept"]
        return np.exp(_log_softmax(z.astype(np.float64)))

    def save(self, folder: Path) -> dict[str, Any]:
        save_file({k: np.ascontiguousarray(v) for k, v in self.arrays_.items()},
                  str(folder / "prototypes.safetensors"))
        return {"options": self.config_}

    @classmethod
    def load(cls, folder: Path, config: dict[str, Any], backbone) -> PrototypeStrategy:
        self = cls(**config.get("params", {}))
        self.config_ = dict(config["options"])
        if "metric" in self.config_:  # its name before run-folder format 2
            self.config_["distance"] = self.config_.pop("metric")
        self.arrays_ = load_file(str(folder / "prototypes.safetensors"))
        return self

