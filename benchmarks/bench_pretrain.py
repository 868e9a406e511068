"""Issue 21 benchmark: does continued pre-training on the target's unlabelled reviews help?

Amazon kitchen (Blitzer et al. 2007): 2,000 reviews, split 70/30 (seed 0). TSDAE (Wang et al.
2021) continues pre-training all-MiniLM-L6-v2 on the *texts* of the 1,400 training reviews
(labels unused; the 600 test reviews are never seen), within a CPU step budget. Then the
linear probe with 16 and 64 labels per class, on the same samples and seeds, with the base
encoder and with ``run:<the pre-trained run>``; the verdict is the paired sign-flip test of
:mod:`transferkit.compare.stats` (the one ``compare`` uses). Also the pretext cost (reviews/s,
tokens/s) on this machine.

The issue's full goal (12 Amazon pairs with the source-tuning + CDAN pipeline, anchor UDALM
91.7) is far beyond a shared 2-core CPU; this is the one case measured here.

Run: ``python benchmarks/bench_pretrain.py [--objective tsdae] [--max-steps 80] [--seeds 3]``.
Writes the section "## Continued pre-training (issue 21)" of RESULTS.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings

import numpy as np
from _results import machine, today, use_cache, write_section

SECTION = "Continued pre-training (issue 21)"


def probe_scores(tk, backbone, train, test, shots, seeds) -> dict[tuple[int, int], float]:
    """Test accuracy of the probe per (shots, seed)."""
    tk.extract_features(backbone, test)  # once; each sample encodes only its own rows
    out = {}
    for k in shots:
        for seed in seeds:
            sample = tk.sample_shots(train, k, seed=seed)
            # No label-name prior: it embeds the whole vocabulary once per encoder (minutes on
            # this CPU); both encoders are probed the same way.
            model = tk.TransferClassifier(backbone=backbone, strategy="probe", seed=seed,
                                          label_prior=False, zeroshot_weight=0.0,
                                          progress=False).fit(sample)
            out[(k, seed)] = float(model.score(test))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--objective", default="tsdae")
    ap.add_argument("--max-steps", type=int, default=60)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-length", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-5)
    ap.add_argument("--unfreeze", default="2")
    ap.add_argument("--shots", default="16,64")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    keep = use_cache(None, "tk-bench-pretrain-")  # noqa: F841 (alive for the run)
    import torch

    torch.set_num_threads(2)
    import transferkit as tk
    from transferkit.compare.stats import paired_test
    from transferkit.runs import read_record

    splits = tk.load_dataset("amazon", domain="kitchen", test_size=0.3, seed=0)
    train, test = splits.train, splits.test
    shots = [int(s) for s in args.shots.split(",")]
    seeds = list(range(args.seeds))
    where = machine(load=True)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tk-bench-pretrain-run-") as tmp:
        run = tk.pretrain(train.without_labels(), "minilm-l6", args.objective, epochs=1,
                          out=f"{tmp}/kitchen-{args.objective}", max_steps=args.max_steps,
                          batch_size=args.batch_size, max_length=args.max_length, lr=args.lr,
                          unfreeze=args.unfreeze, progress=False)
        pre_wall = time.perf_counter() - t0
        pre = read_record(run)["pretrain"]
        print(f"pretrained in {pre_wall:.0f} s: {pre['steps']} steps, held-out "
              f"{pre['held_out_loss']['before']:.3f} -> {pre['held_out_loss']['best']:.3f}")
        base = tk.create_backbone("minilm-l6")
        adapted = tk.create_backbone(f"run:{run}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t1 = time.perf_counter()
            s_base = probe_scores(tk, base, train, test, shots, seeds)
            s_new = probe_scores(tk, adapted, train, test, shots, seeds)
            probe_wall = time.perf_counter() - t1
    rows = ["| labels per class | base MiniLM | + " + args.objective + " on kitchen | gain "
            "(points, 95% CI) | p (sign-flip) | interval |", "|---|---|---|---|---|---|"]
    for k in shots:
        a = np.array([s_base[(k, s)] for s in seeds])
        b = np.array([s_new[(k, s)] for s in seeds])
        t = paired_test(100 * (b - a))
        lo, hi = t["ci95"]
        verdict = ("above 0" if lo > 0 else "below 0" if hi < 0 else "spans 0")
        rows.append(f"| {k} | {100 * a.mean():.2f} ± {100 * a.std(ddof=1):.2f} | "
                    f"{100 * b.mean():.2f} ± {100 * b.std(ddof=1):.2f} | "
                    f"{t['mean_diff']:+.2f} [{lo:+.2f}, {hi:+.2f}] | {t['p_value']:.2f} | "
                    f"{verdict} |")
        print(rows[-1])
    pairs = [100 * (s_new[key] - s_base[key]) for key in s_base]
    pooled = paired_test(np.array(pairs))
    overall = ("continued pre-training helped" if pooled["p_value"] < 0.05
               and pooled["mean_diff"] > 0 else "continued pre-training hurt (negative transfer)"
               if pooled["p_value"] < 0.05 else "no difference beyond seed noise")
    rows += ["", f"With {len(seeds)} seeds a row's sign-flip p cannot fall below "
             f"{2 / 2 ** len(seeds):.2f}; the verdict pools every paired cell. "
             f"Verdict over all {pooled['n_pairs']} paired cells: mean gain "
             f"{pooled['mean_diff']:+.2f} points, sign-flip p = {pooled['p_value']:.3f}: "
             f"**{overall}**."]
    held = pre["held_out_loss"]
    body = "\n".join([
        f"{today()} · {where} · torch 2 threads. Amazon **kitchen**, 70/30 split (seed 0): "
        f"{args.objective} on the texts of the {len(train)} training reviews (labels unused; "
        f"{pre['rows']['held_out']} of them held out for the pretext loss), "
        f"{pre['steps']} steps x {args.batch_size} reviews, max {args.max_length} tokens, "
        f"lr {args.lr:g} (head x10), unfreeze {args.unfreeze}; then the logistic probe "
        f"(no label-name prior) with N labels per class, {len(seeds)} seeds (same samples for "
        f"both encoders), tested on the {len(test)} test reviews. Verdict: the paired "
        "sign-flip test of `compare` (95% interval of the gain over seeds).",
        "",
        *rows,
        "",
        f"Pretext cost: {pre['texts_per_second']:.2f} reviews/s, "
        f"{pre['tokens_per_second']:.0f} tokens/s (training steps, this CPU); pre-training "
        f"wall time {pre_wall:.0f} s, held-out pretext loss {held['before']:.3f} -> "
        f"{held['best']:.3f} ({pre['texts_seen'] / pre['rows']['train']:.2f} epochs of the "
        "unlabelled reviews; the cores are shared, so rates are lower bounds). Probing both "
        "encoders (test set + samples encoded, "
        f"{2 * len(shots) * len(seeds)} probes): {probe_wall:.0f} s.",
        "",
        "Not measured here (CPU budget): the 12 Amazon pairs with source tuning + CDAN "
        "(UDALM anchor 91.7), 8/32/128 labels with 5 seeds, MLM and SimCSE on the same case, "
        "throughput against sentence-transformers / HF Trainer.",
    ])
    if not args.no_write:
        write_section(SECTION, body, keep_subsections=True)  # bench_simclr.py's stays
    print(body)


if __name__ == "__main__":
    main()
