"""Ranking quality: do the transferability scores order candidate backbones as probing does?

Candidates (6): all-MiniLM-L6-v2 features after its embeddings (``@0``) and after blocks 1, 2
and 4 (``@1``, ``@2``, ``@4``), the final sentence embedding (``minilm-l6`` = block 6) and the
same architecture with random weights (``random:minilm-l6``).

Tasks (4, from ``load_dataset``; sizes chosen to keep the run under ~10 minutes on 2 cores):

* ``banking77``: 6 training queries per intent (462), 4 test queries per intent (308);
* ``sst2``: 300 training / 300 test sentences (stratified samples);
* ``amazon:books`` and ``amazon:kitchen``: 150 training / 150 test reviews each.

For every task and candidate: the scores (LogME, H-score, kNN; ``--with-probe`` adds the
cross-validated logistic probe, which costs more than the ground truth itself) on the
training sample, and the ground truth — the test accuracy of a logistic-regression probe
(standardised features, C = 1) trained on that same training sample. Per task, the weighted
Kendall tau (``scipy.stats.weightedtau``, as in You et al. 2021) between each score and the
accuracy; then the mean over tasks. LEEP and NCE need a source-task head, which text
backbones do not have (they are reported as such).

Time: ranking = encoding the training sample + the scores; probing everything = encoding
training and test samples + fitting and scoring the probes. Encoding is measured on a fresh
feature cache (``--cache DIR`` reuses one).

Usage: python benchmarks/bench_ranking.py [--quick] [--no-write]
Writes its subsection into benchmarks/RESULTS.md under "## Ranking and shift (issue 4)".
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date

import numpy as np
from _reference import probe_accuracy  # noqa: E402
from _results import RESULTS, machine, use_cache, write_subsection  # noqa: E402

SECTION = "## Ranking and shift (issue 4)"
CANDIDATES = ["minilm-l6@0", "minilm-l6@1", "minilm-l6@2", "minilm-l6@4", "minilm-l6",
              "random:minilm-l6"]
SCORES = ["logme", "hscore", "knn"]  # --with-probe adds the (slow) logistic-probe CV score


# ----------------------------------------------------------------------------- data


def load_tasks(quick: bool, seed: int = 0) -> dict:
    import transferkit as tk
    from transferkit.data import sample_fraction

    def cap(ds, n):
        return ds if len(ds) <= n else sample_fraction(ds, n / len(ds), seed=seed)

    scale = 0.5 if quick else 1.0
    tasks = {}
    b = tk.load_dataset("banking77")
    tasks["banking77"] = (tk.sample_shots(b.train, 3 if quick else 6, seed=seed),
                          tk.sample_shots(b.test, 2 if quick else 4, seed=seed))
    try:
        s = tk.load_dataset("sst2")
        tasks["sst2"] = (cap(s.train, int(300 * scale)), cap(s.test, int(300 * scale)))
    except tk.DataError as e:
        print(f"skipping sst2: {e}")
    for dom in ("books", "kitchen"):
        try:
            a = tk.load_dataset(f"amazon:domain={dom}").train
        except tk.DataError as e:
            print(f"skipping amazon:{dom}: {e}")
            continue
        split = tk.train_test_split(a, test_size=0.5, seed=seed)
        n = int(150 * scale)
        tasks[f"amazon:{dom}"] = (cap(split.train, n), cap(split.test, n))
    return tasks


# ----------------------------------------------------------------------------- backbones


def make_backbones(seed: int = 0) -> tuple[dict, list[str]]:
    """One instance per architecture (layers share it); a working random control."""
    import torch

    import transferkit as tk

    notes = []
    pre = tk.create_backbone("minilm-l6")
    rnd = tk.create_backbone("random:minilm-l6", seed=seed)
    if rnd.fingerprint() == pre.fingerprint():
        # transformers >= 5 skips _init_weights on modules it loaded, so reinitialize() can
        # leave the pre-trained weights in place; clear the flags and initialise again.
        for obj in [*rnd.model.modules(), *rnd.model.parameters(), *rnd.model.buffers()]:
            if hasattr(obj, "_is_hf_initialized"):
                obj._is_hf_initialized = False
        torch.manual_seed(seed)
        rnd.model.apply(rnd.model._init_weights)
        notes.append("`create_backbone('random:minilm-l6')` returned the pre-trained weights in "
                     "this checkout (transformers 5 skips `_init_weights` on loaded modules); "
                     "the benchmark re-initialised a copy itself")
    assert rnd.fingerprint() != pre.fingerprint()
    return {"minilm-l6": pre, "random:minilm-l6": rnd}, notes


def resolve(spec: str, backbones: dict):
    from transferkit.backbones import parse_backbone_spec

    base, layer = parse_backbone_spec(spec)
    return backbones[base], layer


# ----------------------------------------------------------------------------- measuring


def run(tasks: dict, candidates: list[str], backbones: dict) -> tuple[list[dict], dict]:
    from transferkit import extract_features
    from transferkit.select import SCORES as REGISTRY

    rows = []
    for task, (train, test) in tasks.items():
        for spec in candidates:
            bb, layer = resolve(spec, backbones)
            t0 = time.perf_counter()
            ftr = np.asarray(extract_features(bb, train, layer=layer, progress=False), np.float64)
            t_enc_tr = time.perf_counter() - t0
            t0 = time.perf_counter()
            fte = np.asarray(extract_features(bb, test, layer=layer, progress=False), np.float64)
            t_enc_te = time.perf_counter() - t0
            row = {"task": task, "candidate": spec, "enc_train": t_enc_tr, "enc_test": t_enc_te}
            k = len(np.unique(train.labels))
            folds = max(2, min(5, len(train) // k))  # as rank() chooses
            for s in SCORES:
                t0 = time.perf_counter()
                kw = {"folds": folds} if s in ("knn", "probe") else {}
                row[s] = float(REGISTRY.get(s)(ftr, train.labels, **kw))
                row[f"t_{s}"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            row["accuracy"] = probe_accuracy(ftr, train.labels, fte, test.labels)
            row["t_probe_fit"] = time.perf_counter() - t0
            rows.append(row)
            print(f"  {task:<15} {spec:<17} acc {row['accuracy']:.3f}  "
                  + "  ".join(f"{s} {row[s]:.3f}" for s in SCORES)
                  + f"  (encode {t_enc_tr + t_enc_te:.1f} s)", flush=True)
    return rows, {}


def kendall(rows: list[dict], tasks: list[str]) -> dict:
    from scipy.stats import weightedtau

    out = {}
    for s in SCORES:
        taus = {}
        for t in tasks:
            r = [x for x in rows if x["task"] == t]
            taus[t] = float(weightedtau([x[s] for x in r], [x["accuracy"] for x in r])[0])
        out[s] = taus
    return out


# ----------------------------------------------------------------------------- RESULTS.md


# ----------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="half-size samples (a smoke run)")
    ap.add_argument("--cache", help="feature cache folder to use (default: a fresh temporary one)")
    ap.add_argument("--no-write", action="store_true", help="do not touch RESULTS.md")
    ap.add_argument("--with-probe", action="store_true", help="also score with the probe CV")
    args = ap.parse_args(argv)
    if args.with_probe:
        SCORES.append("probe")

    tmp = use_cache(args.cache, "tk-bench-rank-")
    where = machine(load=True, numpy=True)
    t_start = time.perf_counter()
    tasks = load_tasks(args.quick)
    t0 = time.perf_counter()
    backbones, notes = make_backbones()
    t_load = time.perf_counter() - t0
    print(f"{len(CANDIDATES)} candidates x {len(tasks)} tasks; {where}")
    rows, _ = run(tasks, CANDIDATES, backbones)
    taus = kendall(rows, list(tasks))
    total = time.perf_counter() - t_start

    enc_tr = sum(r["enc_train"] for r in rows)
    enc_te = sum(r["enc_test"] for r in rows)
    t_scores = {s: sum(r[f"t_{s}"] for r in rows) for s in SCORES}
    t_fit = sum(r["t_probe_fit"] for r in rows)
    print("\nweighted Kendall tau between score and probe accuracy:")
    for s in SCORES:
        vals = list(taus[s].values())
        print(f"  {s:<7} mean {np.mean(vals):+.3f}  " + "  ".join(f"{t} {v:+.2f}" for t, v in taus[s].items()))
    print(f"time: encoding train {enc_tr:.1f} s, test {enc_te:.1f} s; scores "
          + ", ".join(f"{s} {v:.2f} s" for s, v in t_scores.items()) + f"; probe fits {t_fit:.1f} s")
    if tmp is not None:
        tmp.cleanup()
    if args.no_write:
        return 0

    task_names = list(tasks)
    sizes = ", ".join(f"{t} {len(tr)}/{len(te)}" for t, (tr, te) in tasks.items())
    head = "| score | " + " | ".join(task_names) + " | mean τ | anchor (You et al. 2021 / TLlib) |"
    sep = "|---" * (len(task_names) + 3) + "|"
    anchors = {"logme": "0.67 (0.50–0.79)", "hscore": "0.67", "knn": "—", "probe": "—"}
    lines = [head, sep]
    for s in SCORES:
        vals = [taus[s][t] for t in task_names]
        lines.append(f"| {s} | " + " | ".join(f"{v:+.2f}" for v in vals)
                     + f" | **{np.mean(vals):+.2f}** | {anchors[s]} |")
    lines.append("| leep, nce | " + " | ".join("n/a" for _ in task_names)
                 + " | n/a | LEEP 0.29, NCE 0.50 |")
    acc = ["| candidate | " + " | ".join(task_names) + " |", "|---" * (len(task_names) + 1) + "|"]
    for c in CANDIDATES:
        acc.append(f"| {c} | " + " | ".join(
            f"{next(r['accuracy'] for r in rows if r['task'] == t and r['candidate'] == c):.3f}"
            for t in task_names) + " |")
    rank_time = enc_tr + sum(t_scores[s] for s in ("logme", "hscore", "knn"))
    probe_time = enc_tr + enc_te + t_fit
    logme_only = t_scores["logme"]
    body = f"""Measured {date.today().isoformat()} on {where}.
