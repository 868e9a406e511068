"""``tk.compare``: strategies x amounts of labelled data x seeds, on the same samples.

For each seed and amount (a fraction of the training labels, or N shots per class) one sample
is drawn; every strategy is fitted on that very sample and scored on the same test set. That
pairing is what lets :func:`~transferkit.compare.stats.transfer_verdict` separate a real
difference from seed-to-seed noise.
"""

from __future__ import annotations

import logging
import math
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
from ..data.groups import leave_one_group_out, pool_splits
from ..exceptions import ConfigError, DataError, NegativeTransferWarning
from ..models import TransferClassifier, ZeroShotClassifier
from ..runs import write_analysis_run
from ..strategies import STRATEGIES
from ..strategies.baseline import baselines_for, check_baseline
from ..utils.checks import check_number
from .backbones import backbone_list, backbone_tests, candidate_label
from .stats import (
    cell_summary,
    data_efficiency,
    efficiency_points,
    is_reference,
    plain,
    transfer_verdict,
)
from .warm import encode_pool_once, encode_samples_once

__all__ = ["compare", "CompareResult"]

log = logging.getLogger(__name__)

METRICS = ("accuracy", "macro_f1")
#: compared when ``strategies`` is not given, with the data's no-transfer baseline(s) after
DEFAULT_STRATEGIES = ("probe", "finetune", "scratch")


def default_strategies(modality: str, backbone: Any = None) -> list[str]:
    """``probe, finetune, scratch`` and the modality's baselines (``baseline`` for one,
    ``baseline:<kind>`` each where there are several: images get pixels and the CNN, audio
    log-mel statistics and the log-mel CNN). A backbone declared not trainable
    (``speech-embedding``: ONNX weights) drops ``finetune`` and ``scratch``."""
    kinds = baselines_for(modality)
    extra = ["baseline"] if len(kinds) == 1 else [f"baseline:{k}" for k in kinds]
    own = DEFAULT_STRATEGIES
    if isinstance(backbone, str) and not _declared_trainable(backbone):
        own = tuple(s for s in own if s not in ("finetune", "scratch"))
    return [*own, *extra]


def _declared_trainable(spec: str) -> bool:
    from ..backbones import BACKBONES, parse_backbone_spec

    base = parse_backbone_spec(spec)[0]
    return base not in BACKBONES or BACKBONES.info(base).get("trainable", True)


def _strategy_of(name: str) -> tuple[str, dict[str, Any]]:
    """``"baseline:tfidf"`` -> ``("baseline", {"baseline": "tfidf"})``; others as they are."""
    base, sep, kind = name.partition(":")
    return (base, {"baseline": kind}) if sep and base == "baseline" else (name, {})


