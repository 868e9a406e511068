"""Drift (issue 23), second stream: a model of movie-review sentences (SST-2) watching a
stream SST-2 -> Amazon books -> Amazon kitchen reviews.

Data: SST-2 sentences (binary; train 1,000 seeded rows of the train split for the deployed
model, reference 300 of the validation split, the stream's SST-2 segment 500 of the test
split, false-alarm windows drawn from the other 1,321 test sentences); Amazon books and
kitchen reviews (first 500 characters; seeded permutation): 500 stream rows and 300
held-out rows each (the reference of the next shift). Deployed model: minilm-l6 probe
(logistic head) on the 1,000 SST-2 sentences.

Measured:

1. The deployed model along the stream (15 windows of 100): per segment, the true accuracy
   and the label-free estimates, each calibrated on the labelled SST-2 reference:
   ATC (the monitor's), average confidence, DoC (difference of confidences: the average
   confidence minus the reference's over-confidence, Guillory et al. 2021), and ATC with
   its threshold re-calibrated under importance weights (the reference rows weighted by a
   domain classifier's density ratio toward the window, clipped at 20; Garg et al. 2022's
   suggestion for covariate shift).
2. Detection delay per shift (reference: 300 held-out rows of the domain before the shift;
   5 same-domain windows, then 5 of the next domain): under the Bonferroni rule (alpha 0.05
   over 100 windows) and a per-window 0.05.
3. False alarms: 40 windows of 100 drawn at random from the 1,321 other SST-2 test
   sentences against the SST-2 reference, under both rules.

Usage: python benchmarks/bench_drift_sst2.py [--cache DIR] [--no-write]
Writes the subsection "### SST-2 -> Amazon stream" of "## Drift (issue 23)" in RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace

import numpy as np
from _results import machine, today, use_cache, write_subsection  # noqa: E402

SECTION = "## Drift (issue 23)"
TITLE = "SST-2 -> Amazon stream"
STREAM = ("sst2", "books", "kitchen")
CHARS = 500
WINDOW = 100
#: importance weights are clipped here (a few reference rows must not decide alone)
CLIP = 20.0


def load_parts() -> dict:
    import transferkit as tk

    rng = np.random.default_rng(0)
    s = tk.load_dataset("sst2")
    tr = s.train.subset(rng.permutation(len(s.train))[:1000], name="sst2-train")
    ref = s.val.subset(rng.permutation(len(s.val))[:300], name="sst2-ref")
    order = rng.permutation(len(s.test))
    parts = {"sst2": {"train": tr, "ref": ref, "stream": s.test.subset(order[:500]),
                      "held": s.test.subset(order[500:])}}
    for d in STREAM[1:]:
        ds = tk.load_dataset(f"amazon:domain={d}").train
        idx = np.random.default_rng(0).permutation(len(ds))[:800]
        sub = ds.subset(idx, name=f"bench-drift-sst2-{d}")
        sub = replace(sub, inputs=[t[:CHARS] for t in sub.inputs], domains=None)
        parts[d] = {"stream": sub.subset(range(500)), "ref": sub.subset(range(500, 800))}
    return parts


def windows(ds, size: int = WINDOW):
    return [ds.subset(range(i, i + size)) for i in range(0, len(ds) - size + 1, size)]


def density_ratio(ref_f: np.ndarray, win_f: np.ndarray, seed: int = 0) -> np.ndarray:
    """``p_window(x) / p_reference(x)`` at the reference rows, from a cross-fitted logistic
    domain classifier (reference vs window), normalised to mean 1 and clipped."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    X = np.vstack([ref_f, win_f])
    d = np.r_[np.zeros(len(ref_f)), np.ones(len(win_f))]
    p = cross_val_predict(LogisticRegression(C=0.1, max_iter=1000), X, d, cv=5,
                          method="predict_proba")[: len(ref_f), 1]
    w = (p / np.clip(1 - p, 1e-6, None)) * (len(ref_f) / len(win_f))
    w = np.clip(w, 0.0, CLIP)
    return w / w.mean()


def weighted_atc(ref_conf: np.ndarray, ref_correct: np.ndarray, w: np.ndarray,
                 win_conf: np.ndarray) -> float:
    """ATC with the threshold chosen on the importance-weighted reference: the weighted
    share of reference confidences above ``t`` equals the weighted reference accuracy."""
    acc = float(np.sum(w * ref_correct) / np.sum(w))
    order = np.argsort(ref_conf)
    cum = np.cumsum(w[order]) / np.sum(w)  # weighted share at or below each confidence
    t = ref_conf[order][min(len(order) - 1, int(np.searchsorted(cum, 1.0 - acc)))]
    return float(np.mean(win_conf > t))


