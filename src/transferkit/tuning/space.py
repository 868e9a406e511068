"""Search spaces: which parameters a search varies, over which ranges.

A :class:`SearchSpace` maps parameter names to :class:`Dimension` s (a number range, linear or
log, or a list of choices) plus parameters held at a fixed value. The default space of an
estimator comes from the parameter declarations of the estimator and its chosen strategy
(:mod:`transferkit.utils.params`): every declared parameter that has a search rule below gets a
range around its declared default, clipped to its declared bounds. A YAML file (or a dict) can
replace that space or narrow it (:func:`parse_space`); every entry is checked against the
declarations, so an unknown parameter or an empty range fails before any trial runs.

Space file::

    include_defaults: false     # true: start from the default space and override entries
    lr: {low: 1.0e-4, high: 1.0e-2, log: true}
    epochs: {low: 2, high: 6}   # an int parameter gives an int range
    unfreeze: [0, 1, 2, all]    # choices
    C: 1.0                      # held fixed
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..exceptions import ConfigError
from ..utils.params import Param, Params

__all__ = ["Dimension", "SearchSpace", "default_space", "parse_space", "load_space",
           "unfreeze_choices"]


@dataclass(frozen=True)
class Dimension:
    """One searched parameter: ``low..high`` (``log`` scale, ``integer`` steps) or ``choices``."""

    name: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False
    choices: tuple[Any, ...] | None = None

    def suggest(self, trial: Any) -> Any:
        """Ask an Optuna trial for this parameter's value."""
        if self.choices is not None:
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.integer:
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.name, float(self.low), float(self.high), log=self.log)

    def describe(self) -> dict[str, Any]:
        if self.choices is not None:
            return {"choices": list(self.choices)}
        return {"low": self.low, "high": self.high, "log": self.log,
                "type": "int" if self.integer else "float"}


@dataclass
class SearchSpace:
    """Searched dimensions and fixed values, in the order trials ask for them."""

    dimensions: dict[str, Dimension] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)

    def suggest(self, trial: Any) -> dict[str, Any]:
        """The parameters of one trial: fixed values plus one suggestion per dimension."""
        return {**self.fixed, **{n: d.suggest(trial) for n, d in self.dimensions.items()}}

    def describe(self) -> dict[str, Any]:
        """Plain JSON of the space, for the study and the run record."""
        return {"search": {n: d.describe() for n, d in self.dimensions.items()},
                "fixed": dict(self.fixed)}

    def __len__(self) -> int:
        return len(self.dimensions)


# --- the default space -----------------------------------------------------------------------
def _clip(p: Param, low: float, high: float) -> tuple[float, float]:
    # Declared bounds win: layer_decay lives in (0, 1], so its range stops at 1.
    if p.high is not None:
        high = min(high, float(p.high))
    if p.low is not None and not p.low_open:
        low = max(low, float(p.low))
    return low, high


Rule = Callable[[Param, int | None], Dimension]


def _around_default(factor: float, cap: float | None = None) -> Rule:
    """A log range ``default/factor .. default*factor`` (a learning rate, a multiplier)."""

    def rule(p: Param, n_groups: int | None) -> Dimension:
        d = float(p.default)
        low, high = _clip(p, d / factor, d * factor if cap is None else min(d * factor, cap))
        return Dimension(p.name, low, high, log=True)

    return rule


def _fixed_range(low: float, high: float, log: bool = False) -> Rule:
    def rule(p: Param, n_groups: int | None) -> Dimension:
        lo, hi = _clip(p, low, high)
        return Dimension(p.name, lo, hi, log=log)

    return rule


def _epochs(p: Param, n_groups: int | None) -> Dimension:
    # Around the declared budget: fewer epochs than half of it rarely help, and more than
    # twice as many are what pruning is for, not the default.
    d = int(p.default)
    return Dimension(p.name, max(1, round(d / 2)), max(2, 2 * d), integer=True)


