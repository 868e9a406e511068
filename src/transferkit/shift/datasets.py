"""Shift between two datasets: :func:`shift` encodes a seeded subsample of each with a backbone
and measures the features with :func:`~transferkit.shift.measure.shift_features`."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..backbones import parse_backbone_spec
from ..data.dataset import Dataset, DatasetSplits
from ..exceptions import DataError
from ..features import extract_features
from ..select.rank import _precheck_backbone, build_backbone
from ..utils.checks import check_number
from ..utils.defaults import BATCH_SIZE
from .measure import _MIN_PER_SIDE, shift_features
from .result import ShiftResult

__all__ = ["shift"]


def _one(data: Any, role: str) -> Dataset:
    if isinstance(data, DatasetSplits):
        return data.train
    if isinstance(data, Dataset):
        return data
    if isinstance(data, np.ndarray):
        raise DataError(
            f"shift expects the {role} as a Dataset; got a NumPy array. For features you "
            "already have: `from transferkit.shift import shift_features`, then "
            "shift_features(source_features, target_features); for raw inputs, wrap them with "
            "tk.from_arrays(...)."
        )
    raise DataError(f"shift expects the {role} as a Dataset (or DatasetSplits, whose training "
                    f"split is used); got {type(data).__name__}. Fix: tk.load_dataset(...).")


def shift(
    source: Dataset | DatasetSplits,
    target: Dataset | DatasetSplits,
    backbone: Any = "minilm-l6",
    layer: int = -1,
    n_permutations: int = 200,
    max_samples: int = 1000,
    seed: int = 0,
    batch_size: int = BATCH_SIZE,
    cache: bool = True,
    progress: bool = True,
) -> ShiftResult:
    """Measure the shift from ``source`` to ``target`` in the feature space of ``backbone``.

    Args:
        source: the source data (a ``DatasetSplits`` stands for its training split).
        target: the target data, of the same modality.
        backbone: a backbone spec or instance (a ``@k`` suffix picks the layer and wins over
            ``layer``).
        layer: feature layer (``-1``: the last).
        n_permutations: permutations of the MMD test.
        max_samples: at most this many points per side (the kernel is O(n^2)); only the
            subsample is encoded.
        seed: seeds the subsample, the permutations and the folds.
        batch_size: inputs per forward pass.
        cache: read and write the feature cache.
        progress: show encoding progress bars (in a terminal only).

    Returns:
        A :class:`ShiftResult` with ``mmd``, ``p_value``, ``proxy_a_distance``, ``c2st_auc``,
        ``per_class`` (when both sides have labels) and a plain-words ``verdict``.

    Raises:
        DataError: different modalities, too few examples, bad features.
        BackboneError: a backbone for another modality, or an unknown one.

    Example:
        >>> import transferkit as tk
        >>> books = tk.load_dataset("amazon:domain=books")
        >>> kitchen = tk.load_dataset("amazon:domain=kitchen")
        >>> print(tk.shift(books, kitchen, backbone="minilm-l6").verdict)  # doctest: +SKIP
    """

    t0 = time.perf_counter()
    src, tgt = _one(source, "source"), _one(target, "target")
    if src.modality != tgt.modality:
        raise DataError(
            f"shift compares data of one modality; got {src.modality} source {src.name!r} and "
            f"{tgt.modality} target {tgt.name!r}. Fix: pass two datasets of the same kind."
        )
    check_number("shift", "max_samples", max_samples, low=_MIN_PER_SIDE, integer=True)
    for ds, role in ((src, "source"), (tgt, "target")):
        if len(ds) < _MIN_PER_SIDE:
            raise DataError(f"shift needs at least {_MIN_PER_SIDE} {role} examples; got "
                            f"{len(ds)} in {ds.name!r}.")
    if isinstance(backbone, str):
        base, spec_layer = parse_backbone_spec(backbone)
        if base != backbone.strip():
            layer = spec_layer
    if isinstance(backbone, str):
        _precheck_backbone(backbone, src.modality)  # before loading any weights
    bb = build_backbone(backbone, src, seed=seed)  # tabular: standardised on the source
    layer = bb.check_layer(layer)
    # Encode only what the kernel will use: the same seeded subsample shift_features draws.
    rng = np.random.default_rng(seed)
    m = min(len(src), len(tgt), int(max_samples))
    i_s = np.sort(rng.choice(len(src), m, replace=False))
    i_t = np.sort(rng.choice(len(tgt), m, replace=False))
    subs = src.subset(i_s) if m < len(src) else src
    subt = tgt.subset(i_t) if m < len(tgt) else tgt
    fs = np.asarray(extract_features(bb, subs, layer=layer, batch_size=batch_size, cache=cache,
                                     progress=progress))
    ft = np.asarray(extract_features(bb, subt, layer=layer, batch_size=batch_size, cache=cache,
                                     progress=progress))
    result = shift_features(fs, ft, subs.labels, subt.labels, n_permutations=n_permutations,
                            max_samples=m, seed=seed)
    result.n_source, result.n_target = len(src), len(tgt)
    result.max_samples = int(max_samples)
    if m < max(len(src), len(tgt)):
        result.notes = [n for n in result.notes if not n.startswith("subsampled")]
        result.notes.insert(0, f"subsampled to {m} points per side (of {len(src)} source and "
                               f"{len(tgt)} target) for the O(n^2) kernel and a balanced "
                               "domain classifier")
    if src.has_labels != tgt.has_labels:
        result.notes.append("labels on one side only: no per-class picture (it needs both)")
    result.backbone = bb.name if not isinstance(backbone, str) else backbone
    result.layer = int(layer)
    result.source, result.target = src.name, tgt.name
    result.seconds = round(time.perf_counter() - t0, 3)
    return result
