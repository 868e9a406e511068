"""Small dense decompositions on one BLAS thread.

The matrices decomposed here are at most a few thousand on a side. On a busy machine a
multi-threaded LAPACK spins its threads against the other processes and a 384 x 384
eigendecomposition measured 3-6 s on two threads against 0.04 s on one (2-core machine, load
11); on an idle machine one thread is just as fast at this size. Large products (the Gram
matrix) keep every thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

__all__ = ["one_blas_thread", "eigh", "solve", "pinvh"]


@contextmanager
def one_blas_thread() -> Iterator[None]:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def eigh(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with one_blas_thread():
        return np.linalg.eigh(a)


def solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with one_blas_thread():
        return np.linalg.solve(a, b)


def pinvh(a: np.ndarray, rcond: float = 1e-12) -> np.ndarray:
    with one_blas_thread():
        return np.linalg.pinv(a, rcond=rcond, hermitian=True)
