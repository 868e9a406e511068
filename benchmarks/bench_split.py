"""Training-step speed of tuning MiniLM's top blocks: cached lower states vs the full forward.

``DomainAdapter(train_backbone=True, unfreeze=K)`` runs MiniLM's frozen lower blocks once per
fit and trains the top ``K`` blocks on the cached token states
(:mod:`transferkit.backbones.text_split`). This measures one training step (forward and
backward, batch of 64 Amazon reviews at up to 256 tokens) both ways, side by side in one
process, alternating, and reports medians and their ratio; plus the one-off cost of encoding
the batch through the frozen part.

Usage::

    python benchmarks/bench_split.py --unfreeze 2 --reps 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import machine, today, write_subsection  # noqa: E402

SECTION = "## Domain adaptation (issue 5)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--unfreeze", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import numpy as np
    import torch

    import transferkit as tk

    torch.set_num_threads(args.threads)
    ds = tk.load_dataset("amazon").train
    texts = [ds.inputs[i] for i in np.random.default_rng(0).choice(len(ds), args.batch,
                                                                    replace=False)]
    bb = tk.create_backbone("minilm-l6")
    k = args.unfreeze
    top_groups = {n for n, _ in bb.layer_groups()[-k:]}
    for name, group in bb.layer_groups():
        for p in group.parameters():
            p.requires_grad_(name in top_groups)
    split = bb.split_top(k)
    t0 = time.perf_counter()
    states = split.encode(texts, batch_size=32)
    encode_s = time.perf_counter() - t0

    def cached_step() -> float:
        t = time.perf_counter()
        split.top.train()
        split.top.forward_features(split.collate(states)).square().sum().backward()
        return time.perf_counter() - t

    def full_step() -> float:
        t = time.perf_counter()
        bb.train()
        bb.forward_features(bb.preprocess(texts)).square().sum().backward()
        return time.perf_counter() - t

    cached, full = [], []
    for _ in range(args.reps):
        cached.append(cached_step())
        full.append(full_step())
    c, f = statistics.median(cached), statistics.median(full)
    tokens = int(sum(len(s) for s in states))
    text = (f"Measured {today()} on {machine()}, {args.threads} threads, by "
            f"`benchmarks/bench_split.py`: one training step (forward + backward) on "
            f"{args.batch} Amazon reviews ({tokens:,} tokens), MiniLM's top {k} of 6 blocks "
            f"trainable, medians of {args.reps} alternating repetitions.\n\n"
            "| path | s per step | ratio |\n|---|---|---|\n"
            f"| full forward, lower blocks frozen | {f:.2f} | 1.00 |\n"
            f"| top blocks on cached lower states | {c:.2f} | **{f / c:.2f}× faster** |\n\n"
            f"Encoding the batch through the frozen part once took {encode_s:.2f} s "
            f"({encode_s / c:.1f} cached steps); it is paid once per fit, every later epoch and "
            "every other candidate reuses the states.")
    print(text)
    write_subsection(SECTION, "Tuning MiniLM's top blocks: cached lower states", text)


if __name__ == "__main__":
    main()
