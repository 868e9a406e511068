"""The backbone contract: what every pre-trained encoder offers to the rest of transferkit.

A backbone turns a batch of raw inputs into feature vectors. Besides that it declares its
modality, its feature size, its named layer groups from input to output (freezing and
layer-wise learning rates work on these), a frozen preprocessing config, and a fingerprint
of its weights for the feature cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..exceptions import BackboneError
from ..utils.defaults import BATCH_SIZE
from ..utils.fingerprint import hash_json, hash_state_dict
from ..utils.memory import release_free_memory
from .batching import iter_batches

__all__ = ["Backbone", "ENCODE_BLOCK"]

#: inputs tokenised and encoded together by :meth:`Backbone.features`: all token ids of a
#: million texts would otherwise be held at once (sorting by length within a block of this
#: size pads about as little as sorting everything)
ENCODE_BLOCK = 65_536


class Backbone(nn.Module):
    """Base class of all backbones.

    Subclasses implement :meth:`preprocess`, :meth:`forward_features` and
    :meth:`layer_groups`, and set the attributes below in ``__init__``.

    Attributes:
        name: the registry name (or spec) the backbone was created from.
        modality: ``"text"``, ``"image"``, ``"tabular"`` or ``"audio"``.
        num_features: size of the vector :meth:`forward_features` returns.
        preprocess_config: a plain dict (image size, mean/std, tokenizer and max length...).
        license: licence of the weights.
        source: where the weights came from (package, folder, random init).
    """

    modality: str = "text"
    license: str = ""
    source: str = ""
    #: whether ``create_backbone(spec, **init_kwargs)`` rebuilds exactly these weights; when not
    #: (random init, data-dependent buffers) a saved run stores the weights themselves
    rebuildable: bool = True
    #: where these weights came from, oldest first: ``[{"step": "base", "backbone": ...},
    #: {"step": "pretrained", "objective": ..., "data": ...}, ...]``; empty for a backbone as
    #: published (a ``run:`` encoder from ``transferkit pretrain`` sets it)
    lineage: list[dict[str, Any]] | tuple = ()
    #: the spec this backbone was pre-trained from (``run:`` encoders), else ``None``
    parent: str | None = None

    def __init__(self, name: str, num_features: int, preprocess_config: dict | None = None):
        super().__init__()
        self.name = name
        self.num_features = int(num_features)
        self.preprocess_config = dict(preprocess_config or {})
        self.init_kwargs: dict[str, Any] = {}

    # --- to implement -------------------------------------------------------------------------
    def preprocess(self, inputs: Sequence[Any]) -> dict[str, torch.Tensor]:
        """Turn a batch of raw inputs into CPU tensors for :meth:`forward_features`."""
        raise NotImplementedError

    def forward_features(self, batch: dict[str, torch.Tensor], layer: int = -1) -> torch.Tensor:
        """Features of shape ``(B, F)``; ``layer`` picks an intermediate output (see
        :attr:`num_feature_layers`); ``-1`` is the final one, of size ``num_features``."""
        raise NotImplementedError

    def layer_groups(self) -> list[tuple[str, nn.Module]]:
        """Named parameter groups ordered from input to output (e.g. embeddings, block 0, ...)."""
        raise NotImplementedError

    # --- optional -----------------------------------------------------------------------------
    @property
    def num_feature_layers(self) -> int:
        """How many values ``layer`` can take in :meth:`forward_features` (``-1`` always works)."""
        return 1

    def input_lengths(self, inputs: Sequence[Any]) -> np.ndarray | None:
        """Per-input lengths for length-sorted batching (text); ``None`` when not meaningful."""
        return None

    #: a fitted transferkit model whose classes are this backbone's source task (``run:``
    #: backbones); its ``predict_proba`` gives the source-class probabilities
    source_model: Any = None

    @property
    def has_source_head(self) -> bool:
        """Whether source-class scores exist: :meth:`source_logits` or a ``source_model``."""
        return self.source_model is not None

    @property
    def source_classes(self) -> list[str]:
        if self.source_model is not None:
            return [str(c) for c in self.source_model.classes_]
        return []

    def source_logits(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Logits over the source (pre-training) classes, for LEEP and NCE."""
        raise BackboneError(
            f"Backbone {self.name!r} has no source-task head, so source-class scores (needed by "
            "LEEP and NCE) do not exist for it. Use LogME, H-score or kNN instead, or a backbone "
            "with a classifier head such as 'efficientnet-lite0'."
        )

    def split_top(self, k: int) -> Any:
        """A :class:`~transferkit.backbones.split.FrozenSplit` below the top ``k`` layer groups,
        so that training those groups reuses the frozen part's output; ``None`` (the default)
        when this backbone cannot hand that output over, or ``k`` leaves nothing frozen."""
        return None

    def reinitialize(self, seed: int = 0) -> Backbone:
        """Replace every weight by a fresh random initialisation (for from-scratch baselines)."""
        torch.manual_seed(seed)
        for m in self.modules():
            if m is not self and hasattr(m, "reset_parameters"):
                m.reset_parameters()
        self.source = f"random init (seed {seed})"
        self.rebuildable = False
        return self

    # --- shared behaviour ---------------------------------------------------------------------
    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.forward_features(batch)

    @property
    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    @property
    def device(self) -> torch.device:
        try:
            return next(self.parameters()).device
        except StopIteration:
            return torch.device("cpu")

    def check_layer(self, layer: int) -> int:
        n = self.num_feature_layers
        if not isinstance(layer, int | np.integer) or not -n <= layer < n:
            raise BackboneError(
                f"Backbone {self.name!r} has {n} feature layers (0..{n - 1}, or -1 for the last); "
                f"got layer={layer!r}."
            )
        return int(layer) % n if layer != -1 else -1

    def fingerprint(self, with_location: bool = False) -> str:
        """Hash of the architecture name, preprocessing, current weights and any other file the
        features depend on (:meth:`files_fingerprint`: a tokenizer's vocabulary).

        Where the files were loaded from (``preprocess_config["path"]``) is not part of it: the
        same weights installed in another environment give the same fingerprint, so features
        cached and runs saved there are recognised here. ``with_location=True`` gives the
        fingerprint as run folders saved before 2026-12 stored it (the path in, no files).
        """
        weights = self._weights_hash()
        if with_location:
            return hash_json([type(self).__name__, self.preprocess_config, weights])
        config = {k: v for k, v in self.preprocess_config.items() if k != "path"}
        return hash_json([type(self).__name__, config, weights, self.files_fingerprint()])

    def _weights_hash(self) -> str:
        """:func:`hash_state_dict` of the current weights, recomputed only when one changed.

        Hashing MiniLM's 90 MB of weights takes 0.2-0.3 s, and every cached feature lookup
        asks for the fingerprint. A tensor changed in place (an optimiser step, ``copy_``,
        ``load_state_dict``) bumps its version counter, and a replaced one has another
        identity, so the hash is reused while every tensor has the same identity and version.
        (Writing through a NumPy view of a weight bypasses the counter: call
        ``backbone.__dict__.pop("_weights_memo", None)`` after doing that.)
        """
        state = self.state_dict(keep_vars=True)
        try:
            stamp = tuple((k, id(t), t._version, t.data_ptr()) for k, t in state.items())
        except RuntimeError:  # an inference-mode tensor keeps no version counter
            return hash_state_dict(state)
        memo = self.__dict__.get("_weights_memo")
        if memo is not None and memo[0] == stamp:
            return memo[1]
        digest = hash_state_dict(state)
        self.__dict__["_weights_memo"] = (stamp, digest)
        return digest

    def files_fingerprint(self) -> str:
        """What the features depend on beyond weights and preprocessing settings (none here)."""
        return ""

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "modality": self.modality,
            "num_features": self.num_features,
            "num_params": self.num_params,
            "feature_layers": self.num_feature_layers,
            "layer_groups": [n for n, _ in self.layer_groups()],
            "license": self.license,
            "source": self.source,
            "source_head": self.has_source_head,
            **({"parent": self.parent, "lineage": list(self.lineage)} if self.lineage else {}),
        }

    @torch.inference_mode()
    def features(
        self,
        inputs: Sequence[Any],
        layer: int = -1,
        batch_size: int = BATCH_SIZE,
        progress: bool = False,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Encode ``inputs`` in batches; returns ``(N, F)`` float32 in input order.

        Text is sorted by length so each batch pads to its own longest input, then the
        original order is restored. ``out`` may be a preallocated (memory-mapped) array.
        Inputs are taken :data:`ENCODE_BLOCK` at a time (each block tokenised, sorted and
        encoded on its own), so that memory beyond ``out`` stays bounded on large inputs.
        """

        layer = self.check_layer(layer)
        was_training = self.training
        self.eval()
        try:
            result = out
            n = len(inputs)
            for start in range(0, n, ENCODE_BLOCK):
                block = inputs if n <= ENCODE_BLOCK else inputs[start : start + ENCODE_BLOCK]
                for idx, feats in iter_batches(self, block, layer, batch_size, progress):
                    if result is None:
                        result = np.empty((n, feats.shape[1]), dtype=np.float32)
                    result[start + idx] = feats
                    release_free_memory()  # else RSS grows with every new batch shape
            if result is None:
                result = np.empty((0, self.num_features), dtype=np.float32)
            return result
        finally:
            self.train(was_training)