def unfreeze_choices(n_groups: int | None) -> tuple[Any, ...]:
    """Depths to try: the head alone, the top one or two groups, half, and everything."""
    if n_groups is None:
        return (0, 1, 2, "all")
    depths = sorted({k for k in (0, 1, 2, n_groups // 2) if k < n_groups})
    return (*depths, "all")


def _unfreeze(p: Param, n_groups: int | None) -> Dimension:
    return Dimension(p.name, choices=unfreeze_choices(n_groups))


#: parameter name -> how its default range is derived from its declaration. Only parameters
#: that the issue's practitioners reach for first; anything else can be searched through a
#: space file.
RULES: dict[str, Rule] = {
    "lr": _around_default(10.0),
    "backbone_lr_mult": _around_default(10.0, cap=1.0),
    "layer_decay": _fixed_range(0.5, 1.0),
    "unfreeze": _unfreeze,
    "C": _fixed_range(1e-3, 1e2, log=True),
    "epochs": _epochs,
}


def default_space(estimator: Any, n_groups: int | None = None) -> SearchSpace:
    """The default space of ``estimator``'s chosen strategy, from its declared parameters;
    parameters set on the estimator keep their value (they are not searched).

    Args:
        estimator: a transferkit estimator (its ``declared_params()`` are read).
        n_groups: the backbone's number of layer groups, for the ``unfreeze`` depths.

    Raises:
        ConfigError: the strategy declares none of the searchable parameters.
    """
    declared = estimator.declared_params()
    given = estimator.get_params(deep=False)
    # A value set on the estimator (``--epochs 2``) is a decision, not a starting point: the
    # default space holds it; a space file may still search it.
    dims = {name: rule(declared[name], n_groups) for name, rule in RULES.items()
            if name in declared and given.get(name) is None}
    if not dims:
        searchable = [n for n in RULES if n in declared]
        listed = ", ".join(searchable) or "it declares none of " + ", ".join(RULES)
        raise ConfigError(
            f"{_who(estimator)} leaves none of the parameters a default search varies unset "
            f"({listed}). Expected at least one; fix: leave one unset, or give a space file "
            "(space=/--space) naming the parameters to search.")
    return SearchSpace(dims)


# --- space files ------------------------------------------------------------------------------
def load_space(path: str | os.PathLike, estimator: Any, n_groups: int | None = None
               ) -> SearchSpace:
    """Read a YAML space file (see the module docstring) and check it against ``estimator``."""
    import yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"Cannot read the space file {str(p)!r} ({e.strerror}). Expected a "
                          "YAML file of parameter: range entries; fix the path.") from None
    try:
        spec = yaml.safe_load(text)
    except yaml.YAMLError as e:
        line = getattr(getattr(e, "problem_mark", None), "line", None)
        where = f" (line {line + 1})" if line is not None else ""
        raise ConfigError(f"The space file {str(p)!r} is not valid YAML{where}. Expected "
                          "'name: {low: .., high: ..}' entries; fix the syntax.") from None
    return parse_space(spec, estimator, n_groups, source=str(p))


def parse_space(spec: Mapping[str, Any] | None, estimator: Any, n_groups: int | None = None,
                source: str = "the search space") -> SearchSpace:
    """A :class:`SearchSpace` from a mapping (a parsed space file), checked parameter by
    parameter against the declarations of ``estimator`` and its chosen strategy.

    Raises:
        ConfigError: not a mapping; an unknown parameter (listing the declared ones); an empty
            range or no choices; a bound outside the parameter's declared range.
    """
    if spec is None:
        spec = {}
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{source} must be a mapping of parameter names to ranges; got "
                          f"{type(spec).__name__}. Fix: write 'lr: {{low: 1e-4, high: 1e-2}}'.")
    entries = dict(spec)
    include = entries.pop("include_defaults", False)
    if not isinstance(include, bool):
        raise ConfigError(f"{source}: include_defaults must be true or false; got {include!r}.")
    declared = estimator.declared_params()
    space = default_space(estimator, n_groups) if include else SearchSpace()
    for name, value in entries.items():
        if name not in declared:
            raise _unknown(source, str(name), declared, estimator)
        space.dimensions.pop(name, None)
        space.fixed.pop(name, None)
        dim = _dimension(source, declared[name], value, _who(estimator))
        if isinstance(dim, Dimension):
            space.dimensions[name] = dim
        else:
            space.fixed[name] = dim[0]
    if not space.dimensions:
        raise ConfigError(f"{source} searches no parameter (every entry is fixed, or it is "
                          "empty). Expected at least one range or list of choices; add one, "
                          "or set include_defaults: true.")
    return space


def _dimension(source: str, p: Param, value: Any, owner: str) -> Dimension | tuple[Any]:
    """One entry: a range mapping, a list of choices, or a scalar held fixed (as a 1-tuple)."""
    where = f"{source}: parameter {p.name!r}"
    if isinstance(value, list | tuple):
        if not value:
            raise ConfigError(f"{where} has an empty list of choices. Expected at least one "
                              f"value; fix: list the values to try, e.g. {p.name}: [a, b].")
        value = [_number(p, v) for v in value]
        for v in value:
            _check_value(where, p, v, owner)
        return Dimension(p.name, choices=tuple(value))
    if not isinstance(value, Mapping):
        value = _number(p, value)
        _check_value(where, p, value, owner)
        return (value,)
    unknown = set(value) - {"low", "high", "log"}
    if unknown or "low" not in value or "high" not in value:
        raise ConfigError(f"{where}: expected {{low: .., high: .., log: true|false}}; got keys "
                          f"{sorted(map(str, value))}. Fix: give low and high (and optionally "
                          "log), or a list of choices.")
    if p.kind not in ("int", "float"):
        raise ConfigError(f"{where} is not a number ({p.kind}), so it takes no low/high range. "
                          f"Expected a list of choices; fix: {p.name}: [a, b].")
    low, high = _number(p, value["low"]), _number(p, value["high"])
    log = value.get("log", False)
    integer = p.kind == "int"
    for bound in (low, high):
        if isinstance(bound, bool) or not isinstance(bound, int | float) or not math.isfinite(
                bound) or (integer and float(bound) != int(bound)):
            kind = "integers" if integer else "numbers"
            raise ConfigError(f"{where}: low and high must be finite {kind}; got low={low!r}, "
                              f"high={high!r}. Fix: write them as numbers.")
    if not low < high:
        raise ConfigError(f"{where} has an empty range: expected low < high; got low={low!r}, "
                          f"high={high!r}. Fix: swap or widen them, or give a single value to "
                          "hold it fixed.")
    if log and low <= 0:
        raise ConfigError(f"{where} is on a log scale, so expected low > 0; got low={low!r}. "
                          "Fix: raise low, or set log: false.")
    if not isinstance(log, bool):
        raise ConfigError(f"{where}: log must be true or false; got {log!r}.")
    for bound in (low, high):
        _check_value(where, p, int(bound) if integer else float(bound), owner)
    return Dimension(p.name, float(low) if not integer else int(low),
                     float(high) if not integer else int(high), log=log, integer=integer)


def _number(p: Param, value: Any) -> Any:
    """YAML 1.1 reads ``1e-4`` (no dot) as text: a numeric parameter takes it as the number."""
    if p.kind in ("int", "float") and isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if p.kind == "int" and number == int(number) else number
    return value


def _check_value(where: str, p: Param, value: Any, owner: str) -> None:
    try:
        p.validate(owner, value)
    except ConfigError as e:
        raise ConfigError(f"{where}: {e} Fix: keep the range within the declared one.") from None


def _who(estimator: Any) -> str:
    strategy = getattr(estimator, "strategy", None)
    name = type(estimator).__name__
    return f"{name}(strategy={strategy!r})" if strategy is not None else name


def _unknown(source: str, name: str, declared: Params, estimator: Any) -> ConfigError:
    close = difflib.get_close_matches(name, list(declared), n=3, cutoff=0.6)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return ConfigError(
        f"{source}: unknown parameter {name!r} for {_who(estimator)}.{hint} Expected one of "
        f"its parameters: {', '.join(sorted(declared))}. Fix: rename or drop it.")
