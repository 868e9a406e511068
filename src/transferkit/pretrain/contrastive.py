"""What the contrastive objectives of images and tables share: a projection head and the loss.

Both :mod:`.simclr` and :mod:`.scarf` encode two views of each row, map the features through
a small MLP (the projection head, thrown away afterwards: Chen et al. 2020 found the features
*before* it transfer better) and pull each row's two views together against the other rows of
the batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..exceptions import ConfigError

__all__ = ["ProjectionHead", "nt_xent", "info_nce", "check_temperature"]


def check_temperature(value: float) -> float:
    """``value`` as a float > 0, else a one-line error."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigError(f"temperature must be a number > 0 (the softmax temperature of the "
                          f"cosine similarities); got {value!r}. Fix: e.g. temperature=0.5.")
    return float(value)


class ProjectionHead(nn.Module):
    """``Linear -> ReLU -> Linear``: SimCLR's non-linear projection head (no BatchNorm, so the
    held-out loss in eval mode sees the same head as training).

    Shape:
        ``(N, in_features)`` -> ``(N, out_features)``.
    """

    def __init__(self, in_features: int, hidden: int, out_features: int) -> None:
        super().__init__()
        for name, v in (("projection_hidden", hidden), ("projection_dim", out_features)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"{name} must be an int >= 1; got {v!r}.")
        self.net = nn.Sequential(nn.Linear(int(in_features), int(hidden)), nn.ReLU(),
                                 nn.Linear(int(hidden), int(out_features)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def nt_xent(z: torch.Tensor, temperature: float) -> torch.Tensor:
    """SimCLR's NT-Xent loss (Chen et al. 2020, https://arxiv.org/abs/2002.05709).

    Rows ``i`` and ``i + B`` of ``z`` are the two views of one image; each view must pick its
    partner among the other ``2B - 1`` views by cosine similarity / ``temperature``.

    Shape:
        ``z``: ``(2B, D)``, ``B >= 1`` -> the scalar mean over the ``2B`` views.
    """
    z = F.normalize(z.float(), dim=-1)
    n = z.shape[0] // 2
    scores = z @ z.T / temperature
    scores.fill_diagonal_(float("-inf"))  # a view is never its own partner
    partner = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return F.cross_entropy(scores, partner)


def info_nce(anchor: torch.Tensor, positive: torch.Tensor, temperature: float) -> torch.Tensor:
    """InfoNCE as SCARF uses it (Bahri et al. 2022, https://arxiv.org/abs/2106.15147): each
    anchor must pick its own positive among the batch's positives (cosine / ``temperature``).

    Shape:
        ``anchor``, ``positive``: ``(B, D)`` -> the scalar mean over the ``B`` anchors.
    """
    a = F.normalize(anchor.float(), dim=-1)
    p = F.normalize(positive.float(), dim=-1)
    scores = a @ p.T / temperature
    return F.cross_entropy(scores, torch.arange(len(a), device=scores.device))
