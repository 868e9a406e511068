"""The frozen / trainable split of a Hugging Face text encoder (:class:`FrozenSplit`).

The frozen part is the embeddings and the lower blocks; its output for a row is that row's
token states after them, ``(tokens, hidden)``, stored in float16 without padding (a
256-token review in MiniLM takes 196 kB). The top is the upper blocks plus the encoder's own
pooling, so ``top(collate(encode(x)))`` equals the whole encoder's features of ``x`` up to
float16 rounding of the stored states.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from ..utils.defaults import BATCH_SIZE
from .batching import iter_input_batches
from .split import FrozenSplit

if TYPE_CHECKING:
    from .text import HFTextBackbone

__all__ = ["TextSplit", "TextTop", "pool_tokens"]



def pool_tokens(hidden: torch.Tensor, attention_mask: torch.Tensor, pooling: str = "mean",
                normalize: bool = False) -> torch.Tensor:
    """``(B, T, H)`` token states -> ``(B, H)``: the first token (``"cls"``) or the mean over
    real tokens (``"mean"``), optionally L2-normalised."""
    if pooling == "cls":
        pooled = hidden[:, 0]
    else:
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    if normalize:
        pooled = torch.nn.functional.normalize(pooled, dim=-1)
    return pooled

class TextTop(nn.Module):
    """The top ``blocks`` of a text encoder and its pooling, reading cached token states.

    Shape:
        ``{"hidden": (B, T, H), "attention_mask": (B, T)}`` -> ``(B, H)``.
    """

    def __init__(self, blocks: Sequence[nn.Module], num_features: int, pooling: str,
                 normalize: bool) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.num_features = int(num_features)
        self.pooling = pooling
        self.normalize = bool(normalize)

    def forward_features(self, batch: dict[str, torch.Tensor], layer: int = -1) -> torch.Tensor:
        h, mask = batch["hidden"], batch["attention_mask"]
        # Additive mask, (B, 1, 1, T): what eager and SDPA attention of HF encoders both take.
        ext = (1.0 - mask[:, None, None, :].to(h.dtype)) * torch.finfo(h.dtype).min
        for blk in self.blocks:
            out = blk(h, attention_mask=ext)
            h = out[0] if isinstance(out, tuple) else out
        return pool_tokens(h, mask, self.pooling, self.normalize)


class TextSplit(FrozenSplit):
    """:class:`FrozenSplit` of an :class:`~transferkit.backbones.text.HFTextBackbone`.

    Args:
        backbone: the encoder.
        k: layer groups in the top: ``1`` .. number of blocks (the embeddings group is the
            bottom one, so ``k`` equal to every group leaves nothing to freeze).
    """

    def __init__(self, backbone: HFTextBackbone, k: int) -> None:
        blocks = list(backbone._blocks)
        if not 1 <= k <= len(blocks):
            raise ValueError(f"k must be 1..{len(blocks)}; got {k}")
        self.backbone = backbone
        self.k = int(k)
        self.n_frozen_blocks = len(blocks) - self.k
        self.top = TextTop(blocks[self.n_frozen_blocks:], backbone.num_features,
                           backbone.pooling, backbone.normalize)
        # estimate_nbytes' tokens, kept for the encode that usually follows it:
        # id(inputs) -> (inputs, tokens); the inputs stay referenced so the id is not reused
        self._tokens: dict[int, tuple[Any, Any]] = {}

    @torch.no_grad()
    def encode(self, inputs: Sequence[Any], batch_size: int = BATCH_SIZE) -> list[np.ndarray]:
        bb = self.backbone
        was_training = bb.training
        bb.eval()  # the frozen part never drops out; it also enables the fast forward
        try:
            out: list[np.ndarray | None] = [None] * len(inputs)
            held = self._tokens.pop(id(inputs), None)
            tokens = held[1] if held is not None and held[0] is inputs else None
            for idx, batch in iter_input_batches(bb, inputs, batch_size, encoded=tokens):
                h = self._frozen_forward(batch).to(torch.float16).cpu().numpy()
                lens = batch["attention_mask"].sum(1).cpu().numpy()
                for row, i in enumerate(idx):
                    out[i] = np.ascontiguousarray(h[row, :lens[row]])
        finally:
            bb.train(was_training)
        return out  # type: ignore[return-value]

    def estimate_nbytes(self, inputs: Sequence[Any]) -> int:
        tokens = self.backbone.pretokenize(list(inputs))
        self._tokens[id(inputs)] = inputs, tokens
        return int(tokens.lengths.sum()) * self.top.num_features * 2  # float16

    def _frozen_forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        bb = self.backbone
        fast = bb._fast_forward()
        if fast is not None:
            return fast(batch, self.n_frozen_blocks)
        out = bb.model(**batch, output_hidden_states=True)
        return out.hidden_states[self.n_frozen_blocks]

    def collate(self, states: Sequence[np.ndarray]) -> dict[str, torch.Tensor]:
        lens = np.fromiter((len(s) for s in states), dtype=np.int64, count=len(states))
        width = int(lens.max()) if len(lens) else 0
        hidden = np.zeros((len(states), width, self.top.num_features), dtype=np.float32)
        for i, s in enumerate(states):
            hidden[i, :len(s)] = s
        mask = np.arange(width)[None, :] < lens[:, None]
        return {"hidden": torch.from_numpy(hidden),
                "attention_mask": torch.from_numpy(mask.astype(np.int64))}
