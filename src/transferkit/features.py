"""Batched feature extraction with an on-disk cache.

Features are keyed by (backbone fingerprint, layer, data fingerprint): a second fit on the
same data with the same weights reads them back instead of encoding again. Arrays are
written in batches into a memory-mapped ``.npy`` (memory stays bounded on large inputs) and
renamed into place only when complete, so an interrupted run never leaves a bad cache entry.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .utils.fingerprint import hash_json

if TYPE_CHECKING:
    import torch

    from .backbones.base import Backbone
    from .data.dataset import Dataset

__all__ = ["extract_features", "cache_dir", "iter_batches", "iter_input_batches",
           "clear_cache"]

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


def _show_progress(progress: bool) -> bool:
    return bool(progress) and sys.stderr.isatty()


def iter_input_batches(
    backbone: Backbone, inputs: Sequence[Any], batch_size: int, progress: bool = False,
    encoded: Any = None,
) -> Iterator[tuple[np.ndarray, dict[str, torch.Tensor]]]:
    """Yield ``(indices, batch)``: ``inputs`` in batches ready for the backbone, on its
    device; text is batched shortest-first.

    A backbone with a ``pretokenize(inputs)`` method (text backbones) has the whole input
    tokenised once: batches are sorted by true token length (so each pads to its own longest
    input) and collated from those tokens, with no second tokenisation. Otherwise inputs are
    sorted by :meth:`~transferkit.backbones.base.Backbone.input_lengths` and each batch goes
    through ``preprocess``. ``encoded``: ``backbone.pretokenize(inputs)`` when the caller
    already has it.
    """
    n = len(inputs)
    pretokenize = getattr(backbone, "pretokenize", None)
    if encoded is None and callable(pretokenize) and n:
        encoded = pretokenize(inputs)
    lengths = encoded.lengths if encoded is not None else backbone.input_lengths(inputs)
    order = np.argsort(lengths, kind="stable") if lengths is not None else np.arange(n)
    starts = range(0, n, batch_size)
    if _show_progress(progress):
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc=f"encoding with {backbone.name}", unit="batch", leave=False)
    device = backbone.device
    for s in starts:
        idx = order[s : s + batch_size]
        if encoded is not None:
            batch = encoded.collate(idx)
        else:
            chunk = inputs[idx] if isinstance(inputs, np.ndarray) else [inputs[i] for i in idx]
            batch = backbone.preprocess(chunk)
        yield idx, {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def iter_batches(
    backbone: Backbone, inputs: Sequence[Any], layer: int, batch_size: int, progress: bool = False
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(indices, features)`` batch by batch, batched as :func:`iter_input_batches`."""
    for idx, batch in iter_input_batches(backbone, inputs, batch_size, progress):
        yield idx, backbone.forward_features(batch, layer).float().cpu().numpy()


def _key(backbone: Backbone, layer: int, data_fp: str) -> str:
    return hash_json(["features-v1", backbone.fingerprint(), int(layer), data_fp])


def extract_features(
    backbone: Backbone,
    data: Dataset | Sequence[Any],
    layer: int = -1,
    batch_size: int = 64,
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
    from .data.dataset import Dataset

    layer = backbone.check_layer(layer)
    if not isinstance(data, Dataset) or not cache:
        inputs = data.inputs if isinstance(data, Dataset) else data
        return backbone.features(inputs, layer=layer, batch_size=batch_size, progress=progress)

    folder = cache_dir() / "features"
    path = folder / f"{_key(backbone, layer, data.fingerprint())}.npy"
    if path.exists():
        try:
            arr = np.load(path, mmap_mode="r")
            if arr.shape[0] == len(data):
                log.info("features for %s/%s read from cache %s", backbone.name, data.name, path)
                return arr
        except (ValueError, OSError):
            log.warning("ignoring unreadable cache entry %s", path)
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
    return np.load(path, mmap_mode="r")

