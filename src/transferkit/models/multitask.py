"""``MultiTaskClassifier``: one pre-trained encoder shared by several tasks, one head each."""

from __future__ import annotations

import difflib
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..backbones import backbone_for_data
from ..backbones.base import Backbone
from ..backbones.registry import bind_to_data
from ..data import Dataset, DatasetSplits, as_dataset
from ..engine import ExampleData, predict_outputs
from ..engine.params import ENGINE_PARAMS, FREEZING_PARAMS
from ..evaluation import (
    classification_metrics,
    multilabel_metrics,
    sets_from_multi_hot,
)
from ..exceptions import ConfigError, DataError
from ..runs import classes_from_json, classes_to_json, register_model_kind
from ..strategies.multitask import (
    BATCHES,
    SAMPLINGS,
    TaskHeadModule,
    check_loss_weights,
    conflict_overview,
    fit_multitask,
    parse_loss_weights,
    split_validation,
)
from ..strategies.params import COMMON, TORCH_HEAD
from ..utils.params import Param, Params
from ..utils.seed import seed_everything
from .base import TransferModel, backbone_spec, check_backbone_param
from .docs import document_params
from .multitask_tasks import (
    THRESHOLD,
    best_value,
    check_task_names,
    check_tasks,
    concat,
    encode_labels,
    identity,
    task_labels,
)

__all__ = ["MultiTaskClassifier", "check_task_names"]


