"""Multi-source methods on frozen features: weigh, ensemble and select the sources.

With several labelled sources, pooling them (the *union*, which every single-source method
does) treats a far source like a near one. The methods here instead ask how much the target
resembles each source:

* the **mixture weights**: a classifier trained to tell the sources apart, applied to the
  target rows, estimates which share of the target looks like each source (the mixture
  proportions of Mansour, Mohri & Rostamizadeh's distribution-weighted combination, NeurIPS
  2008, estimated globally rather than per row);
* ``ensemble``: one probe head per source, each source re-coloured onto the target with
  CORAL first, their predictions averaged with the mixture weights (or ``source_weighting``'s
  other rules);
* ``select``: drop the sources the target hardly resembles (mixture weight below
  ``min_source_weight`` times an equal share), with the reason recorded, and fit one head on
  the rest as they are (CORAL on pooled sources cost 1.8 points on Amazon: re-colouring
  helps one source at a time, in the ensemble).

On the 4 Amazon review domains (3 sources -> 1 target, frozen MiniLM, 3 seeds), a probe on
the union reached 79.3 % on average, the best single source (chosen in hindsight) 79.8 %,
DANN on the union 80.1 %, and the ensemble of per-source CORAL probes 80.8 % with mixture
weights, 81.1 % with domain-error weights, 77.3 % with equal weights
(``benchmarks/bench_multisource.py``).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from safetensors.numpy import load_file, save_file

from ..exceptions import ConfigError
from ..heads import HEADS, probe_head_kwargs
from ..heads.base import ProbeHead, holdout_split
from ..utils.params import Param, Params
from .base import AdaptContext, AdaptMethod, register_adapt_method
from .coral import coral_map
from .feature_method import _jsonable
from .params import ADAPT_COMMON, FEATURE_HEAD
from .reweight import domain_probabilities
from .weighted import fit_head, fit_weighted_logistic

__all__ = ["SourceEnsembleMethod", "SourceSelectMethod", "mixture_weights", "source_classifier"]

WEIGHTINGS = ("mixture", "domain-error", "equal")
#: regularisation strengths tried for the source classifier (chosen by held-out log-loss)
_SOURCE_C_GRID = (1e-3, 1e-2, 1e-1, 1.0)


#: source classifiers already fitted, by a digest of their inputs: the adapter's sources table
#: and each multi-source method (several, under method="auto") ask for the same one
_FITTED: OrderedDict[str, ProbeHead] = OrderedDict()
_FITTED_MAX = 4


def source_classifier(X: np.ndarray, ids: np.ndarray, n_sources: int, seed: int = 0
                      ) -> ProbeHead:
    """A logistic classifier telling the sources apart, its C chosen by held-out log-loss:
    its probabilities are averaged into mixture weights, so they must be calibrated, not only
    right. The same inputs give the same (shared, read-only) classifier without a refit."""
    X, ids = np.ascontiguousarray(X, dtype=np.float32), np.ascontiguousarray(ids)
    digest = hashlib.blake2b(X.tobytes(), digest_size=16)
    digest.update(ids.astype(np.int64).tobytes())
    digest.update(repr((X.shape, int(n_sources), int(seed))).encode())
    key = digest.hexdigest()
    if key in _FITTED:
        _FITTED.move_to_end(key)
        return _FITTED[key]
    head = _fit_source_classifier(X, ids, n_sources, seed)
    _FITTED[key] = head
    while len(_FITTED) > _FITTED_MAX:
        _FITTED.popitem(last=False)
    return head


def _fit_source_classifier(X: np.ndarray, ids: np.ndarray, n_sources: int, seed: int
                           ) -> ProbeHead:
    fit_idx, hold_idx = holdout_split(ids, 0.2, seed)
    best_c, best_loss = 1.0, np.inf
    if len(hold_idx) >= n_sources:
        for c in _SOURCE_C_GRID:
            head = fit_weighted_logistic(X[fit_idx], ids[fit_idx], n_sources, C=c, seed=seed)
            p = head.predict_proba(X[hold_idx])[np.arange(len(hold_idx)), ids[hold_idx]]
            loss = float(-np.log(np.clip(p, 1e-12, None)).mean())
            if loss < best_loss:
                best_c, best_loss = c, loss
    head = fit_weighted_logistic(X, ids, n_sources, C=best_c, seed=seed)
    head.chosen = {"C": best_c, "holdout_log_loss": round(float(best_loss), 4)}
    return head


def mixture_weights(classifier: ProbeHead, Xt: np.ndarray) -> np.ndarray:
    """The share of the target that resembles each source: the source classifier's mean
    probabilities over the target rows."""
    return classifier.predict_proba(Xt).mean(0)


def _domain_error_weights(Xs: np.ndarray, ids: np.ndarray, Xt: np.ndarray, k: int,
                          seed: int) -> tuple[np.ndarray, list[float]]:
    """Weights proportional to how often a domain classifier mistakes each source for the
    target (its error; the proxy A-distance is ``2 (1 - 2 error)``)."""
    errors = []
    for i in range(k):
        p_s, p_t, _ = domain_probabilities(Xs[ids == i], Xt, seed=seed)
        err = float(np.r_[p_s >= 0.5, p_t < 0.5].mean())
        errors.append(err)
    e = np.asarray(errors) + 1e-3  # a perfectly separable source keeps a sliver of weight
    return e / e.sum(), errors


class _MultiSourceMethod(AdaptMethod):
    """What both methods share: source ids, the source classifier and its mixture weights,
    per-source CORAL maps (the ensemble's), saving and loading their heads."""

    PARAMS: ClassVar[Params] = Params(ADAPT_COMMON, FEATURE_HEAD)
    multi_source: ClassVar[bool] = True

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.state: dict[str, np.ndarray] = {}
        self.heads_: list[ProbeHead] = []

    def _ids(self, ctx: AdaptContext) -> tuple[np.ndarray, list[str]]:
        if ctx.source_names is None or len(ctx.source_names) < 2:
            raise ConfigError(
                f"method={self.name!r} weighs several sources against each other; it got one "
                "source. Pass a list of sources (fit([source_1, source_2, ...], target); on "
                "the command line --source A,B,C), or use a single-source method.")
        return ctx.source_ids, list(ctx.source_names)

    def _coral(self, i: int, Xs_i: np.ndarray, Xt: np.ndarray) -> np.ndarray:
        mu_s, A, mu_t = coral_map(Xs_i, Xt, float(self.settings.coral_eps))
        self.state[f"mu_s.{i}"] = mu_s.astype(np.float32)
        self.state[f"A.{i}"] = A.astype(np.float32)
        self.state["mu_t"] = mu_t.astype(np.float32)
        return self._recolour(i, Xs_i)

    def _recolour(self, i: int, X: np.ndarray) -> np.ndarray:
        st = self.state
        return (np.asarray(X, dtype=np.float32) - st[f"mu_s.{i}"]) @ st[f"A.{i}"] + st["mu_t"]

    def _fit_router(self, ctx: AdaptContext, Xs: np.ndarray, ids: np.ndarray, k: int,
                    Xt: np.ndarray) -> np.ndarray:
        self.router_ = source_classifier(Xs, ids, k, seed=ctx.seed)
        return mixture_weights(self.router_, Xt)

    def _route(self, X: np.ndarray) -> np.ndarray:
        """``(N, k)``: which source each *source-domain* row most likely came from; such rows
        go through their own source's re-colouring."""
        return self.router_.predict_proba(X)

    # --- persistence ------------------------------------------------------------------------
    def _save_heads(self, folder: Path) -> list[dict[str, Any]]:
        arrays = {f"head{i}.{k}": np.ascontiguousarray(v)
                  for i, h in enumerate(self.heads_) for k, v in h.arrays.items()}
        arrays.update({f"router.{k}": np.ascontiguousarray(v)
                       for k, v in self.router_.arrays.items()})
        save_file(arrays, str(folder / "heads.safetensors"))
        if self.state:
            save_file({k: np.ascontiguousarray(v) for k, v in self.state.items()},
                      str(folder / "adapt.safetensors"))
        return [{"name": h.name, "config": h.config} for h in self.heads_]

    def _load_heads(self, folder: Path, config: dict[str, Any]) -> None:
        arrays = load_file(str(folder / "heads.safetensors"))

        def part(prefix: str) -> dict[str, np.ndarray]:
            return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}

        self.heads_ = [HEADS.get(h["name"]).from_state(h["config"], part(f"head{i}."))
                       for i, h in enumerate(config["heads"])]
        self.router_ = HEADS.get("logistic").from_state(config["router"], part("router."))
        if (folder / "adapt.safetensors").exists():
            self.state = dict(load_file(str(folder / "adapt.safetensors")))


