"""TF-IDF word and character n-grams + logistic regression: the text baseline without transfer.

The representation is computed here from plain arrays (vocabulary, idf weights), so a saved
model is JSON + safetensors and predicts exactly as it was fitted, with no pickled vectoriser:

* words: unigrams and bigrams (``\\b\\w+\\b``, lower-cased), ``sublinear_tf``;
* characters: 2- to 5-grams inside word boundaries (``char_wb``), ``sublinear_tf``,
  kept when seen in at least two training texts (one when there are few texts);
* each block ``tf * idf`` with scikit-learn's smoothed idf, L2-normalised row-wise, then the
  two blocks side by side;
* multinomial logistic regression (scikit-learn, L-BFGS), ``C`` chosen from a grid by
  held-out accuracy on a stratified 20% of the training rows (a warm-started path of short
  fits, stopped two steps past the peak), then refitted on all of them from that solution.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression

from ...heads.base import holdout_split
from .common import softmax

__all__ = ["TfidfLogistic", "C_GRID"]

#: inverse regularisation strengths tried on held-out data (sparse, L2-normalised rows want
#: weak regularisation: the best C on intent data is usually 10-100)
C_GRID = (1.0, 3.0, 10.0, 30.0, 100.0)
#: L-BFGS iterations per point of the warm-started C path, and for the final refit (more
#: change the accuracy by < 0.1 point on Banking77 and cost a second per 5 iterations there)
PATH_ITER, FINAL_ITER = 15, 50
#: C when the held-out part is too small to choose (fewer held-out rows than classes)
C_FALLBACK = 10.0
#: the two n-gram blocks: CountVectorizer settings
BLOCKS: dict[str, dict[str, Any]] = {
    "word": {"analyzer": "word", "ngram_range": (1, 2), "lowercase": True,
             "token_pattern": r"(?u)\b\w+\b"},
    "char": {"analyzer": "char_wb", "ngram_range": (2, 5), "lowercase": True},
}


def _as_texts(inputs: Any) -> list[str]:
    return ["" if t is None else str(t) for t in inputs]


class TfidfLogistic:
    """Fit / predict / state of the TF-IDF + logistic-regression baseline.

    Attributes (once fitted):
        vocab: block -> terms in column order.
        arrays: ``idf_word``, ``idf_char``, ``coef`` ``(K', D)``, ``intercept`` ``(K',)``
            (``K' = 1`` for two classes, as scikit-learn stores a binary model).
        chosen: the chosen ``C`` and held-out accuracy per ``C`` tried.
    """

    name = "tfidf"
    description = "TF-IDF word 1-2-grams + char 2-5-grams, logistic regression"

    def __init__(self) -> None:
        self.vocab: dict[str, list[str]] = {}
        self.blocks: dict[str, dict[str, Any]] = {}
        self.arrays: dict[str, np.ndarray] = {}
        self.chosen: dict[str, Any] = {}
        self._vectorizers: dict[str, CountVectorizer] = {}

    # --- representation -----------------------------------------------------------------------
    def _fit_vocab(self, texts: list[str]) -> None:
        n = len(texts)
        for block, cfg in BLOCKS.items():
            min_df = 2 if block == "char" and n >= 200 else 1
            cv = CountVectorizer(min_df=min_df, dtype=np.float64, **cfg)
            try:
                counts = cv.fit_transform(texts)
            except ValueError:  # no word at all (punctuation only): single characters instead
                cfg = {"analyzer": "char", "ngram_range": (1, 1), "lowercase": True}
                cv = CountVectorizer(dtype=np.float64, **cfg)
                counts = cv.fit_transform([t or " " for t in texts])
            terms = cv.get_feature_names_out().tolist()
            df = np.bincount(counts.indices, minlength=len(terms))
            self.blocks[block] = cfg
            self.vocab[block] = terms
            self.arrays[f"idf_{block}"] = (np.log((1 + n) / (1 + df)) + 1).astype(np.float64)

    def _vectorizer(self, block: str) -> CountVectorizer:
        if block not in self._vectorizers:
            cfg = {**self.blocks[block], "ngram_range": tuple(self.blocks[block]["ngram_range"])}
            self._vectorizers[block] = CountVectorizer(
                vocabulary={t: i for i, t in enumerate(self.vocab[block])}, dtype=np.float64,
                **cfg)
        return self._vectorizers[block]

    def transform(self, inputs: Any) -> sp.csr_matrix:
        """``(N, D)`` sparse TF-IDF rows of ``inputs``."""
        texts = _as_texts(inputs)
        parts = []
        for block in BLOCKS:
            X = self._vectorizer(block).transform(texts).tocsr()
            X.data = 1.0 + np.log(X.data)  # sublinear tf
            X = X @ sp.diags(self.arrays[f"idf_{block}"])
            norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1))).ravel()
            X = sp.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ X
            parts.append(X)
        return sp.hstack(parts, format="csr")

    # --- fitting ------------------------------------------------------------------------------
    def fit(self, inputs: Any, y: np.ndarray, n_classes: int, seed: int = 0) -> TfidfLogistic:
        texts = _as_texts(inputs)
        y = np.asarray(y, dtype=np.int64)
        self._fit_vocab(texts)
        X = self.transform(texts)
        fit_idx, hold_idx = holdout_split(y, 0.2, seed)
        scores: dict[str, float] = {}
        C = C_FALLBACK
        if len(hold_idx) >= n_classes and len(np.unique(y[fit_idx])) > 1:
            best, worse = -1.0, 0
            lr = _logistic(C_GRID[0], seed, PATH_ITER)
            Xf, yf, Xh, yh = X[fit_idx], y[fit_idx], X[hold_idx], y[hold_idx]
            for c in C_GRID:  # a warm-started path: each fit starts from the previous one
                lr.set_params(C=c)
                _fit_quietly(lr, Xf, yf)
                acc = float((lr.predict(Xh) == yh).mean())
                scores[str(c)] = acc
                if acc > best + 1e-9:
                    best, C, worse = acc, c, 0
                    best_w = (lr.coef_.copy(), lr.intercept_.copy())
                else:
                    worse += 1
                if worse == 2:  # held-out accuracy along C rises, then falls
                    break
        final = _logistic(C, seed, FINAL_ITER)
        if scores:  # warm start from the path's solution at the chosen C
            final.coef_, final.intercept_ = best_w
        lr = final
        _fit_quietly(lr, X, y)
        coef, intercept = _full_classes(lr, n_classes)
        self.arrays["coef"] = coef.astype(np.float32)
        self.arrays["intercept"] = intercept.astype(np.float32)
        self.chosen = {"C": float(C), "holdout_accuracy_by_C": scores,
                       "n_features": int(X.shape[1])}
        return self

    def predict_proba(self, inputs: Any) -> np.ndarray:
        X = self.transform(inputs)
        z = np.asarray(X @ self.arrays["coef"].T.astype(np.float64)) + self.arrays["intercept"]
        return softmax(z)

    # --- state --------------------------------------------------------------------------------
    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(JSON config, arrays) that :meth:`from_state` restores."""
        return ({"blocks": self.blocks, "vocab": self.vocab, "chosen": self.chosen},
                dict(self.arrays))

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> TfidfLogistic:
        self = cls()
        self.blocks = {k: dict(v) for k, v in config["blocks"].items()}
        self.vocab = {k: list(v) for k, v in config["vocab"].items()}
        self.chosen = dict(config.get("chosen", {}))
        self.arrays = dict(arrays)
        return self


def _logistic(C: float, seed: int, max_iter: int) -> LogisticRegression:
    return LogisticRegression(C=C, max_iter=max_iter, tol=1e-4, random_state=seed,
                              warm_start=True)


def _fit_quietly(lr: LogisticRegression, X: Any, y: np.ndarray) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        lr.fit(X, y)


def _full_classes(lr: LogisticRegression, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients ``(n_classes, D)`` over all ``n_classes`` columns (a class absent from
    the fitting rows gets a very low intercept), binary models as two softmax rows."""
    coef, b = lr.coef_, lr.intercept_
    if coef.shape[0] == 1:  # binary: sigmoid(z) == softmax([0, z])
        coef = np.vstack([np.zeros_like(coef), coef])
        b = np.array([0.0, b[0]])
    full_w = np.zeros((n_classes, coef.shape[1]))
    full_b = np.full(n_classes, -1e4)
    full_w[lr.classes_] = coef
    full_b[lr.classes_] = b
    return full_w, full_b
