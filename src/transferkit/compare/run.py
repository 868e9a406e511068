"""``tk.compare``: strategies x amounts of labelled data x seeds, on the same samples.

For each seed and amount (a fraction of the training labels, or N shots per class) one sample
is drawn; every strategy is fitted on that very sample and scored on the same test set. That
pairing is what lets :func:`~transferkit.compare.stats.transfer_verdict` separate a real
difference from seed-to-seed noise.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..data import (
    Dataset,
    DatasetSplits,
    as_dataset,
    sample_fraction,
    sample_shots,
    train_test_split,
)
from ..exceptions import ConfigError, DataError, NegativeTransferWarning
from ..models import TransferClassifier, ZeroShotClassifier
from ..runs import write_analysis_run
from ..strategies import STRATEGIES
from ..utils.checks import check_number
from .stats import cell_summary, data_efficiency, plain, transfer_verdict

__all__ = ["compare", "CompareResult"]

log = logging.getLogger(__name__)

METRICS = ("accuracy", "macro_f1")


@dataclass
class CompareResult:
    """What :func:`compare` measured.

    Attributes:
        table: one row per strategy, amount and seed: ``strategy``, ``fraction`` (or
            ``shots``), ``n_labels``, ``seed``, ``accuracy``, ``macro_f1``, ``fit_seconds``.
        summary: mean, std and count of the metric per strategy and amount.
        verdict: ``"transfer helps"``, ``"no clear difference"`` or ``"negative transfer"``
            (``None`` without a ``"scratch"`` baseline).
        reason: the verdict in a sentence, with the numbers behind it.
        tests: per transfer strategy, the paired test against scratch.
        per_amount: the best transfer strategy against scratch at each amount of data.
        data_efficiency: "transfer with N labels matches scratch with M".
        config: how the comparison was run.
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    verdict: str | None
    reason: str
    tests: dict[str, Any] = field(default_factory=dict)
    per_amount: list[dict[str, Any]] = field(default_factory=list)
    data_efficiency: str | None = None
    best: str | None = None
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def xkey(self) -> str:
        return "shots" if "shots" in self.table.columns else "fraction"

    def to_record(self) -> dict[str, Any]:
        """The JSON-ready ``compare`` part of a run record (what the report renders)."""
        rows = [{k: plain(v) for k, v in r.items()} for r in self.table.to_dict("records")]
        return {
            "metric": self.config.get("metric", "accuracy"),
            "verdict": self.verdict,
            "reason": self.reason,
            "data_efficiency": self.data_efficiency,
            "best_transfer": self.best,
            "tests": self.tests,
            "per_amount": self.per_amount,
            "table": rows,
        }

    def save(self, path: str | os.PathLike, dataset: dict[str, Any] | None = None,
             seconds: float | None = None, overwrite: bool = False) -> Path:
        """Write run folder ``path`` atomically: ``record.json`` (kind compare), ``compare.csv``.

        A finished run already at ``path`` is replaced only with ``overwrite=True``.
        """
        return write_analysis_run(path, "compare", self.config, dataset or {}, self.to_record(),
                                  extra_files={"compare.csv": self.table.to_csv(index=False)},
                                  seconds=seconds, overwrite=overwrite)

    def __str__(self) -> str:
        m = self.config.get("metric", "accuracy")
        pivot = self.summary.assign(
            cell=[f"{a:.3f} ± {s:.3f}" for a, s in zip(self.summary["mean"], self.summary["std"],
                                                       strict=True)])
        wide = pivot.pivot(index="strategy", columns=self.xkey, values="cell")
        wide.columns = [_amount_label(self.xkey, c) for c in wide.columns]
        lines = [f"{m}, mean ± std over {self.table.seed.nunique()} seed(s):",
                 wide.to_string()]
        if self.verdict:
            lines.append(f"verdict: {self.verdict} — {self.reason}")
        else:
            lines.append(self.reason)
        if self.data_efficiency:
            lines.append(f"data efficiency: {self.data_efficiency}")
        return "\n".join(lines)


def _amount_label(xkey: str, x: Any) -> str:
    return f"{x:g} shots" if xkey == "shots" else f"{100 * float(x):g}%"


def _splits(data: Any, seed: int) -> tuple[Dataset, Dataset]:
    if isinstance(data, DatasetSplits) or (hasattr(data, "train") and hasattr(data, "test")):
        if data.test is not None:
            data.train.require_single_labels("compare")
            return data.train, data.test
        data = data.train
    ds = as_dataset(data)
    ds.require_single_labels("compare")  # no labels, or several columns: say which to pick
    sp = train_test_split(ds, test_size=0.2, seed=seed)
    log.info("no test split given: holding out 20%% of %s (%d rows) for testing", ds.name,
             len(sp.test))
    return sp.train, sp.test


