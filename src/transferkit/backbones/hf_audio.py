"""Hugging Face speech encoders that read raw waveforms (wav2vec 2.0, HuBERT, WavLM... —
models whose main input is ``input_values``), through ``AutoModel`` + ``AutoFeatureExtractor``.

``hf:<folder>`` builds one when the folder's model is such an encoder. Clips are resampled to
the feature extractor's ``sampling_rate`` (16 kHz for these families), cropped or padded as
every audio backbone (:mod:`.audio`), normalised by the feature extractor, and encoded; the
features are the mean of the chosen hidden layer over the clip's own frames (padding left
out through the attention mask where the model takes one, and always from the pooling). A
model without an attention mask (the wav2vec 2.0 base layout, group norm over time) would see
a shorter clip's padding, so at inference it encodes each clip alone: a clip's features never
depend on its batch.

``layer`` is the hidden state: ``0`` the input of the first transformer block (after the
convolutional feature encoder and projection), ``k`` the output of block ``k``, ``-1`` the
last. Layer groups, input to output: ``feature_encoder`` (convolutions, projection,
positional convolution, the model's final layer norm), then each transformer block: freezing
by depth, layer-wise learning rates and LoRA (on the blocks' linear layers) work as for text.
Models whose main input is a spectrogram (``input_features``: Whisper, Speech2Text) are not
handled here.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np
import torch
from torch import nn

from ..exceptions import BackboneError
from .audio import AudioBackbone
from .hf_utils import HF_LOAD_ERRORS, quiet_hf_loading, reinit_hf_model, unsafe_weights_hint

__all__ = ["HFAudioBackbone"]

log = logging.getLogger(__name__)


def _blocks(model: nn.Module) -> nn.ModuleList:
    lists = [m for m in model.modules() if isinstance(m, nn.ModuleList) and len(m) and
             all(type(b) is type(m[0]) for b in m)]
    if not lists:
        raise BackboneError(f"Cannot find the transformer blocks of {type(model).__name__}.")
    return max(lists, key=lambda m: sum(p.numel() for p in m.parameters()))


class _Params(nn.Module):
    """Holds parameters that live in other modules (the same tensors), as one layer group."""

    def __init__(self, params: list[nn.Parameter]) -> None:
        super().__init__()
        self.params = nn.ParameterList(params)


class HFAudioBackbone(AudioBackbone):
    """A waveform speech encoder loaded with transformers (module docstring).

    Args:
        path: a local folder (or, with network access, a hub id) with config, weights and
            ``preprocessor_config.json``.
        name: the name shown in records.
        local_files_only: never touch the network (set for local folders).
        license: licence of the weights, for records.
        max_seconds: longer clips keep their middle ``max_seconds``.
    """

    min_input_rate = 8_000

    def __init__(self, path: str | os.PathLike, name: str | None = None,
                 local_files_only: bool = False, license: str = "",
                 max_seconds: float = 30.0) -> None:
        from transformers import AutoFeatureExtractor, AutoModel

        try:
            with quiet_hf_loading():
                model = AutoModel.from_pretrained(str(path), local_files_only=local_files_only)
                extractor = AutoFeatureExtractor.from_pretrained(
                    str(path), local_files_only=local_files_only)
        except HF_LOAD_ERRORS as e:
            reason = unsafe_weights_hint(e) or f"{str(e)[:300]}. "
            raise BackboneError(
                f"Could not load a Hugging Face audio model from {str(path)!r}: {reason}"
                "Expected a folder with config.json, the weights and preprocessor_config.json, "
                "as written by model.save_pretrained(folder) and "
                "feature_extractor.save_pretrained(folder).") from None
        rate = int(getattr(extractor, "sampling_rate", 16_000))
        self.sample_rate = rate
        # the convolutional front end's receptive field: 400 samples for wav2vec 2.0
        self.min_samples = int(getattr(model.config, "conv_kernel", [10])[0]) * 40
        model.eval()
        hidden = int(model.config.hidden_size)
        super().__init__(name or str(path), hidden,
                         {"path": str(path), "sample_rate": rate,
                          "model_type": model.config.model_type,
                          "normalize": bool(getattr(extractor, "do_normalize", False))},
                         max_seconds=max_seconds)
        self.model = model
        self.extractor = extractor
        self.blocks = _blocks(model)
        self.takes_mask = bool(getattr(extractor, "return_attention_mask", False))
        self.license = license
        self.source = f"transformers {type(model).__name__} from {str(path)!r}"

    @property
    def num_feature_layers(self) -> int:
        return len(self.blocks) + 1

    def preprocess(self, inputs: Any) -> dict[str, torch.Tensor]:
        clips = [self.conform(w) for w in inputs]
        enc = self.extractor(clips, sampling_rate=self.sample_rate, return_tensors="pt",
                             padding=True, return_attention_mask=True)
        return {"input_values": enc["input_values"].float(),
                "lengths": torch.tensor([len(c) for c in clips], dtype=torch.long)}

    def forward_features(self, batch: dict[str, torch.Tensor], layer: int = -1) -> torch.Tensor:
        layer = self.check_layer(layer)
        x, lengths = batch["input_values"], batch["lengths"]
        if not self.takes_mask and not self.training and bool((lengths != lengths[0]).any()):
            # No attention mask (wav2vec 2.0 base layout: group norm over time): padding would
            # change every shorter clip, so at inference each clip is encoded alone.
            return torch.cat([self.forward_features({"input_values": x[i:i + 1, :n],
                                                     "lengths": lengths[i:i + 1]}, layer)
                              for i, n in enumerate(lengths.tolist())])
        mask = (torch.arange(x.shape[1], device=x.device)[None] < lengths[:, None]).long()
        kwargs: dict[str, Any] = {"attention_mask": mask} if self.takes_mask else {}
        out = self.model(x, output_hidden_states=layer != -1, **kwargs)
        h = out.last_hidden_state if layer == -1 else out.hidden_states[layer]
        frames = self.model._get_feat_extract_output_lengths(lengths).clamp(1, h.shape[1])
        keep = (torch.arange(h.shape[1], device=h.device)[None] < frames[:, None]).to(h.dtype)
        return (h * keep[..., None]).sum(1) / keep.sum(1, keepdim=True)

    def layer_groups(self) -> list[tuple[str, nn.Module]]:
        in_blocks = {id(p) for p in self.blocks.parameters()}
        stem = _Params([p for p in self.model.parameters() if id(p) not in in_blocks])
        return [("feature_encoder", stem), *((f"block{i}", b) for i, b in enumerate(self.blocks))]

    def reinitialize(self, seed: int = 0) -> HFAudioBackbone:
        torch.manual_seed(seed)
        reinit_hf_model(self.model)
        self.source = f"random init (seed {seed})"
        self.rebuildable = False
        return self

    def input_lengths(self, inputs: Any) -> np.ndarray:
        return np.array([len(w) for w in inputs], dtype=np.int64)
