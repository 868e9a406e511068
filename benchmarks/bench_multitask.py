"""Issue 22 benchmark: three text tasks on one shared MiniLM encoder vs three single-task fits.

Run::

    python benchmarks/bench_multitask.py            # the protocol below (~15 minutes here)
    python benchmarks/bench_multitask.py --quick --no-write

The issue's protocol (top 4 blocks tuned, full data) is out of reach of a 2-core CPU shared
with others; this one fits a ~15-minute budget and says so in RESULTS.md:

* tasks: Banking77 at 8 training queries per intent (616; tested on 6 per intent, 462),
  SST-2 (``--n-binary`` 300 training sentences, 400 test) and Amazon kitchen reviews
  (300 / 400, a seeded split of the domain's 2,000, cut to their first 400 characters);
* MiniLM-L6, the top ``--unfreeze`` layer groups trained, the frozen ones run once on cached
  states; heads start random in both arms (the same recipe); lr ``--lr`` for the heads,
  x0.1 for the encoder, ``--epochs`` epochs, batch 32, cosine, early stopping on held-out
  rows where a task has >= 20 per class (SST-2, Amazon; Banking77 keeps its last epoch);
* multi-task: one fit, proportional sampling (each task sees its own rows once per epoch, as
  in its single-task fit), per-task batches, equal loss weights, conflict measured
  every 20 steps; single-task: one ``finetune`` fit per task with the same epochs over its
  own rows, so each task sees about as many examples (steps) as in the joint fit;
* step time per example: the engine's training seconds over the examples it trained on.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from _results import machine, today, write_section

SECTION = "Multi-task (issue 22)"
RAW = Path(__file__).with_name("raw") / "multitask.json"


def per_class(ds, n, seed=0, name=None):
    rng = np.random.default_rng(seed)
    idx = [rng.choice(np.flatnonzero(ds.labels == c), min(n, int((ds.labels == c).sum())),
                      replace=False) for c in np.unique(ds.labels)]
    return ds.subset(np.sort(np.concatenate(idx)), name=name or ds.name)


def rows(ds, n, seed=0, name=None):
    idx = np.sort(np.random.default_rng(seed).permutation(len(ds))[:n])
    return ds.subset(idx, name=name or ds.name)


def truncate(tk, ds, max_chars):
    """The first ``max_chars`` characters of each text (long reviews dominate CPU time)."""
    return tk.Dataset([t[:max_chars] for t in ds.inputs], labels=ds.labels, modality="text",
                      name=ds.name)


def tasks(tk, args):
    k = 4 if args.quick else 1  # --quick: a quarter of everything
    b = tk.load_dataset("banking77")
    s = tk.load_dataset("sst2")
    a = truncate(tk, tk.load_dataset("amazon:domain=kitchen").train, args.max_chars)
    order = np.random.default_rng(0).permutation(len(a))
    a_train = a.subset(np.sort(order[:args.n_binary // k]), name="amazon-kitchen")
    a_test = a.subset(np.sort(order[1000:1000 + 400 // k]), name="amazon-kitchen")
    return ({"banking77": per_class(b.train, 8 if not args.quick else 4, name="banking77-8shot"),
             "sst2": rows(s.train, args.n_binary // k), "amazon-kitchen": a_train},
            {"banking77": per_class(b.test, 6 if not args.quick else 2),
             "sst2": rows(s.test, 400 // k), "amazon-kitchen": a_test})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sampling", default="proportional")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--unfreeze", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n-binary", type=int, default=300,
                    help="training rows of SST-2 and of Amazon kitchen")
    ap.add_argument("--max-chars", type=int, default=400,
                    help="Amazon reviews cut to their first N characters")
    ap.add_argument("--from-raw", action="store_true",
                    help="write RESULTS.md from the last measured benchmarks/raw/multitask.json")
    args = ap.parse_args()
    if args.from_raw:
        raw = json.loads(RAW.read_text())
        for k in ("unfreeze", "epochs", "lr"):
            setattr(args, k, raw["settings"][k])
        args.sampling = raw.get("sampling", "proportional")
        args.max_chars = raw.get("max_chars", 400)
        write_section(SECTION, render(raw, args), keep_subsections=True)
        return
    import torch

    torch.set_num_threads(args.threads)
    import transferkit as tk

    train, test = tasks(tk, args)
    bb = tk.create_backbone("minilm-l6")
    common = dict(unfreeze=args.unfreeze, epochs=args.epochs, lr=args.lr, batch_size=32,
                  progress=False, seed=0)
    load = os.getloadavg()[0]
    out = {"date": today(), "machine": machine(load=True), "settings": common,
           "sampling": args.sampling, "max_chars": args.max_chars,
           "n_train": {n: len(d) for n, d in train.items()},
           "n_test": {n: len(d) for n, d in test.items()}}

    t0 = time.perf_counter()
    mt = tk.MultiTaskClassifier(backbone=bb, tasks=train, sampling=args.sampling,
                                temperature=2.0, conflict_every=20, **common).fit()
    fit_s = time.perf_counter() - t0
    ex = sum(h["task_examples"][n] for h in mt.history_ for n in train)
    out["multi"] = {"fit_seconds": fit_s, "train_seconds": mt.summary_["seconds"],
                    "examples": ex, "epochs_run": mt.summary_["epochs_run"],
                    "accuracy": {n: mt.score(d, task=n) for n, d in test.items()},
                    "examples_per_task": {n: sum(h["task_examples"][n] for h in mt.history_)
                                          for n in train},
                    "conflict": mt._record_fields()["multitask"]["grad_conflict"]["pairs"],
                    "trainable_params": mt.summary_["trainable_params"]}
    print(json.dumps(out["multi"], indent=1), flush=True)
    out["single"] = {}
    for name, data in train.items():
        t0 = time.perf_counter()
        m = tk.TransferClassifier(backbone=bb, strategy="finetune", head_init="random",
                                  **common).fit(data)
        s = m.strategy_.summary
        out["single"][name] = {
            "fit_seconds": time.perf_counter() - t0, "train_seconds": s["seconds"],
            "examples": len(data) * s["epochs_run"] - (0 if "none" in s["validation"] else
                                                        int(0.1 * len(data)) * s["epochs_run"]),
            "epochs_run": s["epochs_run"], "accuracy": m.score(test[name]),
            "trainable_params": s["trainable_params"]}
        print(name, json.dumps(out["single"][name]), flush=True)
    out["load_average_start"] = load
    if not args.quick:
        RAW.parent.mkdir(exist_ok=True)
        RAW.write_text(json.dumps(out, indent=1))
    if not args.no_write:
        write_section(SECTION, render(out, args), keep_subsections=True)


def render(r: dict, args) -> str:
    m, s = r["multi"], r["single"]
    lines = [
        f"`benchmarks/bench_multitask.py` ({r['date']}; {r['machine']}; 2 torch threads). "
        f"**CPU budget ~15 minutes, not the issue's protocol**: MiniLM-L6 with the top "
        f"{args.unfreeze} layer groups tuned (the issue asks for 4) on cached lower-layer "
        f"states, {args.sampling} sampling, per-task batches, "
        f"{args.epochs} epochs, batch 32, head lr {args.lr}, encoder x0.1, random heads "
        f"in both arms, one seed; Amazon reviews cut to their first {args.max_chars} "
        "characters. Train sizes: "
        + ", ".join(f"{n} {k}" for n, k in r["n_train"].items()) + "; test: "
        + ", ".join(f"{n} {k}" for n, k in r["n_test"].items()) + ".",
        "",
        "| task | single-task acc. | multi-task acc. | Δ (points) | examples seen single / multi |",
        "|---|---|---|---|---|",
    ]
    for n in s:
        d = 100 * (m["accuracy"][n] - s[n]["accuracy"])
        lines.append(f"| {n} | {100 * s[n]['accuracy']:.1f} | {100 * m['accuracy'][n]:.1f} | "
                     f"{d:+.1f} | {s[n]['examples']} / {m['examples_per_task'][n]} |")
    s_sec = sum(v["train_seconds"] for v in s.values())
    s_ex = sum(v["examples"] for v in s.values())
    deltas = {n: 100 * (m["accuracy"][n] - s[n]["accuracy"]) for n in s}
    within = [n for n, d in deltas.items() if d >= -0.5]
    hurt = [f"{n} ({d:+.1f})" for n, d in deltas.items() if d < -0.5]
    ms_multi, ms_single = 1000 * m["train_seconds"] / m["examples"], 1000 * s_sec / s_ex
    goals = [
        "",
        "Goals of the issue, on this reduced protocol: every task within 0.5 points of its "
        f"single-task result — {'met' if not hurt else 'not met'} "
        f"({len(within)} of {len(deltas)} within; "
        + (f"sharing hurt {', '.join(hurt)}" if hurt else "no task lost more than 0.5") + "); "
        f">= +1 point on the low-resource task (Banking77 at 8 per intent): "
        f"{deltas.get('banking77', float('nan')):+.1f}, "
        f"{'met' if deltas.get('banking77', -99) >= 1 else 'not met'}; "
        f"no slower per example: {ms_multi:.1f} vs {ms_single:.1f} ms, "
        f"{'met' if ms_multi <= ms_single else 'not met'}. One seed on a shared, loaded CPU: "
        "differences of a point or two on 400-462 test rows are within noise "
        "(a binomial standard error is ~2 points at 80 %). The step times are confounded: the "
        "arms ran one after the other on a machine whose load moved (other engineers' jobs), "
        "and the multi-task time includes the gradient-conflict measurement (a forward and one "
        "backward per task on a 16-per-task probe batch every 20 steps) — not separated here.",
    ]
    lines += [
        "",
        f"Step time per training example (engine seconds / examples): multi-task "
        f"{1000 * m['train_seconds'] / m['examples']:.2f} ms ({m['examples']} examples, "
        f"{m['train_seconds']:.0f} s, gradient conflict sampled every 20 steps included), "
        f"single-task {1000 * s_sec / s_ex:.2f} ms ({s_ex} examples over three fits, "
        f"{s_sec:.0f} s). Whole fits incl. encoding the frozen layers: multi "
        f"{m['fit_seconds']:.0f} s, three singles "
        f"{sum(v['fit_seconds'] for v in s.values()):.0f} s. Shared encoder: one copy of "
        "MiniLM for three tasks (a third of the three single-task models' encoder parameters).",
        "",
        "Gradient conflict (cosine between task gradients on the tuned encoder blocks, sampled "
        "every 20 steps): " + "; ".join(
            f"{p} mean {v['mean_cosine']:+.3f} (negative in {100 * v['negative_share']:.0f}% "
            f"of {v['samples']})" for p, v in m["conflict"].items()) + ".",
        *goals,
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