@register_adapt_method("ensemble", needs_target_labels=False, deep=False, multi_source=True,
                       description="one probe per source (CORAL to the target), weighted by "
                                   "how much the target resembles each source")
class SourceEnsembleMethod(_MultiSourceMethod):
    """Per-source probes on CORAL-re-coloured features, averaged with source weights."""

    name = "ensemble"
    PARAMS = Params(
        _MultiSourceMethod.PARAMS,
        Param("coral_eps", "CORAL's covariance ridge, relative to the mean feature variance",
              1.0, "float", low=0, low_open=True),
        Param("source_weighting", "how the ensemble weighs its sources: 'mixture' (the share "
              "of target rows a source classifier attributes to each source), 'domain-error' "
              "(how often a domain classifier mistakes the source for the target: the proxy "
              "A-distance), or 'equal'", "mixture", choices=WEIGHTINGS),
    )

    def fit(self, ctx: AdaptContext) -> SourceEnsembleMethod:  # type: ignore[override]
        import time

        t0 = time.perf_counter()
        ids, names = self._ids(ctx)
        k = len(names)
        Xs, Xt = ctx.features(ctx.source), ctx.features(ctx.target)
        mixture = self._fit_router(ctx, Xs, ids, k, Xt)
        how = self.settings.source_weighting
        errors = None
        if how == "mixture":
            w = mixture
        elif how == "domain-error":
            w, errors = _domain_error_weights(Xs, ids, Xt, k, ctx.seed)
        else:
            w = np.full(k, 1.0 / k)
        self.weights_ = np.asarray(w, dtype=np.float64)
        head = self.settings.head
        self.heads_ = []
        for i in range(k):
            Xi = self._coral(i, Xs[ids == i], Xt)
            self.heads_.append(fit_head(head, Xi, ctx.ys[ids == i], ctx.n_classes, None,
                                        seed=ctx.seed, **probe_head_kwargs(head, self.settings.C)))
        self.summary.update({
            "head": head, "source_weighting": how,
            "sources": {n: {"weight": round(float(self.weights_[i]), 4),
                            "mixture": round(float(mixture[i]), 4),
                            "rows": int((ids == i).sum()),
                            **({"domain_error": round(errors[i], 4)} if errors else {})}
                        for i, n in enumerate(names)},
            "router": self.router_.chosen,
            "seconds_adapt": round(time.perf_counter() - t0, 3),
            "trainable_params": int(sum(a.size for h in self.heads_ for a in h.arrays.values())),
        })
        return self

    def predict_proba(self, backbone, layer, data) -> np.ndarray:
        X = self.features(backbone, layer, data)
        return sum(w * h.predict_proba(X) for w, h in zip(self.weights_, self.heads_,
                                                          strict=True))

    def per_source_proba(self, backbone, layer, data) -> list[np.ndarray]:
        """Each source's probe alone on ``data`` (target-domain rows), in source order."""
        X = self.features(backbone, layer, data)
        return [h.predict_proba(X) for h in self.heads_]

    def predict_proba_source(self, backbone, layer, data) -> np.ndarray:
        # A source row is re-coloured as the source it most likely came from, then read by
        # that source's head: rows of one source never pass through another's map.
        X = self.features(backbone, layer, data)
        route = self._route(X)
        return sum(route[:, [i]] * h.predict_proba(self._recolour(i, X))
                   for i, h in enumerate(self.heads_))

    def embed_source(self, backbone, layer, data) -> np.ndarray:
        X = self.features(backbone, layer, data)
        route = self._route(X)
        return sum(route[:, [i]] * self._recolour(i, X) for i in range(len(self.heads_)))

    def save(self, folder: Path) -> dict[str, Any]:
        heads = self._save_heads(folder)
        return {"method": self.name, "heads": heads, "router": self.router_.config,
                "weights": self.weights_.tolist(), "summary": _jsonable(self.summary)}

    @classmethod
    def load(cls, folder: Path, config: dict[str, Any], backbone) -> SourceEnsembleMethod:
        self = cls(**config.get("params", {}))
        self._load_heads(folder, config)
        self.weights_ = np.asarray(config["weights"], dtype=np.float64)
        self.summary = dict(config.get("summary", {}))
        return self


