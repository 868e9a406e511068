"""Rows of a (memory-mapped) feature matrix, a chunk at a time, in bounded memory.

Pages of a memory map count in a process's resident memory once touched, so slicing a
cached ``.npy`` row by row grows RSS up to the whole file. A matrix that is a whole ``.npy``
file opened with ``np.load(mmap_mode="r")`` is instead read with plain file reads into one
reused buffer: the kernel's page cache still speeds up repeated passes, but nothing stays
mapped into the process.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

__all__ = ["RowChunks"]


def _whole_file(X: np.ndarray) -> str | None:
    """The path of the ``.npy`` file ``X`` maps in full, else ``None`` (views, RAM arrays)."""
    if not isinstance(X, np.memmap) or X.filename is None or not X.flags.c_contiguous:
        return None
    if X.dtype != np.float32 or not X.dtype.isnative:
        return None
    try:
        size = os.path.getsize(X.filename)
    except OSError:
        return None
    # A slice of the map keeps the parent's offset: only the full array ends at the file's end.
    return X.filename if X.offset + X.nbytes == size else None


class RowChunks:
    """Iterate over ``X`` as ``(start, chunk)`` float32 blocks of at most ``rows`` rows.

    Each chunk lives in a buffer reused by the next one (copy it to keep it); callers may
    modify it in place. Iterating again starts a new pass.

    Args:
        X: ``(N, F)`` features: an array in memory or a memory-mapped ``.npy``.
        rows: rows per chunk.
    """

    def __init__(self, X: np.ndarray, rows: int) -> None:
        self.X = X
        self.rows = max(1, int(rows))
        self.path = _whole_file(X)
        self.n, self.d = int(X.shape[0]), int(X.shape[1])

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        buf = np.empty((min(self.rows, self.n), self.d), dtype=np.float32)
        if self.path is None:
            for s in range(0, self.n, self.rows):
                k = min(self.rows, self.n - s)
                np.copyto(buf[:k], self.X[s : s + k], casting="unsafe")
                yield s, buf[:k]
            return
        row_bytes = self.d * 4
        with open(self.path, "rb", buffering=0) as f:
            f.seek(self.X.offset)
            for s in range(0, self.n, self.rows):
                k = min(self.rows, self.n - s)
                view = memoryview(buf[:k]).cast("B")
                got = 0
                while got < k * row_bytes:  # a raw read may return less than asked
                    n = f.readinto(view[got:])
                    if not n:
                        raise OSError(f"{self.path}: the file ended early (truncated cache?)")
                    got += n
                yield s, buf[:k]
