"""The one training loop, on Lightning Fabric, shared by every strategy that back-propagates.

A strategy builds a :class:`~transferkit.engine.task.Task` (module, parameter groups, step)
and calls :func:`train`. The loop does the rest: processes and devices (through Fabric),
AdamW over the task's groups, gradient accumulation, clipping, autocast, validation, the
monitored best epoch, callbacks, checkpoints and resume.

Reproducibility: rows are shuffled by ``(seed, epoch)`` and the torch generator is reseeded
from ``(seed, epoch, rank)`` at the start of every epoch, so dropout and data order do not
depend on what ran before — which is what makes a resumed run end with the same weights as
an uninterrupted one.
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.autograd.graph import increment_version

from ..exceptions import ConfigError
from ..utils.threads import threads_for, torch_threads
from .attached import current_attached
from .batchnorm import recalibrate_batchnorm, statistics_are_stale
from .callbacks import Callback, Checkpoint, EarlyStopping, MetricLogger, Progress
from .checkpoints import check_identity, find_checkpoint, load_checkpoint
from .data import ExampleData, augment_seed, epoch_plan, eval_shard
from .distributed import close_process_group, make_fabric, quiet_lightning, unshare_module
from .freezing import count_params, set_train_mode
from .param_groups import lrs_by_group
from .schedules import LRSchedule
from .task import Task

__all__ = ["TrainConfig", "FitResult", "Loop", "train"]

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Settings of one training run (everything but the task and the data).

    Attributes:
        epochs: passes over the training data.
        batch_size: examples per optimiser step, summed over processes and accumulation.
        eval_batch_size: examples per forward pass when validating (default ``2*batch_size``).
        accumulate: micro-batches per process per optimiser step.
        clip_grad: maximum gradient norm (``None``: no clipping).
        precision: ``"auto"`` (bf16 autocast on GPUs that support it), ``"32-true"``,
            ``"bf16-mixed"`` or ``"16-mixed"``.
        devices: processes on this machine (ignored under ``torchrun``).
        seed: seeds data order and dropout per epoch.
        monitor: the history key that picks the best epoch (``"val_loss"``, ``"val_accuracy"``).
        mode: ``"min"`` or ``"max"`` for :attr:`monitor`.
        patience: early-stopping patience (``None``: never stop early); the best epoch's
            weights are restored whenever there is validation data.
        lr_schedule: ``"cosine"``, ``"linear"`` or ``"constant"``.
        warmup: warm-up steps as a fraction of all steps.
        checkpoint_dir: where ``last.ckpt`` / ``best.ckpt`` / ``history.jsonl`` go (``None``:
            no checkpoints).
        resume: a checkpoint folder (or run folder) to continue from.
        identity: what this run is (backbone, data, settings); recorded in checkpoints and
            compared before a resume.
        progress: show a progress bar (rank 0, terminal only).
        recalibrate_bn: after each epoch, re-estimate the statistics of the BatchNorm layers
            that train on the training data (see :mod:`.batchnorm`), before validating,
            whenever their running averages are still stale.
        betas: AdamW betas.
        eps: AdamW epsilon.
    """

    epochs: int = 3
    batch_size: int = 32
    eval_batch_size: int | None = None
    accumulate: int = 1
    clip_grad: float | None = 1.0
    precision: str = "auto"
    devices: int = 1
    seed: int = 0
    monitor: str = "val_loss"
    mode: str = "min"
    patience: int | None = None
    lr_schedule: str = "cosine"
    warmup: float = 0.1
    checkpoint_dir: str | None = None
    resume: str | None = None
    identity: dict[str, Any] = field(default_factory=dict)
    progress: bool = True
    recalibrate_bn: bool = True
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8


