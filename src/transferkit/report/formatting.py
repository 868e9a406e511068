"""How values read in the report: one number formatter, shared by every template as ``num``.

The templates escape whatever they print, so these helpers return text, not HTML. The one
exception is :func:`fmt`, whose few entities (a dash for "no value", infinity) are written by
this module, never taken from a record.
"""

from __future__ import annotations

import json
import math
from typing import Any

from markupsafe import Markup, escape

__all__ = ["fmt", "is_number", "pretty_json"]


def is_number(value: Any) -> bool:
    """True for ints and floats; False for bools, which the report shows as yes / no."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def fmt(value: Any, digits: int = 4) -> Markup:
    """A value as the report shows it: ints with separators, floats to ``digits``.

    Very small or very large floats use scientific notation, so a p-value of 1e-7 or a
    learning rate of 3e-4 keeps its information. NaN reads "n/a", ``None`` a dash, bools
    yes / no; lists and dicts are compact JSON. The result is escaped, so record strings
    passed through it stay text.
    """
    if value is None:
        return Markup("&ndash;")
    if isinstance(value, float) and math.isinf(value):
        return Markup("&infin;" if value > 0 else "&minus;&infin;")
    return escape(_text(value, digits))


def _text(value: Any, digits: int) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        if value == 0:
            return "0"
        if abs(value) < 10 ** (-min(digits, 3)) or abs(value) >= 1e6:
            return f"{value:.{max(digits - 2, 1)}e}"
        if value.is_integer() and abs(value) >= 1000:
            return f"{int(value):,}"
        return f"{value:.{digits}f}"
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, default=str)
    return str(value)


def pretty_json(value: Any) -> str:
    """``value`` as indented JSON text, for the collapsible raw views of record parts."""
    return json.dumps(value, indent=2, default=str, sort_keys=False)
