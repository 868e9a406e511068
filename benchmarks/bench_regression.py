"""Headline figures measured with the code before a change to the shared machinery and with the
code after it, side by side on one machine (issue 17: the model contract).

The code before is the tree of ``--before`` (a commit; default 55d3537, the last commit before
issue 17's change), unpacked with ``git archive`` into a temporary folder; each side runs in its
own process over the same feature cache. Measured on each side:

* Banking77, frozen MiniLM: the full-data probe, and the 8-shot probe and prototypes over
  10 seeds (the ``bench_probe.py`` / ``bench_fewshot.py`` figures);
* zero-shot from label names alone on Banking77 and SST-2, with each calibration;
* Amazon reviews, the 12 domain pairs, seed 0: every candidate of ``DomainAdapter(method="auto")``
  on frozen MiniLM features (the ``bench_adapt.py --section amazon`` table).

The code paths are deterministic for a seed, so the two sides are compared exactly. The figures
this file published earlier stand beside them: a difference between "published" and "before"
comes from commits between that measurement and ``--before``, not from this change.

Run: ``python benchmarks/bench_regression.py [--seeds 10] [--pairs all] [--before COMMIT]``;
writes its section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
from _results import machine, today, write_section

HERE = Path(__file__).resolve().parent
DOMAINS = ("books", "dvd", "electronics", "kitchen")
CANDIDATES = ("source", "coral", "reweight", "kmm", "subspace", "source-net", "dann", "cdan",
              "mmd", "selftrain")
#: published in this file before the change (sections "Probe on Banking77" and "Few-shot")
PUBLISHED = {
    "probe, full Banking77": 92.99,
    "probe, 8 shots": (83.81, 0.87),
    "prototypes, 8 shots": (79.89, 0.93),
    "zero-shot banking77, no calibration": 61.49, "zero-shot banking77, center": 62.47,
    "zero-shot banking77, prior": 63.90, "zero-shot sst2, no calibration": 65.57,
    "zero-shot sst2, center": 65.62, "zero-shot sst2, prior": 65.68,
}


# --- one side: runs in its own process with the code under test on sys.path ----------------------
def measure(seeds: int, pairs: list[tuple[str, str]]) -> dict:
    import torch
    from torch import nn

    import transferkit as tk
    from transferkit.features import extract_features

    torch.set_num_threads(2)
    bb = tk.create_backbone("minilm-l6")
    out: dict = {}
    b77 = tk.load_dataset("banking77")
    out["probe, full Banking77"] = round(100 * tk.TransferClassifier(
        backbone=bb, progress=False).fit(b77.train).score(b77.test), 2)
    for strategy in ("probe", "prototypes"):
        accs = [tk.TransferClassifier(backbone=bb, strategy=strategy, shots=8, seed=s,
                                      progress=False).fit(b77.train).score(b77.test)
                for s in range(seeds)]
        out[f"{strategy}, 8 shots"] = (round(100 * np.mean(accs), 2), round(100 * np.std(accs), 2))
    for name in ("banking77", "sst2"):
        ds = tk.load_dataset(name)
        names = ds.train.meta.get("label_names")
        labels = [names[c] if names else str(c) for c in np.unique(ds.train.labels).tolist()]
        for cal in (None, "center", "prior"):
            zs = tk.ZeroShotClassifier(backbone=bb, labels=labels, calibrate=cal, progress=False)
            zs.fit(ds.train.without_labels() if cal else None)
            out[f"zero-shot {name}, {cal or 'no calibration'}"] = round(
                100 * zs.score(ds.test), 2)
    amazon = tk.load_dataset("amazon").train
    X = np.asarray(extract_features(bb, amazon, batch_size=32))
    tk.register_module("minilm-l6-features", lambda **kw: nn.Identity(), modality="tabular",
                       num_features=X.shape[1])
    dom = amazon.domains.astype(str)
    for s, t in pairs:
        S = tk.from_arrays(X[dom == s], amazon.labels[dom == s], name=s)
        T = tk.from_arrays(X[dom == t], amazon.labels[dom == t], name=t)
        model = tk.DomainAdapter(method="auto", backbone="minilm-l6-features",
                                 candidates=list(CANDIDATES), seed=0, cache=False,
                                 progress=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(S, T.without_labels())
        rec = model.evaluate_target(T)
        out[f"amazon {s}->{t}"] = {"accuracy": {n: c["target_accuracy"]
                                                for n, c in rec["candidates"].items()},
                                   "chosen": rec["chosen"]}
        print(f"{s}->{t}: auto chose {rec['chosen']}", file=sys.stderr, flush=True)
    return out


# --- both sides, compared ------------------------------------------------------------------------
def _side(src: Path | None, args: argparse.Namespace, cache: str) -> dict:
    env = {**os.environ, "TRANSFERKIT_CACHE": cache}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--seeds", str(args.seeds),
           "--pairs", args.pairs]
    # From the checkout, so that both sides find ../shared/datasets the same way.
    done = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, check=True, text=True,
                          cwd=HERE.parent)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _cell(v) -> str:
    return f"{v[0]:.2f} ± {v[1]:.2f}" if isinstance(v, list | tuple) else f"{v:.2f}"


def _report(before: dict, now: dict, args: argparse.Namespace) -> str:
    lines = ["| figure | published earlier | code before | code after | same |",
             "|---|---|---|---|---|"]
    same = 0
    for name, was in PUBLISHED.items():
        eq = before[name] == now[name]
        same += eq
        lines.append(f"| {name} | {_cell(was)} | {_cell(before[name])} | {_cell(now[name])} | "
                     f"{'yes' if eq else '**no**'} |")
    pairs = [k for k in now if k.startswith("amazon ")]
    runs = sum(len(now[k]["accuracy"]) for k in pairs)
    equal = sum(now[k]["accuracy"][m] == before[k]["accuracy"].get(m) for k in pairs
                for m in now[k]["accuracy"])
    picks = sum(now[k]["chosen"] == before[k]["chosen"] for k in pairs)
    mean = {side: 100 * np.mean([np.mean(list(d[k]["accuracy"].values())) for k in pairs])
            for side, d in (("before", before), ("after", now))}
    return f"""Script: `benchmarks/bench_regression.py` · machine: {machine()} · date: {today()}

