"""One registry class serves backbones, strategies, heads, scores and adaptation methods.

Registration is by decorator (as in timm's ``register_model``); a duplicate name raises; an
unknown name lists the closest registered names instead of a bare "unknown".
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from .exceptions import ConfigError

T = TypeVar("T")

__all__ = ["Registry"]


class Registry(Generic[T]):
    """A named collection of factories.

    Args:
        kind: what the registry holds, used in messages ("backbone", "strategy", ...).

    Example:
        >>> heads = Registry("head")
        >>> @heads.register("logistic")
        ... def make_logistic(**kw): ...
        >>> heads.names()
        ['logistic']
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Callable[..., T]] = {}
        self._info: dict[str, dict[str, Any]] = {}

    def register(self, name: str, **info: Any) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator: register ``fn`` under ``name``; ``info`` is metadata shown by listings."""
        if not name or not isinstance(name, str):
            raise ConfigError(f"A {self.kind} name must be a non-empty string; got {name!r}.")

        def decorator(fn: Callable[..., T]) -> Callable[..., T]:
            if name in self._entries:
                raise ConfigError(
                    f"A {self.kind} named {name!r} is already registered "
                    f"(by {getattr(self._entries[name], '__qualname__', self._entries[name])}). "
                    "Pick another name, or unregister the old one first."
                )
            self._entries[name] = fn
            self._info[name] = dict(info)
            return fn

        return decorator

    def unregister(self, name: str) -> None:
        self._entries.pop(name, None)
        self._info.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def get(self, name: str) -> Callable[..., T]:
        """Return the factory for ``name``, or raise with the closest matches."""
        try:
            return self._entries[name]
        except KeyError:
            raise ConfigError(self.unknown_message(name)) from None

    def create(self, name: str, **kwargs: Any) -> T:
        return self.get(name)(**kwargs)

    def info(self, name: str) -> dict[str, Any]:
        self.get(name)
        return dict(self._info[name])

    def names(self, pattern: str | None = None) -> list[str]:
        """Registered names, sorted; ``pattern`` is a shell-style filter (``"efficientnet*"``)."""
        names = sorted(self._entries)
        if pattern:
            names = [n for n in names if fnmatch.fnmatch(n, pattern)]
        return names

    def unknown_message(self, name: str) -> str:
        close = difflib.get_close_matches(str(name), list(self._entries), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        return (
            f"Unknown {self.kind} {name!r}.{hint} "
            f"Registered {self.kind}s: {', '.join(self.names()) or '(none)'}."
        )
