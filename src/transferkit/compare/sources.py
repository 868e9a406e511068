"""Rank candidate source domains for a target before adapting: which source to use, or how
to weigh several.

Each source is scored on the frozen backbone's features by how much the target resembles it:
the **mixture weight** (the share of target rows a classifier trained to tell the sources
apart attributes to that source), and its shift to the target (proxy A-distance, MMD,
domain-classifier AUC). No target label is needed. When the target has labels, a probe
trained on each source alone is also evaluated on them (``target_accuracy``), so the user
sees whether the label-free ranking put the best source first; those labels never enter the
ranking itself.

On the 4 Amazon review domains with frozen MiniLM, the source the target resembled most was
the best single source for every target (``benchmarks/bench_multisource.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from ..adapt.checks import check_domains
from ..adapt.sources import source_ids_of, union_of_sources
from ..adapt.weighted import fit_head
from ..backbones import backbone_for_data
from ..backbones.base import Backbone
from ..data import as_dataset
from ..data.validate import unseen_labels
from ..exceptions import DataError
from ..models.adapter_sources import frozen_features, sources_table
from ..strategies.params import BATCH_SIZE

__all__ = ["rank_sources", "format_source_ranking"]


def rank_sources(
    target: Any,
    sources: Sequence[Any],
    backbone: str | Backbone = "minilm-l6",
    layer: int | None = None,
    seed: int = 0,
    batch_size: int | None = None,
    cache: bool = True,
) -> pd.DataFrame:
    """Rank ``sources`` by how much ``target`` resembles each, without target labels.

    Args:
        target: the target data (a Dataset, or raw inputs); its labels, if any, only fill
            the ``target_accuracy`` column.
        sources: two or more labelled Datasets.
        backbone: the encoder whose frozen features are compared.
        layer: its feature layer (None: the backbone's default).
        seed: seeds the subsamples and classifiers.
        batch_size: encoding batch size (None: the backbone's default).
        cache: read and write the feature cache.

    Returns:
        One row per source, best first: ``rank``, ``source``, ``mixture_weight``,
        ``proxy_a_distance``, ``mmd``, ``domain_auc``, ``rows``, ``classes`` and, with a
        labelled target, ``target_accuracy`` and ``missing_classes`` (target classes the
        source never shows). ``attrs["target"]`` names the target.

    Raises:
        DataError: fewer than two sources, sources that cannot be pooled (see
            :func:`~transferkit.adapt.sources.union_of_sources`), or a source that shares no
            class with a labelled target.
    """
    parts = [as_dataset(s, what=f"source {i + 1}") for i, s in enumerate(sources)]
    if len(parts) < 2:
        raise DataError(f"rank_sources compares two or more sources; got {len(parts)}. Pass "
                        "the candidate sources as a list (--sources A,B on the command line).")
    tgt = as_dataset(target, what="target")
    union = union_of_sources(parts)
    names = list(union.meta["sources"])
    check_domains(union, tgt)
    bb, lay = backbone_for_data(backbone, -1 if layer is None else layer, seed, union, "source")
    settings = SimpleNamespace(batch_size=batch_size or BATCH_SIZE.default, cache=cache,
                               seed=seed)
    # Encoded once: the shift table and the per-source probes read the same features.
    Xs, Xt = (frozen_features(bb, lay, d, settings) for d in (union, tgt.without_labels()))
    table = sources_table(Xs, Xt, union, names, seed)
    rows = [{"source": n, **t} for n, t in table.items()]
    if tgt.labels is not None:
        _add_target_accuracy(rows, Xs, Xt, union, tgt, names, seed)
    df = pd.DataFrame(rows).sort_values("mixture_weight", ascending=False, kind="stable")
    df.insert(0, "rank", np.arange(1, len(df) + 1))
    df = df.reset_index(drop=True)
    df.attrs["target"] = tgt.name
    return df


def _add_target_accuracy(rows: list[dict[str, Any]], Xs: np.ndarray, Xt: np.ndarray, union,
                         tgt, names: list[str], seed: int) -> None:
    ids = source_ids_of(union, names)
    target_classes = set(np.unique(tgt.labels).tolist())
    for i, row in enumerate(rows):
        own = np.unique(union.labels[ids == i])
        missing = sorted(target_classes - set(own.tolist()), key=str)
        if len(missing) == len(target_classes):
            n, listed, _ = unseen_labels(own, tgt.labels, names[i], "target")
            raise DataError(
                f"The source {names[i]!r} shares no label with the target {tgt.name!r}: the "
                f"target's labels {listed} never occur in it (it has "
                f"{[str(c) for c in own[:10]]}). Check the label columns, or leave it out.")
        y = np.searchsorted(own, union.labels[ids == i])
        head = fit_head("logistic", Xs[ids == i], y, len(own), seed=seed)
        pred = own[head.predict(Xt)]
        row["target_accuracy"] = round(float((pred == tgt.labels).mean()), 4)
        row["missing_classes"] = [str(c) for c in missing]


def format_source_ranking(df: pd.DataFrame) -> str:
    """The ranking as an aligned text table, with how to read it."""
    cols = [c for c in ("rank", "source", "mixture_weight", "proxy_a_distance", "mmd",
                        "domain_auc", "rows", "target_accuracy") if c in df.columns]
    text = df[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}")
    notes = ["mixture_weight: share of target rows that resemble this source (higher: closer; "
             "the ensemble's weights)",
             "proxy_a_distance, mmd, domain_auc: shift to the target (lower: closer)"]
    if "target_accuracy" in df.columns:
        notes.append("target_accuracy: a probe trained on this source alone, on the labelled "
                     "target (labels used for this column only)")
        missing = {r.source: r.missing_classes for r in df.itertuples() if r.missing_classes}
        for name, m in missing.items():
            notes.append(f"warning: {name} has no example of target class(es) {m}")
    return text + "\n\n" + "\n".join(notes)
