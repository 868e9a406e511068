"""The ``sources`` part of a multi-source :class:`~transferkit.DomainAdapter` record.

For each source: its rows and classes, its shift to the target on the frozen features (proxy
A-distance, MMD, domain-classifier AUC), the share of the target that resembles it (the
mixture weight of :func:`~transferkit.adapt.multisource.mixture_weights`), and what the
chosen method did with it (its ensemble weight, kept or dropped and why, or its share of the
pooled rows), and, once labelled target rows are evaluated, what each source of an
ensemble contributed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..adapt.multisource import mixture_weights, source_classifier
from ..adapt.sources import source_ids_of, union_of_sources
from ..backbones.base import Backbone
from ..data.coerce import as_dataset
from ..data.dataset import Dataset
from ..features import extract_features
from ..shift import shift_features

__all__ = ["as_sources", "frozen_features", "sources_table", "chosen_use_of_sources",
           "describe_source_use", "source_contributions"]

#: rows per side the per-source shift measures use (an O(n^2) kernel)
MAX_SHIFT_ROWS = 600


def as_sources(source: Any) -> tuple[Dataset, list[str] | None]:
    """``fit``'s ``source`` argument as one dataset, and the source names when it was a list
    of several (their union, each row's source in ``domains``)."""
    if not isinstance(source, list | tuple):
        return as_dataset(source, what="source"), None
    parts = [as_dataset(s, what=f"source {i + 1}") for i, s in enumerate(source)]
    if len(parts) == 1:
        return parts[0], None
    union = union_of_sources(parts)
    return union, list(union.meta["sources"])


def frozen_features(bb: Backbone, layer: int, data: Dataset, settings: Any) -> np.ndarray:
    """The frozen backbone's features of ``data`` (through the feature cache when
    ``settings.cache``)."""
    return np.asarray(extract_features(bb, data, layer=layer, batch_size=settings.batch_size,
                                       cache=settings.cache, progress=False), dtype=np.float32)


def sources_table(Xs: np.ndarray, Xt: np.ndarray, source: Dataset, names: list[str],
                  seed: int) -> dict[str, dict[str, Any]]:
    """Per source: rows, classes, shift to the target and mixture weight, from the frozen
    features ``Xs`` of the union ``source`` and ``Xt`` of the target."""
    ids = source_ids_of(source, names)
    mixture = mixture_weights(source_classifier(Xs, ids, len(names), seed=seed), Xt)
    out: dict[str, dict[str, Any]] = {}
    for i, name in enumerate(names):
        rows = ids == i
        entry: dict[str, Any] = {
            "rows": int(rows.sum()),
            "classes": int(len(np.unique(source.labels[rows]))),
            "mixture_weight": round(float(mixture[i]), 4),
        }
        if rows.sum() >= 10 and len(Xt) >= 10:
            r = shift_features(Xs[rows], Xt, n_permutations=50, max_samples=MAX_SHIFT_ROWS,
                               seed=seed)
            entry.update(proxy_a_distance=round(float(r.proxy_a_distance), 4),
                         mmd=round(float(r.mmd), 5), domain_auc=round(float(r.c2st_auc), 4))
        out[name] = entry
    return out


def chosen_use_of_sources(strategy: Any, table: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What the chosen method did with each source: a multi-source method's own summary
    (weight, kept / dropped and why), else the share of the pooled training rows."""
    own = strategy.summary.get("sources") if hasattr(strategy, "summary") else None
    if own:
        return {n: {k: v for k, v in own.get(n, {}).items() if k != "rows"} for n in table}
    total = sum(t["rows"] for t in table.values()) or 1
    return {n: {"pooled_share": round(t["rows"] / total, 4)} for n, t in table.items()}


def describe_source_use(use: Any) -> str:
    """What the chosen method did with one source (an entry of
    :func:`chosen_use_of_sources`), in words, for the command's output and the report."""
    if not isinstance(use, dict):
        return ""
    if "weight" in use:
        return f"ensemble weight {use['weight']:.3f}"
    if "dropped_because" in use:
        return f"dropped: {use['dropped_because']}"
    if use.get("kept"):
        return "kept"
    if "pooled_share" in use:
        return f"pooled ({use['pooled_share']:.0%} of the rows)"
    return ", ".join(f"{k} {v}" for k, v in use.items())


def source_contributions(model: Any, data: Dataset, y: np.ndarray) -> dict[str, Any] | None:
    """With labelled target rows, what each source of a per-source ensemble contributed: the
    target accuracy of its own probe alone, and of the ensemble without it (weights of the
    others renormalised). ``None`` for methods without per-source models."""
    strategy = model.strategy_
    per_source = getattr(strategy, "per_source_proba", None)
    names = getattr(model, "source_names_", None)
    if per_source is None or not names:
        return None
    probs = per_source(model.backbone_, model.layer_, data)
    w = np.asarray(strategy.weights_, dtype=np.float64)
    out: dict[str, Any] = {}
    for i, name in enumerate(names):
        alone = float((probs[i].argmax(1) == y).mean())
        rest = [j for j in range(len(names)) if j != i]
        mix = sum(w[j] * probs[j] for j in rest) / max(w[rest].sum(), 1e-12)
        out[name] = {"target_accuracy_alone": round(alone, 4),
                     "target_accuracy_without": round(float((mix.argmax(1) == y).mean()), 4)}
    return out
