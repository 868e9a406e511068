"""``DriftMonitor``: watch a deployed model's incoming data, window by window.

The monitor keeps a *reference* — held-out in-domain data, as the model saw it — and tests
every new window of ``window`` rows against it on the model's own representations (the
backbone features, through the feature cache: nothing the cache holds is encoded again) and
outputs (its softmax). See :mod:`.statistics` for the tests and :mod:`.accuracy` for the
label-free accuracy estimate.

**False alarms over a stream.** Testing every window at level ``alpha`` would raise a false
alarm in about one same-domain window in twenty, and almost surely somewhere in a long
stream. Under ``alarm_rule="bonferroni"`` (the default) each window is tested at
``alpha / horizon``: the chance of *any* false alarm among ``horizon`` same-domain windows
is at most ``alpha`` (and beyond ``horizon`` windows, at most ``alpha`` per ``horizon``
windows). ``alarm_rule="per-window"`` tests each window at ``alpha`` (a false-alarm rate of
``alpha`` per window, no stream-wide bound).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..data import Dataset, as_dataset
from ..exceptions import ConfigError, DataError, RunError
from ..features import extract_features
from ..runs import load as load_run
from ..runs import read_record, write_analysis_run
from ..utils.checks import check_number
from .accuracy import atc_estimate, atc_threshold, average_confidence
from .persist import (
    ARRAYS,
    FORMAT,
    model_identity,
    pending_from_json,
    pending_to_json,
    reference_arrays,
    reference_from,
    windows_table,
)
from .report import DriftReport
from .statistics import (
    TESTS,
    bbsd_test,
    classifier_test,
    label_shift,
    mmd_test,
    permutations_for,
)

__all__ = ["DriftMonitor", "ALARM_RULES"]

ALARM_RULES = ("bonferroni", "per-window")
#: fewest rows a reference or a window may have (the tests need a sample on each side)
_MIN_ROWS = 10


def _check_model(model: Any) -> None:
    for attr in ("backbone_", "layer_", "classes_"):
        if not hasattr(model, attr):
            raise ConfigError(
                f"DriftMonitor expects a fitted transferkit classifier (with a backbone and "
                f"classes); got {type(model).__name__} without '{attr}'. Fix: fit the model "
                "first, or load a saved run with tk.load(path).")


class DriftMonitor:
    """Detect that a model's incoming data drifted from its reference; estimate its accuracy.

    Args:
        model: a fitted transferkit classifier (``TransferClassifier``, ``DomainAdapter``...),
            or the run folder of one (recorded, so that :meth:`load` finds it again).
        window: rows per tested window.
        reference: held-out in-domain data (a Dataset, or raw inputs), labelled to calibrate
            the ATC accuracy estimate and BBSE; ``None`` uses the stream's first window (then
            without labels the accuracy estimate is the average confidence only).
        method: the test that raises the alarm: ``"mmd"`` (on the backbone features),
            ``"bbsd"`` (on the softmax outputs), ``"classifier"`` (a domain classifier on the
            features), or a list of them (alarm on their Bonferroni-combined p-value).
        alpha: the false-alarm rate: over ``horizon`` windows (``bonferroni``) or per window.
        horizon: the number of windows the Bonferroni rule spreads ``alpha`` over.
        alarm_rule: ``"bonferroni"`` or ``"per-window"`` (see the module docstring).
        max_reference: the kernel and classifier tests use at most this many reference rows
            (a seeded subsample; O(n^2) cost); ATC, BBSD and BBSE use all of them.
        n_permutations: permutations of the MMD null; ``None``: enough for the per-window
            level (``2 / level``).
        seed: seeds the subsample, the permutations and the folds.
        batch_size: inputs per forward pass when encoding.

    Example:
        >>> monitor = tk.DriftMonitor(model, window=200, reference=held_out)  # doctest: +SKIP
        >>> for batch in stream:  # doctest: +SKIP
        ...     report = monitor.update(batch)
        ...     if report is not None and report.detected:
        ...         print(report)
    """

    def __init__(self, model: Any, window: int = 200, reference: Any = None,
                 method: str | list[str] = "mmd", alpha: float = 0.05, horizon: int = 100,
                 alarm_rule: str = "bonferroni", max_reference: int = 500,
                 n_permutations: int | None = None, seed: int = 0,
                 batch_size: int = 64) -> None:
        owner = "DriftMonitor"
        check_number(owner, "window", window, low=_MIN_ROWS, integer=True)
        check_number(owner, "alpha", alpha, low=0, high=1, low_open=True)
        check_number(owner, "horizon", horizon, low=1, integer=True)
        check_number(owner, "max_reference", max_reference, low=_MIN_ROWS, integer=True)
        if n_permutations is not None:
            check_number(owner, "n_permutations", n_permutations, low=1, integer=True)
        if alarm_rule not in ALARM_RULES:
            raise ConfigError(f"The 'alarm_rule' parameter of DriftMonitor must be one of "
                              f"{ALARM_RULES}. Got {alarm_rule!r} instead.")
        methods = [method] if isinstance(method, str) else list(method)
        unknown = [m for m in methods if m not in TESTS]
        if not methods or unknown:
            raise ConfigError(f"The 'method' parameter of DriftMonitor must be one of "
                              f"{tuple(TESTS)} or a list of them. Got {method!r} instead.")
        run = None
        if isinstance(model, str | os.PathLike):
            run, model = str(Path(model).absolute()), load_run(model)
        _check_model(model)
        self.model = model
        #: the run folder the watched model was loaded from (recorded, so load() finds it)
        self.model_run: str | None = run
        self.window = int(window)
        self.methods = methods
        self.method = "+".join(methods)
        self.alpha = float(alpha)
        self.horizon = int(horizon)
        self.alarm_rule = alarm_rule
        self.max_reference = int(max_reference)
        self.seed = int(seed)
        self.batch_size = int(batch_size)
        #: the level each window's p-value is compared with
        self.level = self.alpha / self.horizon if alarm_rule == "bonferroni" else self.alpha
        self.n_permutations = int(n_permutations or permutations_for(self.level / len(methods)))
        self.reports_: list[DriftReport] = []
        #: the moments the watched model was replaced by a re-adapted one (see readapted())
        self.readaptations_: list[dict[str, Any]] = []
        self.reference_: dict[str, Any] | None = None
        self._pending: list[Dataset] = []
        self._rows_seen = 0  # rows already cut into windows (the next window's start)
        if reference is not None:
            self.reference_ = self._prepare_reference(
                self._as_data(reference, "the reference"), "given")

    # --- data ---------------------------------------------------------------------------------
    def _as_data(self, batch: Any, what: str) -> Dataset:
        if isinstance(batch, tuple) and len(batch) == 2 and not isinstance(batch[0], str):
            data = as_dataset(batch[0], batch[1], what=what)  # (inputs, labels)
        else:
            data = as_dataset(batch, what=what)
        self.model._check_modality(data)  # a stream of another kind fails here, saying so
        return data

    def _features(self, data: Dataset) -> np.ndarray:
        return np.asarray(extract_features(self.model.backbone_, data, layer=self.model.layer_,
                                           batch_size=self.batch_size, cache=True,
                                           progress=False), dtype=np.float64)

    def _label_index(self, labels: np.ndarray) -> np.ndarray:
        """Labels as indices into the model's classes; -1 for a label it never saw."""
        classes = np.asarray(self.model.classes_)
        idx = np.searchsorted(classes, labels)
        idx = np.clip(idx, 0, len(classes) - 1)
        return np.where(classes[idx] == labels, idx, -1)

    # --- the reference ------------------------------------------------------------------------
    def _prepare_reference(self, data: Dataset, source: str) -> dict[str, Any]:
        if len(data) < _MIN_ROWS:
            raise DataError(
                f"DriftMonitor expects a reference of at least {_MIN_ROWS} rows; got "
                f"{len(data)} in {data.name!r}. Fix: pass more held-out in-domain data.")
        if data.labels is not None and len(np.unique(data.labels)) < 2:
            raise DataError(
                f"DriftMonitor expects a labelled reference with at least 2 classes (ATC and "
                f"BBSE calibrate on it); got only class {np.unique(data.labels)[0]!r} in "
                f"{len(data)} rows of {data.name!r}. Fix: pass held-out in-domain data of "
                "every class (a stratified split), or reference rows without labels.")
        proba = np.asarray(self.model.predict_proba(data), dtype=np.float64)
        rng = np.random.default_rng(self.seed)
        keep = np.arange(len(data))
        if len(data) > self.max_reference:
            keep = np.sort(rng.choice(len(data), self.max_reference, replace=False))
        features = self._features(data.subset(keep) if len(keep) < len(data) else data)
        ref: dict[str, Any] = {"source": source, "name": data.name, "n": len(data),
                               "n_kernel": len(keep), "features": features, "proba": proba,
                               "threshold": None, "accuracy": None}
        if data.labels is not None:
            y = self._label_index(np.asarray(data.labels))
            pred = proba.argmax(1)
            k = proba.shape[1]
            known = y >= 0
            correct = pred[known] == y[known]
            ref["threshold"] = atc_threshold(proba[known], correct)
            ref["accuracy"] = float(correct.mean())
            conf = np.zeros((k, k))
            np.add.at(conf, (pred[known], y[known]), 1.0)
            ref["confusion"] = conf / max(1, known.sum())
            ref["priors"] = np.bincount(y[known], minlength=k) / max(1, known.sum())
        return ref

    # --- the stream ---------------------------------------------------------------------------
    def update(self, batch: Any) -> DriftReport | None:
        """Add ``batch`` to the stream; test every window it completes.

        Args:
            batch: a Dataset (labelled: the report shows the true accuracy too), raw inputs,
                or ``(inputs, labels)``.

        Returns:
            The report of the last window this batch completed, or ``None`` while the window
            is not full yet (all reports are kept in ``reports_``).
        """
        data = self._as_data(batch, "a stream batch")
        if len(data):
            self._pending.append(data)
        last = None
        while sum(len(d) for d in self._pending) >= self.window:
            win = self._cut_window()
            if self.reference_ is None:
                self.reference_ = self._prepare_reference(win, "first window of the stream")
                continue
            last = self._test_window(win)
            self.reports_.append(last)
        return last

    def monitor(self, batches: Iterable[Any]) -> list[DriftReport]:
        """Feed every batch of ``batches`` (any iterable) and return the new windows'
        reports.

        Raises:
            DataError: the batches held fewer rows than one window (two without a reference).
        """
        before, rows = len(self.reports_), self._rows_seen
        for batch in batches:
            self.update(batch)
        if len(self.reports_) == before:
            pending = sum(len(d) for d in self._pending)
            need = self.window * (1 if self.reference_ is not None else 2)
            twice = "" if self.reference_ is not None else \
                ", twice: the first window becomes the reference"
            raise DataError(
                f"DriftMonitor expects at least {need} stream rows (window={self.window}"
                f"{twice}); got {self._rows_seen - rows + pending}. Fix: a smaller window, or "
                "more data.")
        return self.reports_[before:]

    def _cut_window(self) -> Dataset:
        rows, labels, labelled, taken = [], [], True, 0
        while taken < self.window:
            d = self._pending.pop(0)
            need = self.window - taken
            if len(d) > need:
                self._pending.insert(0, d.subset(np.arange(need, len(d))))
                d = d.subset(np.arange(need))
            rows.append(d.inputs)
            labelled = labelled and d.labels is not None
            labels.append(d.labels)
            taken += len(d)
        first = rows[0]
        inputs = np.concatenate(rows) if isinstance(first, np.ndarray) else \
            [x for r in rows for x in r]
        win = replace(self._template(d), inputs=inputs,
                      labels=np.concatenate(labels) if labelled else None,
                      name=f"window-{self._rows_seen}", meta=dict(d.meta))
        win.meta.pop("fingerprint", None)
        self._rows_seen += self.window
        return win

    @staticmethod
    def _template(d: Dataset) -> Dataset:
        return replace(d, label_columns=None, domains=None)

    def _test_window(self, win: Dataset) -> DriftReport:
        t0 = time.perf_counter()
        ref = self.reference_
        proba = np.asarray(self.model.predict_proba(win), dtype=np.float64)
        feats = self._features(win) if any(TESTS[m] == "features" for m in self.methods) else None
        tests = {}
        for m in self.methods:
            if m == "mmd":
                stat, p = mmd_test(ref["features"], feats, self.n_permutations,
                                   self.seed + len(self.reports_))
            elif m == "bbsd":
                stat, p = bbsd_test(ref["proba"], proba)
            else:
                stat, p = classifier_test(ref["features"], feats, self.seed)
            tests[m] = {"statistic": float(stat), "p_value": float(p)}
        p_value = min(1.0, len(tests) * min(t["p_value"] for t in tests.values()))
        pred = proba.argmax(1)
        true_acc = None
        if win.labels is not None:
            true_acc = float(np.mean(self._label_index(np.asarray(win.labels)) == pred))
        shift = None
        if "confusion" in ref:
            shift = label_shift(ref["confusion"], ref["priors"], ref["proba"].argmax(1), pred)
        return DriftReport(
            window=self._rows_seen // self.window - 1, start=self._rows_seen - len(win),
            stop=self._rows_seen, method=self.method,
            statistic=tests[self.methods[0]]["statistic"], p_value=p_value,
            threshold=self.level, detected=bool(p_value <= self.level),
            estimated_accuracy=None if ref["threshold"] is None
            else atc_estimate(proba, ref["threshold"]),
            average_confidence=average_confidence(proba), true_accuracy=true_acc, tests=tests,
            label_shift=shift, n=len(win), seconds=round(time.perf_counter() - t0, 4))

    # --- records ------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """The monitor's settings, its stored reference (summary) and every window's report,
        as plain JSON for a run record."""
        ref = self.reference_ or {}
        return {
            "method": self.method, "window": self.window, "alpha": self.alpha,
            "horizon": self.horizon, "alarm_rule": self.alarm_rule, "level": self.level,
            "n_permutations": self.n_permutations, "seed": self.seed,
            "reference": {k: ref.get(k) for k in ("source", "name", "n", "n_kernel",
                                                   "threshold", "accuracy")}
            | ({"priors": ref["priors"].round(4).tolist()} if "priors" in ref else {}),
            "classes": [c.item() if isinstance(c, np.generic) else c
                        for c in self.model.classes_],
            "windows": [r.to_dict() for r in self.reports_],
            "readaptations": list(self.readaptations_),
            "model": {"run": self.model_run, "identity": model_identity(self.model)},
            "stream_rows": self._rows_seen,  # rows already cut into windows
            # rows waiting for their window to fill: not tested yet
            "pending_rows": sum(len(d) for d in self._pending),
        }

    # --- re-adaptation ------------------------------------------------------------------------
    def readapted(self, model: Any, run: str | os.PathLike | None = None, reference: Any = None,
                  info: dict[str, Any] | None = None) -> dict[str, Any]:
        """Watch ``model`` — re-adapted from the model watched so far (:func:`readapt`) — from
        the next window on, and record the moment on the timeline.

        Args:
            model: the new model (or its run folder).
            run: its run folder (recorded; taken from ``model`` when that is a path).
            reference: held-out data of the domain the new model was adapted to; ``None``:
                the stream's next window becomes the reference (the old reference describes
                the data the alarm was about).
            info: what readapt did (default: ``model.readapt_``; the CLI reads it from the new
                run's record).

        Returns:
            The moment: ``after_window`` (the last window cut before it), ``stream_row``,
            ``parent`` and ``run``, ``method``, ``budget`` and ``labelled`` (labels used).
        """
        if isinstance(model, str | os.PathLike):
            run, model = run or model, load_run(model)
        _check_model(model)
        info = dict(info if info is not None else getattr(model, "readapt_", None) or {})
        moment = {
            "after_window": self._rows_seen // self.window - 1, "stream_row": self._rows_seen,
            "parent": info.get("parent") or self.model_run,
            "run": None if run is None else str(Path(run).absolute()),
            "method": info.get("method"), "budget": info.get("budget"),
            "labelled": len(info["labelled_rows"]) if "labelled_rows" in info
            else info.get("budget"),
            "reference": "given" if reference is not None else "the next window",
        }
        self.model, self.model_run = model, moment["run"]
        self.reference_ = None if reference is None else self._prepare_reference(
            self._as_data(reference, "the reference"), "given")
        self.readaptations_.append(moment)
        return moment

    # --- persistence --------------------------------------------------------------------------
    def save(self, folder: str | os.PathLike, overwrite: bool = False, *,
             config: dict[str, Any] | None = None, dataset: dict[str, Any] | None = None,
             extra: dict[str, Any] | None = None, seconds: float | None = None) -> Path:
        """Write the monitor into run folder ``folder`` atomically (kind ``monitor``:
        ``record.json``, ``windows.csv``, ``monitor.safetensors``); :meth:`load` resumes it.

        Args:
            folder: the run folder. A finished run there is replaced only with ``overwrite``
                (continuing a monitor in its own folder is such a replacement: the new folder
                holds every earlier window too); a folder of your own files is refused.
            config, dataset, extra: what the record says about the command (the CLI's flags),
                the data, and more of the monitor section (the stream read).
            seconds: time spent, for the record.
        """
        from safetensors.numpy import save as save_arrays

        arrays = reference_arrays(self.reference_) if self.reference_ is not None else {}
        state = self.state() | (extra or {})
        state["resume"] = {"format": FORMAT, "rows_seen": self._rows_seen,
                           "has_reference": self.reference_ is not None,
                           "max_reference": self.max_reference, "batch_size": self.batch_size,
                           "pending": pending_to_json(self._pending, arrays)}
        files: dict[str, str | bytes] = {"windows.csv": windows_table(state["windows"])}
        if arrays:
            files[ARRAYS] = save_arrays(arrays)
        settings = {k: state[k] for k in ("method", "window", "alpha", "horizon", "alarm_rule",
                                          "seed")}
        return write_analysis_run(folder, "monitor", config or {"run": self.model_run,
                                                               **settings},
                                  dataset or {}, state, extra_files=files, seconds=seconds,
                                  overwrite=overwrite)

    @classmethod
    def load(cls, folder: str | os.PathLike, model: Any = None) -> DriftMonitor:
        """Resume the monitor saved in ``folder``: its reference, its calibration, its windows
        (the alarm rule's position), the rows waiting for their window, its re-adaptations.

        Args:
            folder: a folder written by :meth:`save` or ``transferkit monitor --out``.
            model: the model it watched; ``None`` loads it from the run folder it recorded.

        Raises:
            RunError: ``folder`` holds no resumable monitor.
            ConfigError: ``model`` is not the model the monitor watched.
        """
        from safetensors.numpy import load_file

        rec = read_record(folder)
        mon = rec.get("monitor") if isinstance(rec.get("monitor"), dict) else {}
        resume = mon.get("resume")
        if rec.get("kind") != "monitor" or not isinstance(resume, dict):
            what = "an older monitor without its reference arrays" \
                if rec.get("kind") == "monitor" else f"a run of kind {rec.get('kind')!r}"
            raise RunError(
                f"DriftMonitor.load expects a monitor folder written by DriftMonitor.save or "
                f"`transferkit monitor --out`; got {str(folder)!r}, {what}. Fix: give the "
                "folder of a monitor saved by this version (or start a new monitor).")
        if resume.get("format", 0) > FORMAT:
            raise RunError(f"{str(folder)!r} holds a monitor of format {resume['format']}; this "
                           f"transferkit reads up to {FORMAT}. Fix: upgrade transferkit.")
        saved = mon.get("model") or {}
        if model is None:
            if not saved.get("run"):
                raise ConfigError(
                    f"DriftMonitor.load expects the model the monitor in {str(folder)!r} "
                    "watched; it was saved without that model's run folder and got model=None. "
                    "Fix: DriftMonitor.load(folder, model=the_model).")
            model = load_run(saved["run"])
        elif isinstance(model, str | os.PathLike):
            model = load_run(model)
        _check_model(model)
        if model_identity(model) != saved.get("identity"):
            raise ConfigError(
                f"DriftMonitor.load expects the model the monitor in {str(folder)!r} watched "
                f"(run {saved.get('run')!r}); got another model (its weights or classes "
                "differ). Fix: pass that model (or model=None to load it); for a model "
                "re-adapted from it, load with the old one, then monitor.readapted(new_model).")
        methods = mon["method"].split("+")
        self = cls(model, window=mon["window"], method=methods if len(methods) > 1
                   else methods[0], alpha=mon["alpha"], horizon=mon["horizon"],
                   alarm_rule=mon["alarm_rule"], max_reference=resume["max_reference"],
                   n_permutations=mon["n_permutations"], seed=mon["seed"],
                   batch_size=resume["batch_size"])
        arrays = load_file(str(Path(folder) / ARRAYS)) if (Path(folder) / ARRAYS).exists() \
            else {}
        if resume["has_reference"]:
            self.reference_ = reference_from(mon["reference"], arrays)
        self.model_run = saved.get("run")
        self.reports_ = [DriftReport(**w) for w in mon.get("windows", [])]
        self.readaptations_ = list(mon.get("readaptations", []))
        self._rows_seen = int(resume["rows_seen"])
        self._pending = pending_from_json(resume["pending"], arrays)
        return self
