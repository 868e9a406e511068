"""Checks of :class:`~transferkit.DomainAdapter`'s own parameters (the methods' parameters are
checked by their declarations in :mod:`transferkit.adapt.params`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..adapt.auto import parse_candidate
from ..engine.params import check_groups
from ..exceptions import ConfigError

__all__ = ["check_candidates", "check_source_finetune", "check_target_labels",
           "parse_target_labels"]


def check_candidates(owner: str, value: Any) -> None:
    if isinstance(value, str):
        raise ConfigError(f"The 'candidates' parameter of {owner} must be a list of method "
                          f"names such as ['coral', 'dann']. Got a string {value!r} instead.")
    for c in value:
        parse_candidate(c)


def check_source_finetune(owner: str, value: Any) -> None:
    if value == 0:
        raise ConfigError(
            f"The 'source_finetune' parameter of {owner} names the layer groups to tune on the "
            "source before adapting; got 0 (none). Give K >= 1, 'all' or group names, or None "
            "to adapt the pre-trained features as they are.")
    check_groups(owner, value)


def check_target_labels(owner: str, value: Any) -> None:
    if isinstance(value, str) and value.lower() in ("none", "all"):
        return
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ConfigError(
            f"The 'target_labels' parameter of {owner} must be None (never read target labels), "
            f"'all', or an int k >= 1 (k labelled rows per class). Got {value!r} instead.")


def parse_target_labels(text: str) -> int | str:
    return int(text) if text.strip().isdigit() else text
