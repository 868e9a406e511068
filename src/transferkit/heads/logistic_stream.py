"""The logistic head's out-of-core fit: features streamed from the cache in chunks.

Used when the in-memory fit, which holds several copies of the feature matrix, would
exceed the head's memory budget. The objective is the same (:mod:`.lbfgs`); what changes:

1. the standardisation statistics are accumulated over chunks;
2. ``C`` is chosen, as in memory, by accuracy on a stratified held-out 20 %, but of a
   stratified subsample that fits the budget (at most :data:`SELECTION_ROWS` rows);
3. the final fit on all rows is full-batch L-BFGS whose loss and gradient are summed over
   chunks (one pass over the cache per evaluation), warm-started from the subsample's
   solution and capped at :data:`STREAM_MAX_ITER` iterations.

Memory: the subsample plus one chunk, whatever the number of rows.
"""

from __future__ import annotations

import numpy as np
import torch

from .base import holdout_split
from .chunks import RowChunks
from .lbfgs import Solution, choose_C, fit_lbfgs, new_lbfgs, start_point

__all__ = ["column_stats", "fit_streamed", "SELECTION_ROWS", "STREAM_MAX_ITER"]

#: most rows of the subsample on which C is chosen (the path's cost grows with it)
SELECTION_ROWS = 20_000
#: fewest subsample rows per class, whatever the budget (a tiny subsample ranks C by noise)
MIN_ROWS_PER_CLASS = 20
#: L-BFGS iterations of the streamed fit; each costs a pass or more over the whole cache
STREAM_MAX_ITER = 50


def column_stats(chunks: RowChunks) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and standard deviation (float32), merged chunk by chunk in float64."""
    n, mean, m2 = 0, np.zeros(chunks.d), np.zeros(chunks.d)
    for _, c in chunks:
        k = len(c)
        c_mean = c.mean(0, dtype=np.float64)
        c_m2 = ((c - c_mean.astype(np.float32)) ** 2).sum(0, dtype=np.float64)
        delta = c_mean - mean
        # Chan et al.'s pairwise update: exact, and stable when chunks differ in mean.
        m2 += c_m2 + delta**2 * n * k / (n + k)
        mean += delta * k / (n + k)
        n += k
    return mean.astype(np.float32), np.sqrt(m2 / max(n, 1)).astype(np.float32)


def _subsample(chunks: RowChunks, y: np.ndarray, rows: int, seed: int,
               scale: tuple[np.ndarray, np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
    """A stratified subsample of about ``rows`` rows (standardised by ``scale``), in file
    order, read in one pass."""
    if rows >= len(y):
        idx = np.arange(len(y))
    else:
        idx = np.sort(holdout_split(y, rows / len(y), seed)[1])
    out = np.empty((len(idx), chunks.d), dtype=np.float32)
    pos = 0
    for s, c in chunks:
        hit = idx[(idx >= s) & (idx < s + len(c))] - s
        out[pos : pos + len(hit)] = c[hit]
        pos += len(hit)
    if scale is not None:
        out -= scale[0]
        out /= scale[1]
    return out, y[idx]


def fit_streamed(
    chunks: RowChunks, y: np.ndarray, n_classes: int, C: float | None, max_iter: int,
    seed: int, subsample_rows: int, scale: tuple[np.ndarray, np.ndarray] | None,
) -> tuple[Solution, float, dict[str, float]]:
    """Fit on all rows of ``chunks`` with labels ``y``.

    Args:
        chunks: the features, read a chunk at a time.
        y: ``(N,)`` integer labels.
        n_classes: number of classes.
        C: inverse regularisation strength, or ``None`` to choose it on a subsample.
        max_iter: L-BFGS iterations per fit (the streamed fit runs at most
            :data:`STREAM_MAX_ITER`).
        seed: seed of the subsample and of its held-out split.
        subsample_rows: rows the budget allows for the subsample held in memory.
        scale: ``(mean, std)`` to standardise with, or ``None``.

    Returns:
        ``(W, b)``, the ``C`` used and the held-out accuracy and log-loss of each ``C`` tried.
    """
    y = np.asarray(y, dtype=np.int64)
    rows = min(max(subsample_rows, MIN_ROWS_PER_CLASS * n_classes), SELECTION_ROWS)
    Xsub, ysub = _subsample(chunks, y, rows, seed, scale)
    Xsub_t, ysub_t = torch.from_numpy(Xsub), torch.from_numpy(ysub)
    scores: dict[str, dict[str, float]] = {}
    if C is None:
        C, start, scores = choose_C(Xsub_t, ysub_t, n_classes, seed, max_iter)
    else:
        start = None
    # The subsample's optimum at the chosen C is close to the full one: a cheap warm start.
    start = fit_lbfgs(Xsub_t, ysub_t, n_classes, float(C), max_iter, start)
    del Xsub, Xsub_t
    W, b = _fit_chunked(chunks, torch.from_numpy(y), n_classes, float(C),
                        min(int(max_iter), STREAM_MAX_ITER), start, scale)
    return (W, b), float(C), scores


def _fit_chunked(chunks: RowChunks, yt: torch.Tensor, n_classes: int, C: float,
                 max_iter: int, init: Solution, scale: tuple[np.ndarray, np.ndarray] | None
                 ) -> Solution:
    """:func:`.lbfgs.fit_lbfgs`'s objective, with loss and gradient summed over chunks."""
    n = chunks.n
    W, b = start_point(chunks.d, n_classes, torch.float32, init)
    opt = new_lbfgs([W, b], max_iter)
    reg = 1.0 / (2.0 * C * n)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        total = 0.0
        for s, c in chunks:
            if scale is not None:
                c -= scale[0]
                c /= scale[1]
            xc = torch.from_numpy(c)
            part = torch.nn.functional.cross_entropy(xc @ W + b, yt[s : s + len(c)],
                                                     reduction="sum") / n
            part.backward()  # gradients accumulate chunk by chunk; no graph outlives a chunk
            total += float(part.detach())
        penalty = reg * (W * W).sum()
        penalty.backward()
        return torch.tensor(total) + penalty.detach()

    with torch.enable_grad():
        opt.step(closure)
    return W.detach(), b.detach()