@dataclass
class CompareResult:
    """What :func:`compare` measured.

    Attributes:
        table: one row per strategy, amount and seed: ``strategy``, ``fraction`` (or
            ``shots``), ``n_labels``, ``seed``, ``accuracy``, ``macro_f1``, ``fit_seconds``.
        summary: mean, std and count of the metric per strategy and amount.
        verdict: ``"transfer helps"``, ``"no clear difference"`` or ``"negative transfer"``
            against the stronger no-transfer reference (``None`` without one).
        reason: the verdict in a sentence, with the numbers behind it.
        tests: per transfer strategy, the paired test against scratch.
        per_amount: the best transfer strategy against scratch at each amount of data.
        data_efficiency: "transfer with 1% is reached by the reference at about M%".
        reference: the no-transfer reference the verdict is against (``scratch`` or a
            baseline: the stronger of those compared, by mean metric).
        references: mean metric of each no-transfer reference compared.
        efficiency: the data-efficiency figure as numbers, with the reference's measured
            points (:func:`~transferkit.compare.stats.efficiency_points`).
        config: how the comparison was run.
        folds: with ``group_by``, one row per strategy, amount, seed and held-out group
            (``group``, ``n_test``, ``accuracy``, ``macro_f1``); ``table`` then holds, per
            strategy, amount and seed, the accuracy over all held-out rows and the mean
            macro-F1 over the groups.
        backbone_tests: with several ``backbones``, each later one against the first, per
            strategy (:func:`~transferkit.compare.backbones.backbone_tests`).
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
    reference: str | None = None
    references: dict[str, float] = field(default_factory=dict)
    efficiency: dict[str, Any] | None = None
    folds: pd.DataFrame | None = None
    backbone_tests: list[dict[str, Any]] = field(default_factory=list)

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
            "reference": self.reference,
            "references": self.references,
            "efficiency": self.efficiency,
            "tests": self.tests,
            "per_amount": self.per_amount,
            "table": rows,
            **({"backbones": self.config.get("backbones"),
                "backbone_tests": [{k: plain(v) for k, v in t.items()}
                                   for t in self.backbone_tests]}
               if self.backbone_tests else {}),
            **({} if self.folds is None else {
                "group_by": self.config.get("group_by"),
                "folds": [{k: plain(v) for k, v in r.items()}
                          for r in self.folds.to_dict("records")]}),
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
        lines += [f"backbones: {t['verdict']} — {t['reason']}" for t in self.backbone_tests]
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
    check_smallest_fraction(train, xs[0])
    return "fraction", xs


def check_smallest_fraction(train: Dataset, fraction: float) -> None:
    """Refuse a fraction whose sample cannot hold one example of every class.

    A stratified sample of ``fraction`` holds ``round(fraction * N)`` labels; below the
    number of classes some class necessarily has none (the rarest go first), and a model
    fitted on it cannot predict that class at all.

    Raises:
        DataError: naming the rarest class and the smallest fraction that works.
    """
    classes, counts = np.unique(train.labels, return_counts=True)
    n, k = len(train), len(classes)
    if int(round(fraction * n)) >= k:
        return
    rarest = classes[int(np.argmin(counts))]
    smallest = math.ceil(k / n * 1e4) / 1e4
    while int(round(smallest * n)) < k:
        smallest += 1e-4
    raise DataError(
        f"compare: fraction {fraction:g} of {train.name!r} is {int(round(fraction * n))} "
        f"labels for {k} classes, so some class has no example (the rarest, {rarest!r}, "
        f"has {int(counts.min())} in all). The smallest fraction that gives every class one "
        f"example is {smallest:.4g}; use fractions >= {smallest:.4g}, or shots= (examples "
        "per class).")


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
        base, extra = _strategy_of(s)
        STRATEGIES.get(base)  # unknown name: a RegistryError with close matches
        if base == "baseline":  # one that does not apply to the data: say which do
            check_baseline(train.modality, extra.get("baseline"), owner=f"compare: {s!r}")
    return names


def compare(
    data: Any,
    strategies: Sequence[str] | None = None,
    fractions: Sequence[float] | None = None,
    seeds: int | Sequence[int] = 3,
    shots: Sequence[int] | None = None,
    backbone: str = "minilm-l6",
    metric: str = "accuracy",
    progress: bool = True,
    group_by: str | None = None,
    backbones: Sequence[str] | str | None = None,
    **params: Any,
) -> CompareResult:
    """Fit each strategy on the same samples of growing size, over seeds; test transfer vs scratch.

    Args:
        data: labelled data with a test split (``tk.load_dataset(...)``), or one Dataset (then
            20% is held out for testing, stratified, seed 0).
        strategies: strategy names (``"probe"``, ``"finetune"``, ``"lora"``, ``"scratch"``,
            ``"prototypes"``, ``"contrastive"``, ``"baseline"``, ``"baseline:<kind>"``...)
            and ``"zeroshot"`` (label names only; the same at every amount). Default:
            probe, finetune, scratch and the data's no-transfer baseline(s) (text: TF-IDF;
            images: pixels and a small CNN; tabular: gradient boosting). The verdict is
            taken against the stronger of the no-transfer references compared (``scratch``,
            the baselines), and the result says which.
        fractions: shares of the training labels to sample, in ``(0, 1]`` (default 5%, 20%,
            100%), stratified with at least one example per class.
        seeds: how many seeds (0..N-1) or which seeds; each seed draws its own samples.
        shots: instead of fractions, examples per class (the N-shot protocol).
        backbone: the pre-trained backbone every strategy starts from (scratch: its
            architecture with random weights).
        metric: ``"accuracy"`` or ``"macro_f1"``; the verdict is on this metric.
        progress: print one line per fitted cell.
        group_by: the group column (``"speaker"``): leave-one-group-out instead of the test
            split. Every split of ``data`` is pooled; each group in turn is the test set and
            the samples are drawn from the other groups, so no group is ever on both sides.
        backbones: several backbones to compare on the same samples and seeds (e.g. a base
            and ``run:<its pre-trained run>``): every transfer strategy is fitted on each
            (named ``"probe [spec]"`` in the table) and each later backbone is judged against
            the first (``backbone_tests``); references run on the first. Replaces
            ``backbone``.
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
    specs = backbone_list(backbone, backbones)
    backbone = specs[0]
    if group_by is not None:
        pool = pool_splits(data if isinstance(data, Dataset | DatasetSplits)
                           else as_dataset(data))
        pool.require_single_labels("compare")
        folds = list(leave_one_group_out(pool, group_by))
        train, test = pool, pool  # sizes and the checks below; each fold has its own
    else:
        train, test = _splits(data, seed_list[0])
        folds = [(None, train, test)]
    names = _check_strategies(default_strategies(train.modality, backbone) if strategies is None
                              else strategies, train)
    per_strategy = _params_per_strategy(names, params)
    xkey, amounts = _amounts(fractions, shots, train)
    n_classes = len(train.classes)
    rows: list[dict[str, Any]] = []
    zeroshot_cache: dict[tuple, float] = {}
    done = 0
    if group_by is None:
        samples = {(seed, x): sample_shots(train, x, seed) if xkey == "shots" else
                   sample_fraction(train, x, seed) for seed in seed_list for x in amounts}
        for spec in specs:
            encode_samples_once(train, list(samples.values()), names, spec, params.get("layer"))
    else:
        for spec in specs:
            encode_pool_once(train, names, spec, params.get("layer"))
    # (name in the table, strategy, backbone): transfer strategies once per backbone; the
    # references (and zero-shot) once, on the first, under their own names.
    per_backbone = len(specs) > 1
    candidates = [(candidate_label(n, spec) if per_backbone and own else n, n, spec)
                  for n in names
                  for own in [not is_reference(n) and n != "zeroshot"]
                  for spec in (specs if own else specs[:1])]
    total = len(seed_list) * len(amounts) * len(candidates) * len(folds)
    for seed in seed_list:
        for x in amounts:
            for group, fold_train, fold_test in folds:
                if group is None:
                    sample = samples[(seed, x)]
                else:
                    sample = sample_shots(fold_train, x, seed) if xkey == "shots" else \
                        sample_fraction(fold_train, x, seed)
                for label, name, spec in candidates:
                    t0 = time.perf_counter()
                    if name == "zeroshot":
                        if group not in zeroshot_cache:
                            zeroshot_cache[group] = _zeroshot_metrics(fold_train, fold_test,
                                                                      backbone, params)
                        m, n_labels = dict(zeroshot_cache[group]), 0
                    else:
                        base, extra = _strategy_of(name)
                        model = TransferClassifier(backbone=spec, strategy=base, seed=seed,
                                                   progress=False,
                                                   **{**per_strategy[name], **extra})
                        model.fit(sample)
                        m, n_labels = model.evaluate(fold_test), len(sample)
                    row = {"strategy": label, xkey: x, "n_labels": n_labels, "seed": seed,
                           "accuracy": float(m["accuracy"]), "macro_f1": float(m["macro_f1"]),
                           "fit_seconds": round(time.perf_counter() - t0, 3)}
                    if group is not None:
                        row.update(group=group, n_test=len(fold_test))
                    rows.append(row)
                    done += 1
                    if progress:
                        held = "" if group is None else f" held-out {group}"
                        print(f"[{done}/{total}] {label:<12} {_amount_label(xkey, x):>8} "
                              f"({n_labels} labels) seed {seed}{held}: {metric} "
                              f"{row[metric]:.4f} in {row['fit_seconds']:.1f}s",
                              file=sys.stderr, flush=True)
    fold_table = pd.DataFrame(rows) if group_by is not None else None
    table = _pool_folds(fold_table, xkey) if fold_table is not None else pd.DataFrame(rows)
    # Zero-shot has one value for every amount: a flat line in the summary, no part in the
    # verdict (it is not trained, so it has no scratch counterpart to pair with).
    summary = cell_summary(table, metric, xkey)
    verdict_table = table[table.strategy != "zeroshot"]
    v = transfer_verdict(verdict_table, metric, xkey, baseline=None)
    ref = v["reference"] or "scratch"
    by_backbone = backbone_tests(table, metric, xkey, specs, names) if len(specs) > 1 else []
    result = CompareResult(
        table=table, summary=summary, verdict=v["verdict"], reason=v["reason"],
        tests=v["tests"], per_amount=v["per_amount"],
        data_efficiency=data_efficiency(summary, xkey, v["best"], ref), best=v["best"],
        reference=v["reference"], references=v["references"],
        efficiency=efficiency_points(summary, xkey, v["best"], ref),
        config={"strategies": names, xkey + "s" if xkey == "fraction" else xkey: amounts,
                "seeds": seed_list, "backbone": backbone if isinstance(backbone, str)
                else getattr(backbone, "name", str(backbone)), "metric": metric,
                **({"backbones": specs} if len(specs) > 1 else {}),
                "n_train": len(train), "n_test": len(test), "n_classes": n_classes,
                "params": {k: plain(v) for k, v in params.items()},
                "seconds": round(time.perf_counter() - t_start, 3),
                **({} if group_by is None else
                   {"group_by": group_by, "groups": [g for g, _, _ in folds]})},
        folds=fold_table, backbone_tests=by_backbone,
    )
    if result.verdict == "negative transfer":
        warnings.warn(NegativeTransferWarning(result.reason), stacklevel=2)
    for t in by_backbone:
        if t["verdict"] == "negative transfer":
            warnings.warn(NegativeTransferWarning(t["reason"]), stacklevel=2)
    return result


def _pool_folds(folds: pd.DataFrame, xkey: str) -> pd.DataFrame:
    """Per strategy, amount and seed: the accuracy over every held-out row (each group's
    accuracy weighted by its size), the mean macro-F1 over groups, labels per fit on average
    and the fitting time in all."""
    rows = []
    for (name, x, seed), g in folds.groupby(["strategy", xkey, "seed"], sort=False):
        w = g["n_test"].to_numpy(dtype=float)
        rows.append({"strategy": name, xkey: x, "n_labels": int(round(g["n_labels"].mean())),
                     "seed": seed, "accuracy": float(np.average(g["accuracy"], weights=w)),
                     "macro_f1": float(g["macro_f1"].mean()),
                     "fit_seconds": round(float(g["fit_seconds"].sum()), 3)})
    return pd.DataFrame(rows)


def _params_per_strategy(names: list[str], params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The keywords each compared strategy reads (the others' settings stay with them); a
    keyword none of them reads is refused, naming the strategies that would."""
    own = set(TransferClassifier.PARAMS)
    tables = TransferClassifier.method_tables()
    out = {n: {k: v for k, v in params.items()
               if k in own or k in tables.get(_strategy_of(n)[0], {})} for n in names}
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
