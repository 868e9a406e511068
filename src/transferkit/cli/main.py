"""The ``transferkit`` command: a thin shell over the library.

User errors (anything derived from TransferKitError) print one line and exit with code 2.
"""

from __future__ import annotations

import argparse
import logging
import sys

from .._version import __version__
from ..engine.distributed import close_process_group
from ..exceptions import TransferKitError
from . import adapt as adapt_cmd
from . import compare as compare_cmd
from . import demo, fit, fit_multi, predict, zeroshot, zoo
from . import lr_find as lr_find_cmd
from . import monitor as monitor_cmd
from . import pretrain as pretrain_cmd
from . import rank as rank_cmd
from . import rank_sources as rank_sources_cmd
from . import readapt as readapt_cmd
from . import report as report_cmd
from . import shift as shift_cmd
from . import tune as tune_cmd
from .config import apply_config

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="transferkit",
        description="Transfer learning you can measure: reuse pre-trained models on small data.",
    )
    parser.add_argument("--version", action="version", version=f"transferkit {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo.add_parser(sub)
    zoo.add_parser(sub)
    fit.add_parser(sub)
    fit_multi.add_parser(sub)
    predict.add_parsers(sub)
    zeroshot.add_parser(sub)
    report_cmd.add_parsers(sub)
    rank_cmd.add_parser(sub)
    rank_sources_cmd.add_parser(sub)
    shift_cmd.add_parser(sub)
    compare_cmd.add_parser(sub)
    lr_find_cmd.add_parser(sub)
    adapt_cmd.add_parser(sub)
    monitor_cmd.add_parser(sub)
    readapt_cmd.add_parser(sub)
    tune_cmd.add_parser(sub)
    pretrain_cmd.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = apply_config(parser, argv)
        logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                            format="%(levelname)s %(name)s: %(message)s")
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        code = int(args.func(args) or 0)
        # Under torchrun the process group outlives the fit (rank 0 still evaluates and
        # writes the run). Left alive to interpreter exit, gloo's threads can be torn down
        # un-joined and abort the process ("terminate called without an active exception",
        # a CI failure of stop 30): every rank waits for rank 0 here, then the group closes.
        close_process_group()
        return code
    except TransferKitError as e:
        print(f"transferkit: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("transferkit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
