"""Issue 21 benchmark (images): does SimCLR on the target's unlabelled images help a
100-label probe?

USPS digits (16x16, read at LeNet's 28x28): SimCLR (Chen et al. 2020) pre-trains LeNet from
its random initialisation on the *images* of the USPS training split (labels unused); then
the logistic probe on 100 labels (10 per class, drawn by seed from the same split) is tested
on the 2,007 USPS test digits, against the same probe on the same LeNet initialisation
without pre-training. Same seed = same initial weights, same 100 labels, paired. A second,
optional pair (``--efficientnet``): EfficientNet-Lite0's ImageNet features against the same
after SimCLR continued on the digits (top stages only, 64 x 64 inputs: a CPU budget).

Run: ``python benchmarks/bench_simclr.py [--seeds 3] [--images 3000] [--epochs 8]``.
Writes the subsection "SimCLR on unlabelled USPS, then a 100-label probe" of the section
"## Continued pre-training (issue 21)" of RESULTS.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings

import numpy as np
from _results import machine, today, use_cache, write_subsection

SECTION = "## Continued pre-training (issue 21)"
READING = ("Reading: the LeNet pair measures SimCLR against random features, the weakest "
           "baseline; it says nothing about training LeNet on the 100 labels or about a "
           "supervised MNIST encoder (not measured). On 2,007 test digits one seed's accuracy "
           "has a binomial standard error of about 1 point, so EfficientNet gains below ~2 "
           "points over 2 seeds are not established. Pre-training seconds follow the shared "
           "machine's load.")
TITLE = "SimCLR on unlabelled USPS, then a 100-label probe"


def probe(tk, backbone, train, test, seed: int) -> float:
    """Test accuracy of the logistic probe on 10 labels per class drawn with ``seed``."""
    sample = tk.sample_shots(train, 10, seed=seed)
    model = tk.TransferClassifier(backbone=backbone, strategy="probe", seed=seed,
                                  progress=False).fit(sample)
    return float(model.score(test))


def pair(tk, name, start, base, pre_kwargs, train, unlabelled, test, seeds, tmp):
    """Per seed: (seed, probe without, probe with SimCLR, pre-training seconds, held-out
    loss before and best). ``start(seed)``: what pre-training starts from (a spec, or a
    backbone object); ``base(seed)``: the same encoder for the probe without pre-training."""
    rows = []
    for seed in seeds:
        t0 = time.perf_counter()
        run = tk.pretrain(unlabelled, backbone=start(seed), objective="simclr", seed=seed,
                          out=f"{tmp}/{name}-{seed}", progress=False, patience=None,
                          **pre_kwargs)
        seconds = time.perf_counter() - t0
        held = tk.runs.read_record(run)["pretrain"]["held_out_loss"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            without = probe(tk, base(seed), train, test, seed)
            with_ = probe(tk, f"run:{run}", train, test, seed)
        rows.append((seed, without, with_, seconds, held["before"], held["best"]))
        print(f"{name} seed {seed}: {100 * without:.2f} -> {100 * with_:.2f} "
              f"(pretext {held['before']:.3f} -> {held['best']:.3f}, {seconds:.0f} s)",
              flush=True)
    return rows


def table(rows, label_without, label_with) -> list[str]:
    out = [f"| seed | {label_without} % | {label_with} % | gain (points) | held-out NT-Xent "
           "before -> best | pre-training s |", "|---|---|---|---|---|---|"]
    for seed, a, b, s, h0, h1 in rows:
        out.append(f"| {seed} | {100 * a:.2f} | {100 * b:.2f} | {100 * (b - a):+.2f} | "
                   f"{h0:.3f} -> {h1:.3f} | {s:.0f} |")
    a = np.array([r[1] for r in rows])
    b = np.array([r[2] for r in rows])
    out.append(f"| **median** | **{100 * np.median(a):.2f}** | **{100 * np.median(b):.2f}** | "
               f"**{100 * np.median(b - a):+.2f}** | | |")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--images", type=int, default=3000, help="unlabelled USPS training images")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--efficientnet", action="store_true",
                    help="also EfficientNet-Lite0 ImageNet features vs SimCLR-continued")
    ap.add_argument("--eff-seeds", type=int, default=2, help="seeds of the EfficientNet pair")
    ap.add_argument("--eff-images", type=int, default=1000,
                    help="unlabelled images of the EfficientNet pair (the first of the pool)")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    keep = use_cache(None, "tk-bench-simclr-")  # noqa: F841 (alive for the run)
    import torch

    torch.set_num_threads(2)
    import transferkit as tk

    usps = tk.load_dataset("usps")
    train, test = usps.train, usps.test
    pool = np.random.default_rng(0).permutation(len(train))[: args.images]
    unlabelled = train.subset(np.sort(pool)).without_labels()
    seeds = list(range(args.seeds))
    where = machine(load=True)
    t0 = time.perf_counter()
    common = dict(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                  options={"hflip": 0.0})  # a mirrored digit is another shape
    blocks = []
    with tempfile.TemporaryDirectory(prefix="tk-bench-simclr-run-") as tmp:
        # pretrain(seed=s) builds "lenet" with seed s: the probe's initialisation.
        lenet = pair(tk, "lenet", lambda s: "lenet", lambda s: tk.create_backbone(
            "lenet", seed=s), common, train, unlabelled, test, seeds, tmp)
        blocks.append(("LeNet, random init (seed) vs + SimCLR on the USPS images", lenet,
                       "random-init LeNet", "+ SimCLR"))
        if args.efficientnet:
            def small_effnet(seed: int):
                return tk.create_backbone("efficientnet-lite0", image_size=64)

            few = unlabelled.subset(np.arange(min(args.eff_images, len(unlabelled))))
            eff = pair(tk, "effnet", small_effnet, small_effnet,
                       {**common, "epochs": 1, "batch_size": 64, "lr": args.lr / 10,
                        "unfreeze": 2}, train, few, test, seeds[: args.eff_seeds], tmp)
            blocks.append((f"EfficientNet-Lite0 (ImageNet weights, 64 x 64 inputs) vs + SimCLR "
                           f"on stage7 + head: 1 epoch of {len(few)} images, batch 64, lr "
                           f"{args.lr / 10:g}", eff, "ImageNet features", "+ SimCLR"))
    wall = time.perf_counter() - t0
    parts = [
        f"{today()} · {where} · torch 2 threads. `benchmarks/bench_simclr.py`: SimCLR "
        f"(`objective='simclr'`, NT-Xent temperature 0.5, crop 0.3-1.0 of the area, no flip, "
        f"brightness/contrast jitter, blur) on {len(unlabelled)} unlabelled USPS training "
        f"images ({args.epochs} epochs, batch {args.batch_size}, lr {args.lr:g}, head x10, "
        "10% held out for the pretext loss); then the logistic probe on 100 labels (10 per "
        f"class, drawn by seed from the USPS training split), accuracy on the {len(test)} "
        "USPS test digits. Both arms of a row share the seed: the same initial weights and "
        "the same 100 labels.",
    ]
    for title, rows, a, b in blocks:
        gains = [100 * (r[2] - r[1]) for r in rows]
        verdict = ("helped in every seed" if min(gains) > 0 else "hurt in every seed"
                   if max(gains) < 0 else "mixed over seeds")
        parts += ["", f"**{title}**", "", *table(rows, a, b), "",
                  f"{len(rows)} seeds, median gain {np.median(gains):+.2f} points: {verdict}."]
    parts += ["", READING, "", f"Whole benchmark wall time {wall:.0f} s on a shared CPU "
              "(times follow the load of the other jobs)."]
    body = "\n".join(parts)
    if not args.no_write:
        write_subsection(SECTION, TITLE, body)
    print(body)


if __name__ == "__main__":
    main()
