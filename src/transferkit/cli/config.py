"""``--config run.yaml``: flag values from a YAML file, checked like the flags themselves.

Every key names a flag of the command (``batch_size`` or ``batch-size`` for ``--batch-size``);
its value is converted by the flag's argparse type and validated against the same parameter
declaration as the flag (:mod:`transferkit.cli.params`), so ``seed: "zero"`` fails here,
naming the file, the line and the key, not deep inside a fit. Values become the command's
defaults: a flag given on the command line wins.

A run's own ``config.yaml`` works as ``--config``. Keys that record how a run was executed
rather than what it should do (:data:`RUN_KEYS`: the checkpoint folder, progress bars,
zero-shot label lists stored inline) have no flag; they are ignored on purpose, and logged.
Any other key that is not a flag is an error that lists the close matches.
"""

from __future__ import annotations

import argparse
import difflib
import logging
from pathlib import Path
from typing import Any

import yaml

from ..exceptions import ConfigError
from ..models import DomainAdapter, TransferClassifier, ZeroShotClassifier
from ..models.docs import merged_params
from .params import check_declared

__all__ = ["apply_config", "read_config", "RUN_KEYS"]

log = logging.getLogger(__name__)

#: estimator parameters that no command offers as a flag: a run's config.yaml may hold them
#: (format-1 run folders wrote every keyword), and ``--config`` ignores them deliberately.
RUN_KEYS = frozenset(
    name for est in (TransferClassifier, DomainAdapter, ZeroShotClassifier)
    for name, (p, _) in merged_params(est).items() if not p.cli
)


def _where(path: str, line: int | None) -> str:
    return f"--config {path!r}" + (f", line {line}" if line else "")


def read_config(path: str) -> dict[str, tuple[Any, int | None]]:
    """The mapping in YAML file ``path``: key -> (value, 1-based line of the key).

    Raises:
        ConfigError: a missing or unreadable file, malformed YAML, a tag that would build an
            object (``!!python/object``), a document that is not a mapping, a key that is not
            text, or a key given twice; each names the file and the line.
    """
    p = Path(path)
    if p.is_dir():
        hint = f" Did you mean {str(p / 'config.yaml')!r}?" if (p / "config.yaml").is_file() \
            else ""
        raise ConfigError(f"--config {path!r} is a folder; expected a YAML file of "
                          f"flag: value lines.{hint}")
    if not p.is_file():
        raise ConfigError(f"--config {path!r}: no such file. Give a YAML file of flag values.")
    data = p.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise ConfigError(f"{_where(path, line)}: byte 0x{data[e.start]:02x} is not UTF-8 text. "
                          "Re-save the file as UTF-8.") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        cfg = yaml.safe_load(text)
    except yaml.constructor.ConstructorError as e:
        mark = e.problem_mark
        raise ConfigError(
            f"{_where(path, mark.line + 1 if mark else None)}: {_one_line(e.problem)}. A config "
            "file holds plain values (text, numbers, true/false, lists): remove the YAML tag."
        ) from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        problem = _one_line(e.problem or e.context or "malformed YAML")
        # At the end of the stream the mark is one past the last line: name the last one.
        last = max(1, len(text.splitlines()))
        raise ConfigError(
            f"{_where(path, min(mark.line + 1, last) if mark else None)}: not valid YAML "
            f"({problem}). "
            "Write one 'flag: value' per line (e.g. 'seed: 0')."
        ) from None
    except (yaml.YAMLError, RecursionError) as e:
        raise ConfigError(f"--config {path!r}: not valid YAML ({_one_line(str(e))}). Write one "
                          "'flag: value' per line (e.g. 'seed: 0').") from None
    if cfg is None:
        return {}
    if not isinstance(cfg, dict):
        raise ConfigError(
            f"--config {path!r} must hold a YAML mapping of flag: value; got "
            f"{_kind(cfg)}. Write one 'flag: value' per line (e.g. 'seed: 0').")
    lines: dict[str, list[int]] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                lines.setdefault(key_node.value, []).append(key_node.start_mark.line + 1)
    out: dict[str, tuple[Any, int | None]] = {}
    for key, value in cfg.items():
        line = (lines.get(key) or [None])[0] if isinstance(key, str) else None
        if not isinstance(key, str) or not key.strip():
            raise ConfigError(
                f"{_where(path, line)}: the key {key!r} is not a flag name; expected keys such "
                "as 'batch_size' or 'batch-size'.")
        if len(lines.get(key, [])) > 1:
            raise ConfigError(
                f"--config {path!r}: the key {key!r} appears more than once (lines "
                f"{', '.join(map(str, lines[key]))}); keep one.")
        out[key] = (value, line)
    return out


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {_one_line(repr(value))[:60]}"


def _subparser(parser: argparse.ArgumentParser, command: str | None
               ) -> argparse.ArgumentParser | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            return action.choices[command]
    return None


def _flag_actions(parser: argparse.ArgumentParser) -> dict[str, list[argparse.Action]]:
    """dest -> the optional flags that set it (``--train-backbone`` / ``--freeze-backbone``)."""
    out: dict[str, list[argparse.Action]] = {}
    for a in parser._actions:
        if a.option_strings and a.dest not in (argparse.SUPPRESS, "config", "help") \
                and not isinstance(a, (argparse._HelpAction, argparse._VersionAction,
                                       argparse._SubParsersAction)):
            out.setdefault(a.dest, []).append(a)
    return out


def _is_switch(action: argparse.Action) -> bool:
    return isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction))


