"""Headline figures re-measured after a change to the shared machinery (issue 17: the model
contract), beside the figures published before it.

Measured here, in one run on one machine:

* Banking77, frozen MiniLM: the full-data probe and the 8-shot probe and prototypes over 10 seeds
  (``bench_probe.py`` / ``bench_fewshot.py`` figures);
* zero-shot from label names alone on Banking77 and SST-2, with each calibration;
* Amazon reviews, all 12 domain pairs, seed 0: every candidate of ``DomainAdapter(method="auto")``
  on frozen MiniLM features (``bench_adapt.py --section amazon``), run for run against the
  accuracies stored in ``raw/adapt.json``.

A figure "holds" when it equals the published one to the published precision (the code paths
are deterministic for a seed; they are compared exactly, not within noise).

Run: ``python benchmarks/bench_regression.py [--seeds 10] [--pairs all]``; writes its section of
RESULTS.md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import tempfile
import time

import numpy as np
from _results import machine, today, write_section
from bench_adapt import AMAZON_METHODS, DOMAINS, RAW, _amazon_features, fit_quietly

#: published before the change (benchmarks/RESULTS.md, sections named in the table)
PUBLISHED = {
    "probe, full Banking77": 92.99,
    "probe, 8 shots (10 seeds)": (83.81, 0.87),
    "prototypes, 8 shots (10 seeds)": (79.89, 0.93),
    "zero-shot banking77 none": 61.49, "zero-shot banking77 center": 62.47,
    "zero-shot banking77 prior": 63.90, "zero-shot sst2 none": 65.57,
    "zero-shot sst2 center": 65.62, "zero-shot sst2 prior": 65.68,
}


def _banking(tk, seeds: int) -> dict[str, object]:
    ds = tk.load_dataset("banking77")
    bb = tk.create_backbone("minilm-l6")
    out: dict[str, object] = {}
    t0 = time.perf_counter()
    full = tk.TransferClassifier(backbone=bb, progress=False).fit(ds.train)
    out["probe, full Banking77"] = round(100 * full.score(ds.test), 2)
    out["_probe_seconds"] = round(time.perf_counter() - t0, 1)
    for strategy in ("probe", "prototypes"):
        accs = [tk.TransferClassifier(backbone=bb, strategy=strategy, shots=8, seed=s,
                                      progress=False).fit(ds.train).score(ds.test)
                for s in range(seeds)]
        out[f"{strategy}, 8 shots ({seeds} seeds)"] = (round(100 * np.mean(accs), 2),
                                                      round(100 * np.std(accs), 2))
    return out


def _zeroshot(tk) -> dict[str, float]:
    bb = tk.create_backbone("minilm-l6")
    out = {}
    for name in ("banking77", "sst2"):
        ds = tk.load_dataset(name)
        names = ds.train.meta.get("label_names")
        labels = [names[c] if names else str(c) for c in np.unique(ds.train.labels).tolist()]
        for cal in (None, "center", "prior"):
            zs = tk.ZeroShotClassifier(backbone=bb, labels=labels, calibrate=cal, progress=False)
            zs.fit(ds.train.without_labels() if cal else None)
            out[f"zero-shot {name} {cal or 'none'}"] = round(100 * zs.score(ds.test), 2)
    return out


def _amazon(tk, pairs: list[tuple[str, str]]) -> tuple[list[dict], float]:
    stored = json.loads(RAW.read_text())["amazon"]["runs"]
    ds, X, _ = _amazon_features(threads=2)
    dom = ds.domains.astype(str)
    rows, t0 = [], time.perf_counter()
    for s, t in pairs:
        S = tk.from_arrays(X[dom == s], ds.labels[dom == s], name=s)
        T = tk.from_arrays(X[dom == t], ds.labels[dom == t], name=t)
        model = tk.DomainAdapter(method="auto", backbone="minilm-l6-features",
                                 candidates=list(AMAZON_METHODS), seed=0, cache=False,
                                 progress=False)
        fit_quietly(model, S, T.without_labels())
        rec = model.evaluate_target(T)
        before = stored[f"{s}->{t}|0"]
        now = {n: c["target_accuracy"] for n, c in rec["candidates"].items()}
        rows.append({"pair": f"{s[0].upper()} → {t[0].upper()}", "now": now,
                     "before": before["accuracy"], "chosen": (rec["chosen"], before["chosen"])})
        print(f"{s}->{t}: {sum(now[m] == before['accuracy'][m] for m in now)}/{len(now)} "
              f"candidates equal; auto {rec['chosen']} (was {before['chosen']})", flush=True)
    return rows, time.perf_counter() - t0


def _cell(v) -> str:
    return f"{v[0]:.2f} ± {v[1]:.2f}" if isinstance(v, tuple) else f"{v:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--pairs", default="all", help="'all' or e.g. books->kitchen,dvd->books")
    args = ap.parse_args()
    os.environ["TRANSFERKIT_CACHE"] = tempfile.mkdtemp(prefix="tk-bench-cache-")
    import transferkit as tk

    pairs = list(itertools.permutations(DOMAINS, 2)) if args.pairs == "all" else \
        [tuple(p.split("->")) for p in args.pairs.split(",")]
    figures = {**_banking(tk, args.seeds), **_zeroshot(tk)}
    rows, amazon_s = _amazon(tk, pairs)
    lines = ["| figure | published | now | holds |", "|---|---|---|---|"]
    held = 0
    for name, was in PUBLISHED.items():
        now = figures[name.replace("(10 seeds)", f"({args.seeds} seeds)")]
        same = now == was
        held += same
        lines.append(f"| {name} | {_cell(was)} | {_cell(now)} | {'yes' if same else '**no**'} |")
    runs = sum(len(r["now"]) for r in rows)
    equal = sum(r["now"][m] == r["before"][m] for r in rows for m in r["now"])
    picks = sum(r["chosen"][0] == r["chosen"][1] for r in rows)
    mean_now = np.mean([np.mean(list(r["now"].values())) for r in rows])
    mean_before = np.mean([np.mean([r["before"][m] for m in r["now"]]) for r in rows])
    body = f"""Script: `benchmarks/bench_regression.py` · machine: {machine()} · date: {today()}

The figures that the model-contract change (issue 17: one estimator base, declared
parameters, the run-folder registry, source tuning through the finetune strategy) runs through,
re-measured on the same data and seeds and compared with what this file published before.

{chr(10).join(lines)}

Amazon reviews, frozen MiniLM, {len(rows)} domain pairs, seed 0, the 10 candidates of
`DomainAdapter(method="auto")`: **{equal}/{runs}** candidate accuracies equal to the stored runs
(`raw/adapt.json`), the same label-free pick on {picks}/{len(rows)} pairs; mean over candidates
and pairs {100 * mean_now:.2f} % now, {100 * mean_before:.2f} % before ({amazon_s:.0f} s of
fitting). {held}/{len(PUBLISHED)} Banking77 / SST-2 figures equal. Probe fit on the full data,
features encoded from scratch: {figures['_probe_seconds']} s.
"""
    write_section("Regression check after the model contract (issue 17)", body)
    print(body)


if __name__ == "__main__":
    main()
