"""Optimiser parameter groups with discriminative and layer-wise learning rates.

The head trains at ``lr``. Backbone layer group ``g`` at depth ``d`` from the top (the group
nearest the output has ``d = 0``) trains at ``lr * backbone_lr_mult * layer_decay ** d``
(Howard & Ruder 2018; layer-wise decay as in ELECTRA / BEiT fine-tuning). Biases and
normalisation weights (1-D tensors) get no weight decay.
"""

from __future__ import annotations

from typing import Any

from torch import nn

__all__ = ["build_param_groups", "lrs_by_group"]


def _split_decay(params: list[nn.Parameter]) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
    decay = [p for p in params if p.ndim > 1]
    no_decay = [p for p in params if p.ndim <= 1]
    return decay, no_decay


def _entries(name: str, params: list[nn.Parameter], lr: float, weight_decay: float
             ) -> list[dict[str, Any]]:
    decay, no_decay = _split_decay(params)
    out = []
    if decay:
        out.append({"name": name, "params": decay, "lr": lr, "base_lr": lr,
                    "weight_decay": weight_decay})
    if no_decay:
        out.append({"name": name, "params": no_decay, "lr": lr, "base_lr": lr,
                    "weight_decay": 0.0})
    return out


def build_param_groups(
    backbone_params: dict[str, list[nn.Parameter]],
    order: list[str],
    head: nn.Module | None,
    lr: float,
    backbone_lr_mult: float = 0.1,
    layer_decay: float = 1.0,
    weight_decay: float = 0.01,
    head_weight_decay: float | None = None,
) -> list[dict[str, Any]]:
    """Optimiser groups: one (or two, decay / no decay) per backbone layer group, plus the head.

    Args:
        backbone_params: trainable-candidate parameters per layer-group name.
        order: every layer-group name, input to output (sets each group's depth).
        head: the classification head (trained at ``lr``), or ``None``.
        lr: the head's learning rate.
        backbone_lr_mult: backbone learning rate as a fraction of ``lr``.
        layer_decay: factor per group going down from the top group.
        weight_decay: decoupled (AdamW) weight decay for backbone matrices.
        head_weight_decay: the head's weight decay (default: ``weight_decay``).

    Returns:
        Dicts with ``name``, ``params``, ``lr``, ``base_lr`` and ``weight_decay``; groups with
        no parameters are left out. The head group comes first.
    """
    groups: list[dict[str, Any]] = []
    if head is not None:
        hwd = weight_decay if head_weight_decay is None else head_weight_decay
        groups += _entries("head", [p for p in head.parameters()], lr, hwd)
    top = len(order) - 1
    for depth_from_input, name in enumerate(order):
        params = backbone_params.get(name)
        if not params:
            continue
        depth = top - depth_from_input
        glr = lr * backbone_lr_mult * layer_decay ** depth
        groups += _entries(name, params, glr, weight_decay)
    return groups


def lrs_by_group(param_groups: list[dict[str, Any]], key: str = "lr") -> dict[str, float]:
    """``{group name: learning rate}`` (decay and no-decay halves share a name and a rate)."""
    out: dict[str, float] = {}
    for g in param_groups:
        out.setdefault(g.get("name", f"group{len(out)}"), float(g[key]))
    return out
