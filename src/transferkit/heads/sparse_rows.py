"""A sparse design matrix for the full-batch logistic solvers: CSR rows and their transpose.

``X @ W`` and ``X.T @ G`` are the two products every loss-and-gradient evaluation needs.
Keeping both orientations in CSR lets torch run each as a row-parallel kernel on all
threads: on Banking77's TF-IDF (10,003 x 36,384, 1.7 M non-zeros, 77 classes) one
evaluation takes 17 ms on 2 cores, against 110 ms for scipy's single-threaded float64
products, and torch autograd through a sparse product is slower still.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
import torch

__all__ = ["SparseRows", "t_matmul"]


def _torch_csr(m: sp.csr_matrix, dtype: torch.dtype) -> torch.Tensor:
    with warnings.catch_warnings():  # "sparse CSR support is in beta": the products used are stable
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(
            torch.from_numpy(m.indptr.astype(np.int64)),
            torch.from_numpy(m.indices.astype(np.int64)),
            torch.from_numpy(np.asarray(m.data)).to(dtype), size=m.shape)


class SparseRows:
    """``(N, D)`` sparse rows for :func:`transferkit.heads.lbfgs.fit_lbfgs`.

    Args:
        matrix: a scipy sparse matrix (any format; stored as CSR).
        dtype: torch dtype of the products (float32 halves the memory traffic).
    """

    def __init__(self, matrix: sp.spmatrix, dtype: torch.dtype = torch.float32) -> None:
        self.matrix = sp.csr_matrix(matrix)
        self.dtype = dtype
        self.shape = self.matrix.shape
        self._rows = _torch_csr(self.matrix, dtype)
        self._cols = _torch_csr(self.matrix.T.tocsr(), dtype)

    def __len__(self) -> int:
        return self.shape[0]

    def __matmul__(self, W: torch.Tensor) -> torch.Tensor:
        return self._rows @ W

    def t_matmul(self, G: torch.Tensor) -> torch.Tensor:
        """``X.T @ G``: ``(D, K)`` from ``G`` ``(N, K)``."""
        return self._cols @ G

    def __getitem__(self, idx: np.ndarray | torch.Tensor) -> SparseRows:
        idx = idx.numpy() if isinstance(idx, torch.Tensor) else np.asarray(idx)
        return SparseRows(self.matrix[idx], self.dtype)


def t_matmul(X: torch.Tensor | SparseRows, G: torch.Tensor) -> torch.Tensor:
    """``X.T @ G`` for a dense tensor or :class:`SparseRows`."""
    return X.t_matmul(G) if isinstance(X, SparseRows) else X.T @ G
