"""Issue 19, parts 4 and 5: ideas for 8-shot and zero-shot text, every one on three datasets.

Few-shot (``--parts fewshot``): 8 examples per class (``sample_shots``, seeds 0..9, the MTEB
distribution), frozen MiniLM, the full test set; Banking77 (77 intents), SST-2 (sentences) and
Amazon reviews, books and kitchen (each domain split 50/50 with ``train_test_split(seed=0)``:
1,000 train / 1,000 test). Variants: the probe as it was (``label_prior=False``), the probe
with label-name rows (the new default), the probe mixed with the zero-shot probabilities
(``zeroshot_weight``), prototypes; and ideas that are not shipped, computed here on the same
features: probe + prototype ensemble, within-class mixup and Gaussian shot augmentation. Self-training (``self_train=32``: the 32 most confident
unlabelled inputs per predicted class added as pseudo-labelled rows, then one refit) with the
unlabelled *train* texts (semi-supervised) and with the *test* texts (TRANSDUCTIVE: it uses
the evaluation texts).

Zero-shot (``--parts zeroshot``): label names alone on Banking77, SST-2 and the four Amazon
domains (same 50/50 split); the template ensemble and vocabulary neighbours on and off; no
calibration, or ``center`` / ``prior`` / ``refine`` (prior, then one step of self-labelling)
calibrated on the unlabelled *train* texts.

Features are encoded once (``$TRANSFERKIT_CACHE``) and looked up (``bench_fewshot._Frozen``).
Run: ``python benchmarks/bench_fewshot_ideas.py --threads 1`` (about 15 min on 2 busy cores).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from _results import machine, today, write_section
from bench_fewshot import _Frozen, _ms

STORE = Path(tempfile.gettempdir()) / "tk-bench-fewshot-ideas.json"
FEWSHOT_DATA = ("banking77", "sst2", "amazon-books", "amazon-kitchen")
ZEROSHOT_DATA = ("banking77", "sst2", "amazon-books", "amazon-dvd", "amazon-electronics",
                 "amazon-kitchen")


def _load(tk, name):
    if name.startswith("amazon-"):
        return tk.load_dataset("amazon", domain=name.split("-", 1)[1], test_size=0.5, seed=0)
    return tk.load_dataset(name)


def _add(frozen, ds):
    """Encode ``ds`` unless every text is already in the table (the Amazon domains are looked
    up in the features of the whole corpus, encoded once)."""
    if not all(t in frozen.table for t in ds.inputs):
        frozen.add(ds)


def _ideas(tk, X, y, k, Xte, seed, P_rows, L):
    """The ideas not shipped, on the shot features ``X`` (with label rows ``L``)."""
    from transferkit.heads import LogisticHead
    from transferkit.strategies.label_names import unit

    def probe(Xa, ya):
        return LogisticHead().fit(Xa.astype(np.float32), ya, k, seed=seed).predict_proba(Xte)

    rng = np.random.default_rng(seed)
    Xl, yl = np.vstack([X, L]), np.concatenate([y, np.arange(k)])
    out = {}
    U = unit(X)
    means = unit(np.stack([U[y == c].mean(0) for c in range(k)]))
    S = unit(Xte) @ means.T
    proto = np.exp((S - S.max(1, keepdims=True)) / 0.05)
    out["probe (label rows) + cosine prototypes (T=0.05), probabilities averaged"] = (
        P_rows + proto / proto.sum(1, keepdims=True)) / 2
    mx, my = [], []
    for c in range(k):
        i = np.flatnonzero(y == c)
        a, b, lam = rng.choice(i, 8), rng.choice(i, 8), rng.uniform(0, 1, (8, 1))
        mx.append(lam * X[a] + (1 - lam) * X[b])
        my.append(np.full(8, c))
    out["probe (label rows) + within-class mixup, 8 per class"] = probe(
        np.vstack([Xl, unit(np.vstack(mx))]), np.concatenate([yl, *my]))
    R = X - np.stack([X[y == c].mean(0) for c in range(k)])[y]
    noise = rng.standard_normal((len(X), len(R))) @ R / np.sqrt(len(R))
    out["probe (label rows) + Gaussian copies (0.5 x pooled within-class cov.)"] = probe(
        np.vstack([Xl, unit(X + 0.5 * noise)]), np.concatenate([yl, y]))
    return out


def part_fewshot(tk, frozen, store, seeds):
    from transferkit.strategies.label_names import (
        TEMPLATE_ENSEMBLE,
        data_label_names,
        label_name_embeddings,
        vocabulary_neighbours,
    )

    look = frozen.lookup_backbone()
    res = store.setdefault("fewshot", {})
    lib = {"probe, as before (label_prior=False)": ("probe", {"label_prior": False}),
           "probe + label-name rows (new default)": ("probe", {}),
           "probe + label-name rows, zeroshot_weight=0.25": ("probe", {"zeroshot_weight": 0.25}),
           "probe + label-name rows, zeroshot_weight=0.5": ("probe", {"zeroshot_weight": 0.5}),
           "probe + label-name rows + self_train=32, unlabelled: the train texts "
           "(semi-supervised)": ("probe", {"_pool": "train"}),
           "TRANSDUCTIVE: probe + label-name rows + self_train=32, unlabelled: the test "
           "texts": ("probe", {"_pool": "test"}),
           "prototypes (auto: no prior at 8 shots)": ("prototypes", {}),
           "prototypes + label prior": ("prototypes", {"label_prior": True}),
           "prototypes, shrunk covariance (LDA, Ledoit-Wolf) + label prior": (
               "prototypes", {"label_prior": True, "distance": "euclidean",
                              "shrinkage": "auto"})}
    for name in FEWSHOT_DATA:
        ds = _load(tk, name)
        _add(frozen, ds.train), _add(frozen, ds.test)
        names = data_label_names(ds.train)
        k = len(names)
        nb = vocabulary_neighbours(look, names, 20, cache=False)
        L = label_name_embeddings(look, names, TEMPLATE_ENSEMBLE, nb)
        Xte = np.asarray([frozen.table[t] for t in ds.test.inputs])
        classes = np.unique(ds.train.labels)
        yte = np.searchsorted(classes, ds.test.labels)
        row = res.setdefault(name, {})
        for s in seeds:
            if str(s) in row.get("_done", []):
                continue
            for v, (strat, extra) in lib.items():
                extra = dict(extra)
                pool = {"train": ds.train, "test": ds.test}.get(extra.pop("_pool", None))
                m = tk.TransferClassifier(backbone=look, strategy=strat, shots=8, seed=s,
                                          cache=False, progress=False, **extra)
                m.fit(ds.train, unlabelled=None if pool is None else pool.without_labels())
                row.setdefault(v, []).append(m.score(ds.test))
                if v == "probe + label-name rows (new default)":
                    P_rows = m.predict_proba(ds.test)
            shot = tk.sample_shots(ds.train, 8, seed=s)
            X = np.asarray([frozen.table[t] for t in shot.inputs])
            y = np.searchsorted(classes, shot.labels)
            for v, P in _ideas(tk, X, y, k, Xte, s, P_rows, L).items():
                row.setdefault(v, []).append(float((P.argmax(1) == yte).mean()))
            row.setdefault("_done", []).append(str(s))
            print(f"  {name} seed {s}: " + ", ".join(f"{100 * a[-1]:.1f}" for kk, a in row.items()
                                                       if kk != "_done"), flush=True)
            _save(store)


def part_zeroshot(tk, frozen, store):
    look = frozen.lookup_backbone()
    res = store.setdefault("zeroshot", {})
    variants = {"1 template (as before)": {"prompt_ensemble": False, "neighbors": 0},
                "8-template ensemble": {"prompt_ensemble": True, "neighbors": 0},
                "1 template + 20 neighbours": {"prompt_ensemble": False, "neighbors": 20},
                "8-template ensemble + 20 neighbours (new default)": {}}
    for name in ZEROSHOT_DATA:
        ds = _load(tk, name)
        _add(frozen, ds.train), _add(frozen, ds.test)
        names = ds.train.meta.get("label_names")
        labels = [names[c] if names else str(c) for c in np.unique(ds.train.labels).tolist()]
        for v, kw in variants.items():
            for cal in (None, "center", "prior", "refine"):
                zs = tk.ZeroShotClassifier(backbone=look, labels=labels, calibrate=cal,
                                           cache=False, progress=False, **kw)
                zs.fit(ds.train.without_labels() if cal else None)
                res[f"{name}|{v}|{cal}"] = zs.score(ds.test)
            print(f"  zero-shot {name} {v}: " + " ".join(
                f"{100 * res[f'{name}|{v}|{c}']:.2f}" for c in (None, "center", "prior", "refine")),
                flush=True)
        _save(store)


def _save(store):
    Path(store["_path"]).write_text(json.dumps(store, indent=1, default=float))


def render(store, threads):
    lines = [f"Script: `benchmarks/bench_fewshot_ideas.py` · machine: {machine()} · torch "
             f"threads: {threads} · date: {store.get('_date', today())}", ""]
    f = store.get("fewshot")
    if f:
        data = [d for d in FEWSHOT_DATA if d in f]
        n = min(len(f[d]["_done"]) for d in data)
        lines += [f"### 8 shots per class, frozen MiniLM ({n} seeds, accuracy % mean ± std)", "",
                  "| variant | " + " | ".join(data) + " |", "|---|" + "---|" * len(data)]
        for v in [k for k in f[data[0]] if k != "_done"]:
            lines.append(f"| {v} | " + " | ".join(_ms(f[d].get(v, [])) for d in data) + " |")
        lines.append("")
    z = store.get("zeroshot")
    if z:
        data = list(dict.fromkeys(k.split("|")[0] for k in z))
        lines += ["### Zero-shot from the label names alone (accuracy %; calibration on the "
                  "unlabelled train texts)", "",
                  "| variant | calibrate | " + " | ".join(data) + " |",
                  "|---|---|" + "---|" * len(data)]
        for v in dict.fromkeys(k.split("|")[1] for k in z):
            for cal in ("None", "center", "prior", "refine"):
                lines.append(f"| {v} | {cal} | " + " | ".join(
                    f"{100 * z[f'{d}|{v}|{cal}']:.2f}" if f"{d}|{v}|{cal}" in z else "—"
                    for d in data) + " |")
        lines.append("")
    lines += [f"- {n}" for n in store.get("_notes", [])]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--parts", default="zeroshot,fewshot")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--store", default=str(STORE))
    ap.add_argument("--note", action="append", default=[])
    args = ap.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    os.environ.setdefault("TRANSFERKIT_CACHE", str(Path(tempfile.gettempdir()) / "tk-bench-cache"))
    import transferkit as tk

    path = Path(args.store)
    store = json.loads(path.read_text()) if path.exists() else {}
    store.update(_path=args.store, _date=today())
    store["_notes"] = list(dict.fromkeys(store.get("_notes", []) + args.note))
    frozen = _Frozen(tk, tk.create_backbone("minilm-l6"))
    frozen.add(tk.load_dataset("amazon").train)  # all four domains, once
    t0 = time.perf_counter()
    parts = set(args.parts.split(","))
    if "zeroshot" in parts:
        part_zeroshot(tk, frozen, store)
    if "fewshot" in parts:
        part_fewshot(tk, frozen, store, list(range(args.seeds)))
    print(f"done in {time.perf_counter() - t0:.0f}s")
    _save(store)
    body = render(store, torch.get_num_threads())
    write_section("Few-shot and zero-shot ideas (issue 19, parts 4 and 5)", body)
    print(body)


if __name__ == "__main__":
    main()
