"""Amazon reviews with MiniLM's top blocks tuned during adaptation (issue 5).

Frozen MiniLM features cap adaptation at about 77 % on the 12 Amazon pairs (see the
``amazon-im`` table); the issue's goal of 85 % needs the encoder itself to adapt. Here the
deep methods train the top ``--unfreeze`` transformer blocks together with the classifier
(``DomainAdapter(train_backbone=True, unfreeze=K)``): the lower blocks run once per fit,
their token states are cached, and every step runs only the top blocks.

Per pair: all 2,000 source reviews labelled, the 2,000 target reviews unlabelled, then
evaluated (the literature's transductive protocol). The table sets each run beside the same
method on frozen features (``amazon-im``, same seed) and the frozen source-only probe
(``amazon``), and gives the wall time of ``fit``.

Usage::

    python benchmarks/bench_adapt_tune.py --pairs books->kitchen,dvd->electronics --seeds 1
    python benchmarks/bench_adapt_tune.py --write
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cli import run_or_write  # noqa: E402
from _results import machine, today, write_subsection  # noqa: E402
from bench_adapt import DOMAINS, SECTION, _load_raw, _save_raw  # noqa: E402

PART = "amazon-tune"


def run(args: argparse.Namespace) -> None:
    import torch

    import transferkit as tk
    from transferkit.adapt.auto import parse_candidate

    torch.set_num_threads(args.threads)
    ds = tk.load_dataset("amazon").train
    dom = ds.domains.astype(str)
    pairs = list(itertools.permutations(DOMAINS, 2)) if args.pairs == "all" else [
        tuple(p.split("->")) for p in args.pairs.split(",")]
    raw = _load_raw()
    out = raw.setdefault(PART, {"runs": {}})
    out.update(date=today(), machine=machine())
    name, kw = parse_candidate(args.method)
    for (s, t), seed in itertools.product(pairs, range(args.seeds)):
        key = (f"{s}->{t}|{args.method}|unfreeze={args.unfreeze}|epochs={args.epochs}"
               f"|head={args.head_init}|{seed}")
        if key in out["runs"] and not args.force:
            continue
        S, T = ds.subset(np.flatnonzero(dom == s), name=s), ds.subset(np.flatnonzero(dom == t),
                                                                       name=t)
        model = tk.DomainAdapter(method=name, backbone="minilm-l6", train_backbone=True,
                                 unfreeze=args.unfreeze, epochs=args.epochs,
                                 head_init=args.head_init,
                                 batch_size=args.batch_size, baseline=False, seed=seed,
                                 progress=False, **kw)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(S, T.without_labels())
        fit_s = time.perf_counter() - t0
        summary = model.strategy_.summary
        out["runs"][key] = {"accuracy": model.score(T), "fit_seconds": round(fit_s, 1),
                            "train_seconds": summary["seconds_train"],
                            "trainable_params": summary["trainable_params"],
                            "threads": args.threads}
        print(f"{key}: {100 * out['runs'][key]['accuracy']:.1f} in {fit_s:.0f} s", flush=True)
        _save_raw(raw, PART)


def table(raw: dict) -> str:
    tune = raw[PART]["runs"]
    frozen_im, frozen = raw.get("amazon-im", {}).get("runs", {}), raw.get("amazon", {}).get("runs",
                                                                                              {})
    short = {d: d[0].upper() for d in DOMAINS}
    lines = ["| pair | setting | tuned % | same method, frozen % | source-only probe, frozen % "
             "| gain over frozen | fit s (threads) |", "|---|---|---|---|---|---|---|"]
    gains, tuned_all, frozen_all = [], [], []
    for key, r in sorted(tune.items()):
        pair, spec, unfreeze, epochs, head, seed = key.split("|")
        same = frozen_im.get(f"{pair}|{spec}|{seed}", {}).get("accuracy")
        probe = frozen.get(f"{pair}|{seed}", {}).get("accuracy", {}).get("source")
        s, t = pair.split("->")
        acc = 100 * r["accuracy"]
        tuned_all.append(acc)
        gain = "" if same is None else f"{acc - 100 * same:+.1f}"
        if same is not None:
            gains.append(acc - 100 * same)
            frozen_all.append(100 * same)
        lines.append(f"| {short[s]} → {short[t]} | {spec}, {unfreeze}, {epochs}, {head}, "
                     f"seed {seed} "
                     f"| {acc:.1f} | {'' if same is None else f'{100 * same:.1f}'} "
                     f"| {'' if probe is None else f'{100 * probe:.1f}'} | {gain} "
                     f"| {r['fit_seconds']:.0f} ({r.get('threads', 2)}) |")
    settings = {k.split("|", 1)[1].rsplit("|", 1)[0] for k in tune}
    if gains and len(settings) == 1:  # a mean across different settings would mean nothing
        lines.append(f"| **mean of {len(tuned_all)} runs** | | **{np.mean(tuned_all):.1f}** | "
                     f"{np.mean(frozen_all):.1f} | | **{np.mean(gains):+.1f}** | |")
    return "\n".join(lines)


def write(raw: dict) -> None:
    if raw.get(PART):
        part = raw[PART]
        write_subsection(
            SECTION, "Amazon reviews: MiniLM's top blocks tuned while adapting",
            f"Measured {part['date']} on {part['machine']} by `benchmarks/bench_adapt_tune.py`"
            " (frozen columns from `bench_adapt.py`, same seed).\n\n" + table(raw))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", default="all", help="'all' or 'books->kitchen,dvd->books'")
    ap.add_argument("--method", default="cdan:im_weight=1")
    ap.add_argument("--unfreeze", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--head-init", choices=["probe", "random"], default="probe")
    run_or_write(ap, run, lambda: write(_load_raw()))


if __name__ == "__main__":
    main()
