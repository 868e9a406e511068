"""Command-line flags built from the parameter declarations (:mod:`transferkit.utils.params`).

An estimator's own parameters and those of every registered method (strategy or adaptation
method) become flags: ``backbone_lr_mult`` -> ``--backbone-lr-mult``, typed from the
declaration, with its help text and the methods that read it. A method registered by a plugin
gets its flags without a change here. Values are checked by the library, with the same
messages as in Python; every flag defaults to ``None`` (the declaration's default applies).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import Any

from ..exceptions import ConfigError
from ..models.docs import describe, merged_params
from ..utils.params import Param

__all__ = ["add_param_flags", "param_kwargs", "declarations", "check_declared"]

_TYPES = {"int": int, "float": float}


def _help(estimator: type, name: str, p: Param, methods: list[str]) -> str:
    return describe(estimator, name, p, methods).replace("%", "%%")  # argparse formats with %


def declarations(estimator: type, name: str) -> list[Param]:
    """Every declaration of ``name``: the estimator's own, else each method's (no repeats).

    Methods may declare one name with other bounds or choices; a value that one of them
    accepts is a value the command line accepts.
    """
    if name in estimator.PARAMS:
        return [estimator.PARAMS[name]]
    out: list[Param] = []
    for table in estimator.method_tables().values():
        if name in table and table[name] not in out:
            out.append(table[name])
    return out


def check_declared(action: argparse.Action, value: Any) -> None:
    """Raise ``ConfigError`` unless some declaration behind flag ``action`` accepts ``value``
    (nothing to check for a flag no declaration is behind)."""
    declared = getattr(action, "declared", None)
    if declared is None:
        return
    owner, params = declared
    first: Exception | None = None
    for p in params:
        try:
            p.validate(owner, value)
            return
        except (ConfigError, TypeError) as e:  # TypeError: an unhashable value for a registry
            first = first or e
    if isinstance(first, ConfigError):
        raise first
    raise ConfigError(f"The {action.dest!r} parameter of {owner} cannot be "
                      f"{type(value).__name__} {value!r}.")


def add_param_flags(parser: argparse.ArgumentParser, estimator: type,
                    skip: Iterable[str] = (), title: str = "model") -> None:
    """Add a flag for every parameter of ``estimator`` and of its registered methods.

    Args:
        parser: the sub-command's parser.
        estimator: a :class:`~transferkit.models.TransferModel` class.
        skip: parameters the command sets itself or offers with a flag of its own.
        title: the argument group's heading in ``--help``.
    """
    group = parser.add_argument_group(title)
    skip = set(skip)
    for name, (p, methods) in merged_params(estimator).items():
        if not p.cli or name in skip:
            continue
        kw: dict[str, Any] = {"dest": name, "default": None,
                              "help": _help(estimator, name, p, methods)}
        if p.kind == "bool":
            # A switch turns on what is off by default, or off what is on (--no-cache).
            if p.default:
                kw["help"] = f"switch off (on by default): {p.help}."
                action = group.add_argument("--no-" + p.flag[2:], action="store_false", **kw)
            else:
                action = group.add_argument(p.flag, action="store_true", **kw)
            action.declared = (estimator.__name__, declarations(estimator, name))
            continue
        parse = p.parse or _TYPES.get(p.kind)
        if parse is not None:
            kw["type"] = parse
        if p.metavar:
            kw["metavar"] = p.metavar
        action = group.add_argument(p.flag, **kw)
        # --config checks its values against the same declarations (cli/common.py).
        action.declared = (estimator.__name__, declarations(estimator, name))


def param_kwargs(args: argparse.Namespace, estimator: type) -> dict[str, Any]:
    """The estimator keywords the user set on the command line (or in ``--config``)."""
    names = set(estimator._get_param_names()) | estimator.method_param_names()
    return {k: v for k, v in vars(args).items() if k in names and v is not None}
