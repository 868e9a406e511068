"""Multi-task learning: one shared encoder, one head per task, trained together.

* :mod:`.sampling` — each task's share of every epoch and step (proportional, temperature,
  round robin);
* :mod:`.weighting` — fixed per-task loss weights or learned uncertainty weights;
* :mod:`.conflict` — cosines between the tasks' gradients on the shared encoder;
* :mod:`.task` — the module (encoder + heads) and the engine task that trains it;
* :mod:`.trainer` — freezing, learning rates, cached frozen layers and the engine call.

The estimator is :class:`transferkit.MultiTaskClassifier`.
"""

from .conflict import ConflictTally, gradient_cosines, pair_name
from .sampling import BATCHES, SAMPLINGS, MultiTaskExamples, epoch_counts, task_shares
from .summary import conflict_overview
from .task import MultiTaskModule, MultiTaskTrainingTask, TaskHeadModule
from .trainer import MultiTaskFit, TaskData, fit_multitask, split_validation
from .weighting import UNCERTAINTY, LossWeights, check_loss_weights, parse_loss_weights

__all__ = [
    "BATCHES",
    "SAMPLINGS",
    "UNCERTAINTY",
    "ConflictTally",
    "LossWeights",
    "MultiTaskExamples",
    "MultiTaskFit",
    "MultiTaskModule",
    "MultiTaskTrainingTask",
    "TaskData",
    "TaskHeadModule",
    "check_loss_weights",
    "conflict_overview",
    "epoch_counts",
    "fit_multitask",
    "gradient_cosines",
    "pair_name",
    "parse_loss_weights",
    "split_validation",
    "task_shares",
]
