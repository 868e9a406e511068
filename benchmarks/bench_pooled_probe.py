"""Issue 19, part 4: a fine-tuned MiniLM pooled with the frozen probe, 8 shots per class.

One library fit per (dataset, seed): ``TransferClassifier(strategy="finetune",
unfreeze="all", epochs=8, probe_weight=0.5, shots=8, seed=s)`` (LP-FT start; head lr 1e-3,
backbone 1e-4). Its two halves are scored too: the network alone (the pool switched off) and
the probe alone (the pooled ``ProbeStrategy`` on the pre-trained features, which is exactly
``strategy="probe"`` with its defaults, label-name rows included). Other pool weights are read
off the same two probability matrices, so they cost no fit; they are reported to show how
much the weight matters, not to pick it on the test set (0.5 was fixed before this ran).

Banking77 (77 intents, MTEB protocol: the full test set of 3,080), SST-2 (1,821 test
sentences), Amazon reviews books and kitchen (each domain split 50/50 with seed 0). Seeds
0..9 (``sample_shots``). Features of the pre-trained MiniLM come from ``$TRANSFERKIT_CACHE``.

Run: ``python benchmarks/bench_pooled_probe.py --threads 1 [--data banking77 --seeds 0-4]``;
several processes may share the store (``benchmarks/raw/pooled_probe.json``): each writes its
own (dataset, seed) rows, and any of them renders the section from all rows present.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from _results import machine, today, write_section

STORE = Path(__file__).with_name("raw") / "pooled_probe.json"
DATA = ("banking77", "sst2", "amazon-books", "amazon-kitchen")
SETTINGS = {"strategy": "finetune", "unfreeze": "all", "epochs": 8, "lr": 1e-3, "shots": 8,
            "probe_weight": 0.5}
WEIGHTS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 1.0)
HEADING = "Few-shot: fine-tuned MiniLM pooled with the frozen probe (issue 19, part 4)"


def _load(tk, name):
    if name.startswith("amazon-"):
        return tk.load_dataset("amazon", domain=name.split("-", 1)[1], test_size=0.5, seed=0)
    return tk.load_dataset(name)


def _update(fn):
    """Read-modify-write the shared store under a lock (several processes add rows)."""
    STORE.parent.mkdir(exist_ok=True)
    with open(Path(tempfile.gettempdir()) / "tk-bench-pooled-probe.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        store = json.loads(STORE.read_text()) if STORE.exists() else {}
        fn(store)
        tmp = STORE.with_suffix(".tmp")
        tmp.write_text(json.dumps(store, indent=1, sort_keys=True))
        os.replace(tmp, STORE)
        return store


def run_one(tk, ds, seed: int) -> dict:
    from transferkit.strategies.probe_ensemble import pool_log_linear

    t0 = time.perf_counter()
    model = tk.TransferClassifier(backbone="minilm-l6", seed=seed, progress=False,
                                  **SETTINGS).fit(ds.train)
    fit_s = time.perf_counter() - t0
    strat = model.strategy_
    P = model.predict_proba(ds.test)
    pooled, strat.pooled_ = strat.pooled_, None
    net = model.predict_proba(ds.test)
    strat.pooled_ = pooled
    probe = pooled.probe.predict_proba(pooled.backbone, -1, ds.test)
    y = np.searchsorted(model.classes_, ds.test.labels)
    acc = {f"w={w}": float((pool_log_linear(net, probe, w).argmax(1) == y).mean())
           for w in WEIGHTS}
    acc["library"] = float((P.argmax(1) == y).mean())
    return {"acc": acc, "fit_seconds": round(fit_s, 1)}


def _ms(xs):
    xs = 100 * np.asarray(xs)
    return f"{xs.mean():.2f} ± {xs.std():.2f}" if len(xs) else "—"


def render(store) -> str:
    data = [d for d in DATA if d in store.get("rows", {})]
    seeds = {d: sorted(store["rows"][d], key=int) for d in data}
    lines = [f"Script: `benchmarks/bench_pooled_probe.py` · {store.get('machine', machine())} · "
             f"torch threads 1 · {store.get('date', today())}", "",
             "`TransferClassifier(strategy='finetune', unfreeze='all', epochs=8, lr=1e-3, "
             "probe_weight=0.5, shots=8, seed=s)`: every MiniLM block and a linear head (LP-FT "
             "start, backbone at 0.1 x lr), pooled with a probe on the pre-trained features "
             "(the probe strategy with its defaults, label-name rows included) by a weighted "
             "geometric mean of the class probabilities. Accuracy % on the full test sets, "
             "mean ± std over seeds.", "",
             "| | " + " | ".join(f"{d} ({len(seeds[d])} seeds)" for d in data) + " |",
             "|---|" + "---|" * len(data)]
    names = {"w=1.0": "probe alone (pre-trained features)",
             "w=0.0": "fine-tuned network alone",
             "library": "**pooled, probe_weight=0.5 (the library's prediction)**"}
    for key in ("w=1.0", "w=0.0", "library"):
        lines.append(f"| {names[key]} | " + " | ".join(
            _ms([store["rows"][d][s]["acc"][key] for s in seeds[d]]) for d in data) + " |")
    lines.append("| gain of the pool over the better half, mean of per-seed differences "
                 "(points) | " + " | ".join(
                     "{:+.2f}".format(100 * np.mean([
                         store["rows"][d][s]["acc"]["library"]
                         - max(store["rows"][d][s]["acc"]["w=0.0"],
                               store["rows"][d][s]["acc"]["w=1.0"]) for s in seeds[d]]))
                     for d in data) + " |")
    lines.append("| fit seconds per seed (median; 1 thread, the other core busy) | " + " | ".join(
        f"{np.median([store['rows'][d][s]['fit_seconds'] for s in seeds[d]]):.0f}"
        for d in data) + " |")
    lines += ["", "Other pool weights, read off the same two probability matrices (no refit; "
              "shown for sensitivity, the weight was fixed at 0.5 beforehand):", "",
              "| probe weight | " + " | ".join(data) + " |", "|---|" + "---|" * len(data)]
    for w in WEIGHTS[1:-1]:
        lines.append(f"| {w} | " + " | ".join(
            _ms([store["rows"][d][s]["acc"][f"w={w}"] for s in seeds[d]]) for d in data) + " |")
    lines += [""] + [f"- {n}" for n in store.get("notes", [])]
    return "\n".join(lines)


def _seeds(text: str) -> list[int]:
    if "-" in text:
        a, b = text.split("-")
        return list(range(int(a), int(b) + 1))
    return [int(s) for s in text.split(",")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=",".join(DATA))
    ap.add_argument("--seeds", default="0-9")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--render-only", action="store_true")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    os.environ.setdefault("TRANSFERKIT_CACHE", str(Path(tempfile.gettempdir()) / "tk-bench-cache"))
    import transferkit as tk

    for name in ([] if args.render_only else args.data.split(",")):
        ds = _load(tk, name)
        for s in _seeds(args.seeds):
            if str(s) in (json.loads(STORE.read_text()) if STORE.exists() else {}).get(
                    "rows", {}).get(name, {}):
                continue
            row = run_one(tk, ds, s)
            print(name, s, {k: round(100 * v, 2) for k, v in row["acc"].items()},
                  row["fit_seconds"], flush=True)
            _update(lambda st, name=name, s=s, row=row: (
                st.setdefault("rows", {}).setdefault(name, {}).__setitem__(str(s), row),
                st.update(date=today(), machine=machine())))
    store = _update(lambda st: None)
    write_section(HEADING, render(store))


if __name__ == "__main__":
    main()
