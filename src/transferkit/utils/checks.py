"""Parameter validation in the scikit-learn manner: say the name, the constraint and what came."""

from __future__ import annotations

import numbers
from typing import Any

from ..exceptions import ConfigError

__all__ = ["check_number", "check_choice"]


def check_number(
    owner: str,
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    integer: bool = False,
) -> Any:
    """Raise ``ConfigError`` unless ``value`` is a number in the given range."""
    kind = "an int" if integer else "a float"
    ok_type = isinstance(value, numbers.Integral) if integer else isinstance(value, numbers.Real)
    if isinstance(value, bool):
        ok_type = False
    lo = "(" if low_open else "["
    rng = f"{lo}{'-inf' if low is None else low}, {'inf' if high is None else high}]"
    if ok_type:
        too_low = low is not None and (value <= low if low_open else value < low)
        too_high = high is not None and value > high
        if not (too_low or too_high):
            return value
    raise ConfigError(
        f"The {name!r} parameter of {owner} must be {kind} in the range {rng}. "
        f"Got {value!r} instead."
    )


def check_choice(owner: str, name: str, value: Any, choices: list[str]) -> Any:
    if value not in choices:
        import difflib

        close = difflib.get_close_matches(str(value), choices, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"The {name!r} parameter of {owner} must be one of {choices}. "
            f"Got {value!r} instead.{hint}"
        )
    return value
