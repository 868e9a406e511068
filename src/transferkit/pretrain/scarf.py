"""``scarf``: contrastive pre-training of a tabular encoder by random feature corruption
(SCARF, Bahri, Jiang, Tay & Metzler 2022, https://arxiv.org/abs/2106.15147).

Each row's corrupted view replaces a random ``corruption`` share of its features by values
drawn from the same columns of other training rows (each column's empirical marginal);
encoder and a new projection head map row and view, and InfoNCE makes each row pick its own
view among the batch's. Only the encoder is kept. Values are corrupted before the backbone
standardises them, so the replacements are real values of their column.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
import torch

from ..exceptions import ConfigError, DataError
from .contrastive import ProjectionHead, check_temperature, info_nce
from .objectives import PretextObjective, register_objective

__all__ = ["SCARF", "corrupt_rows"]


def corrupt_rows(x: torch.Tensor, marginals: torch.Tensor, rate: float,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """SCARF's corruption: in each row, ``round(rate * D)`` features chosen at random (at
    least one) take the value of that column in a random row of ``marginals``.

    Shape:
        ``x``: ``(B, D)``, ``marginals``: ``(M, D)`` -> ``(B, D)``.
    """
    b, d = x.shape
    k = min(d, max(1, int(round(rate * d))))
    # The k smallest of D uniform draws pick k distinct columns per row.
    order = torch.rand(b, d, generator=generator).argsort(dim=1)
    chosen = torch.zeros(b, d, dtype=torch.bool).scatter_(1, order[:, :k], True)
    donors = torch.randint(len(marginals), (b, d), generator=generator)
    drawn = marginals[donors, torch.arange(d).expand(b, d)]
    return torch.where(chosen, drawn.to(x.dtype), x)


@register_objective("scarf", "tabular", "contrastive: each row against a copy with a share of "
                    "its features redrawn from their columns, InfoNCE over the batch")
class SCARF(PretextObjective):
    """Random feature corruption, a projection head, InfoNCE.

    Args:
        backbone: the tabular backbone to pre-train (read for its width and column count).
        corruption: share of each row's features replaced (the paper's default 0.6).
        temperature: the softmax temperature of the cosine similarities (the paper's 1.0).
        projection_dim: output width of the projection head.

    Shape:
        ``forward(backbone, batch)``: ``x`` and ``corrupted`` ``(B, D)`` -> the scalar mean
        InfoNCE loss.
    """

    modality = "tabular"
    default_lr = 1e-3
    default_batch_size = 64
    min_batch = 2

    def __init__(self, backbone: Any, corruption: float = 0.6, temperature: float = 1.0,
                 projection_dim: int = 128) -> None:
        super().__init__()
        if isinstance(corruption, bool) or not isinstance(corruption, int | float) or not (
                0.0 < corruption < 1.0):
            raise ConfigError(f"corruption must be a share in (0, 1) of each row's features; "
                              f"got {corruption!r}. Fix: e.g. corruption=0.6 (the paper's).")
        self.corruption = float(corruption)
        self.temperature = check_temperature(temperature)
        self.columns = int(getattr(backbone, "in_features", 0))
        if self.columns < 2:
            raise DataError(
                f"scarf replaces a share of each row's features, so the table needs at least 2 "
                f"feature columns; got {self.columns}. Fix: add feature columns, or pre-train "
                "nothing (tabular-mlp trains from scratch in fit).")
        width = int(backbone.num_features)
        self.head = ProjectionHead(width, width, projection_dim)
        self.marginals = torch.empty(0, self.columns)

    def fit_data(self, rows: Any) -> None:
        """The training rows are the columns' empirical marginals the corruption draws from."""
        self.marginals = torch.as_tensor(np.asarray(rows, dtype=np.float32))

    def collate(self, rows: Any, held_out: bool = False) -> dict[str, torch.Tensor]:
        x = torch.as_tensor(np.asarray(rows, dtype=np.float32))
        gen = None
        if held_out:  # the same corrupted view of a held-out batch every epoch
            gen = torch.Generator().manual_seed(zlib.crc32(x.numpy().tobytes()))
        return {"x": x, "corrupted": corrupt_rows(x, self.marginals, self.corruption, gen)}

    def forward(self, backbone: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        both = backbone.forward_features({"x": torch.cat([batch["x"], batch["corrupted"]])})
        anchor, view = self.head(both).chunk(2)
        return info_nce(anchor, view, self.temperature)

    def encode_inputs(self, backbone: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return backbone.forward_features({"x": batch["x"]})

    def tokens(self, batch: dict[str, torch.Tensor]) -> int:
        return 0

    def settings(self) -> dict[str, Any]:
        return {"corruption": self.corruption, "temperature": self.temperature,
                "projection_dim": self.head.net[-1].out_features,
                "head": "new projection MLP, discarded"}
