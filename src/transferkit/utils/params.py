"""Parameter declarations: each parameter's name, type, bounds or choices, default and help, once.

A strategy, an adaptation method or a model kind declares the parameters it reads as a
:class:`Params` table, as scikit-learn's ``_parameter_constraints`` and PEFT's config classes
do. Everything else reads that one table:

* estimators validate the values they were given (:meth:`Params.validate`) and refuse a
  keyword that the chosen method does not read (:func:`reject_unused`);
* methods read their settings with the defaults filled in (:meth:`Params.resolve`, attribute
  access: ``settings.epochs``) instead of ``params.get("epochs", 3)`` in many places;
* the command line builds its flags, argparse types and ``--help`` from it
  (:mod:`transferkit.cli.params`), and the estimators' docstrings list it
  (:mod:`transferkit.models.docs`).

``None`` as a value always means "the declared default"; a default of ``None`` means the
method decides from context (the help says how).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..exceptions import ConfigError
from ..registry import Registry
from .checks import check_choice, check_number

__all__ = ["Param", "Params", "Settings", "reject_unused", "unknown_keyword"]

KINDS = ("int", "float", "bool", "str", "any")


@dataclass(frozen=True)
class Param:
    """One declared parameter.

    Attributes:
        name: the keyword (``backbone_lr_mult``); the CLI flag is ``--backbone-lr-mult``.
        help: one paragraph for ``--help`` and the docstring.
        default: what ``None`` (or leaving it out) means; ``None`` here: decided from context.
        kind: ``"int"``, ``"float"``, ``"bool"``, ``"str"`` or ``"any"`` (checked by ``check``).
        low, high, low_open: bounds of a number (``low_open``: ``low`` itself is refused).
        choices: allowed values of a string, a function returning them, or a
            :class:`~transferkit.registry.Registry` (its names when checked, so that later
            registrations count; an unknown name gets the registry's close-match message).
        check: extra validation ``check(owner, value)`` raising ``ConfigError`` (group names,
            regular expressions, specs with their own syntax).
        cli: whether the command line offers a flag for it.
        metavar: the flag's placeholder in ``--help``.
        parse: how the command line turns the flag's text into a value (by default from
            ``kind``: ``int``, ``float``, the text itself).
    """

    name: str
    help: str
    default: Any = None
    kind: str = "str"
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    choices: tuple[Any, ...] | Callable[[], Iterable[Any]] | Registry | None = None
    check: Callable[[str, Any], Any] | None = None
    cli: bool = True
    metavar: str | None = None
    parse: Callable[[str], Any] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Param {self.name!r}: kind must be one of {KINDS}; got {self.kind!r}")

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def allowed(self) -> list[Any] | None:
        if self.choices is None:
            return None
        if isinstance(self.choices, Registry):
            return self.choices.names()
        return list(self.choices() if callable(self.choices) else self.choices)

    def validate(self, owner: str, value: Any) -> None:
        """Raise ``ConfigError`` (name, constraint, what arrived) unless ``value`` is valid.

        ``None`` is always valid: it means the default.
        """
        if value is None:
            return
        if self.kind in ("int", "float"):
            check_number(owner, self.name, value, low=self.low, high=self.high,
                         low_open=self.low_open, integer=self.kind == "int")
        elif self.kind == "bool" and not isinstance(value, bool):
            raise ConfigError(f"The {self.name!r} parameter of {owner} must be True or False. "
                              f"Got {value!r} instead.")
        elif self.kind == "str" and self.choices is None and self.check is None \
                and not isinstance(value, str):
            raise ConfigError(f"The {self.name!r} parameter of {owner} must be a string. "
                              f"Got {type(value).__name__} {value!r} instead.")
        if isinstance(self.choices, Registry):
            self.choices.get(value)  # an unknown name lists the close matches
        elif self.choices is not None:
            check_choice(owner, self.name, value, self.allowed())
        if self.check is not None:
            self.check(owner, value)


class Settings(dict):
    """Resolved settings: every declared name with its value or default; ``s.name`` reads one."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no setting {name!r}; declared: {sorted(self)}") from None


class Params(Mapping[str, Param]):
    """An ordered table of :class:`Param` declarations.

    Built from params and other tables: ``Params(SEED, BATCH_SIZE, TRAINING)``; a name may
    appear once (use :meth:`with_defaults` to change a default, :meth:`without` to drop one).
    """

    def __init__(self, *parts: Param | Params) -> None:
        self._items: dict[str, Param] = {}
        for part in parts:
            for p in (part.values() if isinstance(part, Params) else (part,)):
                if p.name in self._items and self._items[p.name] != p:
                    raise ValueError(f"parameter {p.name!r} is declared twice, differently")
                self._items[p.name] = p

    def __getitem__(self, name: str) -> Param:
        return self._items[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Params({', '.join(self._items)})"

    def with_defaults(self, **defaults: Any) -> Params:
        """The same table with other defaults (``scratch``: ``backbone_lr_mult=1.0``)."""
        unknown = set(defaults) - set(self._items)
        if unknown:
            raise ValueError(f"with_defaults: not declared here: {sorted(unknown)}")
        return Params(*(replace(p, default=defaults[n]) if n in defaults else p
                        for n, p in self._items.items()))

    def with_(self, name: str, **changes: Any) -> Params:
        """The same table with one declaration changed (its choices, help or bounds)."""
        return Params(*(replace(p, **changes) if n == name else p
                        for n, p in self._items.items()))

    def without(self, *names: str) -> Params:
        return Params(*(p for n, p in self._items.items() if n not in names))

    def validate(self, owner: str, values: Mapping[str, Any]) -> None:
        """Check every declared name present in ``values`` (``None`` means the default)."""
        for name, p in self._items.items():
            if name in values:
                p.validate(owner, values[name])

    def resolve(self, values: Mapping[str, Any]) -> Settings:
        """Every declared name: its value in ``values`` unless missing or ``None``, else the
        default. Names ``values`` has but this table does not declare are left out."""
        return Settings({n: (p.default if values.get(n) is None else values[n])
                         for n, p in self._items.items()})


def unknown_keyword(owner: str, name: str, known: Iterable[str]) -> ConfigError:
    """The error for a keyword no declaration has, with the closest declared names."""
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return ConfigError(f"{owner} got an unexpected keyword {name!r}.{hint} "
                       f"It takes: {', '.join(known)}.")


def reject_unused(owner: str, given: Mapping[str, Any], used: Iterable[str],
                  takers: Mapping[str, Iterable[str]], chosen: str) -> None:
    """Refuse a keyword set to a value that the chosen method does not read.

    Args:
        owner: the estimator's name, for the message.
        given: keyword -> value as the user set it (``None`` counts as unset).
        used: the keywords the chosen method (with the estimator itself) reads.
        takers: keyword -> the methods that read it, to say where it belongs.
        chosen: how the choice reads in the message, e.g. ``"strategy='probe'"``.
    """
    used = set(used)
    for name, value in given.items():
        if value is None or name in used:
            continue
        who = sorted(takers.get(name, ()))
        where = (f"it is read by {', '.join(repr(w) for w in who)}" if who
                 else "no registered method reads it")
        raise ConfigError(
            f"{owner}: {name}={value!r} has no effect with {chosen}: {where}. Drop {name}, or "
            "choose a method that reads it.")
