"""Multi-source adaptation (issue 22): Amazon reviews, leave one domain out.

Three labelled domains are the sources and the fourth, unlabelled, is the target; each of the
four domains is the target once. Frozen all-MiniLM-L6-v2 features (encoded once and cached,
as in ``bench_adapt.py``), every method through ``tk.DomainAdapter`` with the three sources as
a list; target labels are read only after fitting, to evaluate. Methods: each single source
(a probe; the best one in hindsight is an oracle no user has), the union probe, CORAL and
DANN on the union, the mixture-weighted ensemble of per-source CORAL probes (and its
domain-error and equal weightings), source selection, M3SDA, and ``auto``.

Usage::

    python benchmarks/bench_multisource.py --seeds 3
    python benchmarks/bench_multisource.py --write     # RESULTS.md from the saved raw numbers
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import machine, today, write_subsection  # noqa: E402
from bench_adapt import DOMAINS, _amazon_features, fit_quietly  # noqa: E402

SECTION = "## Multi-task (issue 22)"
RAW = Path(os.environ.get("BENCH_MULTISOURCE_RAW",
                          Path(__file__).with_name("raw") / "multisource.json"))
#: label -> DomainAdapter keywords (the three sources go in as one list)
METHODS = {
    "union probe": {"method": "source"},
    "union + CORAL": {"method": "coral"},
    "union + DANN": {"method": "dann"},
    "ensemble (mixture)": {"method": "ensemble"},
    "ensemble (domain error)": {"method": "ensemble", "source_weighting": "domain-error"},
    "ensemble (equal)": {"method": "ensemble", "source_weighting": "equal"},
    "select": {"method": "select"},
    "M3SDA": {"method": "m3sda"},
}
AUTO = ["source", "coral", "ensemble", "select", "source-net", "dann", "m3sda"]


def run(seeds: int, force: bool) -> dict:
    import transferkit as tk

    ds, X, enc_s = _amazon_features(threads=2)
    raw = json.loads(RAW.read_text()) if RAW.exists() else {}
    raw.update(date=today(), machine=machine(), encode_seconds=round(enc_s, 1))
    runs = raw.setdefault("runs", {})
    dom = ds.domains.astype(str)
    part = {d: tk.from_arrays(X[dom == d], ds.labels[dom == d], name=d) for d in DOMAINS}
    for target in DOMAINS:
        sources = [part[d] for d in DOMAINS if d != target]
        T = part[target]
        for seed in range(seeds):
            key = f"{target}|{seed}"
            if key in runs and not force:
                continue
            kw = {"backbone": "minilm-l6-features", "seed": seed, "cache": False,
                  "progress": False, "baseline": False}
            acc, secs = {}, {}
            for src in sources:
                m = tk.DomainAdapter(method="source", **kw)
                secs[f"single {src.name}"] = fit_quietly(m, src, T.without_labels())
                acc[f"single {src.name}"] = m.evaluate_target(T)["target_accuracy"]
            record = None
            for label, extra in METHODS.items():
                m = tk.DomainAdapter(**extra, **kw)
                secs[label] = fit_quietly(m, sources, T.without_labels())
                rec = m.evaluate_target(T)
                acc[label] = rec["target_accuracy"]
                if label == "ensemble (mixture)":
                    record = rec["sources"]
            m = tk.DomainAdapter(method="auto", candidates=AUTO, **{**kw, "baseline": True})
            secs["auto"] = fit_quietly(m, sources, T.without_labels())
            rec = m.evaluate_target(T)
            acc["auto"] = rec["target_accuracy"]
            runs[key] = {"accuracy": acc, "seconds": {k: round(v, 2) for k, v in secs.items()},
                         "auto_chose": rec["chosen"], "sources": record}
            print(key, " ".join(f"{k}={v:.3f}" for k, v in acc.items()), "auto->", rec["chosen"],
                  flush=True)
            RAW.parent.mkdir(exist_ok=True)
            RAW.write_text(json.dumps(raw, indent=1))
    return raw


TUNED_CANDIDATES = ["source", "ensemble", "select", "source-net:im_weight=1", "cdan:im_weight=1"]


def run_tuned(targets: list[str], unfreeze: int, epochs: int, force: bool) -> dict:
    """MiniLM's top ``unfreeze`` blocks fine-tuned on the union of the three sources (linear
    probe start, ``epochs`` epochs), then every candidate on the tuned encoder's features."""
    import transferkit as tk

    ds = tk.load_dataset("amazon").train
    dom = ds.domains.astype(str)
    raw = json.loads(RAW.read_text()) if RAW.exists() else {}
    out = raw.setdefault("tuned", {})
    for target in targets:
        key = f"{target}|source_finetune={unfreeze}|source_epochs={epochs}|0"
        if key in out and not force:
            continue
        sources = [ds.subset(np.flatnonzero(dom == d), name=d) for d in DOMAINS if d != target]
        T = ds.subset(np.flatnonzero(dom == target), name=target)
        m = tk.DomainAdapter(method="auto", candidates=TUNED_CANDIDATES, backbone="minilm-l6",
                             source_finetune=unfreeze, source_epochs=epochs, seed=0,
                             progress=False)
        fit_s = fit_quietly(m, sources, T.without_labels())
        rec = m.evaluate_target(T)
        out[key] = {"accuracy": {n: c["target_accuracy"] for n, c in rec["candidates"].items()},
                    "auto": rec["method"], "fit_seconds": round(fit_s, 1),
                    "tune_seconds": rec["source_finetune"]["seconds"],
                    "date": today(), "machine": machine()}
        print(key, out[key], flush=True)
        RAW.write_text(json.dumps(raw, indent=1))
    return raw


