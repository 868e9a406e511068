"""TF-IDF word and character n-grams + logistic regression: the text baseline without transfer.

The representation is computed here from plain arrays (vocabulary, idf weights), so a saved
model is JSON + safetensors and predicts exactly as it was fitted, with no pickled vectoriser:

* words: unigrams and bigrams (``\\b\\w+\\b``, lower-cased), ``sublinear_tf``, kept when
  seen in at least two training texts (one when there are few texts): a bigram seen once
  (half the columns) only memorises its text;
* characters: 2- to 5-grams inside word boundaries (``char_wb``), ``sublinear_tf``,
  kept when seen in at least two training texts (one when there are few texts);
* each block ``tf * idf`` with scikit-learn's smoothed idf, L2-normalised row-wise, then the
  two blocks side by side;
* multinomial logistic regression (scikit-learn's objective), fitted by the probe head's
  full-batch L-BFGS (:mod:`transferkit.heads.lbfgs`) on the sparse rows in float32, ``C``
  chosen from a grid by held-out accuracy on a stratified 20% of the training rows (a
  warm-started path of short fits, stopped two steps past the peak), then refitted on all of
  them from that solution. On Banking77 (10,003 texts, 24,206 n-grams, 77 classes) the
  whole fit (vocabulary, six L-BFGS fits) takes 8.8 s on one thread, where scikit-learn's
  ``LogisticRegression`` (scipy L-BFGS-B, float64) takes 14.7 s for its single fit at the
  chosen C, to the same accuracy (91.75 vs 91.92 %; benchmarks/bench_baseline.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.feature_extraction.text import CountVectorizer

from ...heads.lbfgs import choose_C, fit_lbfgs
from ...heads.sparse_rows import SparseRows
from ...utils.threads import threads_for, torch_threads
from .common import softmax

__all__ = ["TfidfLogistic", "C_GRID"]

#: inverse regularisation strengths tried on held-out data (sparse, L2-normalised rows want
#: weak regularisation: the best C on intent data is usually 10-100)
C_GRID = (1.0, 3.0, 10.0, 30.0, 100.0)
#: L-BFGS iterations per point of the warm-started C path, and for the final refit: with
#: 15 and 50 the test accuracy moved by at most 0.4 points (2 of 500 reviews) on Banking77,
#: SST-2, Amazon books and kitchen, at 1.2-2.3x the time (benchmarks/raw/tfidf_settings_*)
PATH_ITER, FINAL_ITER = 10, 30
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
        arrays: ``idf_word``, ``idf_char``, ``coef`` ``(K, D)``, ``intercept`` ``(K,)``.
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
            min_df = 2 if n >= 200 else 1
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
        X = SparseRows(self.transform(texts), torch.float32)
        yt = torch.from_numpy(y)
        with torch_threads(threads_for(X.matrix.nnz * n_classes * 2)):
            # By accuracy, as this baseline was measured (benchmarks/bench_baseline.py)
            C, start, scores = choose_C(X, yt, n_classes, seed, FINAL_ITER, grid=C_GRID,
                                        path_max_iter=PATH_ITER, criterion="accuracy")
            if not scores["accuracy"]:  # too few held-out rows to rank C on
                C = C_FALLBACK
            # Warm start from the path's solution at the chosen C: the refit is short.
            W, b = fit_lbfgs(X, yt, n_classes, float(C), FINAL_ITER, start)
        self.arrays["coef"] = W.T.contiguous().numpy()
        self.arrays["intercept"] = b.numpy()
        self.chosen = {"C": float(C), "holdout_accuracy_by_C": scores["accuracy"],
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
