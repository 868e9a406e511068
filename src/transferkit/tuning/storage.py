"""Where a study lives: in memory, a SQLite file, a journal file, or any database URL.

* ``None`` — in memory (one process, gone when it exits);
* ``sqlite:///runs/x/study.db`` — one file; fine for one process at a time (SQLite locks
  under parallel writers);
* ``journal:PATH`` — Optuna's journal storage on a file: several local processes append to
  one log (``--workers N``);
* ``postgresql://…``, ``mysql://…`` — any SQLAlchemy URL, for many machines (Optuna's
  ``RDBStorage``; the database driver must be installed).

Every spec is opened here, once, so a URL that cannot be opened fails before any trial runs,
with one line saying what was expected.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..exceptions import ConfigError

__all__ = ["open_storage", "is_shared", "describe_storage"]

_FORMS = ("Expected journal:PATH (several local processes), sqlite:///PATH.db (one process), "
          "or a database URL such as postgresql://user@host/db")


def describe_storage(spec: Any) -> str:
    """The spec as it may be printed and recorded: a database password is hidden."""
    if spec is None:
        return "memory"
    if not isinstance(spec, str):
        return type(spec).__name__
    if "://" in spec:
        try:
            from sqlalchemy.engine import make_url

            return make_url(spec).render_as_string(hide_password=True)
        except Exception:  # noqa: BLE001 - a malformed URL is reported when opened
            return spec.split("://", 1)[0] + "://…"
    return spec


def is_shared(spec: Any) -> bool:
    """Whether other processes can open the same study (everything but memory)."""
    return spec is not None


def open_storage(spec: str | os.PathLike | Any | None) -> Any:
    """An Optuna storage for ``spec`` (see the module docstring); a storage object passes.

    Raises:
        ConfigError: the spec has no known form, or the file or database cannot be opened.
    """
    import optuna

    if spec is None or isinstance(spec, optuna.storages.BaseStorage):
        return spec
    if isinstance(spec, os.PathLike):
        spec = str(spec)
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(f"The study storage {spec!r} is not a storage spec. {_FORMS}.")
    shown = describe_storage(spec)
    if spec.startswith("journal:"):
        return _journal(spec[len("journal:"):], shown)
    if "://" not in spec:
        raise ConfigError(f"The study storage {shown!r} has no known form. {_FORMS}. Fix: "
                          f"write journal:{spec} for a journal file.")
    try:
        return optuna.storages.RDBStorage(spec)
    except Exception as e:  # noqa: BLE001 - drivers and servers fail in many ways
        raise ConfigError(f"Cannot open the study storage {shown!r}: {_first_line(e)}. "
                          f"{_FORMS} that this machine can reach, with its driver installed. "
                          "Fix: check the URL, the server and the driver.") from None


def _journal(path_text: str, shown: str) -> Any:
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    path = Path(path_text).expanduser()
    if not path_text or path.is_dir():
        raise ConfigError(f"The journal storage {shown!r} names no file. Expected "
                          "journal:PATH to a (new or existing) journal file; fix: "
                          "journal:runs/study.journal.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path)))
    except Exception as e:  # noqa: BLE001 - unreadable file, bad contents, no permission
        raise ConfigError(f"Cannot open the journal storage {shown!r}: {_first_line(e)}. "
                          "Expected a journal file written by Optuna (or a new path); fix: "
                          "give another path.") from None


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}".rstrip(": ")
