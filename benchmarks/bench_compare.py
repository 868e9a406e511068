"""Issue 4 benchmark: transfer vs scratch on Banking77 over label fractions down to 1 %.

Runs ``tk.compare`` (probe on frozen MiniLM vs the same MiniLM architecture trained from
random weights) over fractions x seeds on the same samples, and reads the data-efficiency
ratio: how many more labels scratch needs to match the probe's accuracy at the smallest
fraction (anchor: ULMFiT's 10x, Howard & Ruder 2018).

Run: ``python benchmarks/bench_compare.py [--fractions 0.01,0.05,0.2,1] [--seeds 3]``.
Writes its subsection of RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings

from _results import machine, today, write_subsection

SECTION = "## Ranking and shift (issue 4)"
#: transfer, the same network from random weights, and the practitioner's real alternative
#: without transfer (TF-IDF + logistic regression); the verdict is taken against the stronger
STRATEGIES = ["probe", "scratch", "baseline"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fractions", default="0.01,0.05,0.2,1")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--max-test", type=int, default=0, help="evaluate on this many test rows "
                    "(stratified; 0: the whole test split)")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("TRANSFERKIT_CACHE", tempfile.mkdtemp(prefix="tk-bench-cache-"))
    import transferkit as tk

    ds = tk.load_dataset("banking77")
    test = ds.test
    if args.max_test and args.max_test < len(test):
        test = tk.data.sample_fraction(test, args.max_test / len(test), seed=0)
    data = tk.data.DatasetSplits(train=ds.train, test=test, name="banking77")
    fractions = [float(f) for f in args.fractions.split(",")]
    where = machine(load=True)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tk.NegativeTransferWarning)
        res = tk.compare(data, strategies=STRATEGIES, fractions=fractions,
                         seeds=args.seeds, backbone="minilm-l6", epochs=args.epochs)
    wall = time.perf_counter() - t0
    print(res)
    s = res.summary
    rows = ["| strategy | " + " | ".join(f"{100 * f:g}% ({int(res.table[res.table.fraction == f].n_labels.iloc[0])} labels)"
                                          for f in fractions) + " |",
            "|---|" + "---|" * len(fractions)]
    for strat in STRATEGIES:
        cells = []
        for f in fractions:
            r = s[(s.strategy == strat) & (s.fraction == f)].iloc[0]
            cells.append(f"{100 * r['mean']:.2f} ± {100 * r['std']:.2f}")
        rows.append(f"| {strat} | " + " | ".join(cells) + " |")
    fit_s = res.table.groupby("strategy").fit_seconds.median()
    t = res.tests["probe"]
    body = f"""Measured {today()} on {where}.
`python benchmarks/bench_compare.py --fractions {args.fractions} --seeds {args.seeds} --epochs {args.epochs}`:
`tk.compare` on Banking77 (train {len(ds.train):,}, test {len(test):,}), probe on frozen
minilm-l6 vs scratch (the same architecture with random weights, {args.epochs} epochs, the
fine-tuning defaults: AdamW, cosine schedule, early stopping on 10 % of the sample) vs the
no-transfer baseline (TF-IDF word 1-2-grams + character 2-5-grams, logistic regression with C
chosen on held-out rows), {args.seeds} seeds; every strategy sees the same sample for a given fraction and seed.
Test accuracy %, mean ± std over seeds:

{chr(10).join(rows)}

Verdict: **{res.verdict}** — {res.reason}

Data efficiency: {res.data_efficiency} (anchor: ULMFiT matches scratch with 10x fewer labels).
Paired: {t['wins']} wins, {t['losses']} losses over {t['n_pairs']} (fraction, seed) pairs.
Median fit time per cell: {', '.join(f"{k} {fit_s.get(k, float('nan')):.1f} s" for k in STRATEGIES)};
whole comparison {wall / 60:.1f} min.
"""
    print(body)
    if not args.no_write:
        write_subsection(SECTION, "Compare: transfer vs scratch over label fractions (Banking77)",
                         body)


if __name__ == "__main__":
    main()
