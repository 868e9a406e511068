"""Issue 6 benchmarks: few-shot and zero-shot transfer with all-MiniLM-L6-v2.

Parts (``--parts``, comma-separated; each adds its numbers to a JSON store so a long run can
be split, and every run rewrites the RESULTS.md section from the whole store):

* ``protocol`` — Banking77 at 8 shots, the MTEB classification protocol: 8 examples per
  label from the train split, logistic regression (scikit-learn, ``max_iter=100``), the full
  test set, 10 seeds. Both samplers are run: ours (``sample_shots(train, 8, seed)``, seeds
  0..9, what ``TransferClassifier(shots=8, seed=s)`` uses) and MTEB's own
  (``np.random.seed(42)`` once, then ``_undersample_data``: shuffle the row indices in place
  and take the first 8 of each label, 10 times in a row). Same distribution, different rows.
  Also our probe (C chosen on held-out shots) and prototypes on the same samples.
* ``curve`` — 1, 2, 4, 8, 16, 32 shots x seeds for the cheap methods (probe, prototypes
  with and without the label-name prior). 64 shots do not exist on Banking77: its smallest
  training class (contactless_not_working) has 35 queries.
* ``zeroshot`` — label names alone on Banking77 and SST-2 (if its data folder is present),
  without calibration and with ``center`` / ``prior`` calibrated on the unlabelled *train*
  texts (never the test texts).
* ``contrastive`` / ``setfit`` — our SetFit-style strategy and SetFit itself (if installed:
  ``pip install setfit==1.2.0``, a benchmark extra) on the same samples: accuracy, training
  time and their ratios. Banking77 8-shot and SST-2 8-shot; ``--num-iterations`` pairs per
  example (SetFit's default is 20).

Frozen features of the whole datasets are encoded once; the cheap methods then look them up
(``_Lookup``), so each fit costs its own work only. Contrastive runs encode for real.

Run: ``python benchmarks/bench_fewshot.py --parts protocol,curve,zeroshot`` (minutes), then
``--parts contrastive,setfit --contrastive-seeds 3`` (long on a CPU); ``--parts render`` only
rewrites the section from the store; ``--note`` adds lines under the tables.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from _results import machine, today, write_section, write_subsection

STORE = Path(tempfile.gettempdir()) / "tk-bench-fewshot.json"
SST2_SETFIT_NOTE = ("SetFit's paper reports its own table with paraphrase-mpnet-base-v2 (110M "
                    "parameters); MiniLM-L6 (22.7M) averages 45.1 vs 62.3 for MPNet across that "
                    "table, so the side-by-side run on the same samples is the fair comparison.")


def _load_store(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def _save_store(path: Path, store: dict) -> None:
    path.write_text(json.dumps(store, indent=1, default=float))


def _ms(values) -> str:
    v = 100 * np.asarray(values, dtype=float)
    return f"{v.mean():.2f} ± {v.std():.2f}" if len(v) else "—"


class _Frozen:
    """Frozen MiniLM features of whole datasets, and a backbone that looks inputs up in them."""

    def __init__(self, tk, bb):
        self.tk, self.bb, self.table = tk, bb, {}

    def add(self, ds):
        X = np.asarray(self.tk.extract_features(self.bb, ds, progress=False))
        for t, x in zip(ds.inputs, X, strict=True):
            self.table[t] = x
        return X

    def lookup_backbone(self):
        frozen = self

        class _Lookup(self.tk.Backbone):
            """The same MiniLM, but known inputs come from the precomputed table."""

            modality = "text"

            def __init__(self):
                super().__init__(frozen.bb.name, frozen.bb.num_features,
                                 frozen.bb.preprocess_config)
                self.inner = frozen.bb
                self.tokenizer = getattr(frozen.bb, "tokenizer", None)  # vocabulary neighbours

            @property
            def num_feature_layers(self):
                return self.inner.num_feature_layers

            def preprocess(self, inputs):
                return self.inner.preprocess(inputs)

            def forward_features(self, batch, layer=-1):
                return self.inner.forward_features(batch, layer)

            def layer_groups(self):
                return self.inner.layer_groups()

            def features(self, inputs, layer=-1, batch_size=64, progress=False, out=None):
                if layer == -1 and all(t in frozen.table for t in inputs):
                    res = np.stack([frozen.table[t] for t in inputs]).astype(np.float32)
                    if out is not None:
                        out[:] = res
                        return out
                    return res
                return self.inner.features(inputs, layer, batch_size, progress, out)

        return _Lookup()


#: The methods as issue 6 measured them; issue 19's label-name rows, template ensemble and
#: vocabulary neighbours (now defaults) are measured by bench_fewshot_ideas.py.
_AS_ISSUE_6 = {"probe": {"label_prior": False}, "prototypes": {}}


def part_protocol(tk, frozen, ds, seeds, store):
    from sklearn.linear_model import LogisticRegression

    Xtr = np.asarray([frozen.table[t] for t in ds.train.inputs])
    Xte = np.asarray([frozen.table[t] for t in ds.test.inputs])
    ytr, yte = np.asarray(ds.train.labels), np.asarray(ds.test.labels)
    look = frozen.lookup_backbone()
    out = defaultdict(list)
    for s in seeds:
        shot = tk.sample_shots(ds.train, 8, seed=s)
        Xs = np.asarray([frozen.table[t] for t in shot.inputs])
        lr = LogisticRegression(max_iter=100).fit(Xs, shot.labels)
        out["mteb_head_our_sampler"].append(float((lr.predict(Xte) == yte).mean()))
        for strat in ("probe", "prototypes"):
            m = tk.TransferClassifier(backbone=look, strategy=strat, shots=8, seed=s,
                                      cache=False, progress=False, **_AS_ISSUE_6[strat])
            m.fit(ds.train)
            out[strat].append(m.score(ds.test))
    # MTEB's own sampler (AbsTaskClassification._undersample_data, seed 42, idxs carried over).
    np.random.seed(42)
    idxs = np.arange(len(ytr))
    for _ in range(len(seeds)):
        np.random.shuffle(idxs)
        count: dict = defaultdict(int)
        take = []
        for i in idxs:
            if count[ytr[i]] < 8:
                take.append(i)
                count[ytr[i]] += 1
        lr = LogisticRegression(max_iter=100).fit(Xtr[take], ytr[take])
        out["mteb_head_mteb_sampler"].append(float((lr.predict(Xte) == yte).mean()))
    store["protocol"] = dict(out)


def part_curve(tk, frozen, ds, seeds, shots_list, store):
    look = frozen.lookup_backbone()
    variants = {"probe": ("probe", _AS_ISSUE_6["probe"]),
                "prototypes (auto prior)": ("prototypes", {}),
                "prototypes, no prior": ("prototypes", {"label_prior": False}),
                "prototypes + label prior": ("prototypes", {"label_prior": True})}
    curve: dict = store.setdefault("curve", {})
    for n in shots_list:
        for name, (strat, extra) in variants.items():
            if f"{n}|{name}" in curve:
                continue
            accs, secs = [], []
            for s in seeds:
                t0 = time.perf_counter()
                m = tk.TransferClassifier(backbone=look, strategy=strat, shots=n, seed=s,
                                          cache=False, progress=False, **extra).fit(ds.train)
                secs.append(time.perf_counter() - t0)
                accs.append(m.score(ds.test))
            curve[f"{n}|{name}"] = {"acc": accs, "fit_seconds": float(np.median(secs))}
            print(f"  {n:>3} shots {name:<26} {_ms(accs)}", flush=True)
            _save_store(Path(store["_path"]), store)


def part_zeroshot(tk, bb, datasets, store):
    res = {}
    for name, ds in datasets.items():
        names = ds.train.meta.get("label_names")
        classes = [names[c] if names else str(c) for c in np.unique(ds.train.labels).tolist()]
        for cal in (None, "center", "prior"):
            zs = tk.ZeroShotClassifier(backbone=bb, labels=classes, calibrate=cal, progress=False,
                                       prompt_ensemble=False, neighbors=0)
            t0 = time.perf_counter()
            zs.fit(ds.train.without_labels() if cal else None)
            fit_s = time.perf_counter() - t0
            acc = zs.score(ds.test)
            res[f"{name}|{cal}"] = {"acc": acc, "fit_seconds": fit_s, "n_labels": len(classes)}
            print(f"  zero-shot {name} calibrate={cal}: {100 * acc:.2f}", flush=True)
    store["zeroshot"] = res


def _setfit_run(train, test, num_iterations, seed):
    import logging

    from datasets import Dataset as HFDataset
    from setfit import SetFitModel, Trainer, TrainingArguments

    from transferkit.backbones.text import minilm_l6_path

    logging.getLogger("setfit").setLevel(logging.WARNING)
    classes = np.unique(train.labels)
    model = SetFitModel.from_pretrained(str(minilm_l6_path()))
    args = TrainingArguments(batch_size=16, num_iterations=num_iterations, num_epochs=1,
                             seed=seed, report_to="none", save_strategy="no",
                             output_dir=tempfile.mkdtemp(prefix="setfit-"),
                             show_progress_bar=False)
    data = HFDataset.from_dict({"text": list(train.inputs),
                                "label": np.searchsorted(classes, train.labels).tolist()})
    t0 = time.perf_counter()
    Trainer(model=model, args=args, train_dataset=data).train()
    secs = time.perf_counter() - t0
    pred = np.asarray(model.predict(list(test.inputs), batch_size=64))
    return float((classes[pred.astype(int)] == np.asarray(test.labels)).mean()), secs


def part_contrastive(tk, datasets, seeds, num_iterations, store, with_setfit, shots=8):
    res = store.setdefault("contrastive", {})
    for name, ds in datasets.items():
        for s in seeds:
            key = f"{name}|{shots}|{num_iterations}|{s}"
            row = res.get(key, {})
            if "ours" not in row:
                bb = tk.create_backbone("minilm-l6")
                m = tk.TransferClassifier(backbone=bb, strategy="contrastive", shots=shots, seed=s,
                                          num_iterations=num_iterations, cache=False,
                                          progress=False)
                t0 = time.perf_counter()
                m.fit(ds.train)
                row["ours_seconds"] = time.perf_counter() - t0
                row["ours"] = m.score(ds.test)
                row["kept"] = m.strategy_.summary["kept"]
                row["probe"] = tk.TransferClassifier(backbone=bb, shots=shots, seed=s,
                                                     progress=False).fit(ds.train).score(ds.test)
                res[key] = row
                print(f"  {key}: ours {100 * row['ours']:.2f} in {row['ours_seconds']:.0f}s "
                      f"(probe {100 * row['probe']:.2f}, kept {row['kept']})", flush=True)
                _save_store(Path(store["_path"]), store)
            if with_setfit and "setfit" not in row:
                shot = tk.sample_shots(ds.train, shots, seed=s)
                row["setfit"], row["setfit_seconds"] = _setfit_run(shot, ds.test, num_iterations, s)
                res[key] = row
                print(f"  {key}: SetFit {100 * row['setfit']:.2f} in {row['setfit_seconds']:.0f}s",
                      flush=True)
                _save_store(Path(store["_path"]), store)


def render(store: dict, threads: int) -> str:
    lines = [f"Script: `benchmarks/bench_fewshot.py` · machine: {machine()} · torch threads: "
             f"{threads} · date: {store.get('_date', today())}", ""]
    p = store.get("protocol")
    if p:
        n = len(p["probe"])
        lines += [
            f"### Banking77, 8 shots per intent, MTEB protocol ({n} seeds, full test set of 3,080)",
            "",
            "| method | accuracy % (mean ± std) |",
            "|---|---|",
            f"| MTEB head (scikit-learn LogisticRegression max_iter=100), MTEB's own sampler "
            f"(seed 42) | {_ms(p['mteb_head_mteb_sampler'])} |",
            f"| MTEB head, our sampler (`sample_shots`, seeds 0..{n - 1}) | "
            f"{_ms(p['mteb_head_our_sampler'])} |",
            f"| our probe (`shots=8`, logistic, C chosen on held-out shots) | {_ms(p['probe'])} |",
            f"| our prototypes (`strategy=\"prototypes\"`, cosine) | {_ms(p['prototypes'])} |",
            "| anchor: MTEB all-MiniLM-L6-v2 | 80.04 |", ""]
    c = store.get("curve")
    if c:
        shots = sorted({int(k.split("|")[0]) for k in c})
        names = list(dict.fromkeys(k.split("|")[1] for k in c))
        n = len(next(iter(c.values()))["acc"])
        lines += [f"### Banking77 learning curve, frozen MiniLM ({n} seeds, accuracy %)", "",
                  "| method | " + " | ".join(f"{s} shots" for s in shots) + " |",
                  "|---|" + "---|" * len(shots)]
        for nm in names:
            lines.append(f"| {nm} | " + " | ".join(_ms(c[f'{s}|{nm}']['acc']) for s in shots)
                         + " |")
        lines.append("")
    z = store.get("zeroshot")
    if z:
        lines += ["### Zero-shot, label names alone (template \"This is about {}.\")", "",
                  "| data | labels | no calibration | center (train texts) | prior (train texts) |",
                  "|---|---|---|---|---|"]
        for ds in dict.fromkeys(k.split("|")[0] for k in z):
            row = [z.get(f"{ds}|{cal}", {}).get("acc") for cal in ("None", "center", "prior")]
            lines.append(f"| {ds} | {z[f'{ds}|None']['n_labels']} | " + " | ".join(
                "—" if a is None else f"{100 * a:.2f}" for a in row) + " |")
        lines.append("")
    r = store.get("contrastive")
    if r:
        lines += ["### Contrastive (SetFit-style) vs SetFit 1.2.0, same samples, same backbone",
                  "", "| data | shots | pair iterations | seeds | frozen probe % | ours % | "
                  "SetFit % | accuracy ratio ours/SetFit | training time ours / SetFit (s) | "
                  "time ratio |", "|---|---|---|---|---|---|---|---|---|---|"]
        groups: dict = defaultdict(list)
        for k, v in r.items():
            ds, shots, it, _ = k.split("|")
            groups[(ds, shots, it)].append(v)
        for (ds, shots, it), rows in groups.items():
            both = [v for v in rows if "setfit" in v and "ours" in v]
            ours = [v["ours"] for v in rows if "ours" in v]
            sf = [v["setfit"] for v in both]
            acc_ratio = (np.mean([v["ours"] for v in both]) / np.mean(sf)) if both else None
            t_o = np.mean([v["ours_seconds"] for v in both]) if both else None
            t_s = np.mean([v["setfit_seconds"] for v in both]) if both else None
            lines.append(
                f"| {ds} | {shots} | {it} | {len(ours)} | {_ms([v['probe'] for v in rows])} | "
                f"{_ms(ours)} | {_ms(sf) if sf else '—'} | "
                f"{'—' if acc_ratio is None else f'{acc_ratio:.3f}'} | "
                f"{'—' if t_o is None else f'{t_o:.0f} / {t_s:.0f}'} | "
                f"{'—' if t_o is None else f'{t_o / t_s:.2f}'} |")
        lines += ["", SST2_SETFIT_NOTE, ""]
    lines += [f"- {n}" for n in store.get("_notes", [])]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parts", default="protocol,curve,zeroshot")
    ap.add_argument("--seeds", type=int, default=10)
    # Banking77's smallest training class has 35 queries (contactless_not_working), so 32 is
    # the largest N-shot sample that exists; 64 raises DataError naming that class.
    ap.add_argument("--shots", default="1,2,4,8,16,32")
    ap.add_argument("--contrastive-seeds", type=int, default=3)
    ap.add_argument("--contrastive-data", default="sst2,banking77")
    ap.add_argument("--num-iterations", type=int, default=20)
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads (on a shared, busy CPU 1 is much faster than 2)")
    ap.add_argument("--store", default=str(STORE))
    ap.add_argument("--note", action="append", default=[], help="a line added under the tables")
    args = ap.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    os.environ.setdefault("TRANSFERKIT_CACHE", str(Path(tempfile.gettempdir()) / "tk-bench-cache"))
    import transferkit as tk

    store = _load_store(Path(args.store))
    store["_path"] = args.store
    store["_date"] = today()
    store["_notes"] = list(dict.fromkeys(store.get("_notes", []) + args.note))
    parts = set(args.parts.split(","))
    seeds = list(range(args.seeds))
    ds = tk.load_dataset("banking77")
    bb = tk.create_backbone("minilm-l6")
    datasets = {"banking77": ds}
    try:
        datasets["sst2"] = tk.load_dataset("sst2")
    except tk.DataError as e:
        print(f"SST-2 not available: {e}")
    frozen = _Frozen(tk, bb)
    if parts & {"protocol", "curve"}:
        t0 = time.perf_counter()
        frozen.add(ds.train), frozen.add(ds.test)
        print(f"Banking77 encoded (or read from the cache) in {time.perf_counter() - t0:.0f}s")
    if "protocol" in parts:
        part_protocol(tk, frozen, ds, seeds, store)
        _save_store(Path(args.store), store)
    if "curve" in parts:
        part_curve(tk, frozen, ds, seeds, [int(s) for s in args.shots.split(",")], store)
        _save_store(Path(args.store), store)
    if "zeroshot" in parts:
        part_zeroshot(tk, bb, datasets, store)
        _save_store(Path(args.store), store)
    if parts & {"contrastive", "setfit"}:
        want = {k: datasets[k] for k in args.contrastive_data.split(",") if k in datasets}
        with_setfit = "setfit" in parts
        if with_setfit:
            try:
                import setfit  # noqa: F401
            except ImportError:
                print("setfit is not installed (pip install setfit==1.2.0): ours only")
                with_setfit = False
        part_contrastive(tk, want, list(range(args.contrastive_seeds)), args.num_iterations,
                         store, with_setfit)
        _save_store(Path(args.store), store)
    body = render(store, torch.get_num_threads())
    if parts == {"contrastive"} and not store.get("protocol"):
        # A store with only contrastive rows (a re-run of some of them): their own
        # subsection, so the section's other tables, measured before, stay as they are.
        table = body.split("### Contrastive", 1)[1].split("\n", 1)[1]
        write_subsection("## Few-shot and zero-shot (issue 6)",
                         f"Contrastive (SetFit-style), re-run {today()}",
                         f"`python benchmarks/bench_fewshot.py --parts contrastive "
                         f"--contrastive-data {args.contrastive_data} --contrastive-seeds "
                         f"{args.contrastive_seeds} --num-iterations {args.num_iterations}` · "
                         f"{machine()} · torch threads {torch.get_num_threads()}\n" + table)
    else:
        write_section("Few-shot and zero-shot (issue 6)", body)
    print(body)


if __name__ == "__main__":
    main()
