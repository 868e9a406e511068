"""The multinomial logistic objective fitted with full-batch L-BFGS, and the choice of ``C``.

The objective is scikit-learn's ``LogisticRegression(C=C)`` (sum of cross-entropies times
``C`` plus half the squared weight norm, intercept unpenalised). ``C`` is chosen along a
warm-started regularisation path by held-out log-loss. Both the in-memory head and the
streamed one (:mod:`.logistic_stream`, which chooses ``C`` on a subsample) use these.
"""

from __future__ import annotations

import torch

from .base import holdout_split
from .sparse_rows import SparseRows, t_matmul

__all__ = ["C_GRID", "fit_lbfgs", "choose_C", "Rows"]

#: From 0.001: on standardised sentence embeddings with a few hundred to a few thousand rows
#: the best C is often 0.003-0.1 (Amazon reviews: 0.003-0.01; Banking77: 0.1), which a grid
#: starting at 0.1 cut off (the probe lost 2-5 points on Amazon; benchmarks/bench_sentences.py)
C_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
#: L-BFGS iterations per fit on the regularisation path (each fit starts from the previous
#: one). Ranking C needs the held-out score, not the optimum's last digits: 20 picks the
#: same C as 50 on Banking77, SST-2 and Amazon books at 40 % of the cost
#: (benchmarks/bench_head.py)
PATH_MAX_ITER = 20
#: where the search for C starts on the grid: the best C of standardised sentence embeddings
#: lies around it (Banking77 0.1, Amazon reviews 0.01, SST-2 0.003), so walking outward from
#: it fits 4-5 points where walking up from 0.001 fitted 7 (0.9 s of 3 s on Banking77)
PATH_START = 0.1

Solution = tuple[torch.Tensor, torch.Tensor]
#: a design matrix: dense rows, or sparse ones (TF-IDF)
Rows = torch.Tensor | SparseRows


#: weights above which L-BFGS keeps a shorter history: its two-loop recursion costs two
#: passes over the weights per stored pair, which on sparse TF-IDF (36,000 x 77 weights)
#: cost as much as the loss and gradient themselves
LARGE_PROBLEM = 1_000_000


def new_lbfgs(params: list[torch.Tensor], max_iter: int) -> torch.optim.LBFGS:
    size = sum(p.numel() for p in params)
    return torch.optim.LBFGS(
        params, lr=1.0, max_iter=max_iter, tolerance_grad=1e-6, tolerance_change=1e-9,
        history_size=20 if size < LARGE_PROBLEM else 10, line_search_fn="strong_wolfe",
    )


