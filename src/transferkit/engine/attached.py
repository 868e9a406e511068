"""Callbacks attached from outside a fit: ``with attached_callbacks(cb): model.fit(...)``.

A strategy builds its own call to :func:`~transferkit.engine.train`; code that sits above the
estimators (the hyper-parameter search's pruning callback) cannot hand it a callback through
``fit``'s signature without every strategy forwarding it. Attaching through a context variable
keeps the strategies unaware: every :func:`~transferkit.engine.train` call inside the block
runs the attached callbacks after its own. Only in-process training sees them (spawned DDP
workers do not inherit a context).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from .callbacks import Callback

__all__ = ["attached_callbacks", "current_attached"]

_ATTACHED: ContextVar[tuple[Callback, ...]] = ContextVar("transferkit_attached_callbacks",
                                                         default=())


@contextmanager
def attached_callbacks(*callbacks: Callback) -> Iterator[None]:
    """Run ``callbacks`` in every engine training run started inside the block."""
    token = _ATTACHED.set(_ATTACHED.get() + tuple(callbacks))
    try:
        yield
    finally:
        _ATTACHED.reset(token)


def current_attached() -> tuple[Callback, ...]:
    """The callbacks attached by the enclosing :func:`attached_callbacks` blocks."""
    return _ATTACHED.get()