def _cell(values: list[float]) -> str:
    v = 100 * np.asarray(values)
    return f"{v.mean():.1f}" if len(v) == 1 else f"{v.mean():.1f} ± {v.std(ddof=1):.1f}"


def write(raw: dict) -> None:
    runs = raw["runs"]
    seeds = sorted({int(k.split("|")[1]) for k in runs})
    cols = ["mean single", "best single (oracle)", *METHODS, "auto"]
    head = "| target | " + " | ".join(cols) + " | auto's picks |"
    lines = [head, "|" + "---|" * (len(cols) + 2)]
    per_col: dict[str, list[list[float]]] = {c: [] for c in cols}
    for target in DOMAINS:
        rows = [runs[f"{target}|{s}"] for s in seeds if f"{target}|{s}" in runs]
        if not rows:
            continue
        vals: dict[str, list[float]] = {c: [] for c in cols}
        for r in rows:
            a = r["accuracy"]
            singles = [v for k, v in a.items() if k.startswith("single ")]
            vals["mean single"].append(float(np.mean(singles)))
            vals["best single (oracle)"].append(max(singles))
            for c in [*METHODS, "auto"]:
                vals[c].append(a[c])
        for c in cols:
            per_col[c].append(vals[c])
        picks = ", ".join(r["auto_chose"] for r in rows)
        lines.append(f"| {target} | " + " | ".join(_cell(vals[c]) for c in cols)
                     + f" | {picks} |")
    # The average row: per seed, the mean over targets; then mean ± std over seeds.
    avg = {c: [float(np.mean([t[i] for t in per_col[c]])) for i in range(len(seeds))]
           for c in cols}
    lines.append("| **average of 4** | " + " | ".join(f"**{_cell(avg[c])}**" for c in cols)
                 + " | |")
    beat = sum(np.mean(e) > np.mean(b) for e, b in zip(
        per_col["ensemble (mixture)"], per_col["best single (oracle)"], strict=True))
    weights = []
    for target in DOMAINS:
        r = runs.get(f"{target}|0")
        if r and r.get("sources"):
            w = ", ".join(f"{n} {v['mixture_weight']:.2f} (PAD {v.get('proxy_a_distance', 0):.2f})"
                          for n, v in r["sources"].items())
            weights.append(f"- target {target}: {w}")
    secs = {c: np.median([r["seconds"][c] for r in runs.values()]) for c in [*METHODS, "auto"]}
    body = "\n".join([
        f"Measured {raw['date']} on {raw['machine']} by `benchmarks/bench_multisource.py` "
        f"(seeds {', '.join(map(str, seeds))}; features encoded once in "
        f"{raw['encode_seconds']} s and cached).",
        "",
        "Amazon reviews, 3 labelled source domains -> 1 unlabelled target domain (all 2,000 "
        "reviews of each), frozen all-MiniLM-L6-v2 features, target accuracy in % (mean ± std "
        "over seeds). `tk.DomainAdapter(method=...).fit([s1, s2, s3], target)`; the target's "
        "labels are read only to evaluate. Anchors: MDAN about 82.7 average on bag-of-words "
        "(Zhao et al. 2018); in-domain ceiling with this encoder and a probe 82.5. Goal of "
        "issue 22: >= 89 average, which frozen features cannot reach (their in-domain ceiling "
        "is 82.5); a tuned encoder is measured below"
        + (" on the targets listed." if raw.get("tuned") else ": not yet run."),
        "",
        *lines,
        "",
        f"The mixture-weighted ensemble beat the best single source (an oracle) on {beat} of "
        f"{len(per_col['mean single'])} targets. Mixture weights (seed 0) and each source's "
        "proxy A-distance to the target:",
        *weights,
        "",
        "Median fit seconds: " + ", ".join(f"{c} {v:.1f}" for c, v in secs.items()) + ".",
    ])
    tuned = raw.get("tuned") or {}
    if tuned:
        head = "| target, setting | " + " | ".join(TUNED_CANDIDATES) + " | auto's pick | fit s |"
        rows = [head, "|" + "---|" * (len(TUNED_CANDIDATES) + 3)]
        for key, r in tuned.items():
            target, ft, ep, _ = key.split("|")
            cells = " | ".join(f"{100 * r['accuracy'][c]:.1f}" for c in TUNED_CANDIDATES)
            rows.append(f"| {target}, {ft}, {ep} | {cells} | {r['auto']} | "
                        f"{r['fit_seconds']:.0f} |")
        body += "\n\n" + "\n".join([
            "**Tuned encoder** (`--tuned`): MiniLM's top blocks fine-tuned on the union of the "
            "three sources first (`source_finetune`, linear-probe start), then each candidate "
            "on the tuned encoder's features; seed 0, target accuracy in %.", "", *rows])
    write_subsection(SECTION, "Multi-source adaptation: Amazon leave one domain out", body)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--write", action="store_true", help="only write RESULTS.md")
    ap.add_argument("--tuned", help="comma-separated targets for the tuned-encoder runs")
    ap.add_argument("--unfreeze", type=int, default=4)
    ap.add_argument("--epochs", type=int, default=1)
    args = ap.parse_args()
    if args.tuned:
        write(run_tuned(args.tuned.split(","), args.unfreeze, args.epochs, args.force))
        return
    if args.write:
        write(json.loads(RAW.read_text()))
        return
    t0 = time.perf_counter()
    write(run(args.seeds, args.force))
    print(f"done in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
