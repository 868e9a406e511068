"""Several local processes on one study: Optuna's own way, each process optimises the shared
study in its storage (no scheduler of ours).

Each worker is a fresh process (``spawn``: no forked torch or database state) that loads the
study by name from the shared storage and runs its share of the trials; its sampler gets its
own seed, or the workers would all propose the same first points. The storage serialises them
(a journal file locks its appends; a database its transactions).
"""

from __future__ import annotations

import multiprocessing as mp
from dataclasses import dataclass
from typing import Any

from ..exceptions import TransferKitError
from .objective import Objective
from .storage import describe_storage, open_storage
from .study import make_sampler, optimize

__all__ = ["WorkerJob", "run_workers", "shares"]


@dataclass
class WorkerJob:
    """Everything a worker needs to open the study and run trials (picklable)."""

    objective: Objective
    storage: str
    study_name: str
    sampler: str
    pruner: Any
    seed: int
    timeout: float | None
    threads: int = 1


def shares(n_trials: int, workers: int) -> list[int]:
    """``n_trials`` split as evenly as possible over ``workers`` (no empty shares)."""
    base, extra = divmod(n_trials, workers)
    return [s for s in (base + (i < extra) for i in range(workers)) if s > 0]


def _work(job: WorkerJob, index: int, n_trials: int) -> None:
    import torch

    torch.set_num_threads(job.threads)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=job.study_name, storage=open_storage(job.storage),
                              sampler=make_sampler(job.sampler, job.seed + 1 + index),
                              pruner=job.pruner)
    optimize(study, job.objective, n_trials, job.timeout)


def run_workers(job: WorkerJob, n_trials: int, workers: int) -> None:
    """Run ``n_trials`` more trials of the study over ``workers`` processes; wait for all.

    Raises:
        TransferKitError: a worker exited with an error (its own message went to stderr).
    """
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_work, args=(job, i, share), name=f"transferkit-tune-{i}")
             for i, share in enumerate(shares(n_trials, workers))]
    for p in procs:
        p.start()
    try:
        for p in procs:
            p.join()
    except BaseException:
        for p in procs:  # interrupted: stop our own workers; finished trials stay stored
            if p.is_alive():
                p.terminate()
        raise
    failed = [p for p in procs if p.exitcode != 0]
    if failed:
        raise TransferKitError(
            f"{len(failed)} of {len(procs)} search workers failed (exit codes "
            f"{[p.exitcode for p in failed]}); their errors are printed above. Finished trials "
            f"are kept in {describe_storage(job.storage)}: fix the cause and run the same "
            "command again to continue.")
