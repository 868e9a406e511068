"""Command-line options the resumable benchmarks share (raw results kept between runs)."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable


def run_or_write(ap: argparse.ArgumentParser, run: Callable[[argparse.Namespace], None],
                 write: Callable[[], None], seeds: int = 1, threads: int = 2) -> None:
    """Add ``--seeds --threads --force --write`` to ``ap``, then run (unless ``--write``:
    only re-render RESULTS.md from the raw file) and write."""
    ap.add_argument("--seeds", type=int, default=seeds)
    ap.add_argument("--threads", type=int, default=threads)
    ap.add_argument("--force", action="store_true", help="re-run runs already in the raw file")
    ap.add_argument("--write", action="store_true", help="only write RESULTS.md")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not args.write:
        run(args)
    write()
