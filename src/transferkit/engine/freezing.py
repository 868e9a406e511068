"""Freezing by the backbone's named layer groups, gradual unfreezing, and the BatchNorm policy.

* ``unfreeze=K`` trains the top ``K`` layer groups (plus the head), ``"all"`` trains every
  group, and a list of group names trains exactly those groups.
* ``freeze_pattern`` (a regular expression, matched with ``re.search`` against parameter
  names such as ``model.encoder.layer.0.attention.self.query.weight``) additionally freezes
  the parameters it matches.
* Parameters outside every layer group (a transformer's unused pooler, for instance) are
  never trained: they receive no gradient and would stall multi-process training.
* BatchNorm policy: a BatchNorm layer whose parameters are all frozen stays in eval mode
  while the rest of the model trains, so its running statistics do not move.
* ``schedule="gradual"`` (ULMFiT, Howard & Ruder 2018, https://arxiv.org/abs/1801.06146):
  epoch 0 trains the head only, each later epoch unfreezes one more group from the top.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..exceptions import ConfigError

__all__ = [
    "FreezePlan",
    "Freezer",
    "SCHEDULES",
    "parse_unfreeze",
    "plan_freezing",
    "set_train_mode",
    "norm_is_frozen",
    "count_params",
]

SCHEDULES = ("none", "gradual")


def parse_unfreeze(value: Any) -> int | str | list[str]:
    """Normalise ``unfreeze``: an int ``K``, ``"all"``, or a list of group names.

    Strings holding a number (``"2"``, from the command line) become ints; ``"a,b"`` becomes
    ``["a", "b"]``.
    """
    if value is None:
        return "all"
    if isinstance(value, bool):
        raise ConfigError(f"unfreeze must be an int, 'all' or layer-group names; got {value!r}.")
    if isinstance(value, int):
        if value < 0:
            raise ConfigError(
                f"unfreeze must be >= 0 (0 trains the head only); got {value}. Use an int, "
                "'all', or layer-group names."
            )
        return value
    if isinstance(value, str):
        v = value.strip()
        if v.lower() == "all":
            return "all"
        if v.lstrip("-").isdigit():
            return parse_unfreeze(int(v))
        names = [s.strip() for s in v.split(",") if s.strip()]
        if not names:
            raise ConfigError(f"unfreeze={value!r} names no layer group.")
        return names
    if isinstance(value, Sequence):
        return [str(s) for s in value]
    raise ConfigError(
        f"unfreeze must be an int, 'all' or layer-group names; got {type(value).__name__}."
    )


@dataclass
class FreezePlan:
    """Which layer groups may train, and which parameters stay frozen regardless.

    Attributes:
        all_groups: every layer-group name, input to output.
        groups: the groups chosen for training, input to output.
        pattern_frozen: parameter names frozen by ``freeze_pattern``.
    """

    all_groups: list[str]
    groups: list[str]
    pattern_frozen: set[str] = field(default_factory=set)

    def describe(self) -> dict[str, Any]:
        return {
            "layer_groups": list(self.all_groups),
            "trainable_groups": list(self.groups),
            "frozen_groups": [g for g in self.all_groups if g not in self.groups],
            "pattern_frozen_params": len(self.pattern_frozen),
        }


def _groups_listing(backbone: nn.Module, names: list[str]) -> str:
    return f"Backbone {getattr(backbone, 'name', type(backbone).__name__)!r} has {len(names)} " \
           f"layer groups (input to output): {names}."


def plan_freezing(backbone: Any, unfreeze: Any = "all", freeze_pattern: str | None = None
                  ) -> FreezePlan:
    """Resolve ``unfreeze`` and ``freeze_pattern`` against ``backbone.layer_groups()``.

    Raises:
        ConfigError: ``unfreeze`` larger than the number of groups, an unknown group name, an
            invalid pattern, or a pattern that matches no parameter; the message lists the
            groups.
    """
    groups = backbone.layer_groups()
    names = [n for n, _ in groups]
    u = parse_unfreeze(unfreeze)
    if u == "all":
        chosen = list(names)
    elif isinstance(u, int):
        if u > len(names):
            raise ConfigError(
                f"unfreeze={u} asks for more layer groups than there are. "
                f"{_groups_listing(backbone, names)} Use unfreeze <= {len(names)}, or 'all'."
            )
        chosen = names[len(names) - u:] if u else []
    else:
        unknown = [g for g in u if g not in names]
        if unknown:
            close = {g: difflib.get_close_matches(g, names, n=1) for g in unknown}
            hint = "".join(f" Did you mean {c[0]!r} for {g!r}?" for g, c in close.items() if c)
            raise ConfigError(
                f"Unknown layer group(s) {unknown} in unfreeze. {_groups_listing(backbone, names)}"
                f"{hint}"
            )
        chosen = [n for n in names if n in set(u)]
    frozen: set[str] = set()
    if freeze_pattern:
        try:
            rx = re.compile(freeze_pattern)
        except re.error as e:
            raise ConfigError(
                f"freeze_pattern={freeze_pattern!r} is not a valid regular expression ({e})."
            ) from None
        all_params = [n for n, _ in backbone.named_parameters()]
        frozen = {n for n in all_params if rx.search(n)}
        if not frozen:
            raise ConfigError(
                f"freeze_pattern={freeze_pattern!r} matches no parameter. "
                f"{_groups_listing(backbone, names)} Parameter names look like "
                f"{all_params[:3]}; the pattern is searched in these names."
            )
    return FreezePlan(names, chosen, frozen)


class Freezer:
    """Applies a :class:`FreezePlan` to a backbone, optionally one group more per epoch.

    Args:
        backbone: the backbone (its ``layer_groups()`` decide what a group holds).
        plan: which groups may train.
        schedule: ``"none"`` (all chosen groups from the start) or ``"gradual"``.
        param_filter: optional name predicate; only matching parameters ever train (LoRA
            passes "is an adapter weight").
    """

    def __init__(self, backbone: Any, plan: FreezePlan, schedule: str = "none",
                 param_filter: Any = None) -> None:
        self.backbone = backbone
        self.plan = plan
        self.schedule = schedule
        self.param_filter = param_filter
        self.active: list[str] = []

    def candidates(self, group_names: Sequence[str] | None = None) -> dict[str, list[nn.Parameter]]:
        """Trainable-candidate parameters per group (pattern-frozen and filtered ones left out)."""
        want = set(self.plan.groups if group_names is None else group_names)
        prefix = {id(m): n for n, m in self.backbone.named_modules()}
        out: dict[str, list[nn.Parameter]] = {}
        seen: set[int] = set()
        for gname, module in self.backbone.layer_groups():
            if gname not in want:
                continue
            base = prefix.get(id(module), "")
            params = []
            for pname, p in module.named_parameters():
                full = f"{base}.{pname}" if base else pname
                if id(p) in seen or full in self.plan.pattern_frozen:
                    continue
                if self.param_filter is not None and not self.param_filter(full):
                    continue
                seen.add(id(p))
                params.append(p)
            out[gname] = params
        return out

    def groups_at(self, epoch: int) -> list[str]:
        """Groups training in ``epoch`` (0-based)."""
        g = self.plan.groups
        if self.schedule != "gradual":
            return list(g)
        k = min(max(int(epoch), 0), len(g))
        return g[len(g) - k:] if k else []

    def apply(self, epoch: int = 0) -> list[str]:
        """Set ``requires_grad`` for ``epoch``; returns the groups now training."""
        active = self.groups_at(epoch)
        for p in self.backbone.parameters():
            p.requires_grad_(False)
        for params in self.candidates(active).values():
            for p in params:
                p.requires_grad_(True)
        # BatchNorm layers without parameters follow their group's state.
        active_set = set(active)
        for gname, module in self.backbone.layer_groups():
            for m in module.modules():
                if isinstance(m, _BatchNorm):
                    m._tk_frozen = gname not in active_set  # type: ignore[attr-defined]
        self.active = active
        return active


def norm_is_frozen(m: _BatchNorm) -> bool:
    """Whether BatchNorm ``m`` stays in eval mode while its model trains (its statistics fixed)."""
    params = list(m.parameters(recurse=False))
    if params:
        return not any(p.requires_grad for p in params)
    return bool(getattr(m, "_tk_frozen", False))


def set_train_mode(module: nn.Module) -> nn.Module:
    """``module.train()``, then frozen BatchNorm layers back to eval (statistics stay put)."""
    module.train()
    for m in module.modules():
        if isinstance(m, _BatchNorm) and norm_is_frozen(m):
            m.eval()
    return module


def count_params(module: nn.Module) -> tuple[int, int]:
    """``(trainable, total)`` parameter counts."""
    total = sum(p.numel() for p in module.parameters())
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    return trainable, total
