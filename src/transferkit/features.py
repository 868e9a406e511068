"""Batched feature extraction with an on-disk cache.

Features are keyed by (backbone fingerprint, layer, data fingerprint): a second fit on the
same data with the same weights reads them back instead of encoding again. Arrays are
written in batches into a memory-mapped ``.npy`` (memory stays bounded on large inputs) and
renamed into place only when complete, so an interrupted run never leaves a bad cache entry.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .backbones.batching import iter_batches, iter_input_batches
from .backbones.registry import bind_to_data
from .data.dataset import Dataset
from .utils.defaults import BATCH_SIZE
from .utils.fingerprint import hash_array, hash_json

if TYPE_CHECKING:
    from .backbones.base import Backbone
    from .data.dataset import Dataset

__all__ = ["extract_features", "cache_dir", "iter_batches", "iter_input_batches",
           "clear_cache"]

# The batching loop lives with the backbones (their own ``features`` runs it); it is part of
# this module's public face since the first release.

log = logging.getLogger(__name__)


def cache_dir() -> Path:
    """``$TRANSFERKIT_CACHE``, else ``$XDG_CACHE_HOME/transferkit`` (``~/.cache/transferkit``)."""
    env = os.environ.get("TRANSFERKIT_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "transferkit"


#: The entries each cache folder holds; :func:`clear_cache` removes these and nothing else.
_CACHE_ENTRIES = {"features": "*.npy", "source_tuned": "*.safetensors"}


def clear_cache() -> int:
    """Delete what transferkit cached: extracted features, and encoders tuned on a source
    (``DomainAdapter(source_finetune=...)``). Returns how many files were removed."""
    n = 0
    for folder, pattern in _CACHE_ENTRIES.items():
        for f in (cache_dir() / folder).glob(pattern):
            f.unlink(missing_ok=True)
            n += 1
    return n


#: In-process index of the datasets encoded last (per backbone and layer): a sample of one
#: of them (compare's fractions, seeds and group folds, a held-out split) takes its rows from
#: there instead of encoding them again. Text and audio only: there a row's features depend
#: on that row alone (an audio row is known by its samples and rate). The arrays are the
#: cache's memory maps, so an entry costs little more than its index.
_TEXT_ROWS: dict[str, tuple[np.ndarray, dict[Any, int]]] = {}
_TEXT_ROWS_KEEP = 4
#: smaller text sets (label names, prompts) are not remembered: they would push out the
#: training set that compare's samples come from, and encoding a sample of them again is cheap
_TEXT_ROWS_MIN = 256


def _row_keys(data: Dataset) -> list[Any] | None:
    if data.modality == "text":
        return data.inputs
    if data.modality == "audio":
        rate = data.meta.get("sample_rate")
        return [(rate, hash_array(np.asarray(w))) for w in data.inputs]
    return None


def _remember_texts(key: str, data: Dataset, arr: np.ndarray) -> None:
    if key in _TEXT_ROWS or (data.modality == "text" and len(data) < _TEXT_ROWS_MIN):
        return
    keys = _row_keys(data)
    if keys is None:
        return
    while len(_TEXT_ROWS) >= _TEXT_ROWS_KEEP:
        _TEXT_ROWS.pop(next(iter(_TEXT_ROWS)))
    _TEXT_ROWS[key] = (arr, {t: i for i, t in enumerate(keys)})


def _rows_from_remembered(prefix: str, data: Dataset) -> np.ndarray | None:
    if data.modality not in ("text", "audio"):
        return None
    keys = None
    for key, (arr, index) in _TEXT_ROWS.items():
        if not key.startswith(prefix):
            continue
        keys = _row_keys(data) if keys is None else keys
        try:
            rows = np.fromiter((index[t] for t in keys), dtype=np.int64, count=len(data))
        except (KeyError, TypeError):
            continue
        return np.asarray(arr[rows], dtype=np.float32)
    return None


def _key(backbone: Backbone, layer: int, data_fp: str) -> str:
    return hash_json(["features-v1", backbone.fingerprint(), int(layer), data_fp])


def extract_features(
    backbone: Backbone,
    data: Dataset | Sequence[Any],
    layer: int = -1,
    batch_size: int = BATCH_SIZE,
    cache: bool = True,
    progress: bool = True,
) -> np.ndarray:
    """Features of ``data`` under ``backbone``, from the cache when the fingerprints match.

    Args:
        backbone: the encoder.
        data: a :class:`~transferkit.data.Dataset` (cacheable) or a raw sequence of inputs.
        layer: which feature layer (``-1``: the last).
        batch_size: inputs per forward pass.
        cache: read and write the on-disk cache.
        progress: show a progress bar when writing to a terminal.

    Returns:
        ``(N, F)`` float32 array (memory-mapped, read-only, when it came from the cache).
    """

    layer = backbone.check_layer(layer)
    bind_to_data(backbone, data)  # audio: the data's sample rate
    if not isinstance(data, Dataset) or not cache:
        inputs = data.inputs if isinstance(data, Dataset) else data
        return backbone.features(inputs, layer=layer, batch_size=batch_size, progress=progress)

    folder = cache_dir() / "features"
    bfp = backbone.fingerprint()
    key = hash_json(["features-v1", bfp, int(layer), data.fingerprint()])
    path = folder / f"{key}.npy"
    prefix = f"{bfp}|{int(layer)}|"
    if path.exists():
        try:
            arr = np.load(path, mmap_mode="r")
            if arr.shape[0] == len(data):
                log.info("features for %s/%s read from cache %s", backbone.name, data.name, path)
                _remember_texts(prefix + key, data, arr)
                return arr
        except (ValueError, OSError):
            log.warning("ignoring unreadable cache entry %s", path)
    rows = _rows_from_remembered(prefix, data)
    if rows is not None:
        log.info("features for %s/%s taken from a larger encoded set", backbone.name, data.name)
        return rows
    folder.mkdir(parents=True, exist_ok=True)
    probe = backbone.features(data.inputs[:1], layer=layer, batch_size=1)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".", suffix=".npy.tmp")
    os.close(fd)
    try:
        out = np.lib.format.open_memmap(
            tmp, mode="w+", dtype=np.float32, shape=(len(data), probe.shape[1])
        )
        backbone.features(data.inputs, layer=layer, batch_size=batch_size, progress=progress,
                          out=out)
        out.flush()
        del out
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    arr = np.load(path, mmap_mode="r")
    _remember_texts(prefix + key, data, arr)
    return arr