def start_point(d: int, n_classes: int, dtype: torch.dtype,
                init: Solution | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Trainable ``(W, b)``: zeros, or a copy of ``init`` in ``dtype``."""
    if init is None:
        W, b = torch.zeros(d, n_classes, dtype=dtype), torch.zeros(n_classes, dtype=dtype)
    else:
        W, b = init[0].to(dtype).clone(), init[1].to(dtype).clone()
    return W.requires_grad_(True), b.requires_grad_(True)


def fit_lbfgs(
    X: Rows, y: torch.Tensor, n_classes: int, C: float, max_iter: int,
    init: Solution | None = None,
) -> Solution:
    """Minimise the objective on ``X`` ``(N, F)`` and labels ``y`` ``(N,)``; returns ``(W, b)``.

    The gradient is written out (softmax minus one-hot, then ``X.T @ G``) rather than taken
    by autograd: the same two products serve dense and sparse ``X``, and no graph is kept.
    """
    n, d = X.shape
    W, b = start_point(d, n_classes, X.dtype, init)
    opt = new_lbfgs([W, b], max_iter)
    # Dividing sklearn's objective by C*n keeps the loss O(1) for the line search.
    reg = 1.0 / (2.0 * C * n)
    rows = torch.arange(n)

    def closure() -> torch.Tensor:
        with torch.no_grad():
            logp = torch.log_softmax(X @ W + b, dim=1)
            loss = -logp[rows, y].mean() + reg * (W * W).sum()
            G = logp.exp_()
            G[rows, y] -= 1.0
            G /= n
            W.grad = t_matmul(X, G) + (2.0 * reg) * W
            b.grad = G.sum(0)
        return loss

    opt.step(closure)
    return W.detach(), b.detach()


def choose_C(
    Xs: Rows, yt: torch.Tensor, n_classes: int, seed: int, max_iter: int,
    grid: tuple[float, ...] = C_GRID, path_max_iter: int | None = None,
    criterion: str = "log_loss", start: float = PATH_START,
) -> tuple[float, Solution | None, dict[str, dict[str, float]]]:
    """``C`` with the best score on a stratified held-out 20 % of ``(Xs, yt)``.

    ``criterion`` is ``"log_loss"`` (the held-out cross-entropy, lowest wins) or
    ``"accuracy"`` (highest wins). Log-loss is the default: it is a smooth proper score, where
    held-out accuracy moves in steps of one row and, with few rows, often ties or peaks by
    chance. Returns the chosen ``C``, the path's solution there (a warm start for the final
    fit, or ``None``) and, per ``C`` tried (in increasing order), the held-out ``"accuracy"``
    and ``"log_loss"``. With fewer held-out rows than classes there is nothing to rank on:
    ``C = 1``.

    The held-out score along C rises then falls, so the search walks the grid outward from
    ``start`` (the grid's first value when ``start`` is not in it): down while that
    improves, else up; it stops two points past the best. Each fit is warm-started from its
    neighbour's and capped at ``path_max_iter`` iterations (default :data:`PATH_MAX_ITER`).
    """
    scores: dict[str, dict[str, float]] = {"accuracy": {}, "log_loss": {}}
    fit_idx, hold_idx = holdout_split(yt.numpy(), 0.2, seed)
    if len(hold_idx) < n_classes:
        return 1.0, None, scores
    Xf, yf = Xs[fit_idx], yt[fit_idx]
    # Ranking C on held-out rows does not need the last digits of the optimum:
    # the path's fits stop early; the final fit converges fully.
    path_iter = min(int(max_iter), PATH_MAX_ITER if path_max_iter is None else path_max_iter)
    Xh, yh = Xs[hold_idx], yt[hold_idx]
    grid = tuple(sorted(grid))

    def visit(i: int, init: Solution | None) -> tuple[float, Solution]:
        sol = fit_lbfgs(Xf, yf, n_classes, grid[i], path_iter, init)
        logits = Xh @ sol[0] + sol[1]
        acc = float((logits.argmax(1) == yh).double().mean())
        loss = float(torch.nn.functional.cross_entropy(logits, yh))
        scores["accuracy"][str(grid[i])], scores["log_loss"][str(grid[i])] = acc, loss
        return (-loss if criterion == "log_loss" else acc), sol

    i0 = grid.index(start) if start in grid else 0
    key, sol = visit(i0, None)
    best = (key, i0, sol)

    def walk(i: int, step: int, sol: Solution, worse: int) -> None:
        nonlocal best
        while 0 <= i < len(grid) and worse < 2:  # two points past the best
            key, sol = visit(i, sol)
            if key > best[0] + 1e-9:
                best, worse = (key, i, sol), 0
            else:
                worse += 1
            i += step

    if i0 > 0:
        key, down = visit(i0 - 1, sol)
        if key > best[0] + 1e-9:
            best = (key, i0 - 1, down)
            walk(i0 - 2, -1, down, 0)
    if best[1] == i0:  # the first step down did not improve: the best lies above
        walk(i0 + 1, +1, sol, 0)
    for name in scores:
        scores[name] = dict(sorted(scores[name].items(), key=lambda kv: float(kv[0])))
    return grid[best[1]], best[2], scores