The figures that issue 17's change (one estimator base, declared parameters, the run-folder
registry, source tuning through the finetune strategy) runs through, measured with the code
before it (commit {args.before}) and after it, side by side on this machine, each in its own
process over one feature cache; seeds as published.

{chr(10).join(lines)}

Amazon reviews, frozen MiniLM, {len(pairs)} domain pairs, seed 0, the 10 candidates of
`DomainAdapter(method="auto")`: **{equal}/{runs}** candidate accuracies equal before and after,
the same label-free pick on {picks}/{len(pairs)} pairs; mean over pairs and candidates
{mean['before']:.2f} % before, {mean['after']:.2f} % after. {same}/{len(PUBLISHED)} Banking77 /
SST-2 figures equal before and after. ("Published earlier" differs from "code before" where
commits between that measurement and {args.before} changed a figure.)
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--pairs", default="all", help="'all' or e.g. books->kitchen,dvd->books")
    ap.add_argument("--before", default="55d3537", help="the commit to compare with")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    pairs = list(itertools.permutations(DOMAINS, 2)) if args.pairs == "all" else \
        [tuple(p.split("->")) for p in args.pairs.split(",")]
    if args.worker:
        print(json.dumps(measure(args.seeds, pairs)))
        return
    cache = tempfile.mkdtemp(prefix="tk-bench-cache-")
    with tempfile.TemporaryDirectory(prefix="tk-before-") as old:
        archive = subprocess.run(["git", "archive", args.before, "src"], cwd=HERE.parent,
                                 stdout=subprocess.PIPE, check=True).stdout
        subprocess.run(["tar", "-x", "-C", old], input=archive, check=True)
        before = _side(Path(old) / "src", args, cache)
    now = _side(None, args, cache)
    body = _report(before, now, args)
    write_section("Regression check: issue 17's change, before and after", body)
    print(body)


if __name__ == "__main__":
    main()
