"""Encode the texts of all of compare's samples once, before the cells.

Each (amount, seed) cell of a probe or prototypes comparison fits on frozen features of its
own sample. Encoded one sample at a time, the texts shared by samples are encoded again and
again (1 + 2 + 5 + 10 + 20 % over 3 seeds is 1.14 times the training set, on top of the full
set). Encoding their union once, as one cached dataset, lets every sample take its rows from
it (:func:`transferkit.features.extract_features` finds a sample's texts among the rows of
the sets encoded in this process).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..backbones import create_backbone
from ..backbones.base import Backbone
from ..data.dataset import Dataset
from ..features import extract_features

__all__ = ["FEATURE_STRATEGIES", "encode_samples_once", "encode_pool_once"]

log = logging.getLogger(__name__)

#: strategies that fit on frozen features of the backbone's last (or chosen) layer
FEATURE_STRATEGIES = frozenset({"probe", "prototypes"})
#: when the samples cover at least this share of the training set, the whole set is encoded:
#: its cache entry is the one a plain fit on it writes and reads
WHOLE_SET_SHARE = 0.5


def encode_samples_once(train: Dataset, samples: Sequence[Dataset], strategies: Sequence[str],
                        backbone: str | Backbone, layer: Any = None) -> None:
    """Encode the union of ``samples``' texts (or all of ``train``) once, through the cache."""
    if train.modality != "text" or not FEATURE_STRATEGIES & {s.split(":")[0] for s in strategies}:
        return
    index = {t: i for i, t in enumerate(train.inputs)}
    rows = sorted({index[t] for s in samples for t in s.inputs if t in index})
    if len(rows) < 2:
        return
    union = train if len(rows) >= WHOLE_SET_SHARE * len(train) else train.subset(np.array(rows))
    bb = create_backbone(backbone) if isinstance(backbone, str) else backbone
    log.info("compare: encoding the %d texts of all samples once", len(union))
    extract_features(bb, union, layer=-1 if layer is None else int(layer), progress=False)


def encode_pool_once(pool: Dataset, strategies: Sequence[str], backbone: str | Backbone,
                     layer: Any = None) -> None:
    """Encode all of ``pool`` once, through the cache, for group folds (``group_by``): every
    fold's sample and held-out group then take their rows from it. Text and audio, whose rows'
    features depend on the row alone."""
    if pool.modality not in ("text", "audio") or \
            not FEATURE_STRATEGIES & {s.split(":")[0] for s in strategies}:
        return
    bb = create_backbone(backbone) if isinstance(backbone, str) else backbone
    log.info("compare: encoding the %d rows of every group once", len(pool))
    extract_features(bb, pool, layer=-1 if layer is None else int(layer), progress=False)
