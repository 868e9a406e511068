"""The page's sections, in page order. Each takes a record and returns HTML, or "" when the
record has nothing for it: the page shows whatever parts a record holds."""

from __future__ import annotations

from collections.abc import Callable

from . import adapt, compare, context, evaluation, rank, shift, summary, training

__all__ = ["SECTIONS", "summary"]

SECTIONS: list[tuple[str, str, Callable[[dict], str]]] = [
    ("compare", "Data efficiency", compare.render),
    ("rank", "Ranking", rank.render),
    ("shift", "Shift", shift.render),
    ("adapt", "Adaptation", adapt.render),
    ("metrics", "Test metrics", evaluation.render),
    ("training", "Training", training.render),
    ("lr-find", "LR finder", training.render_lr_find),
    ("data", "Data", context.render_data),
    ("setup", "Setup", context.render_setup),
    ("other", "Other", context.render_other),
]
