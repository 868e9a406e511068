"""Issue 21: throughput of the pretext loop, ours vs sentence-transformers, same objective.

Unsupervised SimCSE (Gao et al. 2021: each text against itself under two dropout masks,
in-batch negatives, temperature 0.05) on the texts of Amazon kitchen reviews, all-MiniLM-L6-v2
with every layer training, batch 16, 64 tokens, AdamW at 3e-5:

* ours: ``tk.pretrain(objective="simcse")`` — the engine's loop (Fabric), with its held-out
  pretext loss, checkpoints and run folder; its record's ``texts_per_second`` counts the
  training steps only;
* sentence-transformers: the same model loaded as a ``SentenceTransformer``, its
  ``MultipleNegativesRankingLoss`` (scale 20 = temperature 0.05) on ``(text, text)`` pairs,
  which is how its documentation trains SimCSE, in a plain loop of tokenise, forward,
  backward, AdamW step (no Trainer: the fastest way it can run, so the ratio is not flattered).

Both take the same texts in the same order for the same steps, alternated, in one process;
the ratio is of medians. Run: ``python benchmarks/bench_pretrain_speed.py [--steps 30]
[--repeats 3]``. Writes a subsection of "## Continued pre-training (issue 21)".
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings

import numpy as np
from _results import machine, today, write_subsection

SECTION = "## Continued pre-training (issue 21)"
TITLE = "Pretext throughput: SimCSE, ours vs sentence-transformers"


def ours(tk, data, steps, batch, length, seed):
    from transferkit.runs import read_record

    with tempfile.TemporaryDirectory() as out:
        path = tk.pretrain(data, backbone="minilm-l6", objective="simcse", epochs=1,
                           max_steps=steps, batch_size=batch, max_length=length, lr=3e-5,
                           unfreeze="all", patience=None, val_fraction=0.05,
                           out=f"{out}/run", seed=seed, progress=False)
        pre = read_record(path)["pretrain"]
    return pre["texts_per_second"], pre["steps"]


def sentence_transformers(texts, steps, batch, length, seed):
    import torch
    from sentence_transformers import SentenceTransformer, losses

    from transferkit.backbones.text import minilm_l6_path

    torch.manual_seed(seed)
    model = SentenceTransformer(str(minilm_l6_path()), device="cpu")
    model.max_seq_length = length
    loss = losses.MultipleNegativesRankingLoss(model, scale=20.0)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-5)
    model.train()
    t0 = time.perf_counter()
    for s in range(steps):
        chunk = texts[s * batch:(s + 1) * batch]
        feats = model.tokenize(chunk)
        value = loss([feats, dict(feats)], torch.zeros(len(chunk)))
        opt.zero_grad()
        value.backward()
        opt.step()
    return steps * batch / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-length", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    import transferkit as tk

    ds = tk.load_dataset("amazon", domain="kitchen", test_size=0.3, seed=0)
    data = ds.train.without_labels()
    texts = list(data.inputs)
    where = machine(load=True)
    mine, theirs = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for r in range(args.repeats):
            rate, steps = ours(tk, data, args.steps, args.batch_size, args.max_length, r)
            mine.append(rate)
            # The same number of training steps, on texts in the data's order.
            theirs.append(sentence_transformers(texts, steps, args.batch_size,
                                                args.max_length, r))
            print(f"repeat {r}: ours {mine[-1]:.1f} texts/s, sentence-transformers "
                  f"{theirs[-1]:.1f} texts/s", flush=True)
    a, b = float(np.median(mine)), float(np.median(theirs))
    body = "\n".join([
        f"{today()} · {where} · torch threads {args.threads} · "
        "`python benchmarks/bench_pretrain_speed.py`", "",
        f"SimCSE on Amazon kitchen review texts, MiniLM all layers training, batch "
        f"{args.batch_size}, {args.max_length} tokens, {args.steps} steps per run, "
        f"{args.repeats} runs alternated in one process (texts per second of training steps):",
        "", "| loop | runs (texts/s) | median |", "|---|---|---|",
        f"| ours, `tk.pretrain(objective='simcse')` | {', '.join(f'{x:.1f}' for x in mine)} "
        f"| {a:.1f} |",
        f"| sentence-transformers {__import__('sentence_transformers').__version__}, "
        f"MultipleNegativesRankingLoss, plain loop | {', '.join(f'{x:.1f}' for x in theirs)} "
        f"| {b:.1f} |", "",
        f"Ratio ours / sentence-transformers: **{a / b:.2f}** (goal >= 1.0).",
        "Ours counts its training steps only (the held-out pretext loss before and after, "
        "and the run folder, are outside the rate); the sentence-transformers loop has no "
        "held-out loss, checkpoints or early stopping at all."])
    print(body)
    if not args.no_write:
        write_subsection(SECTION, TITLE, body)


if __name__ == "__main__":
    main()
