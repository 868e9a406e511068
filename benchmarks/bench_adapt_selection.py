"""How well each label-free selector picks among a larger pool on Amazon (issue 5).

The pool is the ten methods of ``bench_adapt.py --section amazon`` plus two candidates with
information maximisation on the target (``source-net:im_weight=1``, ``cdan:im_weight=1``),
which are better than the rest on most pairs (``amazon-im`` table). Frozen MiniLM features,
12 pairs, ``auto`` fitted once per pair and seed; every validator score and every
candidate's target accuracy are stored, and each selector is replayed from them.

Usage::

    python benchmarks/bench_adapt_selection.py --seeds 3 --threads 1
    python benchmarks/bench_adapt_selection.py --write
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cli import run_or_write  # noqa: E402
from _results import write_subsection  # noqa: E402
from bench_adapt import AMAZON_METHODS, SECTION, _load_raw, run_amazon  # noqa: E402

PART = "amazon-selection"
EXTRA = ("source-net:im_weight=1", "cdan:im_weight=1")
SELECTORS = ("ensv", "rank", "rank-all", "dev", "rv", "im")


def run(args: argparse.Namespace) -> None:
    run_amazon(args, PART, (*AMAZON_METHODS, *EXTRA))


def table(part: dict) -> str:
    from transferkit.adapt.validators import choose_candidate

    runs = part["runs"]
    seeds = sorted({k.rsplit("|", 1)[1] for k in runs})

    def mean(pick) -> list[float]:
        return [100 * float(np.mean([r["accuracy"][pick(r)] for k, r in runs.items()
                                     if k.endswith(f"|{s}")])) for s in seeds]

    rows = {f"`{sel}`": mean(lambda r, sel=sel: choose_candidate(r["validators"], sel)[0])
            for sel in SELECTORS}
    rows["source-only"] = mean(lambda r: "source")
    rows["hindsight best"] = mean(lambda r: max(r["accuracy"], key=r["accuracy"].get))
    lines = ["| selector | " + " | ".join(f"seed {s}" for s in seeds) + " | mean |",
             "|---|" + "---|" * (len(seeds) + 1)]
    for name, vals in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{v:.1f}" for v in vals)
                     + f" | **{np.mean(vals):.1f}** |")
    return (f"Pool: {', '.join(part['candidates'])}; frozen MiniLM features, 12 pairs per seed; "
            "accuracy % of the model each selector picks, averaged over the pairs.\n\n"
            + "\n".join(lines))


def write() -> None:
    part = _load_raw().get(PART)
    if part:
        write_subsection(SECTION, "Amazon reviews: label-free selection among 12 candidates",
                         f"Measured {part['date']} on {part['machine']} by "
                         f"`benchmarks/bench_adapt_selection.py`{part.get('provenance', '')}."
                         f"\n\n{table(part)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    run_or_write(ap, run, write, seeds=3, threads=1)

if __name__ == "__main__":
    main()
