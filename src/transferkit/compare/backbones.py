"""Backbones compared on the same samples and seeds: did a pre-trained run help?

``compare(..., backbones=["minilm-l6", "run:runs/mini-kitchen"])`` fits every transfer
strategy once per backbone on the very same samples; each later backbone is then paired with
the first on every (amount, seed) cell and judged by the test the transfer verdict uses
(:func:`~transferkit.compare.stats.paired_test`, sign-flip p < 0.05 and at least half a point).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..exceptions import ConfigError
from .stats import _pairs, paired_test

__all__ = ["candidate_label", "backbone_list", "backbone_tests"]


def candidate_label(strategy: str, backbone: str) -> str:
    """How a strategy fitted on one of several backbones is named in the table."""
    return f"{strategy} [{backbone}]"


def backbone_list(backbone: Any, backbones: Sequence[str] | str | None) -> list[Any]:
    """The backbones to compare: ``backbones`` (a list, or ``"a,b"``), else ``[backbone]``.

    Raises:
        ConfigError: an empty list, a repeated backbone, or a non-string entry.
    """
    if backbones is None:
        return [backbone]
    specs = ([s.strip() for s in backbones.split(",") if s.strip()]
             if isinstance(backbones, str) else list(backbones))
    if not specs or not all(isinstance(s, str) and s for s in specs):
        raise ConfigError(f"compare: backbones must be backbone specs such as ['minilm-l6', "
                          f"'run:runs/x']; got {backbones!r}. Fix: give one or more specs.")
    if len(set(specs)) != len(specs):
        raise ConfigError(f"compare: backbones lists a backbone twice ({specs}); expected "
                          "distinct specs. Fix: drop the repeat.")
    return specs


def backbone_tests(table: pd.DataFrame, metric: str, xkey: str, specs: Sequence[str],
                   strategies: Sequence[str], alpha: float = 0.05,
                   min_effect: float = 0.005) -> list[dict[str, Any]]:
    """Each later backbone against the first, per strategy run on both.

    Returns:
        ``[{"strategy", "backbone", "against", "verdict", "reason", **paired test}]``;
        ``verdict`` is ``"helps"``, ``"no clear difference"`` or ``"negative transfer"``.
    """
    out = []
    for name in strategies:
        base = candidate_label(name, specs[0])
        if base not in set(table.strategy):
            continue
        for spec in specs[1:]:
            pr = _pairs(table, metric, xkey, candidate_label(name, spec), base)
            t = paired_test((pr[f"{metric}_a"] - pr[f"{metric}_b"]).to_numpy())
            gap = (f"{t['mean_diff']:+.3f} {metric} (95% interval {t['ci95'][0]:+.3f} to "
                   f"{t['ci95'][1]:+.3f}, sign-flip p = {t['p_value']:.3g}, "
                   f"{t['n_pairs']} pairs)")
            if t["p_value"] < alpha and t["mean_diff"] >= min_effect:
                verdict, reason = "helps", f"{spec} beats {specs[0]} with {name} by {gap}."
            elif t["p_value"] < alpha and t["mean_diff"] <= -min_effect:
                verdict = "negative transfer"
                reason = (f"{spec} is worse than {specs[0]} with {name} by {gap}: its "
                          "continued pre-training (or fine-tuning) hurt this task.")
            else:
                verdict = "no clear difference"
                reason = f"{spec} vs {specs[0]} with {name}: {gap}, within seed noise."
            out.append({"strategy": name, "backbone": spec, "against": specs[0],
                        "verdict": verdict, "reason": reason, **t})
    return out
