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

from _results import machine, today, write_section

SECTION = "## No-transfer baselines (issue 19)"


def _data(name: str):
    import transferkit as tk

    if name == "banking77":
        return tk.load_dataset("banking77")
    if name == "sst2":
        return tk.load_dataset("sst2")
    return tk.load_dataset("amazon:books")


def _curve(name: str, strategies: list[str], fractions: list[float], seeds: int) -> str:
    import transferkit as tk

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = tk.compare(_data(name), strategies=strategies, fractions=fractions, seeds=seeds,
                         epochs=3, progress=True)
    t = res.table
    med = t.groupby(["strategy", "fraction"]).agg(acc=("accuracy", "median"),
                                                   secs=("fit_seconds", "median"))
    lines = [f"### {name}", "", "| strategy | " + " | ".join(f"{100 * f:g}%" for f in fractions)
             + " |", "|---|" + "---|" * len(fractions)]
    for s in strategies:
        cells = [f"{100 * med.loc[(s, f), 'acc']:.2f} ({med.loc[(s, f), 'secs']:.1f} s)"
                 for f in fractions]
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    lines += ["", f"verdict: {res.verdict} — {res.reason}", "",
              f"data efficiency: {res.data_efficiency}", ""]
    return "\n".join(lines)


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
    ap.add_argument("--data", default="banking77,sst2,amazon")
    ap.add_argument("--fractions", default="0.01,0.02,0.05,0.1,0.2,1")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--no-scratch", action="store_true")
    ap.add_argument("--demo-runs", type=int, default=3)
    args = ap.parse_args()
    fractions = [float(f) for f in args.fractions.split(",")]
    strategies = ["probe", "baseline"] + ([] if args.no_scratch else ["scratch"])
    body = [f"Machine: {machine(load=True)}; {today()}. Accuracy median over {args.seeds} "
            "seeds (median fit seconds).", ""]
    for name in [d for d in args.data.split(",") if d]:
        body.append(_curve(name, strategies, fractions, args.seeds))
    if args.demo_runs:
        body.append(_demo(args.demo_runs))
    write_section(SECTION, "\n".join(body))


if __name__ == "__main__":
    main()
