"""L2-SP: regularise fine-tuning toward the pre-trained weights.

Li, Grandvalet & Davoine, *Explicit Inductive Bias for Transfer Learning with Convolutional
Networks*, ICML 2018, https://arxiv.org/abs/1802.01483::

    Omega(w) = alpha / 2 * ||w_S - w_S^0||^2  +  beta / 2 * ||w_new||^2

``w_S`` are the backbone's (shared, pre-trained) weights and ``w_S^0`` their starting values;
``w_new`` are the weights that did not exist before (the head). The paper's best setting has
``beta = alpha / 10``, used here. Weight decay toward zero is turned off for parameters under
L2-SP (it would pull against the anchor).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["L2SPPenalty"]


class L2SPPenalty:
    """L2-SP over ``anchored`` parameters (toward their current values) and ``free`` ones.

    Args:
        anchored: parameters pulled toward the values they hold now.
        free: parameters pulled toward zero (plain L2).
        alpha: strength toward the anchor.
        beta: strength of the plain L2 term (default ``alpha / 10``).

    Shape:
        Calling it returns a scalar tensor; :meth:`distance` is the (unweighted) squared
        distance ``||w_S - w_S^0||^2``, zero before the first update.
    """

    def __init__(self, anchored: list[nn.Parameter], free: list[nn.Parameter], alpha: float,
                 beta: float | None = None) -> None:
        self.anchored = list(anchored)
        self.free = list(free)
        self.alpha = float(alpha)
        self.beta = self.alpha / 10.0 if beta is None else float(beta)
        self.anchor = [p.detach().clone() for p in self.anchored]

    def _anchors(self) -> list[torch.Tensor]:
        # The anchor follows its parameter to whatever device the engine put it on, once.
        for i, (p, a) in enumerate(zip(self.anchored, self.anchor, strict=True)):
            if a.device != p.device:
                self.anchor[i] = a.to(p.device)
        return self.anchor

    def distance(self) -> torch.Tensor:
        """``sum ||w - w0||^2`` over the anchored parameters that currently train."""
        terms = [((p - a) ** 2).sum() for p, a in zip(self.anchored, self._anchors(), strict=True)
                 if p.requires_grad]
        if not terms:
            return torch.zeros(())
        return torch.stack(terms).sum()

    def __call__(self) -> torch.Tensor:
        total = 0.5 * self.alpha * self.distance()
        free = [(p ** 2).sum() for p in self.free if p.requires_grad]
        if free:
            total = total + 0.5 * self.beta * torch.stack(free).sum()
        return total
