"""The training engine: one Fabric loop for every strategy that back-propagates.

Strategies hand the loop a :class:`Task` (module, parameter groups, step) and data; the loop
runs it on one CPU, one GPU, N spawned processes or under ``torchrun``, with callbacks for
learning-rate schedules, early stopping, checkpoints, metric logs and progress.
"""

from .attached import attached_callbacks, current_attached
from .callbacks import Callback, Checkpoint, EarlyStopping, MetricLogger, Progress
from .checkpoints import check_identity, find_checkpoint, load_checkpoint, save_checkpoint
from .data import ExampleData, epoch_plan
from .distributed import is_global_zero, launched_externally, make_fabric
from .freezing import FreezePlan, Freezer, count_params, plan_freezing, set_train_mode
from .inference import predict_outputs
from .l2sp import L2SPPenalty
from .loop import FitResult, Loop, TrainConfig, train
from .lr_finder import LRFinder, plot_lr_sweep, suggest_lr, sweep_lr
from .param_groups import build_param_groups, lrs_by_group
from .schedules import LRSchedule, lr_factor
from .task import ClassificationTask, ClassifierModule, Task

__all__ = [
    "Callback",
    "Checkpoint",
    "ClassificationTask",
    "ClassifierModule",
    "EarlyStopping",
    "ExampleData",
    "FitResult",
    "FreezePlan",
    "Freezer",
    "L2SPPenalty",
    "LRFinder",
    "LRSchedule",
    "Loop",
    "MetricLogger",
    "Progress",
    "Task",
    "TrainConfig",
    "attached_callbacks",
    "build_param_groups",
    "check_identity",
    "count_params",
    "current_attached",
    "epoch_plan",
    "find_checkpoint",
    "is_global_zero",
    "launched_externally",
    "load_checkpoint",
    "lr_factor",
    "lrs_by_group",
    "make_fabric",
    "plan_freezing",
    "plot_lr_sweep",
    "predict_outputs",
    "save_checkpoint",
    "set_train_mode",
    "suggest_lr",
    "sweep_lr",
    "train",
]