@register_adapt_method("select", needs_target_labels=False, deep=False, multi_source=True,
                       description="drop the sources the target hardly resembles, then one "
                                   "probe on the rest")
class SourceSelectMethod(_MultiSourceMethod):
    """Source selection by mixture weight; the dropped sources and why go in the summary."""

    name = "select"
    PARAMS = Params(
        _MultiSourceMethod.PARAMS,
        Param("min_source_weight", "select keeps a source when its mixture weight is at least "
              "this fraction of an equal share (1 / number of sources); the most resembling "
              "source is always kept", 0.5, "float", low=0, high=1),
    )

    def fit(self, ctx: AdaptContext) -> SourceSelectMethod:  # type: ignore[override]
        import time

        t0 = time.perf_counter()
        ids, names = self._ids(ctx)
        k = len(names)
        Xs, Xt = ctx.features(ctx.source), ctx.features(ctx.target)
        mixture = self._fit_router(ctx, Xs, ids, k, Xt)
        floor = float(self.settings.min_source_weight) / k
        keep = mixture >= floor
        keep[int(np.argmax(mixture))] = True
        self.kept_ = np.flatnonzero(keep)
        rows = np.isin(ids, self.kept_)
        head = self.settings.head
        self.heads_ = [fit_head(head, Xs[rows], ctx.ys[rows], ctx.n_classes, None,
                                seed=ctx.seed, **probe_head_kwargs(head, self.settings.C))]
        reasons = {}
        for i, n in enumerate(names):
            if keep[i]:
                continue
            reasons[n] = (f"the target resembles it in {mixture[i]:.0%} of rows (mixture weight "
                          f"{mixture[i]:.3f} < {floor:.3f}, {self.settings.min_source_weight:g} "
                          f"of an equal share)")
        self.summary.update({
            "head": self.heads_[0].name,
            "min_source_weight": float(self.settings.min_source_weight),
            "sources": {n: {"kept": bool(keep[i]), "mixture": round(float(mixture[i]), 4),
                            "rows": int((ids == i).sum()),
                            **({"dropped_because": reasons[n]} if n in reasons else {})}
                        for i, n in enumerate(names)},
            "router": self.router_.chosen,
            "seconds_adapt": round(time.perf_counter() - t0, 3),
            "trainable_params": int(sum(a.size for a in self.heads_[0].arrays.values())),
        })
        return self

    def predict_proba(self, backbone, layer, data) -> np.ndarray:
        return self.heads_[0].predict_proba(self.features(backbone, layer, data))

    def solves_source_rows(self, data) -> np.ndarray | None:
        names = self.summary.get("sources", {})
        if data.domains is None or not names:
            return None
        kept = {n for n, v in names.items() if v.get("kept")}
        return np.asarray([str(d) in kept for d in data.domains])

    def save(self, folder: Path) -> dict[str, Any]:
        heads = self._save_heads(folder)
        return {"method": self.name, "heads": heads, "router": self.router_.config,
                "kept": [int(i) for i in self.kept_], "summary": _jsonable(self.summary)}

    @classmethod
    def load(cls, folder: Path, config: dict[str, Any], backbone) -> SourceSelectMethod:
        self = cls(**config.get("params", {}))
        self._load_heads(folder, config)
        self.kept_ = np.asarray(config["kept"], dtype=np.int64)
        self.summary = dict(config.get("summary", {}))
        return self
