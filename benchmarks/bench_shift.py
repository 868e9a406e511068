"""Shift vs accuracy drop: do MMD, proxy A-distance and the two-sample AUC predict how much a
source-trained model loses on the target?

Amazon reviews, 4 domains (books, dvd, electronics, kitchen), 12 ordered source -> target
pairs, in the features of all-MiniLM-L6-v2. Per domain a stratified sample of ``--per-domain``
reviews (default 240), split half / half into train and test. For each pair:

* shift: ``transferkit.shift.shift_features`` on all sampled reviews of the two domains
  (MMD permutation test with 200 permutations, proxy A-distance, C2ST AUC);
* accuracy drop: in-domain accuracy on the target (logistic probe trained on the target's train
  half) minus cross-domain accuracy (probe trained on the source's train half), both on the
  target's test half.

Then the Pearson and Spearman correlations, over the 12 pairs, between each shift measure and
the drop. MNIST <-> USPS is added on raw pixels (USPS resized to 28 x 28), since no vision
backbone is registered in every checkout; it is reported beside, not mixed into, the text
correlation.

Usage: python benchmarks/bench_shift.py [--per-domain 240] [--no-write]
Writes its subsection into benchmarks/RESULTS.md under "## Ranking and shift (issue 4)".
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from datetime import date

import numpy as np
from _reference import probe_accuracy  # noqa: E402
from _results import RESULTS, machine, use_cache, write_subsection  # noqa: E402

SECTION = "## Ranking and shift (issue 4)"
DOMAINS = ("books", "dvd", "electronics", "kitchen")


def pair_table(feats: dict, labels: dict, halves: dict, n_perm: int, seed: int) -> list[dict]:
    from transferkit.shift import shift_features

    rows = []
    in_domain = {}
    for d in feats:
        tr, te = halves[d]
        in_domain[d] = probe_accuracy(feats[d][tr], labels[d][tr], feats[d][te], labels[d][te])
    for s, t in itertools.permutations(feats, 2):
        t0 = time.perf_counter()
        r = shift_features(feats[s], feats[t], labels[s], labels[t], n_permutations=n_perm,
                           max_samples=max(len(feats[s]), len(feats[t])), seed=seed)
        secs = time.perf_counter() - t0
        tr_s, _ = halves[s]
        _, te_t = halves[t]
        cross = probe_accuracy(feats[s][tr_s], labels[s][tr_s], feats[t][te_t], labels[t][te_t])
        rows.append({"pair": f"{s} -> {t}", "mmd": r.mmd, "p_value": r.p_value,
                     "pad": r.proxy_a_distance, "auc": r.c2st_auc, "in_domain": in_domain[t],
                     "cross": cross, "drop": in_domain[t] - cross, "seconds": secs,
                     "verdict": r.verdict.split(" (")[0]})
        print(f"  {s:>11} -> {t:<11} MMD {r.mmd:.4f} (p {r.p_value:.3f})  PAD {r.proxy_a_distance:.2f}"
              f"  AUC {r.c2st_auc:.3f}  in-domain {in_domain[t]:.3f}  cross {cross:.3f}  "
              f"drop {in_domain[t] - cross:+.3f}  ({secs:.1f} s)", flush=True)
    return rows


def halves_of(labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    tr, te = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        tr.append(idx[: len(idx) // 2])
        te.append(idx[len(idx) // 2:])
    return np.sort(np.concatenate(tr)), np.sort(np.concatenate(te))


def amazon(per_domain: int, n_perm: int, seed: int) -> tuple[list[dict], float, float]:
    import transferkit as tk
    from transferkit.data import sample_fraction

    bb = tk.create_backbone("minilm-l6")
    feats, labels, halves = {}, {}, {}
    t_enc = 0.0
    for d in DOMAINS:
        ds = tk.load_dataset(f"amazon:domain={d}").train
        ds = sample_fraction(ds, per_domain / len(ds), seed=seed)
        t0 = time.perf_counter()
        feats[d] = np.asarray(tk.extract_features(bb, ds, progress=False), np.float64)
        t_enc += time.perf_counter() - t0
        labels[d] = np.asarray(ds.labels)
        halves[d] = halves_of(labels[d], seed)
        print(f"  encoded {d}: {len(ds)} reviews", flush=True)
    t0 = time.perf_counter()
    rows = pair_table(feats, labels, halves, n_perm, seed)
    return rows, t_enc, time.perf_counter() - t0


def digits(per_domain: int, n_perm: int, seed: int) -> list[dict]:
    from scipy.ndimage import zoom

    import transferkit as tk
    from transferkit.data import sample_fraction

    feats, labels, halves = {}, {}, {}
    for name in ("mnist", "usps"):
        ds = tk.load_dataset(name).train
        ds = sample_fraction(ds, per_domain / len(ds), seed=seed)
        x = np.asarray(ds.inputs, np.float64) / 255.0
        if x.shape[1] != 28:
            x = np.stack([zoom(im, 28 / x.shape[1], order=1) for im in x])
        feats[name] = x.reshape(len(x), -1)
        labels[name] = np.asarray(ds.labels)
        halves[name] = halves_of(labels[name], seed)
    return pair_table(feats, labels, halves, n_perm, seed)


def correlations(rows: list[dict]) -> dict:
    from scipy.stats import pearsonr, spearmanr

    drop = [r["drop"] for r in rows]
    return {m: (float(pearsonr([r[m] for r in rows], drop)[0]),
                float(spearmanr([r[m] for r in rows], drop)[0])) for m in ("mmd", "pad", "auc")}


# ----------------------------------------------------------------------------- RESULTS.md


def table(rows: list[dict]) -> str:
    out = ["| pair | MMD² (p) | PAD | C2ST AUC | in-domain acc | source-only acc | drop | verdict |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['pair']} | {r['mmd']:.4f} ({r['p_value']:.3f}) | {r['pad']:.2f} | "
                   f"{r['auc']:.3f} | {r['in_domain']:.3f} | {r['cross']:.3f} | "
                   f"{r['drop']:+.3f} | {r['verdict']} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-domain", type=int, default=240, help="reviews sampled per domain")
    ap.add_argument("--digits", type=int, default=1000, help="images per digit set (0: skip)")
    ap.add_argument("--permutations", type=int, default=200)
    ap.add_argument("--cache", help="feature cache folder (default: a fresh temporary one)")
    ap.add_argument("--no-write", action="store_true", help="do not touch RESULTS.md")
    args = ap.parse_args(argv)
    tmp = use_cache(args.cache, "tk-bench-shift-")
    where = machine(load=True, numpy=True)
    t_start = time.perf_counter()
    print(f"Amazon, 4 domains x {args.per_domain} reviews, minilm-l6; {where}")
    rows, t_enc, t_pairs = amazon(args.per_domain, args.permutations, seed=0)
    corr = correlations(rows)
    for m, (p, s) in corr.items():
        print(f"  {m:<4} vs drop: Pearson {p:+.2f}  Spearman {s:+.2f}")
    drows = []
    if args.digits:
        print(f"MNIST <-> USPS, {args.digits} images each, raw pixels")
        try:
            drows = digits(args.digits, args.permutations, seed=0)
        except Exception as e:  # noqa: BLE001 - the digit sets are optional extras
            print(f"  skipped: {e}")
    total = time.perf_counter() - t_start
    if tmp is not None:
        tmp.cleanup()
    if args.no_write:
        return 0
    mean_drop = np.mean([r["drop"] for r in rows])
    corr_lines = "\n".join(f"| {m} | {p:+.2f} | {s:+.2f} |" for m, (p, s) in corr.items())
    digits_part = ""
    if drows:
        digits_part = f"""

