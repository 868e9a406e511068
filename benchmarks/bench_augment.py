"""Augmentation (issue 24): accuracy with vs without a policy, and what it costs per epoch.

Sections (each run is stored in ``raw/augment.json`` as it finishes; a section re-run skips
the runs already there unless ``--force``):

* ``digits`` — MNIST -> USPS, source only (``DomainAdapter(method="source-net")``, LeNet from
  scratch, the target's images pass through the network unlabelled, as in bench_adapt.py),
  with and without ``randaugment,n=2,m=9``; accuracy on the USPS test split.
* ``sst2`` — SST-2 sentences -> Amazon reviews, source only: MiniLM fine-tuned (top 2 blocks +
  head) on SST-2 sentences, with and without ``eda``; accuracy on Amazon reviews.
* ``banking`` — Banking77, 8 shots per intent, the same fine-tuning, with and without ``eda``;
  accuracy on the full test set (3,080).
* ``throughput`` — seconds per training epoch with the policy on vs off (LeNet + RandAugment
  on MNIST; MiniLM + EDA on Banking77), alternating, medians of 3.

    python benchmarks/bench_augment.py --section all --seeds 3 --threads 2
    python benchmarks/bench_augment.py --write        # RESULTS.md from the raw numbers
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import machine, today, write_section  # noqa: E402

SECTION = "Augmentation (issue 24)"
RAW = Path(os.environ.get("BENCH_AUGMENT_RAW", Path(__file__).with_name("raw") / "augment.json"))
IMAGE_POLICY = "randaugment,n=2,m=9"
TEXT_POLICY = "eda,alpha=0.1"
# Budgets (2 shared CPU cores): small enough that the whole script stays near 20 minutes.
DIGITS = {"epochs": 4, "steps_per_epoch": 150, "batch_size": 64, "lr": 1e-3}
TEXT = {"epochs": 2, "batch_size": 32, "unfreeze": 2, "lr": 1e-3}
N_SST2, N_AMAZON = 1000, 600


def _load_raw() -> dict:
    return json.loads(RAW.read_text()) if RAW.exists() else {}


def _save(part: str, data: dict) -> None:
    raw = _load_raw()
    raw[part] = data
    tmp = RAW.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(raw, indent=1))
    tmp.replace(RAW)


def _quiet_fit(model, *args):
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(*args)
    return time.perf_counter() - t0


def _runs(part: str, args: argparse.Namespace, protocol: dict, policies: tuple[str, str],
          fit_and_score) -> None:
    """Every (policy, seed) of ``part`` not stored yet: ``fit_and_score(policy, seed)`` ->
    (accuracy, fit seconds); alternating policies so load changes hit both alike."""
    data = _load_raw().get(part, {"runs": {}})
    data.update(date=today(), machine=machine(load=True), protocol=protocol)
    for seed in range(args.seeds):
        for policy in policies:
            key = f"{policy}|{seed}"
            if key in data["runs"] and not args.force:
                continue
            acc, sec = fit_and_score(None if policy == "none" else policy, seed)
            data["runs"][key] = {"accuracy": acc, "fit_seconds": round(sec, 1)}
            print(f"{part} {key}: {100 * acc:.2f}% in {sec:.0f}s", flush=True)
            _save(part, data)


def run_digits(args: argparse.Namespace) -> None:
    import transferkit as tk

    mnist, usps = tk.load_dataset("mnist"), tk.load_dataset("usps")

    def fit_and_score(policy, seed):
        model = tk.DomainAdapter(method="source-net", backbone="lenet", seed=seed,
                                 augment=policy, baseline=False, val_fraction=0.02,
                                 cache=False, progress=False, **DIGITS)
        sec = _quiet_fit(model, mnist.train, usps.train.without_labels())
        return model.score(usps.test), sec

    _runs("digits", args, {**DIGITS, "policy": IMAGE_POLICY}, ("none", IMAGE_POLICY),
          fit_and_score)


def _finetuner(tk, policy, seed, **extra):
    return tk.TransferClassifier(backbone="minilm-l6", strategy="finetune", seed=seed,
                                 augment=policy, progress=False, **TEXT, **extra)


def run_sst2(args: argparse.Namespace) -> None:
    import transferkit as tk

    src = tk.data.sample_fraction(tk.load_dataset("sst2").train, N_SST2 / 6920, seed=0)
    tgt = tk.data.sample_fraction(tk.load_dataset("amazon").train, N_AMAZON / 8000, seed=0)

    def fit_and_score(policy, seed):
        model = _finetuner(tk, policy, seed)
        sec = _quiet_fit(model, src)
        return model.score(tgt), sec

    _runs("sst2", args, {**TEXT, "policy": TEXT_POLICY, "n_source": len(src),
                         "n_target": len(tgt)}, ("none", TEXT_POLICY), fit_and_score)


def run_banking(args: argparse.Namespace) -> None:
    import transferkit as tk

    ds = tk.load_dataset("banking77")

    def fit_and_score(policy, seed):
        model = _finetuner(tk, policy, seed, shots=8)
        sec = _quiet_fit(model, ds.train)
        return model.score(ds.test), sec

    _runs("banking", args, {**TEXT, "policy": TEXT_POLICY, "shots": 8},
          ("none", TEXT_POLICY), fit_and_score)


def _epoch_seconds(model, data) -> tuple[float, float]:
    """Fit ``model`` for one epoch; (its epoch seconds, seconds spent augmenting batches)."""
    from transferkit.data.augment import Augmenter

    spent = [0.0]
    rows, tensors = Augmenter.rows, Augmenter.tensors

    def timed(fn):
        def wrapper(self, *a):
            t0 = time.perf_counter()
            out = fn(self, *a)
            spent[0] += time.perf_counter() - t0
            return out
        return wrapper

    Augmenter.rows, Augmenter.tensors = timed(rows), timed(tensors)
    try:
        _quiet_fit(model, data)
    finally:
        Augmenter.rows, Augmenter.tensors = rows, tensors
    return float(model.strategy_.history[0]["seconds"]), spent[0]


def run_throughput(args: argparse.Namespace) -> None:
    import transferkit as tk

    mnist = tk.load_dataset("mnist").train
    images = tk.data.sample_fraction(mnist, 6000 / 60000, seed=0)
    texts = tk.sample_shots(tk.load_dataset("banking77").train, 8, 0)
    cases = {
        "LeNet, MNIST 6,000 images, batch 64, " + IMAGE_POLICY: (
            lambda p: tk.TransferClassifier(backbone="lenet", strategy="scratch", epochs=1,
                                            batch_size=64, augment=p, cache=False,
                                            progress=False), images, IMAGE_POLICY),
        "MiniLM top 2 blocks, Banking77 616 queries, batch 32, " + TEXT_POLICY: (
            lambda p: _finetuner(tk, p, 0, shots=None).set_params(epochs=1), texts,
            TEXT_POLICY),
    }
    data = {"date": today(), "machine": machine(load=True), "cases": {}}
    for name, (make, ds, policy) in cases.items():
        off, on, spent = [], [], []
        for _ in range(3):
            off.append(_epoch_seconds(make(None), ds)[0])
            sec, aug = _epoch_seconds(make(policy), ds)
            on.append(sec)
            spent.append(aug)
        data["cases"][name] = {"off": off, "on": on, "augmenting": spent}
        print(f"{name}: off {np.median(off):.2f}s, on {np.median(on):.2f}s, augmenting "
              f"{np.median(spent):.2f}s", flush=True)
        _save("throughput", data)


# ----------------------------------------------------------------------------- tables


def _pair_table(part: dict, policy: str) -> tuple[str, list[float]]:
    runs = part.get("runs", {})
    seeds = sorted({k.split("|")[1] for k in runs}, key=int)
    lines = ["| seed | without % | with % | gain (points) |", "|---|---|---|---|"]
    gains = []
    for s in seeds:
        a, b = runs.get(f"none|{s}"), runs.get(f"{policy}|{s}")
        if not a or not b:
            continue
        g = 100 * (b["accuracy"] - a["accuracy"])
        gains.append(g)
        lines.append(f"| {s} | {100 * a['accuracy']:.2f} | {100 * b['accuracy']:.2f} | "
                     f"{g:+.2f} |")
    off = [v["accuracy"] for k, v in runs.items() if k.startswith("none|")]
    on = [v["accuracy"] for k, v in runs.items() if k.startswith(f"{policy}|")]
    secs = [f"{runs[f'none|{s}']['fit_seconds']:.0f} / {runs[f'{policy}|{s}']['fit_seconds']:.0f}"
            for s in seeds if f"none|{s}" in runs and f"{policy}|{s}" in runs]
    if off and on:
        lines.append(f"| **median** | **{100 * np.median(off):.2f}** | **{100 * np.median(on):.2f}"
                     f"** | **{np.median(gains):+.2f}** |")
        lines.append(f"\nFit wall time per seed, without / with (s): {', '.join(secs)}; they "
                     "follow the machine's load more than the policy (the throughput table "
                     "measures the policy's cost).")
    return "\n".join(lines), gains


def _verdict(gains: list[float], goal: float | None) -> str:
    if not gains:
        return "not run"
    med = float(np.median(gains))
    hurt = sum(g < 0 for g in gains)
    text = f"{len(gains)} seeds, median gain {med:+.2f} points"
    if goal is not None:
        text += f" (goal ≥ +{goal:g}): " + ("**met**" if med >= goal else "**not met**")
    if hurt:
        text += f"; augmentation hurt in {hurt} of {len(gains)} seeds"
    return text


def write() -> None:
    raw = _load_raw()
    fits = [r["fit_seconds"] for part in ("digits", "sst2", "banking")
            for r in raw.get(part, {}).get("runs", {}).values()]
    out = ["Written by `benchmarks/bench_augment.py`. CPU only, 2 cores shared with other "
           f"jobs. Budget: {len(fits)} fits, {sum(fits) / 60:.0f} minutes of fit wall time in "
           "all (planned: about 20 minutes on an idle machine; the load average was 5 to 11 "
           "during most runs and about 1 during the last ones — seed 2 of the text cases and "
           "the throughput table —, which changes the fit times, not the accuracies). Each case is a "
           "small protocol: a difference of a point or two is within seed noise unless every "
           "seed agrees."]
    if "digits" in raw:
        d = raw["digits"]
        p = d["protocol"]
        table, gains = _pair_table(d, IMAGE_POLICY)
        out += [f"### MNIST → USPS, source only, LeNet from scratch, with vs without "
                f"`{IMAGE_POLICY}`",
                f"{d['date']} · {d['machine']}. `DomainAdapter(method='source-net', "
                f"backbone='lenet')`: {p['epochs']} epochs x {p['steps_per_epoch']} steps x "
                f"batch {p['batch_size']} source + {p['batch_size']} unlabelled target (AdamW lr "
                f"{p['lr']:g}, cosine); the policy augments both halves of each training batch; "
                "accuracy on the USPS test split (2,007).", table, _verdict(gains, 2)]
        if "digits-rgb" in raw:
            _, before = _pair_table(raw["digits-rgb"], IMAGE_POLICY)
            out.append("A first run of the same protocol, with gray digits repeated to three "
                       "channels for RandAugment (and its colour operation) before the one-"
                       "channel path: gains " + ", ".join(f"{g:+.2f}" for g in before) +
                       f" points (median {np.median(before):+.2f}); augmentation hurt in "
                       f"{sum(g < 0 for g in before)} of {len(before)} seeds there.")
    if "sst2" in raw:
        d = raw["sst2"]
        p = d["protocol"]
        table, gains = _pair_table(d, TEXT_POLICY)
        out += [f"### SST-2 → Amazon reviews, source only, MiniLM fine-tuned, with vs without "
                f"`{TEXT_POLICY}`",
                f"{d['date']} · {d['machine']}. `strategy='finetune'`, top {p['unfreeze']} "
                f"blocks + linear head (LP-FT start), {p['epochs']} epochs, batch "
                f"{p['batch_size']}, lr {p['lr']:g}; trained on {p['n_source']} SST-2 sentences "
                f"(a fixed sample), accuracy on {p['n_target']} Amazon reviews (a fixed sample "
                "of all four domains).", table, _verdict(gains, 1)]
    if "banking" in raw:
        d = raw["banking"]
        p = d["protocol"]
        table, gains = _pair_table(d, TEXT_POLICY)
        out += [f"### Banking77, 8 shots per intent, MiniLM fine-tuned, with vs without "
                f"`{TEXT_POLICY}`",
                f"{d['date']} · {d['machine']}. The same fine-tuning as above on 8 queries per "
                "intent (616, drawn by seed), accuracy on the full test set (3,080).", table,
                _verdict(gains, None)]
        plain = [v["accuracy"] for k, v in d["runs"].items() if k.startswith("none|")]
        if len(set(plain)) < len(plain):
            out.append("Two seeds without EDA score exactly the same: they train on different "
                       "samples and predict differently (checked by refitting seeds 0 and 1), "
                       "and land on the same count of correct test queries.")
    if "throughput" in raw:
        d = raw["throughput"]
        lines = ["| case | epoch s, off | epoch s, on | augmenting s | cost of the epoch |",
                 "|---|---|---|---|---|"]
        for name, c in d["cases"].items():
            off, on, aug = (float(np.median(c[k])) for k in ("off", "on", "augmenting"))
            share = 100 * aug / on
            lines.append(f"| {name} | {off:.2f} | {on:.2f} | {aug:.2f} | "
                         f"**{share:.1f} %** ({'met' if share <= 15 else 'not met'}; epoch "
                         f"{100 * (on - off) / off:+.1f} %) |")
        out += ["### Data loading with augmentation on vs off",
                f"{d['date']} · {d['machine']}. One training epoch, 3 alternating repetitions, "
                "medians. *Augmenting s* is the time spent inside the augmenter (timed "
                "directly); *cost of the epoch* is that time over the augmented epoch (goal ≤ "
                "15 %), with the difference of the two epoch times in brackets (noisier: the "
                "machine is shared). In the MiniLM case the epoch without augmentation runs "
                "only the 2 trained blocks, on the frozen blocks' cached output (fine-tuning's "
                "cached path); augmented texts change every step, so with a policy the whole "
                "encoder runs forward at every step: that, not the augmenter, is the extra "
                "epoch time.", "\n".join(lines)]
    write_section(SECTION, "\n\n".join(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--section", choices=["digits", "sst2", "banking", "throughput", "all"])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    import torch

    torch.set_num_threads(args.threads)
    for name, fn in (("digits", run_digits), ("sst2", run_sst2), ("banking", run_banking),
                     ("throughput", run_throughput)):
        if args.section in (name, "all"):
            fn(args)
    if args.write or args.section:
        write()


if __name__ == "__main__":
    main()