def _seeds(seeds: int | Sequence[int]) -> list[int]:
    if isinstance(seeds, int | np.integer) and not isinstance(seeds, bool):
        check_number("compare", "seeds", int(seeds), low=1, integer=True)
        return list(range(int(seeds)))
    out = [int(s) for s in seeds]
    if not out or len(set(out)) != len(out) or min(out) < 0:
        raise ConfigError(f"compare: seeds must be a count (e.g. 3) or distinct non-negative "
                          f"integers; got {seeds!r}.")
    return out


def _amounts(fractions: Sequence[float] | None, shots: Sequence[int] | None,
             train: Dataset) -> tuple[str, list[Any]]:
    if fractions is not None and shots is not None:
        raise ConfigError("compare: give fractions= or shots=, not both (got both). Fractions "
                          "sample a share of the labels; shots sample N examples per class.")
    if shots is not None:
        xs = sorted({int(s) for s in shots})
        for s in xs:
            check_number("compare", "shots", s, low=1, integer=True)
        smallest = int(np.unique(train.labels, return_counts=True)[1].min())
        if xs[-1] > smallest:
            raise DataError(f"compare: shots={xs[-1]} is more than the smallest class of "
                            f"{train.name!r} holds ({smallest}). Use shots up to {smallest}.")
        return "shots", xs
    xs = sorted({float(f) for f in (fractions if fractions is not None else (0.05, 0.2, 1.0))})
    for f in xs:
        check_number("compare", "fractions", f, low=0.0, high=1.0, low_open=True)
    return "fraction", xs


def _check_strategies(strategies: Sequence[str], train: Dataset) -> list[str]:
    names = [str(s).strip() for s in strategies if str(s).strip()]
    if not names or len(set(names)) != len(names):
        raise ConfigError(f"compare: strategies must be distinct names, e.g. "
                          f"['probe', 'finetune', 'scratch']; got {list(strategies)!r}.")
    for s in names:
        if s == "zeroshot":
            if train.modality != "text":
                raise DataError(f"compare: 'zeroshot' embeds label names with a text backbone; "
                                f"{train.name!r} is {train.modality}. Drop 'zeroshot'.")
            continue
        STRATEGIES.get(s)  # unknown name: a RegistryError with close matches
    return names


