"""Processes and devices, all through Lightning Fabric.

Three ways to run the same training code:

* one process (``devices=1``): the GPU when there is one, else the CPU;
* ``devices=N`` on one machine: Fabric spawns N processes and trains with DDP — NCCL on N
  GPUs, gloo on the CPU when fewer than N GPUs exist;
* under ``torchrun`` (one or many machines): the processes already exist; Fabric reads
  ``RANK`` / ``WORLD_SIZE`` / ``LOCAL_WORLD_SIZE`` and joins them. For two machines with
  four GPUs each::

      torchrun --nnodes 2 --nproc-per-node 4 --node-rank $NODE_RANK \\
          --master-addr $HEAD_NODE --master-port 29500 \\
          -m transferkit.cli.main fit banking77 --strategy finetune --out runs/b77-ft

  Only rank 0 evaluates and writes the run folder.

bf16 autocast is used only on GPUs that support it (``precision="auto"``).
"""

from __future__ import annotations

import gc
import logging
import os
import time
from typing import Any

import torch

from ..exceptions import ConfigError

__all__ = ["PRECISIONS", "close_process_group", "global_rank", "is_global_zero",
           "launched_externally", "make_fabric", "quiet_lightning", "resolve_precision",
           "unshare_module"]

log = logging.getLogger(__name__)

PRECISIONS = ("auto", "32-true", "bf16-mixed", "16-mixed")


def launched_externally() -> bool:
    """Whether ``torchrun`` (torch elastic) started this process as one of several."""
    need = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")
    return all(v in os.environ for v in need) and int(os.environ.get("WORLD_SIZE", "1")) > 1


def global_rank() -> int:
    """This process's rank (0 when not distributed)."""
    try:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            return dist.get_rank()
    except Exception:  # pragma: no cover - torch builds without distributed
        pass
    return int(os.environ.get("RANK", "0"))


def is_global_zero() -> bool:
    return global_rank() == 0


def _accelerator(devices: int) -> str:
    if torch.cuda.is_available() and torch.cuda.device_count() >= devices:
        return "cuda"
    if devices > 1:
        if torch.cuda.is_available():
            log.warning("devices=%d but only %d GPU(s): training on %d CPU processes instead",
                        devices, torch.cuda.device_count(), devices)
        return "cpu"
    return "cpu"


def resolve_precision(precision: str, accelerator: str) -> str:
    """``"auto"`` -> bf16 autocast on GPUs that support it, full precision elsewhere."""
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {list(PRECISIONS)}; got {precision!r}.")
    if precision != "auto":
        if precision == "16-mixed" and accelerator != "cuda":
            raise ConfigError("precision='16-mixed' needs a GPU; use 'auto' or '32-true' on CPU.")
        return precision
    if accelerator == "cuda" and torch.cuda.is_bf16_supported():
        return "bf16-mixed"
    return "32-true"


def _set_lightning_level(level: int) -> None:
    logging.getLogger("lightning_fabric").setLevel(level)


class quiet_lightning:  # noqa: N801 - used like a function
    """Keep Lightning's INFO banners ("Initializing distributed ...") out of the output.

    Lightning logs them at INFO on its own handler; transferkit shows them only when its own
    logger is at INFO (``transferkit -v``). Passed to spawned processes, where unpickling it
    applies the same level before Fabric sets up the process group.
    """

    def __init__(self) -> None:
        verbose = logging.getLogger("transferkit").isEnabledFor(logging.INFO)
        self.level = logging.INFO if verbose else logging.WARNING
        _set_lightning_level(self.level)

    def __reduce__(self) -> tuple:
        return (_set_lightning_level, (self.level,))


def make_fabric(devices: int = 1, precision: str = "auto") -> tuple[Any, str, str]:
    """A Fabric for this run, its mode (``"single"``, ``"spawn"`` or ``"external"``) and the
    precision it resolved to."""
    from lightning_fabric import Fabric

    quiet_lightning()
    if launched_externally():
        world = int(os.environ["WORLD_SIZE"])
        local = int(os.environ["LOCAL_WORLD_SIZE"])
        acc = "cuda" if torch.cuda.is_available() else "cpu"
        prec = resolve_precision(precision, acc)
        fabric = Fabric(accelerator=acc, strategy="ddp", devices=local, num_nodes=world // local,
                        precision=prec)
        return fabric, "external", prec
    devices = int(devices)
    acc = _accelerator(devices)
    prec = resolve_precision(precision, acc)
    if devices > 1:
        fabric = Fabric(accelerator=acc, strategy="ddp_spawn", devices=devices, precision=prec)
        return fabric, "spawn", prec
    return Fabric(accelerator=acc, devices=1, precision=prec), "single", prec


def unshare_module(module: torch.nn.Module) -> None:
    """Give every tensor of ``module`` its own memory: tensors that crossed a spawn boundary
    live in shared memory, and each process must train (and the parent keep) its own copy."""
    with torch.no_grad():
        for t in list(module.parameters()) + list(module.buffers()):
            t.data = t.data.clone()


def close_process_group() -> None:
    """Tear the gloo group down in an order that cannot deadlock or abort.

    A gloo worker thread drops its last reference to a finished collective's tensors after
    the caller has already been woken, and doing so needs the GIL. If the main thread frees
    the DDP reducer (and with it the process group, whose destructor joins those threads)
    in that window, it holds the GIL while waiting for a thread that waits for the GIL: the
    process hangs for ever (seen about one run in three on 2 cores). So: every rank finishes
    its collectives, the main thread sleeps (releasing the GIL) so the threads can let go,
    and only then the reducer and the group are freed. Leaving the group alive instead can
    abort the process at exit ("terminate called without an active exception").
    """
    if not torch.distributed.is_initialized():
        return
    torch.distributed.barrier()
    time.sleep(0.2)
    gc.collect()  # the DDP wrapper and its reducer, once the caller has dropped them
    time.sleep(0.05)
    torch.distributed.destroy_process_group()