`python benchmarks/bench_ranking.py`: {len(CANDIDATES)} candidates ({", ".join(CANDIDATES)}) x
{len(tasks)} tasks (train/test examples: {sizes}). Ground truth: test accuracy of a logistic
probe (standardised features, C = 1) trained on the training sample; scores computed on the
training sample alone. Weighted Kendall τ (`scipy.stats.weightedtau`) per task, then the mean.

{chr(10).join(lines)}

LEEP and NCE need a source-task classifier; text backbones have none, so `rank` reports them as
not computed (with the reason) rather than as a number.

Probe accuracy per candidate (the ground truth):

{chr(10).join(acc)}

Time over all {len(rows)} (task, candidate) pairs: encoding the training samples {enc_tr:.0f} s,
the test samples {enc_te:.0f} s; LogME {t_scores['logme']:.2f} s, H-score {t_scores['hscore']:.2f} s,
kNN {t_scores['knn']:.2f} s{f", probe-CV score {t_scores['probe']:.1f} s" if 'probe' in t_scores else ""}; fitting the ground-truth
probes {t_fit:.1f} s. Ranking with LogME + H-score + kNN = {rank_time:.0f} s (encoding
included); probing every candidate = {probe_time:.0f} s. Once features exist, LogME takes
{logme_only:.2f} s against {t_fit:.1f} s of probe fitting ({t_fit / max(logme_only, 1e-9):.0f}x);
fine-tuning every candidate — the anchor's 3000x baseline — is not measured here (the
fine-tuning engine is another issue). Loading the two models: {t_load:.0f} s; whole run
{total:.0f} s.{(chr(10) + chr(10) + "Note: " + "; ".join(notes) + ".") if notes else ""}"""
    write_subsection(SECTION, "Ranking quality: weighted Kendall τ with probe accuracy", body)
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
