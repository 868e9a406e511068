"""Fine-tuning MiniLM's top blocks: cached lower states vs the full forward, end to end.

``TransferClassifier(strategy="finetune", unfreeze=K)`` on a BERT-layout text encoder runs
the frozen lower blocks once per fit (training and validation rows) and every step and
validation pass runs only the top ``K`` blocks (:mod:`transferkit.backbones.text_split`).
This fits the same model both ways on the same Banking77 sample, alternating per seed in one
process, and reports the wall time of ``fit`` and the test accuracy of each.

Usage::

    python benchmarks/bench_finetune_split.py --per-class 20 --seeds 2
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import machine, today, write_subsection  # noqa: E402

SECTION = "## Fine-tuning (issue 3)"
TITLE = "Fine-tuning MiniLM's top blocks: cached lower states vs the full forward"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--unfreeze", type=int, default=2)
    ap.add_argument("--per-class", type=int, default=20, help="training queries per intent")
    ap.add_argument("--test-rows", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import numpy as np
    import torch

    import transferkit as tk
    from transferkit.strategies import finetune

    torch.set_num_threads(args.threads)
    ds = tk.load_dataset("banking77")
    rng = np.random.default_rng(0)
    y = ds.train.labels
    rows = np.concatenate([rng.choice(np.flatnonzero(y == c), args.per_class, replace=False)
                           for c in np.unique(y)])
    train = ds.train.subset(np.sort(rows), name=f"banking77-{args.per_class}pc")
    test = ds.test.subset(np.sort(rng.choice(len(ds.test), args.test_rows, replace=False)),
                          name="banking77-test-sample")
    tk.TransferClassifier(backbone="minilm-l6", progress=False).fit(train)  # warm the cache
    with_split = finetune.FineTuneStrategy._split
    seconds: dict[str, list[float]] = {"cached": [], "full": []}
    acc: dict[str, list[float]] = {"cached": [], "full": []}
    for seed in range(args.seeds):
        order = ("cached", "full") if seed % 2 == 0 else ("full", "cached")
        for path in order:
            finetune.FineTuneStrategy._split = (with_split if path == "cached"
                                                else lambda *a, **k: None)
            model = tk.TransferClassifier(backbone="minilm-l6", strategy="finetune",
                                          unfreeze=args.unfreeze, epochs=args.epochs,
                                          seed=seed, progress=False)
            t0 = time.perf_counter()
            model.fit(train)
            seconds[path].append(time.perf_counter() - t0)
            assert model.strategy_.summary["cached_frozen_part"] == (path == "cached")
            acc[path].append(100 * model.score(test))
            print(f"seed {seed} {path}: {seconds[path][-1]:.1f} s, {acc[path][-1]:.2f} %",
                  flush=True)
    finetune.FineTuneStrategy._split = with_split
    med = {p: statistics.median(v) for p, v in seconds.items()}
    text = (f"Measured {today()} on {machine()}, {args.threads} threads, by "
            f"`benchmarks/bench_finetune_split.py`: `TransferClassifier(strategy='finetune', "
            f"unfreeze={args.unfreeze}, epochs={args.epochs})` on {len(train):,} Banking77 "
            f"queries ({args.per_class} per intent; 10 % held out for early stopping), scored "
            f"on {len(test):,} test queries; {args.seeds} seeds, the two paths alternating. "
            "Wall time of `fit`, including the LP-FT probe start (features from the cache) "
            "and, on the cached path, encoding through the frozen blocks.\n\n"
            "| path | fit s (median) | test accuracy % (per seed) |\n|---|---|---|\n"
            f"| full forward, lower blocks frozen | {med['full']:.1f} | "
            f"{' / '.join(f'{a:.2f}' for a in acc['full'])} |\n"
            f"| top blocks on cached lower states | {med['cached']:.1f} | "
            f"{' / '.join(f'{a:.2f}' for a in acc['cached'])} |\n\n"
            f"**{med['full'] / med['cached']:.2f}× faster fit** with the cached states. The "
            "two paths train the same model except for the frozen blocks' dropout (off on the "
            "cached path, on in the full forward) and the float16 rounding of the cached states.")
    print(text)
    write_subsection(SECTION, TITLE, text)


if __name__ == "__main__":
    main()
