"""Gradient conflict: how far the tasks' gradients on the shared encoder point apart.

For each pair of tasks in a batch, the cosine between their loss gradients with respect to
the encoder's trainable parameters (Yu et al. 2020, PCGrad, https://arxiv.org/abs/2001.06782,
call a negative cosine a conflict). Measured on a sampled step only: it costs one extra
forward and one backward per task.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import Any

import torch

__all__ = ["pair_name", "gradient_cosines", "ConflictTally"]


def pair_name(a: str, b: str) -> str:
    return f"{a} ~ {b}"


def gradient_cosines(losses: dict[int, torch.Tensor], params: Sequence[torch.Tensor]
                     ) -> dict[tuple[int, int], float]:
    """Cosine between the gradients of each pair of ``losses`` (task id -> scalar) on
    ``params``; the graph is kept for the caller's own backward."""
    flat: dict[int, torch.Tensor] = {}
    for t, loss in losses.items():
        grads = torch.autograd.grad(loss, list(params), retain_graph=True, allow_unused=True)
        flat[t] = torch.cat([(g if g is not None else torch.zeros_like(p)).reshape(-1).float()
                             for g, p in zip(grads, params, strict=True)])
    out = {}
    for a, b in combinations(sorted(flat), 2):
        na, nb = flat[a].norm(), flat[b].norm()
        if na > 0 and nb > 0:
            out[(a, b)] = float(flat[a] @ flat[b] / (na * nb))
    return out


class ConflictTally:
    """Sums of the sampled cosines per pair within one epoch."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)
        self.reset()

    def reset(self) -> None:
        self.sums: dict[tuple[int, int], list[float]] = {}

    def add(self, cosines: dict[tuple[int, int], float]) -> None:
        for pair, c in cosines.items():
            self.sums.setdefault(pair, []).append(c)

    def epoch_summary(self) -> dict[str, Any]:
        """``{pair: {"mean", "min", "negative", "samples"}}`` for the history record."""
        out = {}
        for (a, b), values in sorted(self.sums.items()):
            v = torch.tensor(values)
            out[pair_name(self.names[a], self.names[b])] = {
                "mean": round(float(v.mean()), 4), "min": round(float(v.min()), 4),
                "negative": int((v < 0).sum()), "samples": len(values)}
        return out