def compare(
    data: Any,
    strategies: Sequence[str] = ("probe", "finetune", "scratch"),
    fractions: Sequence[float] | None = None,
    seeds: int | Sequence[int] = 3,
    shots: Sequence[int] | None = None,
    backbone: str = "minilm-l6",
    metric: str = "accuracy",
    progress: bool = True,
    **params: Any,
) -> CompareResult:
    """Fit each strategy on the same samples of growing size, over seeds; test transfer vs scratch.

    Args:
        data: labelled data with a test split (``tk.load_dataset(...)``), or one Dataset (then
            20% is held out for testing, stratified, seed 0).
        strategies: strategy names (``"probe"``, ``"finetune"``, ``"lora"``, ``"scratch"``,
            ``"prototypes"``, ``"contrastive"``, ...) and ``"zeroshot"`` (label names only; the
            same at every amount). Include ``"scratch"`` for the transfer verdict.
        fractions: shares of the training labels to sample, in ``(0, 1]`` (default 5%, 20%,
            100%), stratified with at least one example per class.
        seeds: how many seeds (0..N-1) or which seeds; each seed draws its own samples.
        shots: instead of fractions, examples per class (the N-shot protocol).
        backbone: the pre-trained backbone every strategy starts from (scratch: its
            architecture with random weights).
        metric: ``"accuracy"`` or ``"macro_f1"``; the verdict is on this metric.
        progress: print one line per fitted cell.
        **params: any other :class:`~transferkit.TransferClassifier` keyword (``epochs``,
            ``lr``, ``unfreeze``, ...), the same for every strategy.

    Returns:
        A :class:`CompareResult`; ``.table`` has a row per strategy, amount and seed, and
        ``.verdict`` says whether transfer beat scratch beyond noise.

    Warns:
        NegativeTransferWarning: the best transfer strategy is worse than scratch beyond noise.
    """
    t_start = time.perf_counter()
    if metric not in METRICS:
        raise ConfigError(f"compare: metric must be one of {list(METRICS)}; got {metric!r}.")
    known = set(TransferClassifier._get_param_names()) | TransferClassifier.method_param_names()
    bad = sorted(set(params) - known)
    if bad or "strategy" in params or "shots" in params:
        raise ConfigError(f"compare: unknown or reserved keyword(s) {bad or ['strategy/shots']}: "
                          "give strategies= and shots= / fractions= to compare, other "
                          "TransferClassifier keywords (epochs, lr, ...) as they are.")
    seed_list = _seeds(seeds)
    train, test = _splits(data, seed_list[0])
    names = _check_strategies(strategies, train)
    per_strategy = _params_per_strategy(names, params)
    xkey, amounts = _amounts(fractions, shots, train)
    n_classes = len(train.classes)
    rows: list[dict[str, Any]] = []
    zeroshot_cache: dict[str, float] = {}
    total = len(seed_list) * len(amounts) * len(names)
    done = 0
    for seed in seed_list:
        for x in amounts:
            sample = sample_shots(train, x, seed) if xkey == "shots" else \
                sample_fraction(train, x, seed)
            for name in names:
                t0 = time.perf_counter()
                if name == "zeroshot":
                    if not zeroshot_cache:
                        zeroshot_cache.update(_zeroshot_metrics(train, test, backbone, params))
                    m, n_labels = dict(zeroshot_cache), 0
                else:
                    model = TransferClassifier(backbone=backbone, strategy=name, seed=seed,
                                               progress=False, **per_strategy[name])
                    model.fit(sample)
                    m, n_labels = model.evaluate(test), len(sample)
                row = {"strategy": name, xkey: x, "n_labels": n_labels, "seed": seed,
                       "accuracy": float(m["accuracy"]), "macro_f1": float(m["macro_f1"]),
                       "fit_seconds": round(time.perf_counter() - t0, 3)}
                rows.append(row)
                done += 1
                if progress:
                    print(f"[{done}/{total}] {name:<12} {_amount_label(xkey, x):>8} "
                          f"({n_labels} labels) seed {seed}: {metric} {row[metric]:.4f} "
                          f"in {row['fit_seconds']:.1f}s", file=sys.stderr, flush=True)
    table = pd.DataFrame(rows)
    # Zero-shot has one value for every amount: a flat line in the summary, no part in the
    # verdict (it is not trained, so it has no scratch counterpart to pair with).
    summary = cell_summary(table, metric, xkey)
    verdict_table = table[table.strategy != "zeroshot"]
    v = transfer_verdict(verdict_table, metric, xkey)
    result = CompareResult(
        table=table, summary=summary, verdict=v["verdict"], reason=v["reason"],
        tests=v["tests"], per_amount=v["per_amount"],
        data_efficiency=data_efficiency(summary, xkey, v["best"]), best=v["best"],
        config={"strategies": names, xkey + "s" if xkey == "fraction" else xkey: amounts,
                "seeds": seed_list, "backbone": backbone if isinstance(backbone, str)
                else getattr(backbone, "name", str(backbone)), "metric": metric,
                "n_train": len(train), "n_test": len(test), "n_classes": n_classes,
                "params": {k: plain(v) for k, v in params.items()},
                "seconds": round(time.perf_counter() - t_start, 3)},
    )
    if result.verdict == "negative transfer":
        warnings.warn(NegativeTransferWarning(result.reason), stacklevel=2)
    return result


def _params_per_strategy(names: list[str], params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The keywords each compared strategy reads (the others' settings stay with them); a
    keyword none of them reads is refused, naming the strategies that would."""
    own = set(TransferClassifier.PARAMS)
    tables = TransferClassifier.method_tables()
    out = {n: {k: v for k, v in params.items() if k in own or k in tables.get(n, {})}
           for n in names}
    for k, v in params.items():
        if v is not None and k not in own and not any(k in out[n] for n in names):
            takers = sorted(n for n, t in tables.items() if k in t)
            raise ConfigError(f"compare: {k}={v!r} has no effect on the strategies compared "
                              f"({', '.join(names)}); it is read by {', '.join(takers)}.")
    return out


def _zeroshot_metrics(train: Dataset, test: Dataset, backbone: Any,
                      params: dict[str, Any]) -> dict[str, float]:
    kw = {k: params[k] for k in ("batch_size", "cache") if k in params}
    zs = ZeroShotClassifier(backbone=backbone, labels=[str(c) for c in train.classes],
                            progress=False, **kw).fit()
    m = zs.evaluate(test)
    return {"accuracy": float(m["accuracy"]), "macro_f1": float(m["macro_f1"])}
