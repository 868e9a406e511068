"""Where a command's lines go: standard output, or a file replaced only once it is complete."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .common import echo

__all__ = ["line_sink"]


@contextmanager
def line_sink(path: str | None) -> Iterator[Callable[[str], None]]:
    """Yield ``write(line)``: to standard output, or, given ``path``, to a temporary file in
    the same folder that is renamed onto ``path`` when the block ends without error (an
    interrupted run never leaves a half-written file behind)."""
    if not path:
        yield echo
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            yield lambda line: f.write(line + "\n")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
