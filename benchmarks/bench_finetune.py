"""Issue 3 benchmarks: fine-tuning MiniLM on Banking77 against the probe and from-scratch
training, the epoch time of transferkit's Fabric loop against Hugging Face ``Trainer`` on the
same model / data / batch / sequence length, and DDP with 2 processes against 1.

Run::

    python benchmarks/bench_finetune.py                 # full protocol (long on a CPU)
    python benchmarks/bench_finetune.py --quick         # smoke run on small subsets
    python benchmarks/bench_finetune.py --quick --no-write
    python benchmarks/bench_finetune.py --parts banking --strategies finetune   # one row

Writes its subsections of ``## Fine-tuning (issue 3)`` in RESULTS.md (others untouched);
Banking77 rows are kept per strategy in ``benchmarks/raw/finetune_banking77.json``.
The full protocol: all 10,003 training queries, the 3,080 test queries, ``--epochs`` epochs
of ``finetune`` (all layer groups, head lr ``--lr``, backbone x0.1, cosine, 10% warm-up,
early stopping on a held-out 10%), the probe (frozen MiniLM + logistic head) and ``scratch``
(same architecture re-initialised, same epochs and settings).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from _results import machine, today, write_subsection

SECTION = "## Fine-tuning (issue 3)"
BANKING = "Banking77: fine-tuned vs frozen probe vs from scratch"
#: the latest Banking77 result of each strategy, so one strategy can be rerun on its own
#: (a full-data run is ~30 CPU minutes) without losing the others' measured rows
BANKING_RAW = Path(__file__).with_name("raw") / "finetune_banking77.json"


def load_avg() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:  # pragma: no cover
        return "n/a"


def subset(ds, n_classes: int | None, per_class: int | None, seed: int = 0):
    if n_classes is None and per_class is None:
        return ds
    rng = np.random.default_rng(seed)
    classes = np.unique(ds.labels)[: n_classes or None]
    idx = []
    for c in classes:
        rows = np.flatnonzero(ds.labels == c)
        idx.append(rng.choice(rows, min(per_class or len(rows), len(rows)), replace=False))
    return ds.subset(np.sort(np.concatenate(idx)), name=f"{ds.name}-sub")


# --- 1. Banking77: fine-tune vs probe vs scratch ----------------------------------------------------
def banking(args, tk) -> dict:
    ds = tk.load_dataset("banking77")
    train = subset(ds.train, args.classes, args.train_per_class)
    test = subset(ds.test, args.classes, args.test_per_class)
    out = {"n_train": len(train), "n_test": len(test), "n_classes": int(len(train.classes))}
    bb = tk.create_backbone("minilm-l6")
    common = dict(epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, progress=False,
                  seed=args.seed)
    runs = {
        "probe": dict(strategy="probe", cache=False, progress=False),
        "finetune": dict(strategy="finetune", unfreeze="all", **common),
        "scratch": dict(strategy="scratch", unfreeze="all", **common),
    }
    runs = {k: v for k, v in runs.items() if k in args.strategies.split(",")}
    for name, kw in runs.items():
        t0 = time.perf_counter()
        model = tk.TransferClassifier(backbone=bb, **kw).fit(train)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        acc = model.score(test)
        out[name] = {"accuracy": acc, "fit_seconds": fit_s,
                     "predict_seconds": time.perf_counter() - t0, "date": today(),
                     "machine": machine(load=True), "epochs": args.epochs, "lr": args.lr,
                     "batch_size": args.batch_size, "seed": args.seed}
        if name != "probe":
            s = model.strategy_.summary
            out[name].update(best_epoch=s["best_epoch"], epochs_run=s["epochs_run"],
                             head_init=s.get("head_init", {"kind": "random"}),
                             history=[{k: r[k] for k in ("epoch", "train_loss", "val_loss",
                                                         "val_accuracy", "seconds") if k in r}
                                      for r in model.strategy_.history])
        print(f"[banking77] {name}: accuracy {acc:.4f}, fit {fit_s:.0f}s", flush=True)
    return out


# --- 2. epoch time: our loop vs Hugging Face Trainer --------------------------------------------------
def loop_vs_trainer(args, tk) -> dict:
    import torch
    import torch.nn.functional as F
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    from transferkit.engine import (
        ClassificationTask,
        ClassifierModule,
        ExampleData,
        Freezer,
        TrainConfig,
        build_param_groups,
        plan_freezing,
        train,
    )
    from transferkit.heads.torch_heads import make_torch_head

    ds = tk.load_dataset("banking77")
    rows = subset(ds.train, None, args.speed_per_class)
    texts = list(rows.inputs)
    classes = np.unique(rows.labels)
    y = np.searchsorted(classes, rows.labels)
    lr, bs, max_len = 1e-4, args.batch_size, args.max_length

    def fresh():
        bb = tk.create_backbone("minilm-l6", max_length=max_len)
        head = make_torch_head("linear", bb.num_features, len(classes), seed=0)
        return bb, head

    def run_ours(n: int) -> tuple[float, str]:
        """One epoch of the engine on the first n rows (no validation, every group trains)."""
        bb, head = fresh()
        plan = plan_freezing(bb, "all")
        freezer = Freezer(bb, plan)
        freezer.apply(0)
        groups = build_param_groups(freezer.candidates(), plan.all_groups, head, lr=lr,
                                    backbone_lr_mult=1.0, weight_decay=0.01)
        task = ClassificationTask(ClassifierModule(bb, head), groups, freezer)
        data = ExampleData(texts[:n], y[:n], bb.preprocess)
        cfg = TrainConfig(epochs=1, batch_size=bs, progress=False, precision="32-true",
                          warmup=0.1)
        t0 = time.perf_counter()
        res = train(task, data, None, cfg)
        return time.perf_counter() - t0, res.device

    class HFModel(torch.nn.Module):
        def __init__(self, backbone, head):
            super().__init__()
            self.backbone, self.head = backbone, head

        def forward(self, input_ids, attention_mask, token_type_ids=None, labels=None):
            batch = {"input_ids": input_ids, "attention_mask": attention_mask}
            if token_type_ids is not None:
                batch["token_type_ids"] = token_type_ids
            logits = self.head(self.backbone.forward_features(batch))
            return {"loss": F.cross_entropy(logits, labels), "logits": logits}

    def run_hf(n: int) -> float:
        """One epoch of Hugging Face Trainer: same backbone class, head, rows, batch size, max
        length, fused AdamW, cosine schedule with 10% warm-up, clipping 1.0, fp32."""
        bb, head = fresh()
        enc = bb.tokenizer(texts[:n], truncation=True, max_length=max_len)
        items = [{**{k: enc[k][i] for k in enc}, "labels": int(y[i])} for i in range(n)]
        with tempfile.TemporaryDirectory() as tmp:
            targs = TrainingArguments(
                output_dir=tmp, per_device_train_batch_size=bs, num_train_epochs=1,
                learning_rate=lr, weight_decay=0.01, lr_scheduler_type="cosine",
                warmup_steps=0.1, max_grad_norm=1.0, logging_strategy="no", save_strategy="no",
                report_to=[], use_cpu=not torch.cuda.is_available(), dataloader_num_workers=0,
                seed=0, disable_tqdm=True,
            )
            trainer = Trainer(model=HFModel(bb, head), args=targs, train_dataset=items,
                              data_collator=DataCollatorWithPadding(bb.tokenizer))
            t0 = time.perf_counter()
            trainer.train()
            return time.perf_counter() - t0

    # Warm both up (imports, allocator), then alternate so load changes hit both alike.
    run_ours(bs)
    run_hf(bs)
    ours_runs, hf_runs = [], []
    for _ in range(args.speed_repeats):
        t, device = run_ours(len(texts))
        ours_runs.append(t)
        hf_runs.append(run_hf(len(texts)))
    ours, hf = float(np.median(ours_runs)), float(np.median(hf_runs))
    out = {"n": len(texts), "batch_size": bs, "max_length": max_len, "ours_seconds": ours,
           "hf_seconds": hf, "ratio": hf / ours, "device": device, "ours_runs": ours_runs,
           "hf_runs": hf_runs}
    print(f"[loop vs Trainer] ours {ours:.1f}s, HF Trainer {hf:.1f}s, ratio {hf / ours:.2f}",
          flush=True)
    return out


# --- 3. DDP: 2 processes vs 1 -----------------------------------------------------------------------
def ddp(args, tk) -> dict:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    tr, te = order[:1300], order[1300:]
    out = {"n_train": len(tr), "n_test": len(te), "seeds": []}
    for seed in range(args.ddp_seeds):
        row = {"seed": seed}
        for devices in (1, 2):
            t0 = time.perf_counter()
            m = tk.TransferClassifier(backbone="tabular-mlp", strategy="finetune", epochs=5,
                                      lr=3e-3, devices=devices, seed=seed, cache=False,
                                      progress=False).fit(X[tr], y[tr])
            row[f"acc_{devices}"] = m.score(X[te], y[te])
            row[f"seconds_{devices}"] = time.perf_counter() - t0
        out["seeds"].append(row)
        print(f"[ddp] seed {seed}: 1 process {row['acc_1']:.4f}, 2 processes {row['acc_2']:.4f}",
              flush=True)
    return out


def _head_init_note(r: dict) -> str:
    init = r.get("head_init") or {"kind": "random"}
    if init.get("kind") == "probe":
        return f"probe (C={init.get('C'):g}, T={init.get('temperature', 1):.2f})"
    return "random"


def render_banking(b: dict) -> str:
    """The Banking77 table from the stored rows (each strategy's latest full-data run)."""
    anchors = {"finetune": "goal ≥ 93.7 (BERT-large 93.66, Casanueva et al. 2020)",
               "probe": "92.95 (issue 2)", "scratch": "—"}
    lines = [f"All {b['n_train']:,} training queries, the {b['n_test']:,} test queries, "
             f"{b['n_classes']} intents. finetune: all layer groups, head lr (below), backbone "
             "x0.1, cosine, 10% warm-up, early stopping on a stratified 10% of train; scratch: "
             "the same network re-initialised, same budget, backbone x1, random head; probe: "
             "frozen MiniLM + logistic head. Each row is that strategy's latest run.", "",
             "| strategy | test accuracy % | fit wall time (s) | epochs · batch · lr | head "
             "start | date · machine | anchor |", "|---|---|---|---|---|---|---|"]
    for name in ("finetune", "probe", "scratch"):
        r = b.get(name)
        if r is None:
            continue
        train = "—" if name == "probe" else f"{r['epochs']} · {r['batch_size']} · {r['lr']:g}"
        start = "—" if name == "probe" else _head_init_note(r)
        seeds = r.get("by_seed") or {}
        if len(seeds) > 1:
            accs = [100 * a for _, a in sorted(seeds.items())]
            cell = (f"**{np.mean(accs):.2f}** (mean of seeds {', '.join(sorted(seeds))}: "
                    + ", ".join(f"{a:.2f}" for a in accs) + ")")
        else:
            cell = f"**{100 * r['accuracy']:.2f}**"
        lines.append(f"| {name} | {cell} | {r['fit_seconds']:.0f} | "
                     f"{train} | {start} | {r['date']} · {r['machine']} | {anchors[name]} |")
    return "\n".join(lines)


def render(res: dict, args) -> dict[str, str]:
    """``{subsection title: body}`` for the parts in ``res``."""
    s, d = res.get("speed"), res.get("ddp")
    quick = ("**Smoke run (`--quick`)**: reduced subsets and one epoch; the numbers check that "
             "the script works and are not the protocol's results.\n\n" if args.quick else "")
    where = (f"Script: `benchmarks/bench_finetune.py{' --quick' if args.quick else ''}` · "
             f"machine: {machine()} · date: {today()} · load average at start: "
             f"{res['load_avg']}\n\n{quick}")
    out: dict[str, str] = {}
    if res.get("banking"):
        out[BANKING] = where + render_banking(res["banking"])
    lines: list[str] = []
    if s:
        lines = [f"Same model (minilm-l6 + linear head, all weights trained), same "
                  f"{s['n']:,} queries, batch {s['batch_size']}, max length {s['max_length']} "
                  "tokens with dynamic padding, fused AdamW, cosine schedule, clipping 1.0, fp32, "
                  f"one process on {s['device']}; median of {len(s['ours_runs'])} alternating "
                  "epochs per loop after a warm-up of each.", "",
                  "| loop | seconds per epoch |", "|---|---|",
                  f"| transferkit (Fabric) | {s['ours_seconds']:.1f} |",
                  f"| Hugging Face Trainer | {s['hf_seconds']:.1f} |", "",
                  f"Ratio Trainer / transferkit: **{s['ratio']:.2f}** (goal ≥ 1.0: not slower). "
                  "Every timed epoch (s), ours: "
                  + ", ".join(f"{t:.1f}" for t in s["ours_runs"]) + "; Trainer: "
                  + ", ".join(f"{t:.1f}" for t in s["hf_runs"]) + ". On a shared machine the "
                  "spread between runs can exceed the difference between the loops."]
        out["Epoch time: transferkit loop vs Hugging Face `Trainer`"] = where + "\n".join(lines)
    if d:
        a1 = [r["acc_1"] for r in d["seeds"]]
        a2 = [r["acc_2"] for r in d["seeds"]]
        lines = [f"sklearn digits, {d['n_train']} train / {d['n_test']} test, tabular-mlp "
                  "fine-tuned 5 epochs; the same global batches (batch size counts all "
                  "processes), dropout drawn per process.", "",
                  "| seed | 1 process acc % | 2 processes acc % | difference (points) |",
                  "|---|---|---|---|"]
        for r in d["seeds"]:
            lines.append(f"| {r['seed']} | {100 * r['acc_1']:.2f} | {100 * r['acc_2']:.2f} | "
                         f"{100 * (r['acc_2'] - r['acc_1']):+.2f} |")
        lines += [f"| mean | {100 * np.mean(a1):.2f} | {100 * np.mean(a2):.2f} | "
                  f"{100 * (np.mean(a2) - np.mean(a1)):+.2f} |", "",
                  "Goal: within 0.5 points."]
        out["DDP: 2 processes (gloo, CPU) vs 1"] = where + "\n".join(lines)
    return out


_SAME_RUN = ("epochs", "lr", "batch_size")


def store_banking(new: dict) -> dict:
    """Merge this run's Banking77 rows into the stored ones; returns the merged table.

    A strategy's row is its latest run; ``by_seed`` keeps the accuracy of every seed run with
    the same settings (epochs, lr, batch, head start), so the table can show their mean.
    """
    stored = json.loads(BANKING_RAW.read_text()) if BANKING_RAW.exists() else {}
    merged = {**stored, **new}
    for name, row in new.items():
        old = stored.get(name)
        if not isinstance(row, dict) or "accuracy" not in row:
            continue
        same = isinstance(old, dict) and all(old.get(k) == row.get(k) for k in _SAME_RUN) and (
            (old.get("head_init") or {}).get("kind") == (row.get("head_init") or {}).get("kind"))
        seeds = dict(old.get("by_seed") or {str(old.get("seed", 0)): old["accuracy"]}) \
            if same else {}
        seeds[str(row.get("seed", 0))] = row["accuracy"]
        row["by_seed"] = seeds
    BANKING_RAW.parent.mkdir(exist_ok=True)
    BANKING_RAW.write_text(json.dumps(merged, indent=2, default=float) + "\n")
    return merged


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smoke run on small subsets")
    ap.add_argument("--no-write", action="store_true", help="do not touch RESULTS.md")
    ap.add_argument("--parts", default="banking,speed,ddp", help="comma-separated parts to run")
    ap.add_argument("--strategies", default="probe,finetune,scratch",
                    help="Banking77 strategies to (re)run; the others keep their stored rows")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0, help="seed of the Banking77 runs")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=64)
    ap.add_argument("--ddp-seeds", type=int, default=3)
    ap.add_argument("--speed-repeats", type=int, default=3,
                    help="alternating timed epochs per loop (median reported)")
    ap.add_argument("--speed-per-class", type=int, default=30,
                    help="Banking77 queries per intent in the loop-vs-Trainer epochs")
    ap.add_argument("--out", default=None, help="also save the raw numbers as JSON here")
    args = ap.parse_args()
    args.classes = args.train_per_class = args.test_per_class = None
    if args.quick:
        args.classes, args.train_per_class, args.test_per_class = 10, 24, 10
        args.epochs, args.speed_per_class, args.ddp_seeds, args.speed_repeats = 1, 2, 1, 1
    os.environ.setdefault("TRANSFERKIT_CACHE", tempfile.mkdtemp(prefix="tk-bench-cache-"))
    import transferkit as tk

    res: dict = {"load_avg": load_avg(), "args": {k: v for k, v in vars(args).items()}}
    parts = set(args.parts.split(","))
    if "banking" in parts:
        res["banking"] = banking(args, tk)
        if not args.quick and not args.no_write:
            res["banking"] = store_banking(res["banking"])
    if "speed" in parts:
        res["speed"] = loop_vs_trainer(args, tk)
    if "ddp" in parts:
        res["ddp"] = ddp(args, tk)
    bodies = render(res, args)
    for title, body in bodies.items():
        print(f"### {title}\n\n{body}\n")
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=2, default=float))
    if not args.no_write:
        for title, body in bodies.items():
            write_subsection(SECTION, title, body)


if __name__ == "__main__":
    main()
