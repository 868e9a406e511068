"""Reference baselines the benchmarks measure against (scikit-learn, not transferkit)."""

from __future__ import annotations

import warnings


def probe_accuracy(xtr, ytr, xte, yte) -> float:
    """Test accuracy of scikit-learn's logistic regression (C = 1) on standardised features."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    mu, sd = xtr.mean(0), xtr.std(0)
    sd[sd == 0] = 1.0
    clf = LogisticRegression(C=1.0, max_iter=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit((xtr - mu) / sd, ytr)
    return float((clf.predict((xte - mu) / sd) == yte).mean())