MNIST ↔ USPS on raw pixels ({args.digits} training images of each, USPS resized to 28 x 28;
halves as above). A pixel-space probe standardised on MNIST, whose border pixels never
vary, falls below chance on USPS, whose digits fill the frame: the shift measures saturate and
the drop is far larger than the TLlib anchor's LeNet source-only gap (82.1 % on USPS), which
comes from a trained CNN, not from pixels.

{table(drows)}"""
    body = f"""Measured {date.today().isoformat()} on {where}.
`python benchmarks/bench_shift.py`: Amazon reviews, {args.per_domain} per domain (stratified
sample), features of minilm-l6; shift on all sampled reviews of the two domains
({args.permutations} permutations); accuracy drop = in-domain accuracy on the target minus the
accuracy of a probe trained on the source, both on the target's held-out half (logistic
regression, C = 1, {args.per_domain // 2} training reviews).

{table(rows)}

Correlation over the 12 pairs between the shift measure and the accuracy drop (mean drop
{mean_drop:+.3f}):

| measure | Pearson | Spearman |
|---|---|---|
{corr_lines}

Encoding the {4 * args.per_domain} reviews took {t_enc:.0f} s; the 12 shift measurements and
probes {t_pairs:.0f} s; the whole run {total:.0f} s.{digits_part}"""
    write_subsection(SECTION, "Shift vs accuracy drop (Amazon domains, MNIST ↔ USPS)", body)
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
