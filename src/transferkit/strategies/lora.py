"""LoRA: low-rank adapters (Hu et al. 2021, https://arxiv.org/abs/2106.09685) through ``peft``.

Adapters of rank ``lora_r`` (scaling ``alpha = 2 r``) are injected into the attention query
and value projections of transformer backbones (peft's defaults per architecture), or into
every linear / convolution layer of other backbones, within the layer groups ``unfreeze``
selects (default: all). Only the adapters and the head train, at ``lr`` (adapters are new
weights, so ``backbone_lr_mult`` defaults to 1.0).

The adapters live in a copy of the backbone's module tree that *shares* the pre-trained
tensors, so the estimator's backbone stays the pre-trained one: a saved run holds only
``adapter.safetensors`` and ``head.safetensors``, and loading rebuilds the backbone from its
spec and puts the adapters back on it.
"""

from __future__ import annotations

import copy
import itertools
import re
from pathlib import Path
from typing import Any

from torch import nn

from ..engine import plan_freezing
from ..exceptions import BackboneError, ConfigError
from ..utils.params import Param, Params
from .base import FitContext, register_strategy
from .finetune import FineTuneStrategy

LORA_R = Param("lora_r", "rank of the LoRA adapters (alpha = 2 r)", 8, "int", low=1)

__all__ = ["LoRAStrategy", "lora_targets", "shared_copy"]

_LORA_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def shared_copy(module: nn.Module) -> nn.Module:
    """A copy of ``module``'s tree of sub-modules that shares its parameters and buffers."""
    tensors = itertools.chain(module.parameters(), module.buffers())
    memo: dict[int, Any] = {id(t): t for t in tensors}
    tok = getattr(module, "tokenizer", None)
    if tok is not None:
        memo[id(tok)] = tok
    fast = getattr(module, "_fast", None)
    if fast is not None:  # a cached inference-only forward of the original weights: not copied
        memo[id(fast)] = None
    return copy.deepcopy(module, memo)


def _peft_defaults(backbone: nn.Module) -> list[str] | None:
    config = getattr(getattr(backbone, "model", None), "config", None)
    model_type = getattr(config, "model_type", None)
    if model_type is None:
        return None
    try:
        from peft.utils.constants import (
            TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as mapping,
        )
    except ImportError:  # pragma: no cover - older peft
        return None
    return mapping.get(model_type)


def lora_targets(backbone: nn.Module, groups: list[str]) -> list[str]:
    """Full names (relative to ``backbone``) of the layers that get adapters."""
    suffixes = _peft_defaults(backbone)
    names = {id(m): n for n, m in backbone.named_modules()}
    chosen = set(groups)
    out: list[str] = []
    for gname, gmod in backbone.layer_groups():
        if gname not in chosen:
            continue
        base = names[id(gmod)]
        for sub, m in gmod.named_modules():
            full = f"{base}.{sub}".strip(".") if sub else base
            if not isinstance(m, _LORA_LAYERS):
                continue
            if suffixes is not None and full.split(".")[-1] not in suffixes:
                continue
            out.append(full)
    return out


def _inject(backbone: nn.Module, targets: list[str], r: int, alpha: float, dropout: float
            ) -> nn.Module:
    try:
        from peft import LoraConfig, inject_adapter_in_model
    except ImportError:
        raise ConfigError(
            "strategy='lora' needs the 'peft' package: pip install 'transferkit[lora]'."
        ) from None
    adapted = shared_copy(backbone)
    pattern = "^(?:" + "|".join(re.escape(t) for t in targets) + ")$"
    cfg = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=pattern,
                     bias="none")
    inject_adapter_in_model(cfg, adapted)
    if hasattr(adapted, "fast_inference"):
        # The text backbone's inference-only forward reads the base weights and would skip
        # the adapters.
        adapted.fast_inference = False
    return adapted


def adapter_state(module: nn.Module) -> dict[str, Any]:
    return {n: p.detach().cpu().contiguous() for n, p in module.named_parameters() if "lora_" in n}


@register_strategy("lora", description="low-rank adapters (peft) + head; saves only adapter + head")
class LoRAStrategy(FineTuneStrategy):
    """Train LoRA adapters and a head; the pre-trained weights never change."""

    name = "lora"
    trains_backbone = False
    PARAMS = Params(FineTuneStrategy.PARAMS.with_defaults(backbone_lr_mult=1.0), LORA_R)
    dropout = 0.05

    def prepare_backbone(self, ctx: FitContext) -> Any:
        base = ctx.backbone
        plan = plan_freezing(base, self.settings.unfreeze, None)
        targets = lora_targets(base, plan.groups)
        if not targets:
            raise BackboneError(
                f"LoRA found no linear or convolution layer in the layer groups {plan.groups} of "
                f"backbone {base.name!r}; adapters need one. Use strategy='finetune' instead."
            )
        r = int(self.settings.lora_r)
        self.lora_config_ = {"r": r, "alpha": 2 * r, "dropout": self.dropout, "targets": targets}
        self.adapted_ = _inject(base, targets, r, 2 * r, self.dropout)
        return self.adapted_

    def param_filter(self) -> Any:
        return _is_adapter

    def fit(self, ctx: FitContext) -> LoRAStrategy:
        super().fit(ctx)
        self.summary["lora"] = {k: v for k, v in self.lora_config_.items() if k != "targets"}
        self.summary["lora"]["layers"] = len(self.lora_config_["targets"])
        return self

    def _predict_module(self, backbone: Any) -> nn.Module:
        return super()._predict_module(self.adapted_)

    def save(self, folder: Path) -> dict[str, Any]:
        from safetensors.torch import save_file

        cfg = super().save(folder)
        save_file(adapter_state(self.adapted_), str(folder / "adapter.safetensors"))
        cfg["lora"] = dict(self.lora_config_)
        return cfg

    @classmethod
    def load(cls, folder: Path, config: dict[str, Any], backbone: Any) -> LoRAStrategy:
        from safetensors.torch import load_file

        self = super().load(folder, config, backbone)
        lc = config["lora"]
        self.lora_config_ = dict(lc)
        self.adapted_ = _inject(backbone, list(lc["targets"]), int(lc["r"]), lc["alpha"],
                                lc["dropout"])
        state = load_file(str(folder / "adapter.safetensors"))
        missing = set(adapter_state(self.adapted_)) - set(state)
        result = self.adapted_.load_state_dict(state, strict=False)
        if missing or result.unexpected_keys:
            raise BackboneError(
                f"The adapter in {str(folder)!r} does not fit backbone {backbone.name!r} "
                f"({len(missing)} adapter weights missing, {len(result.unexpected_keys)} unknown)."
            )
        self.adapted_.eval()
        return self


def _is_adapter(name: str) -> bool:
    return "lora_" in name
