"""Real small data for the search tests: scikit-learn's handwritten digits (8x8, 10 classes)
through the tabular MLP, which fine-tunes in a fraction of a second per trial."""

from __future__ import annotations

import numpy as np
import pytest

import transferkit as tk

pytest.importorskip("optuna")


@pytest.fixture(scope="session", autouse=True)
def _one_thread(one_torch_thread):
    """Every test in this folder runs torch on one thread."""


@pytest.fixture(scope="session")
def digits_split():
    """``(train, test)``: 400 training digits and 400 test digits, disjoint, seeded."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    idx = np.random.default_rng(0).permutation(len(y))
    tr, te = idx[:400], idx[1000:1400]
    X = X.astype(np.float32)
    return (tk.from_arrays(X[tr], y[tr], name="digits-train"),
            tk.from_arrays(X[te], y[te], name="digits-test"))


@pytest.fixture(scope="session")
def mlp():
    """``mlp(**params)``: a fine-tuned tabular MLP estimator, quiet and cache-free."""

    def make(**kw):
        return tk.TransferClassifier(backbone="tabular-mlp", strategy="finetune", cache=False,
                                     progress=False, **kw)

    return make
