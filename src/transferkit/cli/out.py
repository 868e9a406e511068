"""``--out``, ``--overwrite`` and ``--wait``: the run folder a command writes, claimed up front.

The folder is checked and locked before any work starts, so a refused ``--out`` costs
nothing, and a second command on the same folder fails at once (or queues with ``--wait``).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..engine.distributed import is_global_zero
from ..runs.out_folder import check_out, checkpoint_dir_for, resume_dir_for, run_lock

__all__ = ["add_out_flags", "claim_out", "claim_fit_out"]


def add_out_flags(p: argparse.ArgumentParser, out_help: str | None) -> None:
    """``--overwrite`` and ``--wait`` (and ``--out`` itself unless ``out_help`` is None)."""
    if out_help is not None:
        p.add_argument("--out", help=out_help)
    p.add_argument("--overwrite", action="store_true",
                   help="replace a finished run already in --out (it is kept otherwise)")
    p.add_argument("--wait", action="store_true",
                   help="if another process is writing --out, wait for it instead of failing")


@contextmanager
def claim_out(args: argparse.Namespace, out: str | Path | None, resuming: bool = False,
              replacing: bool = False) -> Iterator[None]:
    """Check ``out`` (:func:`check_out`) and hold its lock for the block.

    ``resuming``: the run in ``out`` is being continued; ``replacing``: a replacement of the
    finished run there is being continued (as if ``--overwrite`` were given again).
    Under ``torchrun`` only rank 0 writes the run, so only rank 0 claims it.
    """
    if out is None or not is_global_zero():
        yield
        return
    with run_lock(out, wait=bool(getattr(args, "wait", False))):
        overwrite = replacing or bool(getattr(args, "overwrite", False))
        check_out(out, overwrite=overwrite, resume=resuming)
        yield


@contextmanager
def claim_fit_out(args: argparse.Namespace, model: Any, out: str | Path,
                  checkpoints: bool = True) -> Iterator[bool]:
    """Claim run folder ``out`` for an engine fit that checkpoints and may resume.

    ``model.resume`` naming ``out`` continues that run (or the replacement of it killed
    half-way, whose checkpoints sit beside it); with ``checkpoints`` the model checkpoints
    every epoch into ``out/checkpoints`` (beside ``out`` while a finished run there is being
    replaced). Yields whether saving may replace a finished run at ``out``.
    """
    resume = getattr(model, "resume", None)
    resuming = resume is not None and Path(resume).absolute() == Path(out).absolute()
    replacing = resuming and resume_dir_for(out) != Path(out)
    with claim_out(args, out, resuming=resuming, replacing=replacing):
        if resume:
            model.set_params(resume=str(resume_dir_for(resume)))
        if checkpoints and not model.checkpoint_dir:
            model.set_params(checkpoint_dir=str(checkpoint_dir_for(out)))
        yield bool(getattr(args, "overwrite", False)) or replacing
