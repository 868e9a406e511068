"""What the text objectives share: the encoder's tokenizer, token states and tied embeddings."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..exceptions import ConfigError
from .objectives import PretextObjective

__all__ = ["TextObjective"]


class TextObjective(PretextObjective):
    """A pretext objective over a Hugging Face text encoder (``backbone.model``).

    Args:
        backbone: the text backbone that will be pre-trained (read for its sizes only; the
            objective never stores it, so that its weights are not registered twice).
        max_length: longest input in tokens during pre-training (shorter than the backbone's
            own limit keeps CPU steps cheap).
    """

    modality = "text"

    def __init__(self, backbone: Any, max_length: int = 128) -> None:
        super().__init__()
        model = getattr(backbone, "model", None)
        tokenizer = getattr(backbone, "tokenizer", None)
        if model is None or tokenizer is None or not hasattr(model, "get_input_embeddings"):
            raise ConfigError(
                f"Text pre-training needs a Hugging Face encoder with a tokenizer; "
                f"{getattr(backbone, 'name', backbone)!r} is a {type(backbone).__name__}. Fix: "
                "use 'minilm-l6' or 'hf:<text model>' as the backbone.")
        if not isinstance(max_length, int) or max_length < 8:
            raise ConfigError(f"max_length must be an int >= 8 tokens; got {max_length!r}.")
        self.tokenizer = tokenizer
        self.max_length = min(int(max_length), int(getattr(backbone, "max_length", max_length)))
        cfg = model.config
        self.hidden = int(cfg.hidden_size)
        self.vocab_size = int(model.get_input_embeddings().weight.shape[0])
        self.special_ids = torch.tensor(sorted(set(tokenizer.all_special_ids)), dtype=torch.long)

    @staticmethod
    def token_states(backbone: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """``(B, T, H)`` last hidden states of the encoder (the Hugging Face forward)."""
        return backbone.model(input_ids=batch["input_ids"],
                              attention_mask=batch["attention_mask"]).last_hidden_state

    @staticmethod
    def output_embeddings(backbone: Any) -> nn.Parameter:
        """The input embedding matrix ``(V, H)``: the output projections are tied to it."""
        return backbone.model.get_input_embeddings().weight

    def special_mask(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """True for padding and special tokens ([CLS], [SEP], ...)."""
        return torch.isin(input_ids, self.special_ids) | (attention_mask == 0)

    def settings(self) -> dict[str, Any]:
        return {"max_length": self.max_length}