@dataclass
class FitResult:
    """What a training run reports back.

    Attributes:
        history: one dict per finished epoch (``epoch``, ``train_loss``, ``val_loss``,
            ``val_accuracy``, ``lr`` per group, ``seconds``, ``is_best``, task extras).
        best_epoch: the epoch (1-based) whose weights the module holds when validation was
            available, else ``None`` (the last epoch's weights are kept).
        epochs_run: epochs finished, including those before a resume.
        stopped_early: whether early stopping ended the run.
        resumed_from: epochs already done in the checkpoint resumed from (``None``: fresh).
        world_size: number of processes.
        device: ``"cpu"`` or ``"cuda"``.
        precision: the precision used.
        seconds: wall time of this call.
        lr_by_group: the base learning rate of each optimiser group.
        trainable_params: parameters that trained in the last epoch.
        total_params: all parameters of the module.
    """

    history: list[dict[str, Any]]
    best_epoch: int | None
    epochs_run: int
    stopped_early: bool
    resumed_from: int | None
    world_size: int
    device: str
    precision: str
    seconds: float
    lr_by_group: dict[str, float]
    trainable_params: int
    total_params: int
    state: dict[str, torch.Tensor] | None = None

    def summary(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("state")
        d.pop("history")
        return d


def _epoch_seed(seed: int, epoch: int, rank: int) -> int:
    return (int(seed) * 1_000_003 + int(epoch) * 7_919 + int(rank)) % (2**63 - 1)


class Loop:
    """One training run of a :class:`Task` on a Fabric (use :func:`train` rather than this).

    Attributes callbacks may read: ``fabric``, ``task``, ``config``, ``module`` (unwrapped),
    ``model`` (wrapped), ``optimizer``, ``epoch`` (0-based, current), ``global_step``,
    ``steps_per_epoch``, ``total_steps``, ``history``, ``should_stop``.
    """

    def __init__(self, fabric: Any, task: Task, train_data: ExampleData,
                 val_data: ExampleData | None, config: TrainConfig,
                 callbacks: Sequence[Callback] = ()) -> None:
        self.fabric = fabric
        self.task = task
        self.train_data = train_data
        self.val_data = val_data
        self.config = config
        self.callbacks = sorted(callbacks, key=lambda c: c.order)
        self.history: list[dict[str, Any]] = []
        self.epoch = 0
        self.global_step = 0
        self.should_stop = False
        self.best_score: float | None = None
        self.best_epoch: int | None = None
        self.resumed_from: int | None = None
        self._trainable_sig: tuple[bool, ...] | None = None

    # --- process info -----------------------------------------------------------------------
    @property
    def rank(self) -> int:
        return self.fabric.global_rank

    @property
    def world_size(self) -> int:
        return self.fabric.world_size

    @property
    def is_global_zero(self) -> bool:
        return self.fabric.is_global_zero

    def _call(self, hook: str, *args: Any) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(self, *args)

    # --- state --------------------------------------------------------------------------------
    def module_state(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().cpu().clone() for k, v in self.module.state_dict().items()}

    def trainable_state(self) -> dict[str, torch.Tensor]:
        """Copies of every parameter the optimiser may update, and of every buffer."""
        in_opt = {id(p) for g in self.raw_optimizer.param_groups for p in g["params"]}
        out = {f"p:{n}": p.detach().cpu().clone()
               for n, p in self.module.named_parameters() if id(p) in in_opt}
        out.update({f"b:{n}": b.detach().cpu().clone() for n, b in self.module.named_buffers()})
        return out

    def load_trainable_state(self, state: dict[str, torch.Tensor]) -> None:
        params = dict(self.module.named_parameters())
        buffers = dict(self.module.named_buffers())
        with torch.no_grad():
            for k, v in state.items():
                kind, name = k.split(":", 1)
                target = params[name] if kind == "p" else buffers[name]
                target.copy_(v.to(target.device))

    def checkpoint_state(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch + 1,
            "global_step": self.global_step,
            "module": self.module_state(),
            "optimizer": self.raw_optimizer.state_dict(),
            "history": self.history,
            "best_score": self.best_score,
            "best_epoch": self.best_epoch,
            "should_stop": self.should_stop,
            "callbacks": {cb.key: cb.state_dict() for cb in self.callbacks},
        }

    def _restore(self, state: dict[str, Any]) -> None:
        self.module.load_state_dict(state["module"])
        self.raw_optimizer.load_state_dict(state["optimizer"])
        self.epoch = int(state["epoch"])
        self.global_step = int(state["global_step"])
        self.history = list(state["history"])
        self.best_score = state.get("best_score")
        self.best_epoch = state.get("best_epoch")
        self.should_stop = bool(state.get("should_stop", False))
        for cb in self.callbacks:
            if cb.key in state.get("callbacks", {}):
                cb.load_state_dict(state["callbacks"][cb.key])
        self.resumed_from = self.epoch

    # --- the loop -------------------------------------------------------------------------------
    def fit(self) -> FitResult:
        cfg = self.config
        t0 = time.perf_counter()
        self.module = self.task.module
        self.model = self.fabric.setup_module(self.module)
        groups = self.task.param_groups()
        for g in groups:
            g.setdefault("base_lr", g["lr"])
        # The fused AdamW kernel is ~10x faster than the per-tensor loop on CPU as well.
        fused = self.fabric.device.type in ("cpu", "cuda")
        self.raw_optimizer = torch.optim.AdamW(groups, lr=groups[0]["lr"], betas=cfg.betas,
                                               eps=cfg.eps, weight_decay=0.0, fused=fused)
        self.fused = fused
        self.stepped_params = [p for g in groups for p in g["params"]]
        self.optimizer = self.fabric.setup_optimizers(self.raw_optimizer)
        self.steps_per_epoch = math.ceil(len(self.train_data) / cfg.batch_size)
        self.total_steps = self.steps_per_epoch * cfg.epochs
        if cfg.resume:
            self._restore(load_checkpoint(find_checkpoint(cfg.resume)))
            log.info("resuming after epoch %d (step %d)", self.epoch, self.global_step)
        self._call("on_fit_start")
        try:
            while self.epoch < cfg.epochs and not self.should_stop:
                record = self._run_epoch()
                self.history.append(record)
                self._call("on_epoch_end", record)
                self.epoch += 1
        except BaseException as e:
            self._call("on_exception", e)
            raise
        self._call("on_fit_end")
        trainable, total = count_params(self.module)
        return FitResult(
            history=self.history,
            best_epoch=self.best_epoch,
            epochs_run=len(self.history),
            stopped_early=self.should_stop and len(self.history) < cfg.epochs,
            resumed_from=self.resumed_from,
            world_size=self.world_size,
            device=str(self.fabric.device.type),
            precision=cfg.precision,
            seconds=round(time.perf_counter() - t0, 3),
            lr_by_group=lrs_by_group(self.raw_optimizer.param_groups, "base_lr"),
            trainable_params=trainable,
            total_params=total,
        )

    def _prepare_epoch(self) -> None:
        self.task.on_epoch_start(self.epoch)
        sig = tuple(p.requires_grad for p in self.module.parameters())
        if self._trainable_sig is not None and sig != self._trainable_sig and self.world_size > 1:
            # DDP fixes the set of parameters it synchronises when it wraps the module.
            self.model = None
            self.model = self.fabric.setup_module(self.module)
        self._trainable_sig = sig
        torch.manual_seed(_epoch_seed(self.config.seed, self.epoch, self.rank))
        set_train_mode(self.module)

    def _run_epoch(self) -> dict[str, Any]:
        cfg, fabric = self.config, self.fabric
        t0 = time.perf_counter()
        self._prepare_epoch()
        self._call("on_epoch_start")
        plan = epoch_plan(len(self.train_data), cfg.batch_size, self.epoch, cfg.seed,
                          self.rank, self.world_size, cfg.accumulate)
        loss_sum = torch.zeros((), dtype=torch.float64, device=fabric.device)
        count = torch.zeros((), dtype=torch.float64, device=fabric.device)
        augmented = getattr(self.train_data, "augment", None) is not None
        for s, micro in enumerate(plan):
            step_loss = torch.zeros((), dtype=torch.float64, device=fabric.device)
            for k, mb in enumerate(micro):
                if augmented:  # seeded by where the batch is in the run (engine.data)
                    seed = augment_seed(cfg.seed, self.epoch, self.rank, s, k)
                    batch = fabric.to_device(self.train_data.batch(mb.idx, augment_seed=seed))
                else:
                    batch = fabric.to_device(self.train_data.batch(mb.idx))
                with fabric.no_backward_sync(self.model, enabled=k < len(micro) - 1):
                    with fabric.autocast():
                        loss = self.task.training_step(self.model, batch)
                    fabric.backward(loss * mb.scale)
                if mb.scale > 0:
                    weighted = loss.detach().double() * len(mb.idx)
                    loss_sum += weighted
                    count += len(mb.idx)
                    step_loss += weighted / len(mb.idx) * mb.scale / self.world_size
            self._call("on_before_optimizer_step")
            if cfg.clip_grad:
                fabric.clip_gradients(self.model, self.optimizer, max_norm=cfg.clip_grad,
                                      error_if_nonfinite=False)
            self.optimizer.step()
            if self.fused:
                # The fused kernel writes the weights without bumping their version counters:
                # caches keyed on them (a text encoder's packed inference weights) would go stale.
                increment_version(self.stepped_params)
            self.optimizer.zero_grad(set_to_none=True)
            self.global_step += 1
            self._call("on_train_batch_end", step_loss)
            if self.should_stop:
                break
        totals = fabric.all_reduce(torch.stack([loss_sum, count]), reduce_op="sum")
        train_loss = float(totals[0] / totals[1].clamp(min=1))
        if not math.isfinite(train_loss) and not getattr(self, "allow_nonfinite", False):
            lr = max(g["lr"] for g in self.raw_optimizer.param_groups)
            raise ConfigError(
                f"The training loss became {train_loss} in epoch {self.epoch + 1}: the learning "
                f"rate (up to {lr:.2g}) is probably too high. Lower lr (`transferkit lr-find` "
                "suggests one), or keep clip_grad on."
            )
        record: dict[str, Any] = {"epoch": self.epoch + 1, "train_loss": train_loss}
        if (cfg.recalibrate_bn and self.task.recalibrates_norms
                and statistics_are_stale(self.module, self.global_step)):
            self._recalibrate_norms()
        record.update(self.validate())
        record["lr"] = lrs_by_group(self.raw_optimizer.param_groups)
        record.update(self.task.epoch_metrics())
        record["trainable_params"] = count_params(self.module)[0]
        value = record.get(cfg.monitor)
        if value is not None and math.isfinite(value):
            better = self.best_score is None or (
                value < self.best_score if cfg.mode == "min" else value > self.best_score)
            if better:
                self.best_score, self.best_epoch = float(value), record["epoch"]
            record["is_best"] = bool(better)
        record["seconds"] = round(time.perf_counter() - t0, 3)
        return record

    def _recalibrate_norms(self) -> None:
        fabric = self.fabric

        def forward(batch: dict[str, Any]) -> Any:
            with fabric.autocast():
                return self.task.forward_inputs(self.module, batch)

        recalibrate_batchnorm(
            self.module, forward, self.train_data, self.config.batch_size,
            seed=self.config.seed, to_device=fabric.to_device, shard=(self.rank, self.world_size),
            all_reduce_mean=(None if self.world_size == 1 else
                             lambda t: fabric.all_reduce(t, reduce_op="mean")))

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Validation metrics over all processes (``{}`` without validation data)."""
        if self.val_data is None or len(self.val_data) == 0:
            return {}
        cfg, fabric = self.config, self.fabric
        keys = self.task.validation_keys
        self.module.eval()
        sums = torch.zeros(len(keys), dtype=torch.float64, device=fabric.device)
        bs = cfg.eval_batch_size or 2 * cfg.batch_size
        for idx in eval_shard(self.val_data.eval_order(), bs, self.rank, self.world_size):
            batch = fabric.to_device(self.val_data.batch(idx))
            with fabric.autocast():
                out = self.task.validation_step(self.module, batch)
            sums += torch.stack([out[k].detach().double() if k in out else
                                 torch.zeros((), dtype=torch.float64, device=fabric.device)
                                 for k in keys])
        sums = fabric.all_reduce(sums, reduce_op="sum")
        set_train_mode(self.module)
        return self.task.finish_validation(dict(zip(keys, (float(v) for v in sums),
                                                    strict=True)))


def default_callbacks(config: TrainConfig, has_val: bool) -> list[Callback]:
    cbs: list[Callback] = [LRSchedule(config.lr_schedule, config.warmup),
                           Progress(config.progress)]
    if has_val:
        cbs.append(EarlyStopping(config.patience, restore_best=True))
    if config.checkpoint_dir:
        cbs += [Checkpoint(config.checkpoint_dir), MetricLogger(config.checkpoint_dir)]
    return cbs


def _worker(fabric: Any, task: Task, train_data: ExampleData, val_data: ExampleData | None,
            config: TrainConfig, callbacks: Sequence[Callback], spawned: str | bool,
            _quiet: Any = None) -> Any:
    """One process's training; ``spawned`` is ``False`` or the file rank 0 writes its result to."""
    if spawned is not False:
        # Tensors cross the spawn boundary in shared memory; each process trains its own copy.
        unshare_module(task.module)
    cbs = default_callbacks(config, val_data is not None and len(val_data) > 0) + list(callbacks)
    loop = Loop(fabric, task, train_data, val_data, config, cbs)
    result = loop.fit()
    if spawned is not False:
        # Rank 0 hands weights and history back through a file: on the return queue, tensors
        # would travel as shared-memory handles that die with this process, and anything
        # larger than a pipe buffer would block until the parent reads, which it does only
        # after every process has exited.
        if loop.is_global_zero:
            out = asdict(result)
            out["state"] = loop.module_state()
            torch.save(out, spawned)
        del loop
        close_process_group()
        return None
    return result


def _normalise(obj: Any) -> Any:
    return json.loads(json.dumps(obj, sort_keys=True, default=str))


def train(task: Task, train_data: ExampleData, val_data: ExampleData | None = None,
          config: TrainConfig | None = None, callbacks: Sequence[Callback] = ()) -> FitResult:
    """Train ``task`` on ``train_data``; the task's module holds the result on the CPU afterwards.

    Args:
        task: module, parameter groups and step.
        train_data: training examples.
        val_data: validation examples (early stopping, best-epoch weights), or ``None``.
        config: run settings.
        callbacks: extra callbacks, after the built-in ones (LR schedule, progress, early
            stopping with validation data, checkpoint + metric log with a checkpoint folder).

    Returns:
        The :class:`FitResult` (history, best epoch, timings, learning rates).

    Raises:
        RunError: ``config.resume`` names no checkpoint, or one from a different run.
    """
    config = config or TrainConfig()
    callbacks = [*callbacks, *current_attached()]  # e.g. a search's pruning callback
    config.identity = _normalise(config.identity)
    if config.resume:
        # Checked here, in the calling process, so a refusal is a clean error and not a
        # failure inside spawned workers.
        check_identity(find_checkpoint(config.resume), config.identity)
    fabric, mode, config.precision = make_fabric(config.devices, config.precision)
    if mode == "spawn":
        with tempfile.TemporaryDirectory(prefix="transferkit-ddp-") as tmp:
            path = str(Path(tmp) / "result.pt")
            fabric.launch(_worker, task, train_data, val_data, config, list(callbacks), path,
                          quiet_lightning())
            out = torch.load(path, map_location="cpu", weights_only=True)
        unshare_module(task.module)  # pickling for spawn moved the weights to shared memory
        task.module.load_state_dict(out.pop("state"))
        return FitResult(**out)
    fabric.launch()
    threads = torch.get_num_threads()
    if fabric.device.type == "cpu":
        # Small models train many times faster on one thread than on contended ones; a
        # training step is ~6 FLOPs per parameter and example, and small steps are
        # dominated by per-op overhead, hence the extra factor 10 over ``threads_for``.
        trainable = sum(p.numel() for g in task.param_groups() for p in g["params"])
        threads = threads_for(6.0 * trainable * config.batch_size / 10)
    with torch_threads(threads):
        result = _worker(fabric, task, train_data, val_data, config, callbacks, False)
    task.module.to("cpu")
    return result
