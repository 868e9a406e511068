"""Content fingerprints: the feature cache is keyed on them, so equal content means equal key."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["hash_strings", "hash_array", "hash_files", "hash_json", "hash_state_dict"]


def _new() -> Any:
    return hashlib.sha256()


def hash_strings(items: Iterable[str]) -> str:
    h = _new()
    for s in items:
        b = s.encode("utf-8", "surrogatepass")
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()[:32]


def hash_array(a: np.ndarray) -> str:
    a = np.ascontiguousarray(a)
    h = _new()
    h.update(str(a.dtype).encode())
    h.update(repr(a.shape).encode())
    h.update(memoryview(a).cast("B"))
    return h.hexdigest()[:32]


def hash_files(paths: Iterable[str]) -> str:
    """Fingerprint files by path, size and modification time (cheap, and changes when they do)."""
    h = _new()
    for p in paths:
        st = os.stat(p)
        h.update(f"{os.path.abspath(p)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:32]


def hash_json(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:32]


def hash_state_dict(state: dict) -> str:
    """Fingerprint a torch state dict by its tensors' bytes."""
    h = _new()
    for k in sorted(state):
        t = state[k]
        h.update(k.encode())
        arr = t.detach().cpu().contiguous()
        h.update(str(arr.dtype).encode() + repr(tuple(arr.shape)).encode())
        h.update(arr.view(-1).view(dtype=__import__("torch").uint8).numpy().tobytes())
    return h.hexdigest()[:32]