def estimates(model, p) -> list[dict]:
    """Per segment: true accuracy and the four label-free estimates (window means)."""
    import transferkit as tk

    ref = p["sst2"]["ref"]
    mon = tk.DriftMonitor(model, window=WINDOW, reference=ref)
    wins = [w for d in STREAM for w in windows(p[d]["stream"])]
    reps = mon.monitor(wins)
    rp = model.predict_proba(ref)
    r_conf = rp.max(1)
    r_correct = (model.classes_[rp.argmax(1)] == ref.labels).astype(float)
    doc_shift = r_conf.mean() - r_correct.mean()  # the reference's over-confidence
    r_feat = np.asarray(tk.extract_features(model.backbone_, ref, progress=False))
    rows = []
    for i, d in enumerate(STREAM):
        seg = list(range(5 * i, 5 * i + 5))
        doc, iw = [], []
        for j in seg:
            wp = model.predict_proba(wins[j])
            wf = np.asarray(tk.extract_features(model.backbone_, wins[j], progress=False))
            doc.append(wp.max(1).mean() - doc_shift)
            iw.append(weighted_atc(r_conf, r_correct, density_ratio(r_feat, wf), wp.max(1)))
        rows.append({"domain": d,
                     "true": np.mean([reps[j].true_accuracy for j in seg]),
                     "atc": np.mean([reps[j].estimated_accuracy for j in seg]),
                     "ac": np.mean([reps[j].average_confidence for j in seg]),
                     "doc": float(np.mean(doc)), "iw_atc": float(np.mean(iw)),
                     "alarms": sum(reps[j].detected for j in seg)})
    return rows


def delays(model, p, rule: str) -> tuple[list[dict], list[bool]]:
    import transferkit as tk

    rows, same = [], []
    for prev, nxt in zip(STREAM, STREAM[1:], strict=False):
        mon = tk.DriftMonitor(model, window=WINDOW, reference=p[prev]["ref"].without_labels(),
                              alarm_rule=rule)
        reps = mon.monitor(windows(p[prev]["stream"]) + windows(p[nxt]["stream"]))
        same += [r.detected for r in reps[:5]]
        after = [r.detected for r in reps[5:]]
        rows.append({"shift": f"{prev} -> {nxt}",
                     "delay": after.index(True) if True in after else None,
                     "flagged": sum(after), "p_first": reps[5].p_value})
    return rows, same


def false_alarms(model, p, rule: str, n: int = 40) -> list[bool]:
    import transferkit as tk

    held = p["sst2"]["held"]
    rng = np.random.default_rng(1)
    mon = tk.DriftMonitor(model, window=WINDOW, reference=p["sst2"]["ref"], alarm_rule=rule)
    batches = [held.subset(np.sort(rng.choice(len(held), WINDOW, replace=False)))
               for _ in range(n)]
    return [r.detected for r in mon.monitor(batches)]


def improvement_note(seg: list[dict]) -> str:
    """Did DoC or importance-weighted ATC beat ATC on the shifted segments? (issue 23,
    part 5: one principled improvement, measured on two shifts)."""
    shifted = [r for r in seg if r["domain"] != "sst2"]

    def errs(key: str) -> str:
        return ", ".join(f"{100 * (r[key] - r['true']):+.1f}" for r in shifted)

    def mean_abs(key: str) -> float:
        return float(np.mean([abs(r[key] - r["true"]) for r in shifted]))

    better = [name for key, name in (("doc", "DoC"), ("iw_atc", "IW-ATC"))
              if mean_abs(key) < mean_abs("atc") - 0.01]
    verdict = (f"{' and '.join(better)} improved on ATC by more than a point on average"
               if better else "neither improves on ATC by more than a point")
    return (f"Tried as improvements of the label-free estimate on the two shifted segments "
            f"({', '.join(r['domain'] for r in shifted)}): ATC errs by {errs('atc')} points, "
            f"DoC by {errs('doc')}, importance-weighted ATC by {errs('iw_atc')}: {verdict}. "
            "All three read the model's own confidence, which stays as high on the long "
            "Amazon reviews as on the sentences it was calibrated on while its accuracy "
            "falls; a density ratio cannot reweight the reference toward rows it does not "
            "contain (the windows lie far from it: every MMD test above rejects at the smallest "
            "p-value its permutations reach), so the weighted threshold barely moves.")


def pct(x: float) -> str:
    return f"{100 * x:.1f}"