@register_model_kind
class MultiTaskClassifier(TransferModel):
    """Several classification tasks learned at once on one shared, fine-tuned encoder.

    Tasks take turns by whole batches (or share every batch, ``batches="mixed"``), in shares
    set by ``sampling``; the encoder's top
    ``unfreeze`` layer groups train at ``lr * backbone_lr_mult`` for all of them together and
    each task has its own head. Each task holds out its own validation rows (or takes those
    given to ``fit(val=...)``); early stopping follows the mean of the tasks' validation
    accuracies, or one task's (``monitor``).

    A task whose labels are sets (a multi-label column, ``label_sep="|"``) gets one sigmoid
    per label and binary cross-entropy; ``predict`` returns its tuples of labels (those with
    probability >= 0.5) and its validation score is micro-F1. With ``checkpoint_dir`` every
    epoch is checkpointed; ``resume`` continues an interrupted fit to the same weights.

    Args:
{params}

    Example:
        >>> import transferkit as tk
        >>> model = tk.MultiTaskClassifier(backbone="minilm-l6", unfreeze=2,
        ...     tasks={"intent": intents.train, "sentiment": reviews.train}).fit()
        >>> model.predict(["where is my card?"], task="intent")  # doctest: +SKIP
    """

    record_kind = "fit-multi"
    fit_call = "fit()"
    fitted_attr = "heads_"

    PARAMS = Params(
        Param("backbone", "the shared encoder: a backbone spec ('minilm-l6', 'tabular-mlp', "
              "'hf:<folder>', 'run:<folder>') or a Backbone instance", "minilm-l6", "any",
              check=check_backbone_param),
        Param("tasks", "dict task name -> labelled Dataset (a DatasetSplits gives its train and "
              "val splits); fit(tasks) may give them instead", None, "any", check=check_tasks,
              cli=False),
        Param("sampling", "each task's share of every batch: 'proportional' (to its size), "
              "'temperature' (size ** (1/temperature)) or 'round_robin' (equal)", "temperature",
              choices=SAMPLINGS),
        Param("batches", "what one optimiser step holds: 'per_task' (one task's batch, tasks "
              "taking turns in their shares; texts padded within their task) or 'mixed' "
              "(every task in its share in every step)", "per_task", choices=BATCHES),
        Param("temperature", "sampling temperature: 1 is proportional, larger is more uniform",
              2.0, "float", low=0, low_open=True),
        Param("loss_weights", "per-task loss weights: None (all 1), a dict task -> weight, or "
              "'uncertainty' (learned log-variances, Kendall et al. 2018); on the command line "
              "'uncertainty' or 'a=2,b=1'", None, "any", check=check_loss_weights,
              parse=parse_loss_weights, metavar="uncertainty|TASK=W,..."),
        Param("monitor", "early stopping and best-epoch choice: 'mean' (mean over tasks of the "
              "validation accuracy, micro-F1 for a multi-label task) or a task name (that "
              "task's)", "mean"),
        Param("conflict_every", "measure the cosine between the tasks' gradients on the shared "
              "encoder every this many steps (0: never)", 20, "int", low=0),
        COMMON,
        FREEZING_PARAMS,
        ENGINE_PARAMS,
        TORCH_HEAD,
        Param("lr", "learning rate of the heads; encoder groups get lr * backbone_lr_mult", 1e-3,
              "float", low=0, low_open=True),
    )

    def __init__(
        self,
        backbone: str | Backbone = "minilm-l6",
        tasks: Any = None,
        sampling: str | None = None,
        temperature: float | None = None,
        batches: str | None = None,
        loss_weights: Any = None,
        monitor: str | None = None,
        conflict_every: int | None = None,
        batch_size: int | None = None,
        seed: int | None = None,
        cache: bool | None = None,
        progress: bool | None = None,
        unfreeze: int | str | None = None,
        freeze_pattern: str | None = None,
        schedule: str | None = None,
        backbone_lr_mult: float | None = None,
        layer_decay: float | None = None,
        epochs: int | None = None,
        lr_schedule: str | None = None,
        warmup: float | None = None,
        weight_decay: float | None = None,
        patience: int | None = None,
        devices: int | None = None,
        precision: str | None = None,
        grad_accum: int | None = None,
        checkpoint_dir: str | None = None,
        resume: str | None = None,
        head: str | None = None,
        lr: float | None = None,
    ) -> None:
        self.backbone = backbone
        self.tasks = tasks
        self.sampling = sampling
        self.temperature = temperature
        self.batches = batches
        self.loss_weights = loss_weights
        self.monitor = monitor
        self.conflict_every = conflict_every
        self.batch_size = batch_size
        self.seed = seed
        self.cache = cache
        self.progress = progress
        self.unfreeze = unfreeze
        self.freeze_pattern = freeze_pattern
        self.schedule = schedule
        self.backbone_lr_mult = backbone_lr_mult
        self.layer_decay = layer_decay
        self.epochs = epochs
        self.lr_schedule = lr_schedule
        self.warmup = warmup
        self.weight_decay = weight_decay
        self.patience = patience
        self.devices = devices
        self.precision = precision
        self.grad_accum = grad_accum
        self.checkpoint_dir = checkpoint_dir
        self.resume = resume
        self.head = head
        self.lr = lr

    # --- data -------------------------------------------------------------------------------
    def _task_pairs(self, tasks: Any, val: Any) -> list[tuple[str, Dataset, Dataset | None]]:
        """``(name, train, val)`` per task, checked: labelled, one label column, something
        to learn (>= 2 classes, or >= 2 label sets), one modality for all."""
        tasks = self.tasks if tasks is None else tasks
        if tasks is None or len(tasks) == 0:
            raise ConfigError("MultiTaskClassifier needs tasks: expected a dict task name -> "
                              "labelled Dataset, got none. Pass tasks={'a': ds1, 'b': ds2} to "
                              "the constructor or to fit().")
        check_tasks(type(self).__name__, tasks)
        pairs = list(tasks.items()) if isinstance(tasks, Mapping) else list(tasks)
        val = dict(val or {})
        unknown = sorted(set(val) - {n for n, _ in pairs})
        if unknown:
            raise ConfigError(f"fit(val=...) names task(s) {unknown} that are not among the "
                              f"tasks {[n for n, _ in pairs]}. Use the task names as keys.")
        out = []
        for name, obj in pairs:
            v = val.get(name)
            if isinstance(obj, DatasetSplits):
                obj, v = obj.train, v if v is not None else obj.val
            data = as_dataset(obj, what=f"task {name!r}")
            if data.labels is None and data.label_columns is None:
                raise DataError(f"Task {name!r} has no labels: expected a labelled Dataset, got "
                                f"{len(data)} unlabelled rows. Load it with its label column.")
            task_labels(name, data)
            out.append((name, data, None if v is None else as_dataset(v, what=f"val {name!r}")))
        kinds = {name: d.modality for name, d, _ in out}
        if len(set(kinds.values())) > 1:
            raise DataError(
                f"The tasks hold different kinds of input {kinds}: expected one modality on one "
                "shared encoder, got several. Fit one MultiTaskClassifier per modality.")
        return out

    def _resolve_task(self, task: str | None, call: str) -> str:
        names = list(self.heads_)
        if task is None:
            if len(names) == 1:
                return names[0]
            raise ConfigError(
                f"{call}() on a MultiTaskClassifier with {len(names)} tasks needs task=: "
                f"expected one of {names}, got none. Call model.{call}(X, task={names[0]!r}).")
        if task not in self.heads_:
            close = difflib.get_close_matches(str(task), names, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"Unknown task {task!r}: expected one of {names}, got "
                              f"{task!r}.{hint}")
        return task

    # --- fitting ----------------------------------------------------------------------------
    def fit(self, tasks: Any = None, y: Any = None, *, val: Mapping[str, Any] | None = None
            ) -> MultiTaskClassifier:
        """Fit every task at once; returns ``self``.

        Args:
            tasks: dict task name -> labelled Dataset (default: the ``tasks`` parameter).
            y: unused (the labels are in the datasets); here for scikit-learn's signature.
            val: dict task name -> validation Dataset, for the tasks that bring their own.
        """
        self._validate_params()
        s = self.settings()
        if s.monitor != "mean":
            names = [n for n, _ in (tasks or self.tasks or {}).items()] if isinstance(
                tasks or self.tasks, Mapping) else [p[0] for p in (tasks or self.tasks or [])]
            if s.monitor not in names:
                raise ConfigError(f"monitor={s.monitor!r} names no task: expected 'mean' or one "
                                  f"of {names}. Use monitor='mean' or a task name.")
        seed_everything(s.seed)
        pairs = self._task_pairs(tasks, val)
        t0 = time.perf_counter()
        first = pairs[0][1]
        all_inputs = concat([d.inputs for _, d, _ in pairs])
        bb, layer = backbone_for_data(self.backbone, -1, s.seed, first, fit_on=all_inputs,
                                      copy=True)
        task_classes, task_data, multilabel = {}, [], {}
        for name, data, v in pairs:
            classes, multilabel[name] = task_labels(name, data)
            task_classes[name] = classes
            y = encode_labels(classes, multilabel[name], data, f"the training data of task "
                                                                f"{name!r}")
            y_val = None if v is None else encode_labels(
                classes, multilabel[name], v, f"the validation data of task {name!r}")
            task_data.append(split_validation(name, data, y, len(classes), s.seed, v, y_val))
        self.backbone_, self.layer_ = bb, layer
        result = fit_multitask(bb, task_data, s,
                               identity(bb, pairs, task_classes, multilabel))
        self.heads_ = {n: result.module.heads[n] for n in task_classes}
        self.task_classes_ = task_classes
        self.multilabel_ = multilabel
        self.thresholds_ = {n: THRESHOLD for n, m in multilabel.items() if m}
        self.classes_ = task_classes[pairs[0][0]]
        self.loss_weight_values_ = result.module.weights.current()
        self.history_ = result.history
        self.summary_ = result.summary
        self.modality_ = first.modality
        self.train_summary_ = {n: d.summary() for n, d, _ in pairs}
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    # --- inference --------------------------------------------------------------------------
    @property
    def task_names_(self) -> list[str]:
        return list(self.heads_)

    def _encode(self, task: str, data: Dataset, what: str) -> np.ndarray:
        return encode_labels(self.task_classes_[task], self.multilabel_[task], data,
                              f"{what} (task {task!r})")

    def is_multilabel(self, task: str | None = None) -> bool:
        """Whether ``task`` predicts sets of labels (sigmoid per label) rather than one class."""
        self._check_fitted()
        return bool(self.multilabel_.get(self._resolve_task(task, "is_multilabel")))

    def predict_proba(self, X: Any, task: str | None = None) -> np.ndarray:
        """Probabilities of ``task`` ``(N, n_classes of task)``: of each class (rows sum to
        1), or for a multi-label task of each label on its own (a sigmoid per label)."""
        self._check_fitted()
        task = self._resolve_task(task, "predict_proba")
        data = self._input_data(X)
        module = TaskHeadModule(self.backbone_, self.heads_[task])
        bind_to_data(self.backbone_, data)
        bb = self.backbone_
        ex = ExampleData(data.inputs, None, bb.preprocess, bb.input_lengths(data.inputs))
        logits = predict_outputs(module, ex, int(self.settings().batch_size) * 2)
        if self.multilabel_.get(task):
            return 1.0 / (1.0 + np.exp(-logits))
        logits = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X: Any, task: str | None = None) -> np.ndarray:
        """The most probable class of ``task`` for each input; for a multi-label task, each
        input's tuple of labels whose probability reaches the task's threshold (0.5)."""
        self._check_fitted()
        task = self._resolve_task(task, "predict")
        proba = self.predict_proba(X, task)
        if self.multilabel_.get(task):
            return sets_from_multi_hot(proba >= self.thresholds_[task], self.task_classes_[task])
        return self.task_classes_[task][proba.argmax(axis=1)]

    def score(self, X: Any, y: Any = None, sample_weight: Any = None,
              task: str | None = None) -> float:
        """Accuracy of ``task`` on a labelled Dataset (or inputs ``X`` with labels ``y``); for
        a multi-label task the subset accuracy (every label of a row right), as scikit-learn's."""
        self._check_fitted()
        task = self._resolve_task(task, "score")
        data = self._labelled_data(X, y, "score")
        truth = self._encode(task, data, f"{data.name!r}")
        proba = self.predict_proba(data, task)
        if self.multilabel_.get(task):
            right = ((proba >= self.thresholds_[task]) == truth.astype(bool)).all(axis=1)
        else:
            right = proba.argmax(axis=1) == truth
        return float(np.average(right, weights=sample_weight))

    def evaluate(self, X: Any, y: Any = None, task: str | None = None) -> dict[str, Any]:
        """Accuracy, macro-F1, per-class scores, confusion matrix and log-loss of ``task``;
        for a multi-label task micro- and macro-F1, subset accuracy (also as ``accuracy``),
        Hamming loss and per-label scores."""
        self._check_fitted()
        task = self._resolve_task(task, "evaluate")
        data = self._labelled_data(X, y, "evaluate")
        truth = self._encode(task, data, f"{data.name!r}")
        proba = self.predict_proba(data, task)
        classes = list(self.task_classes_[task])
        if self.multilabel_.get(task):
            threshold = self.thresholds_[task]
            return multilabel_metrics(truth, proba >= threshold, classes, proba, threshold)
        return classification_metrics(truth, proba.argmax(1), classes, proba)

    def evaluate_tasks(self, tests: Mapping[str, Any]) -> dict[str, Any]:
        """Metrics per task of ``tests`` (task name -> labelled Dataset), and their means:
        ``{"tasks": {name: metrics}, "accuracy": mean, "macro_f1": mean, "n": rows}``."""
        per = {name: self.evaluate(d, task=name) for name, d in tests.items()}
        # a multi-label task's "accuracy" is its subset accuracy (multilabel_metrics)
        return {"tasks": per,
                "accuracy": float(np.mean([m["accuracy"] for m in per.values()])),
                "macro_f1": float(np.mean([m["macro_f1"] for m in per.values()])),
                "n": int(sum(m["n"] for m in per.values())), "averaged_over": "tasks"}

    # --- persistence ------------------------------------------------------------------------
    def _run_params(self) -> dict[str, Any]:
        params = self.get_params(deep=False)
        params["tasks"] = None  # the data are not part of the model; the record lists them
        params["backbone"] = backbone_spec(self.backbone, self.backbone_)
        return params

    def _saves_backbone_weights(self) -> bool:
        trained = bool(self.summary_.get("freezing", {}).get("trainable_groups"))
        return trained or not self.backbone_.rebuildable

    def _save_state(self, folder: Path) -> dict[str, Any]:
        from safetensors.torch import save_file

        state = {f"{n}/{k}": v.detach().cpu().contiguous()
                 for n, h in self.heads_.items() for k, v in h.state_dict().items()}
        save_file(state, str(folder / "heads.safetensors"))
        return {"tasks": [{"name": n, "classes": classes_to_json(self.task_classes_[n]),
                           "head": dict(h.config),
                           **({"multilabel": True, "threshold": self.thresholds_[n]}
                              if self.multilabel_[n] else {})}
                          for n, h in self.heads_.items()],
                "loss_weights": self.loss_weight_values_}

    def _load_state(self, folder: Path, state: dict[str, Any], record: dict[str, Any]) -> None:
        from safetensors.torch import load_file

        from ..heads.torch_heads import make_torch_head

        super()._load_state(folder, state, record)
        arrays = load_file(str(folder / "heads.safetensors"))
        self.heads_, self.task_classes_, self.multilabel_, self.thresholds_ = {}, {}, {}, {}
        for t in state["tasks"]:
            hc = dict(t["head"])
            head = make_torch_head(hc.pop("kind"), **hc)
            prefix = f"{t['name']}/"
            head.load_state_dict({k[len(prefix):]: v for k, v in arrays.items()
                                  if k.startswith(prefix)})
            head.eval()
            self.heads_[t["name"]] = head
            self.task_classes_[t["name"]] = classes_from_json(t["classes"])
            self.multilabel_[t["name"]] = bool(t.get("multilabel", False))
            if self.multilabel_[t["name"]]:
                self.thresholds_[t["name"]] = float(t.get("threshold", THRESHOLD))
        self.loss_weight_values_ = state.get("loss_weights", {})
        self.history_ = list(record.get("history", []))
        self.summary_ = dict(record.get("strategy", {}))
        self.train_summary_ = record.get("dataset", {}).get("tasks", {})

    def _record_fields(self) -> dict[str, Any]:
        summary = {k: v for k, v in self.summary_.items() if k != "name"}
        last_val = {n: best_value(self.history_, f"val_{n}_accuracy") for n in self.heads_}
        last_f1 = {n: best_value(self.history_, f"val_{n}_micro_f1") for n in self.heads_}
        return {
            "kind": self.record_kind,
            "seed": self.settings().seed,
            "dataset": {"tasks": self.train_summary_},
            "backbone": {**self.backbone_.info(),
                         "trainable_params": summary.get("trainable_params")},
            "strategy": {"name": "multitask", **summary},
            "history": list(self.history_),
            "multitask": {
                "tasks": {n: {"n_classes": len(self.task_classes_[n]),
                              "n_train": (self.train_summary_.get(n) or {}).get("n"),
                              "share": summary.get("task_shares", {}).get(n),
                              "loss_weight": self.loss_weight_values_.get(n),
                              **({"multilabel": True, "threshold": self.thresholds_[n],
                                  "val_micro_f1": last_f1[n]} if self.multilabel_[n]
                                 else {"val_accuracy": last_val[n]}),
                              "validation": summary.get("validation", {}).get(n)}
                          for n in self.heads_},
                "grad_conflict": conflict_overview(self.history_,
                                                   int(summary.get("conflict_every", 0))),
            },
            "timings": {"fit_seconds": round(self.fit_seconds_, 3)},
        }


document_params(MultiTaskClassifier)
