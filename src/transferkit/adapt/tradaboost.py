"""Instance transfer with a few labelled target rows: TrAdaBoost, and the source-only probe.

TrAdaBoost — Dai, Yang, Xue & Yu, "Boosting for Transfer Learning", ICML 2007,
https://dl.acm.org/doi/10.1145/1273496.1273521. Boosting over the union of source rows and
the few labelled target rows: a source row the current learner gets wrong is *down*-weighted
(it probably follows a different labelling than the target: misleading), a target row it
gets wrong is *up*-weighted (as in AdaBoost). The final model is the weighted vote of the
second half of the learners. Multi-class: the 0/1 error replaces ``|h(x) - y|`` and the vote
averages the learners' probabilities with weights ``log(1 / beta_t)``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file, save_file

from ..exceptions import ConfigError
from ..heads import HEADS, probe_head_kwargs
from ..heads.base import ProbeHead
from ..utils.checks import check_number
from ..utils.params import Param, Params
from .base import AdaptContext, AdaptMethod, register_adapt_method
from .feature_method import FeatureMethod, _jsonable
from .weighted import fit_head

__all__ = ["tradaboost", "TrAdaBoostMethod", "SourceProbeMethod"]


def tradaboost(
    Xs: np.ndarray, ys: np.ndarray, Xt: np.ndarray, yt: np.ndarray, n_classes: int,
    n_estimators: int = 10, head: str = "logistic", seed: int = 0, **head_kw: Any,
) -> tuple[list[ProbeHead], np.ndarray, np.ndarray, dict[str, Any]]:
    """Run TrAdaBoost.

    Args:
        Xs: source features ``(Ns, D)``; ``ys`` their integer labels.
        Xt: labelled target features ``(Nt, D)``; ``yt`` their integer labels.
        n_classes: number of classes.
        n_estimators: boosting rounds ``N``.
        head: the weak learner (any probe head; ``logistic`` uses the weights exactly).
        seed: seed of the learners.
        **head_kw: passed to the head (``C`` ...).

    Returns:
        ``(learners, alphas, source_weights, info)``: the voting learners (second half of
        the rounds), their vote weights, the final normalised source-row weights (mean 1;
        small = judged misleading) and per-round errors.
    """
    check_number("tradaboost", "n_estimators", n_estimators, low=1, integer=True)
    ns, nt = len(Xs), len(Xt)
    X = np.concatenate([Xs, Xt]).astype(np.float32)
    y = np.concatenate([ys, yt]).astype(np.int64)
    w = np.ones(ns + nt)
    beta = 1.0 / (1.0 + math.sqrt(2.0 * math.log(max(ns, 2)) / n_estimators))
    learners, alphas, errors = [], [], []
    for t in range(n_estimators):
        p = w / w.sum()
        h = fit_head(head, X, y, n_classes, p * len(p), seed=seed + t, **head_kw)
        miss = (h.predict(X) != y).astype(np.float64)
        err = float((p[ns:] * miss[ns:]).sum() / p[ns:].sum())
        err = min(max(err, 1e-3), 0.499)
        beta_t = err / (1.0 - err)
        errors.append(err)
        w[:ns] *= beta ** miss[:ns]
        w[ns:] *= beta_t ** (-miss[ns:])
        if t >= n_estimators // 2:  # the vote uses rounds ceil(N/2)..N, as in the paper
            learners.append(h)
            alphas.append(math.log(1.0 / beta_t))
    ws = w[:ns] / w[:ns].mean()
    return learners, np.asarray(alphas), ws, {"target_errors": errors, "beta_source": beta}


@register_adapt_method("tradaboost", needs_target_labels=True, deep=False,
                       description="TrAdaBoost with a few labelled target rows (Dai et al. 2007)")
class TrAdaBoostMethod(AdaptMethod):
    """TrAdaBoost on frozen features (``n_estimators`` rounds of the chosen probe head)."""

    name = "tradaboost"
    needs_target_labels = True
    PARAMS = Params(FeatureMethod.PARAMS, Param(
        "n_estimators", "TrAdaBoost rounds", 10, "int", low=1))

    def fit(self, ctx: AdaptContext) -> TrAdaBoostMethod:  # type: ignore[override]
        if ctx.target_labelled is None or ctx.yt is None or len(ctx.yt) == 0:
            raise ConfigError(
                "method='tradaboost' needs a few labelled target rows: pass target_labels='all' "
                "(or a number per class) to DomainAdapter, or --target-labels on the command "
                "line.")
        Xs, Xt = ctx.features(ctx.source), ctx.features(ctx.target_labelled)
        head = self.settings.head
        kw = probe_head_kwargs(head, self.settings.C)
        if head == "logistic":
            kw.setdefault("C", 1.0)  # a fixed C: choosing it every round costs 7 fits
        n = int(self.settings.n_estimators)
        self.learners_, self.alphas_, self.source_weights_, info = tradaboost(
            Xs, ctx.ys, Xt, ctx.yt, ctx.n_classes, n_estimators=n, head=head, seed=ctx.seed,
            **kw)
        self.summary.update({
            "head": head, "n_estimators": n, "n_target_labelled": int(len(ctx.yt)),
            "target_errors": [round(e, 4) for e in info["target_errors"]],
            "source_weights": {"min": float(self.source_weights_.min()),
                               "max": float(self.source_weights_.max())},
        })
        return self

    def predict_proba(self, backbone, layer, data) -> np.ndarray:
        X = self.features(backbone, layer, data)
        a = self.alphas_ / self.alphas_.sum()
        return sum(ai * h.predict_proba(X) for ai, h in zip(a, self.learners_, strict=True))

    def save(self, folder: Path) -> dict[str, Any]:
        arrays = {f"{i}.{k}": np.ascontiguousarray(v)
                  for i, h in enumerate(self.learners_) for k, v in h.arrays.items()}
        arrays["alphas"] = self.alphas_.astype(np.float64)
        save_file(arrays, str(folder / "head.safetensors"))
        return {"method": self.name, "head": self.learners_[0].name,
                "head_configs": [h.config for h in self.learners_],
                "summary": _jsonable(self.summary)}

    @classmethod
    def load(cls, folder: Path, config: dict[str, Any], backbone) -> TrAdaBoostMethod:
        self = cls(**config.get("params", {}))
        arrays = load_file(str(folder / "head.safetensors"))
        self.alphas_ = arrays.pop("alphas")
        head_cls = HEADS.get(config["head"])
        self.learners_ = []
        for i, hc in enumerate(config["head_configs"]):
            own = {k.split(".", 1)[1]: v for k, v in arrays.items() if k.split(".", 1)[0] == str(i)}
            self.learners_.append(head_cls.from_state(hc, own))
        self.summary = dict(config.get("summary", {}))
        return self


@register_adapt_method("source", needs_target_labels=False, deep=False,
                       description="no adaptation: a probe head on the source features")
class SourceProbeMethod(FeatureMethod):
    """The feature-level baseline: the probe head trained on the source alone."""

    name = "source"

    def prepare(self, ctx: AdaptContext, Xs: np.ndarray, Xt: np.ndarray):
        return Xs, ctx.ys, None