def err(r: dict, key: str) -> str:
    return f"{pct(r[key])} ({100 * (r[key] - r['true']):+.1f})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", help="feature cache folder (default: a fresh temporary one)")
    ap.add_argument("--no-write", action="store_true", help="do not touch RESULTS.md")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(2)
    tmp = use_cache(args.cache, "tk-bench-drift-sst2-")
    import transferkit as tk

    where = machine(load=True, numpy=True)
    t_start = time.perf_counter()
    p = load_parts()
    bb = tk.create_backbone("minilm-l6")
    for d, parts in p.items():  # encode once; windows read the cache
        t0 = time.perf_counter()
        n = 0
        for ds in parts.values():
            tk.extract_features(bb, ds, progress=False)
            n += len(ds)
        print(f"encoded {d}: {n} rows in {time.perf_counter() - t0:.0f} s", flush=True)
    t_enc = time.perf_counter() - t_start
    model = tk.TransferClassifier(backbone=bb, progress=False).fit(p["sst2"]["train"])
    seg = estimates(model, p)
    for r in seg:
        print(r, flush=True)
    res = {}
    for rule in ("bonferroni", "per-window"):
        d_rows, same = delays(model, p, rule)
        res[rule] = (d_rows, same, false_alarms(model, p, rule))
        print(rule, d_rows, sum(same), sum(res[rule][2]), flush=True)
    total = time.perf_counter() - t_start
    if tmp is not None:
        tmp.cleanup()
    if args.no_write:
        return 0
    seg_lines = "\n".join(
        f"| {r['domain']} | {pct(r['true'])} | {err(r, 'atc')} | {err(r, 'ac')} | "
        f"{err(r, 'doc')} | {err(r, 'iw_atc')} | {r['alarms']} / 5 |" for r in seg)
    det_lines = "\n".join(
        f"| {rule} | {r['shift']} | {r['delay'] if r['delay'] is not None else 'missed'} | "
        f"{r['flagged']} / 5 | {r['p_first']:.2g} |"
        for rule, (d_rows, _, _) in res.items() for r in d_rows)
    fa_lines = "\n".join(
        f"| {rule} | {sum(fa)} / {len(fa)} ({100 * np.mean(fa):.1f} %) | {sum(same)} / "
        f"{len(same)} |" for rule, (_, same, fa) in res.items())
    bon = res["bonferroni"]
    delays_ok = all(r["delay"] == 0 for r in bon[0])
    fa_rate = float(np.mean(bon[2]))
    worst = {k: max(abs(r[k] - r["true"]) for r in seg) for k in ("atc", "ac", "doc", "iw_atc")}
    within3 = worst["atc"] <= 0.03
    body = f"""Measured {today()} on {where}.
`python benchmarks/bench_drift_sst2.py` (whole run {total:.0f} s, of which encoding
{sum(len(ds) for parts in p.values() for ds in parts.values())} rows {t_enc:.0f} s).
Deployed model: minilm-l6 probe (logistic) on 1,000 SST-2 sentences (movie reviews,
binary sentiment); stream SST-2 -> Amazon books -> Amazon kitchen, windows of {WINDOW}; the
monitor's reference: 300 SST-2 validation sentences. Protocol in the script's docstring.

Goals (as for the Amazon stream):

- every shift detected within one window of 100: **{'met' if delays_ok else 'not met'}** (Bonferroni rule)
- false alarms ≤ 5 % over ≥ 40 same-domain windows: **{'met' if fa_rate <= 0.05 else 'not met'}** ({100 * fa_rate:.1f} % under the Bonferroni rule)
- label-free estimate (ATC) within 3 points of the true accuracy per segment: **{'met' if within3 else 'not met'}** (worst segment off by {100 * worst['atc']:.1f} points; DoC {100 * worst['doc']:.1f}, importance-weighted ATC {100 * worst['iw_atc']:.1f}, average confidence {100 * worst['ac']:.1f})

**The deployed SST-2 model along the stream** (5 windows of 100 per segment; every estimate
calibrated on the labelled SST-2 reference; in brackets the error in points):

| segment | true accuracy % | ATC % | average confidence % | DoC % | IW-ATC % | alarms |
|---|---|---|---|---|---|---|
{seg_lines}

**Detection per shift** (reference: 300 held-out rows of the domain before the shift; delay
in windows after the switch, 0 = the first window):

| rule | shift | delay | windows flagged after | p of the first window after |
|---|---|---|---|---|
{det_lines}

**False alarms** (40 random SST-2 windows against the SST-2 reference; and the 10 disjoint
same-domain windows before each shift above):

| rule | 40 SST-2 windows | 10 pre-shift windows |
|---|---|---|
{fa_lines}

{improvement_note(seg)}"""
    write_subsection(SECTION, TITLE, body)
    print("wrote the subsection")
    return 0


if __name__ == "__main__":
    sys.exit(main())