def _flag_value(actions: list[argparse.Action], value: Any) -> Any:
    """``value`` from the file as the flag would set it; raises ``ConfigError`` saying what
    the flag expects."""
    action = actions[0]
    flag = action.option_strings[-1]
    if any(_is_switch(a) for a in actions):
        if not isinstance(value, bool):
            raise ConfigError(f"{flag} is a switch: expected true or false, got {_kind(value)}.")
        check_declared(action, value)
        return value
    if isinstance(value, (dict, set)) or isinstance(value, bool) and action.type is not None:
        raise ConfigError(f"expected a value for {flag}, got {_kind(value)}.")
    if action.type is not None and callable(action.type):
        kind = getattr(action.type, "__name__", "value")
        if isinstance(value, str):
            try:
                parsed = action.type(value)
            except (TypeError, ValueError, argparse.ArgumentTypeError) as e:
                detail = f" ({_one_line(e)})" if not isinstance(e, (TypeError, ValueError)) \
                    or isinstance(e, ConfigError) else ""
                raise ConfigError(f"{flag} expects {_article(kind)}, got the text "
                                  f"{value!r}{detail}.") from None
            check_declared(action, parsed)
            return parsed if not isinstance(parsed, str) else value
        if action.type in (int, float):
            ok = isinstance(value, int) if action.type is int else isinstance(value, (int, float))
            if not ok or isinstance(value, list):
                raise ConfigError(f"{flag} expects {_article(kind)}, got {_kind(value)}.")
            value = action.type(value)
        check_declared(action, value)
        return value
    if getattr(action, "declared", None) is not None:
        check_declared(action, value)
        return ",".join(map(str, value)) if isinstance(value, list) else value
    # A flag of the command's own (data columns, lists): text, as typed on the line.
    if isinstance(value, list):
        if not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value):
            raise ConfigError(f"{flag} expects text or a list of names, got {_kind(value)}.")
        return ",".join(str(v) for v in value)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ConfigError(f"{flag} expects text, got {_kind(value)}.")
    value = str(value)
    if action.choices is not None and value not in action.choices:
        raise ConfigError(f"{flag} expects one of {sorted(action.choices)}, got {value!r}.")
    return value


def _article(kind: str) -> str:
    return {"int": "an integer", "float": "a number"}.get(kind, f"a valid {kind} value")


def apply_config(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """Parse ``argv``; values in ``--config run.yaml`` become defaults that flags override.

    Raises:
        ConfigError: the file cannot be read, a key is not a flag of the command (nor a run
            key, :data:`RUN_KEYS`), or a value is not one the flag accepts; the message names
            the file, the line and the key.
    """
    args = parser.parse_args(argv)
    path = getattr(args, "config", None)
    if not path:
        return args
    sub = _subparser(parser, getattr(args, "command", None))
    if sub is None:
        return args
    cfg = read_config(path)
    flags = _flag_actions(sub)
    top = _flag_actions(parser)
    defaults: dict[str, Any] = {}
    top_defaults: dict[str, Any] = {}
    ignored = []
    for key, (value, line) in cfg.items():
        dest = key.replace("-", "_")
        actions = flags.get(dest) or top.get(dest)
        if actions is None:
            if dest in RUN_KEYS:
                ignored.append(key)
                continue
            close = difflib.get_close_matches(dest, list(flags), n=3, cutoff=0.6)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise ConfigError(
                f"{_where(path, line)}: {key!r} is not a flag of `transferkit {args.command}`."
                f"{hint} Valid keys: {', '.join(sorted(flags))}.")
        if value is None:
            continue  # null: the flag's own default (as a run's config.yaml writes it)
        try:
            converted = _flag_value(actions, value)
        except ConfigError as e:
            flag = actions[0].option_strings[-1]
            raise ConfigError(f"{_where(path, line)}, key {key!r}: {e} Fix the value in the "
                              f"file, or give {flag} on the command line.") from None
        (defaults if dest in flags else top_defaults)[dest] = converted
    if ignored:
        log.info("--config %s: ignoring %s (how that run was executed, not a flag)", path,
                 ", ".join(ignored))
    sub.set_defaults(**defaults)
    parser.set_defaults(**top_defaults)
    args = parser.parse_args(argv)
    if (Path(path).parent / "model.json").is_file():
        _drop_unread(args, flags, defaults, argv, path)
    return args


_ESTIMATORS = {e.__name__: e for e in (TransferClassifier, DomainAdapter, ZeroShotClassifier)}


def _drop_unread(args: argparse.Namespace, flags: dict[str, list[argparse.Action]],
                 from_file: dict[str, Any], argv: list[str], path: str) -> None:
    """A run folder's own config.yaml: leave out the settings the chosen method does not read.

    Run folders of format 1 wrote every keyword with a concrete value (``lora_r: 8`` in a
    finetune run); as when such a run is loaded, those are dropped rather than refused.
    Values given on the command line are kept (and checked by the estimator as usual).
    """
    owners = {a.declared[0] for acts in flags.values() for a in acts if hasattr(a, "declared")}
    est = next((_ESTIMATORS[o] for o in owners if o in _ESTIMATORS), None)
    if est is None:
        return
    names = set(est._get_param_names()) | est.method_param_names()
    kwargs = {k: v for k, v in vars(args).items() if k in names and v is not None}
    try:
        used = set(est(**kwargs).declared_params())
    except (ConfigError, TypeError, ValueError):
        return  # the command's own checks give the message
    dropped = []
    for dest in from_file:
        on_line = any(arg == opt or arg.startswith(opt + "=")
                      for a in flags[dest] for opt in a.option_strings for arg in argv)
        if dest in names and dest not in used and not on_line:
            setattr(args, dest, None)
            dropped.append(dest)
    if dropped:
        log.info("--config %s: leaving out %s (not read by the chosen method)", path,
                 ", ".join(sorted(dropped)))
