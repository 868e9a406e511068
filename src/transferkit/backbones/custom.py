"""Use any torch module as a backbone: ``register_module(...)`` or ``TorchBackbone(...)``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..exceptions import BackboneError
from .base import Backbone
from .registry import register_backbone

__all__ = ["TorchBackbone", "register_module"]


def _default_preprocess(inputs: Any) -> dict[str, torch.Tensor]:
    x = inputs if isinstance(inputs, np.ndarray) else np.stack([np.asarray(i) for i in inputs])
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / 255.0
    return {"x": torch.as_tensor(np.asarray(x, dtype=np.float32))}


class TorchBackbone(Backbone):
    """Wrap ``module`` (input tensor ``x`` -> ``(B, F)`` features) as a backbone.

    Args:
        module: the encoder; called as ``module(x)``.
        modality: what it encodes.
        num_features: its output size.
        preprocess: raw batch -> ``{"x": tensor}``; default stacks arrays (uint8 scaled to [0, 1]).
        groups: names of child modules ordered input→output; default: its direct children.
        name: the name shown in records.
    """

    def __init__(
        self,
        module: nn.Module,
        modality: str,
        num_features: int,
        preprocess: Callable[[Any], dict[str, torch.Tensor]] | None = None,
        groups: Sequence[str] | None = None,
        name: str = "custom",
    ) -> None:
        config = {"kind": "torch-module", "class": type(module).__name__}
        super().__init__(name, num_features, config)
        self.modality = modality
        self.module = module
        self._preprocess = preprocess or _default_preprocess
        children = dict(module.named_children())
        names = list(groups) if groups is not None else list(children)
        missing = [n for n in names if n not in children]
        if missing:
            raise BackboneError(
                f"Layer groups {missing} are not children of {type(module).__name__}; "
                f"its children are {list(children)}."
            )
        self._groups = names or ["module"]

    def preprocess(self, inputs: Any) -> dict[str, torch.Tensor]:
        return self._preprocess(inputs)

    def forward_features(self, batch: dict[str, torch.Tensor], layer: int = -1) -> torch.Tensor:
        out = self.module(batch["x"])
        return out.flatten(1)

    def layer_groups(self) -> list[tuple[str, nn.Module]]:
        if self._groups == ["module"]:
            return [("module", self.module)]
        children = dict(self.module.named_children())
        return [(n, children[n]) for n in self._groups]


def register_module(
    name: str,
    factory: Callable[..., nn.Module],
    modality: str,
    num_features: int,
    preprocess: Callable[[Any], dict[str, torch.Tensor]] | None = None,
    groups: Sequence[str] | None = None,
    **info: Any,
) -> None:
    """Register ``factory`` (returning an ``nn.Module``) as backbone ``name``.

    Example:
        >>> register_module("my-cnn", lambda **kw: MyCNN(), modality="image", num_features=128)
    """

    @register_backbone(name, modality=modality, num_features=num_features, **info)
    def _make(**kw: Any) -> TorchBackbone:
        kw.pop("seed", None)
        return TorchBackbone(factory(**kw), modality, num_features, preprocess, groups, name)
