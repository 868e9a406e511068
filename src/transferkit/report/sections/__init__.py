"""The page's sections, in page order. A section is one template under
``templates/sections/`` and one function that turns a record into that template's data (plain
values, never HTML), or returns None when the record has nothing for it: the page shows
whatever parts a record holds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from . import (
    adapt,
    compare,
    context,
    drift,
    evaluation,
    multitask,
    pretrain,
    rank,
    shift,
    summary,
    training,
    tune,
)

__all__ = ["SECTIONS", "SUMMARY", "Section"]


class Section(NamedTuple):
    anchor: str  # the section's id, and its template: templates/sections/<anchor>.html.j2
    label: str  # its link in the page's navigation
    prepare: Callable[[dict], dict[str, Any] | None]

    @property
    def template(self) -> str:
        return f"sections/{self.anchor}.html.j2"


SUMMARY = Section("summary", "Summary", summary.prepare)
SECTIONS: list[Section] = [
    Section("compare", "Data efficiency", compare.prepare),
    Section("rank", "Ranking", rank.prepare),
    Section("shift", "Shift", shift.prepare),
    Section("adapt", "Adaptation", adapt.prepare),
    Section("drift", "Drift", drift.prepare),
    Section("readapt", "Re-adaptation", drift.prepare_readapt),
    Section("tune", "Search", tune.prepare),
    Section("pretrain", "Pre-training", pretrain.prepare),
    Section("multitask", "Tasks", multitask.prepare),
    Section("metrics", "Test metrics", evaluation.prepare),
    Section("training", "Training", training.prepare),
    Section("lr-find", "LR finder", training.prepare_lr_find),
    Section("data", "Data", context.prepare_data),
    Section("setup", "Setup", context.prepare_setup),
    Section("other", "Other", context.prepare_other),
]
