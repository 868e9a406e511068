"""Hand freed heap memory back to the operating system.

Encoding text batches of ever-different shapes leaves glibc's heap fragmented: freed blocks
stay resident, and resident memory grew with the number of inputs encoded (minilm-l6 on
Banking77: 1,447 MiB after 10,003 queries). Trimming after each batch kept it at 854 MiB.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["release_free_memory"]

_TRIM = None
if sys.platform.startswith("linux"):
    try:
        _TRIM = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        _TRIM = None


def release_free_memory() -> None:
    """``malloc_trim(0)`` where glibc provides it (a no-op elsewhere)."""
    if _TRIM is not None:
        _TRIM(0)
