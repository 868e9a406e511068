"""Where a run is written: never over a user's own files, never by two processes at once.

A run folder belongs to transferkit only when everything in it is something transferkit
writes (:data:`RUN_ENTRIES`). :func:`check_out` refuses any other non-empty folder, refuses
to replace a finished run unless asked (``overwrite=True``, CLI ``--overwrite``) and refuses
to start over an interrupted one unless it is resumed or overwritten. :func:`run_lock` holds
a lock beside the folder (``.NAME.lock``, `filelock`) for as long as a command writes it, so a
second process fails at once with the holder's name, or waits for it (``wait=True``).

While a finished run is being replaced, the new run's checkpoints live beside it
(``.NAME.next/checkpoints``, :func:`checkpoint_dir_for`), so a fit killed half-way leaves
the old run exactly as it was.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock, Timeout

from ..exceptions import RunError
from ..utils.io import atomic_write_json, recover_swap

__all__ = ["RUN_ENTRIES", "FolderState", "folder_state", "check_out", "run_lock",
           "checkpoint_dir_for", "resume_dir_for", "discard_staging"]

#: every name transferkit writes inside a run folder (safetensors arrays match by suffix)
RUN_ENTRIES = frozenset({
    "model.json", "record.json", "metrics.json", "config.yaml", "report.html", "checkpoints",
    "encoder.json",
    "compare.csv", "ranking.csv", "lr_find.png", "lr_find.json", "windows.csv",
})
_RUN_SUFFIXES = (".safetensors",)


@dataclass(frozen=True)
class FolderState:
    """What is at a would-be run folder.

    ``kind``: ``missing``, ``file``, ``empty``, ``run`` (finished: ``model.json`` or
    ``record.json``), ``interrupted`` (only checkpoints), or ``foreign`` (anything transferkit
    did not write; ``foreign`` lists those entries).
    """

    path: Path
    kind: str
    foreign: list[str] = field(default_factory=list)


def _ours(name: str) -> bool:
    # Atomic writes leave ".NAME.xxx.tmp" behind only when killed mid-write.
    return (name in RUN_ENTRIES or name.endswith(_RUN_SUFFIXES)
            or (name.startswith(".") and name.endswith(".tmp")))


def folder_state(path: str | os.PathLike) -> FolderState:
    path = Path(path)
    recover_swap(path)
    if not path.exists():
        return FolderState(path, "missing")
    if not path.is_dir():
        return FolderState(path, "file")
    names = sorted(p.name for p in path.iterdir())
    foreign = [n + ("/" if (path / n).is_dir() else "") for n in names if not _ours(n)]
    if foreign:
        return FolderState(path, "foreign", foreign)
    if not names:
        return FolderState(path, "empty")
    if "model.json" in names or "record.json" in names:
        return FolderState(path, "run")
    return FolderState(path, "interrupted")


def check_out(path: str | os.PathLike, overwrite: bool = False, resume: bool = False) -> Path:
    """Refuse to write a run into ``path`` where that would lose something; returns the path.

    Args:
        overwrite: a finished (or interrupted) run at ``path`` may be replaced.
        resume: the run at ``path`` is being continued (its checkpoints are ours to finish).

    Raises:
        RunError: ``path`` is a file; a folder with files transferkit did not write; a
            finished run without ``overwrite``; an interrupted run without ``resume`` or
            ``overwrite``.
    """
    state = folder_state(path)
    where = str(state.path)
    if state.kind == "file":
        raise RunError(f"The run folder {where!r} is an existing file. Expected a new or empty "
                       "folder, or an earlier run; give another --out (out=) path.")
    if state.kind == "foreign":
        shown = ", ".join(state.foreign[:5]) + (" …" if len(state.foreign) > 5 else "")
        raise RunError(
            f"{where!r} holds files transferkit did not write ({shown}); a run replaces its "
            "folder whole, so it is never written over a folder of your own. Give a new or "
            "empty folder as --out (out=)."
        )
    if state.kind == "run" and not overwrite:
        raise RunError(
            f"{where!r} already holds a finished run{_made(state.path)}. Pass --overwrite "
            "(overwrite=True) to replace it, or give another --out (out=) path."
        )
    if state.kind == "interrupted" and not (overwrite or resume):
        raise RunError(
            f"{where!r} holds an interrupted run (checkpoints, no saved model). Pass --resume "
            f"{where} to continue it, --overwrite (overwrite=True) to start over, or give "
            "another --out (out=) path."
        )
    return state.path


def _made(path: Path) -> str:
    try:
        with open(path / "record.json", encoding="utf-8") as f:
            rec = json.load(f)
    except (OSError, ValueError):
        return ""
    created = rec.get("created") if isinstance(rec, dict) else None
    return f" (written {created})" if isinstance(created, str) else ""


def _lock_paths(path: Path) -> tuple[Path, Path]:
    folder = path.absolute()
    return (folder.with_name(f".{folder.name}.lock"),
            folder.with_name(f".{folder.name}.lock.json"))


_HELD: dict[Path, int] = {}


@contextmanager
def run_lock(path: str | os.PathLike, wait: bool | float = False) -> Iterator[None]:
    """Hold the write lock of run folder ``path`` for the block (re-entrant in one process).

    Args:
        wait: ``False`` fails at once when another process holds it; ``True`` waits for it;
            a number waits at most that many seconds.

    Raises:
        RunError: another process holds the lock (the message names it) and waiting ended.
    """
    lock_file, holder_file = _lock_paths(Path(path))
    if _HELD.get(lock_file):
        _HELD[lock_file] += 1
        try:
            yield
        finally:
            _HELD[lock_file] -= 1
        return
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    timeout = -1 if wait is True else (0 if wait is False else float(wait))
    lock = FileLock(str(lock_file), timeout=timeout)
    try:
        lock.acquire()
    except Timeout:
        raise RunError(
            f"{str(path)!r} is being written by another transferkit process "
            f"({_holder(holder_file)}). Wait for it to finish, pass --wait (wait=True) to queue "
            "behind it, or give another --out."
        ) from None
    _HELD[lock_file] = 1
    try:
        _sweep_leftovers(Path(path))
        atomic_write_json(holder_file, {
            "pid": os.getpid(), "host": socket.gethostname(), "user": _user(),
            "since": time.strftime("%Y-%m-%d %H:%M:%S"), "command": " ".join(sys.argv)[:300]})
        yield
    finally:
        _HELD.pop(lock_file, None)
        holder_file.unlink(missing_ok=True)
        lock.release()


def _sweep_leftovers(path: Path) -> None:
    """Remove what a killed writer left beside the run (only the lock holder writes there)."""
    recover_swap(path)
    folder = path.absolute()
    for pattern in (f".{folder.name}.*.partial", f".{folder.name}.old-*"):
        for left in folder.parent.glob(pattern):
            shutil.rmtree(left, ignore_errors=True)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "?"


def _holder(holder_file: Path) -> str:
    try:
        with open(holder_file, encoding="utf-8") as f:
            h = json.load(f)
        return (f"pid {h['pid']} on {h['host']}, user {h['user']}, since {h['since']}: "
                f"{h['command']}")
    except (OSError, ValueError, KeyError, TypeError):
        return "holder unknown"


def _staging(path: Path) -> Path:
    folder = path.absolute()
    return folder.with_name(f".{folder.name}.next")


def checkpoint_dir_for(out: str | os.PathLike) -> Path:
    """Where a fit writing run ``out`` keeps its per-epoch checkpoints.

    Inside the folder (``out/checkpoints``) while it holds no finished run; beside it while a
    finished run is being replaced, so the old run stays whole until the new one is saved.
    """
    out = Path(out)
    if folder_state(out).kind == "run":
        return _staging(out) / "checkpoints"
    return out / "checkpoints"


def resume_dir_for(run: str | os.PathLike) -> Path:
    """The checkpoints to resume run ``run`` from: a replacement in progress, or its own."""
    staged = _staging(Path(run)) / "checkpoints"
    return staged if (staged / "last.ckpt").is_file() else Path(run)


def discard_staging(out: str | os.PathLike) -> None:
    """Remove the checkpoints of a replacement once the new run is saved."""
    shutil.rmtree(_staging(Path(out)), ignore_errors=True)
