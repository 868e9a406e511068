"""Issue 19 benchmark: transfer vs the no-transfer baselines, and the demo's wall time.

Probe (frozen MiniLM + logistic) vs TF-IDF + logistic regression vs scratch (MiniLM
architecture, random init) on Banking77 at 1/2/5/10/20/100 % of the labels, 3 seeds, with
fit times (medians), and the same on SST-2 (sentences) and one Amazon domain; then
``transferkit demo`` from an empty feature cache, 3 times (median wall time; goal < 120 s on
2 cores).

Run: ``python benchmarks/bench_baseline.py [--data banking77,sst2,amazon] [--no-scratch]
[--demo-runs 3]``. Writes its section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

from _results import machine, today, write_subsection

SECTION = "## No-transfer baselines (issue 19)"


def _data(name: str):
    import transferkit as tk

    if name in ("banking77", "sst2"):
        return tk.load_dataset(name)  # official train / test splits
    # One Amazon domain (2,000 reviews): compare holds out a stratified 20 % for testing.
    return tk.load_dataset("amazon", domain=name.split(":", 1)[1]).train


def _curve(name: str, strategies: list[str], fractions: list[float], seeds: int) -> str:
    import transferkit as tk

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        extra = {"epochs": 3} if "scratch" in strategies else {}
        res = tk.compare(_data(name), strategies=strategies, fractions=fractions, seeds=seeds,
                         progress=True, **extra)
    t = res.table
    med = t.groupby(["strategy", "fraction"]).agg(acc=("accuracy", "median"),
                                                   secs=("fit_seconds", "median"))
    lines = ["| strategy | " + " | ".join(f"{100 * f:g}%" for f in fractions)
             + " |", "|---|" + "---|" * len(fractions)]
    for s in strategies:
        cells = [f"{100 * med.loc[(s, f), 'acc']:.2f} ({med.loc[(s, f), 'secs']:.1f} s)"
                 for f in fractions]
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    lines += ["", f"verdict: {res.verdict} — {res.reason}", "",
              f"data efficiency: {res.data_efficiency}", "",
              f"Whole comparison: {res.config['seconds']:.0f} s, including one encoding of the "
              "samples' texts before the cells (the cells' seconds are fits and test scoring).",
              ""]
    return "\n".join(lines)


def _solver(repeats: int) -> str:
    """The TF-IDF baseline's fit against scikit-learn's LogisticRegression on the same TF-IDF
    rows at the same C (Banking77, all 10,003 training queries)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    import transferkit as tk
    from transferkit.strategies.baselines.tfidf import TfidfLogistic

    ds = tk.load_dataset("banking77")
    cls = {c: i for i, c in enumerate(ds.train.classes)}
    y = np.array([cls[v] for v in ds.train.labels])
    yt = np.array([cls[v] for v in ds.test.labels])
    texts, test = list(ds.train.inputs), list(ds.test.inputs)
    ours, ref = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        m = TfidfLogistic().fit(texts, y, len(cls))
        ours.append(time.perf_counter() - t0)
        acc = float((m.predict_proba(test).argmax(1) == yt).mean())
        X, Xt = m.transform(texts), m.transform(test)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            lr = LogisticRegression(C=m.chosen["C"], max_iter=100).fit(X, y)
            ref.append(time.perf_counter() - t0)
        sk_acc = float((lr.predict(Xt) == yt).mean())
    o, r = statistics.median(ours), statistics.median(ref)
    return (f"TF-IDF baseline on Banking77 (10,003 × {m.chosen['n_features']:,} features, 77 "
            f"classes), median of {repeats}: ours (vocabulary + C path + refit, torch L-BFGS on "
            f"float32 CSR rows) **{o:.1f} s**, {100 * acc:.2f} %; scikit-learn "
            f"`LogisticRegression(C={m.chosen['C']:g}, max_iter=100)` on the same rows, one "
            f"fit at the chosen C only: {r:.1f} s, {100 * sk_acc:.2f} % — "
            f"**{r / o:.1f}×** the time for one of our {len(m.chosen['holdout_accuracy_by_C']) + 1}"
            " fits.\n")


def _demo(runs: int) -> str:
    walls = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as out:
            env = {**os.environ, "TRANSFERKIT_CACHE": cache}
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "transferkit.cli.main", "demo", "--out",
                            os.path.join(out, "demo")], env=env, check=True,
                           stdout=subprocess.DEVNULL)
            walls.append(time.perf_counter() - t0)
    return (f"`transferkit demo` from an empty feature cache: median wall time "
            f"{statistics.median(walls):.1f} s over {runs} runs "
            f"({', '.join(f'{w:.1f}' for w in walls)} s); goal < 120 s.\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="banking77,sst2,amazon:books")
    ap.add_argument("--fractions", default="0.01,0.02,0.05,0.1,0.2,1")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--no-scratch", action="store_true")
    ap.add_argument("--demo-runs", type=int, default=3)
    ap.add_argument("--solver-repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads (default: torch's own, one per core)")
    args = ap.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    fractions = [float(f) for f in args.fractions.split(",")]
    strategies = ["probe", "baseline"] + ([] if args.no_scratch else ["scratch"])
    where = f"Machine: {machine(load=True)}; torch threads: {torch.get_num_threads()}; {today()}."
    # Each part is its own subsection, so one can be measured again without the others.
    if args.solver_repeats:
        write_subsection(SECTION, "TF-IDF solver vs scikit-learn",
                         f"{where}\n\n{_solver(args.solver_repeats)}")
    for name in [d for d in args.data.split(",") if d]:
        write_subsection(SECTION, f"Learning curve: {name}",
                         f"{where} Accuracy % median over {args.seeds} seeds (median fit "
                         f"seconds).\n\n{_curve(name, strategies, fractions, args.seeds)}")
    if args.demo_runs:
        write_subsection(SECTION, "Demo wall time", f"{where}\n\n{_demo(args.demo_runs)}")


if __name__ == "__main__":
    main()
