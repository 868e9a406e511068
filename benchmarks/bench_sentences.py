"""Issue 19, part 5 (and the probe): texts embedded whole vs sentence by sentence, averaged.

The same frozen MiniLM either embeds each text at once (``minilm-l6``) or each of its sentences
on its own with the embeddings averaged (``minilm-l6+sentences``, the zero-shot default
``segment="sentences"``). Measured on Banking77 (queries), SST-2 (sentences) and the four Amazon
review domains (each split 50/50 with ``load_dataset("amazon", domain=D, test_size=0.5,
seed=0)``: 1,000 train / 1,000 test), all through the library:

* zero-shot from the label names alone (the template ensemble and vocabulary neighbours),
  uncalibrated and with ``calibrate="prior"`` on the unlabelled train texts;
* the logistic probe on all training labels, and with 8 labels per class (10 seeds), with the
  head choosing C as it does now (grid from 0.001, by held-out log-loss) and as it did before
  (grid from 0.1, by held-out accuracy);
* encoding throughput of both on the same 1,000 texts, nothing cached.

Run: ``python benchmarks/bench_sentences.py`` (about 20 minutes on 2 cores, most of it
encoding the Amazon sentences once; features are cached in ``$TRANSFERKIT_CACHE``).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from _results import machine, today, write_section
from bench_fewshot_ideas import _load  # the same datasets and 50/50 Amazon splits

#: the zero-shot classifier's choices: whole texts, long ones split (the default), all split
SEGMENTS = ("whole", "auto", "sentences")
DATA = ("banking77", "sst2", "amazon-books", "amazon-dvd", "amazon-electronics",
        "amazon-kitchen")
SECTION = "Texts embedded whole vs sentence by sentence (issue 19, part 5)"


def _label_names(ds):
    names = ds.train.meta.get("label_names")
    return [names[c] if names else str(c) for c in np.unique(ds.train.labels).tolist()]


def _ms(v):
    v = 100 * np.asarray(v, dtype=float)
    return f"{v.mean():.2f} ± {v.std():.2f}"


#: the logistic head's C choice before this change: a grid from 0.1, by held-out accuracy
_OLD_HEAD = {"grid": (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0), "criterion": "accuracy"}


@contextlib.contextmanager
def _choose_C(kw):
    """The logistic head choosing C with ``kw`` (``None``: as the library does now)."""
    from transferkit.heads import lbfgs, logistic

    if kw is None:
        yield
        return
    logistic.choose_C = functools.partial(lbfgs.choose_C, **kw)
    try:
        yield
    finally:
        logistic.choose_C = lbfgs.choose_C


def measure(tk, name, bbs, seeds):
    ds = _load(tk, name)
    row = {}
    for seg in SEGMENTS:
        for cal in (None, "prior"):
            zs = tk.ZeroShotClassifier(backbone=bbs["whole"],
                                       labels=_label_names(ds), calibrate=cal, segment=seg,
                                       progress=False)
            zs.fit(ds.train.without_labels() if cal else None)
            row[f"zero-shot, calibrate={cal}|{seg}"] = 100 * zs.score(ds.test)
    for tag, bb in bbs.items():
        for head, when in ((_OLD_HEAD, " (C as before)"), (None, "")):
            with _choose_C(head):
                m = tk.TransferClassifier(backbone=bb, strategy="probe", progress=False, seed=0)
                row[f"probe, all training labels{when}|{tag}"] = 100 * m.fit(
                    ds.train).score(ds.test)
                acc = []
                for s in seeds:
                    m = tk.TransferClassifier(backbone=bb, strategy="probe", shots=8, seed=s,
                                              progress=False)
                    acc.append(m.fit(ds.train).score(ds.test))
                row[f"probe, 8 labels per class ({len(seeds)} seeds){when}|{tag}"] = acc
    print(f"  {name}: " + ", ".join(
        f"{k} {v if isinstance(v, float) else 100 * np.mean(v):.2f}" for k, v in row.items()),
        flush=True)
    return row


THRESHOLDS = (0, 32, 64, 128, None)


def thresholds(tk, name, bbs):
    """Accuracy when only texts longer than T tokens are split (T = 0: all; None: none), from
    the cached whole and sentence features: zero-shot (prior-calibrated) and the full probe."""
    from transferkit.fewshot.zeroshot import prior_bias, unit
    from transferkit.heads.logistic import LogisticHead

    ds = _load(tk, name)
    zs = tk.ZeroShotClassifier(backbone=bbs["whole"], labels=_label_names(ds),
                               segment="whole", progress=False).fit()
    L, tok = zs.label_embeddings_, bbs["whole"].tokenizer
    classes = np.unique(ds.train.labels)
    feats, longer = {}, {}
    for part in ("train", "test"):
        d = getattr(ds, part)
        feats[part] = {t: np.asarray(tk.extract_features(b, d, progress=False))
                       for t, b in bbs.items()}
        longer[part] = np.array([len(i) for i in tok(list(d.inputs), add_special_tokens=False,
                                                     truncation=False, verbose=False)["input_ids"]])
    y = {p: np.searchsorted(classes, getattr(ds, p).labels) for p in ("train", "test")}
    out = {}
    for T in THRESHOLDS:
        F = {p: unit(feats[p]["whole"] if T is None else np.where(
            (longer[p] > T)[:, None], feats[p]["sentences"], feats[p]["whole"]))
            for p in ("train", "test")}
        b = prior_bias(F["train"] @ L.T, 0.05)
        zs_acc = 100 * float(((F["test"] @ L.T / 0.05 + b).argmax(1) == y["test"]).mean())
        head = LogisticHead().fit(F["train"].astype(np.float32), y["train"], len(classes))
        probe = 100 * float((head.decision_function(F["test"]).argmax(1) == y["test"]).mean())
        split = 0.0 if T is None else 100 * float((longer["test"] > T).mean())
        out[T] = (zs_acc, probe, split)
    return out


def throughput(tk, bbs, n=1000):
    ds = _load(tk, "amazon-kitchen")
    texts = list(ds.test.inputs[:n])
    out = {}
    for tag, bb in bbs.items():
        bb.features(texts[:32])  # warm up
        t0 = time.perf_counter()
        bb.features(texts)
        out[tag] = n / (time.perf_counter() - t0)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data", default=",".join(DATA))
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    os.environ.setdefault("TRANSFERKIT_CACHE", str(Path(tempfile.gettempdir()) / "tk-bench-cache"))
    import transferkit as tk
    from transferkit.backbones import SentenceMean
    from transferkit.backbones.segment import AUTO_MIN_TOKENS

    whole = tk.create_backbone("minilm-l6")
    bbs = {"whole": whole, "sentences": SentenceMean(whole)}
    where, t0 = machine(load=True), time.perf_counter()
    rows, cuts = {}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in args.data.split(","):
            rows[name] = measure(tk, name, bbs, list(range(args.seeds)))
            cuts[name] = thresholds(tk, name, bbs)
        speed = throughput(tk, bbs)
    wall = time.perf_counter() - t0
    data = list(rows)
    lines = [f"Script: `benchmarks/bench_sentences.py` · {where} · torch threads "
             f"{args.threads} · {today()}", "",
             "**Zero-shot from the label names alone** (accuracy %; the template ensemble and "
             "vocabulary neighbours; `prior` calibrates on the unlabelled train texts). Columns: "
             f"`segment=` whole / auto (texts of more than {AUTO_MIN_TOKENS} tokens split; the "
             "default) / sentences (every text of several sentences split).", "",
             "| data | calibrate | whole | auto (default) | sentences |", "|---|---|---|---|---|"]
    for d in data:
        for cal in (None, "prior"):
            lines.append(f"| {d} | {cal} | " + " | ".join(
                f"{rows[d][f'zero-shot, calibrate={cal}|{g}']:.2f}" for g in SEGMENTS) + " |")
    lines += ["", "**The logistic probe**, `minilm-l6` (whole texts) → `minilm-l6+sentences` "
              "(every text of several sentences split), accuracy % (the gain in brackets). "
              "\"C as before\": the head choosing C on a grid from 0.1 by held-out accuracy; "
              "the other rows: from 0.001 by held-out log-loss (the library now).", "",
              "| probe | " + " | ".join(data) + " |", "|---|" + "---|" * len(data)]
    probes = [k.split("|")[0] for k in rows[data[0]] if k.startswith("probe") and
              k.endswith("|whole")]
    for v in probes:
        cells = []
        for d in data:
            a, b = rows[d][f"{v}|whole"], rows[d][f"{v}|sentences"]
            if isinstance(a, list):
                cells.append(f"{_ms(a)} → **{_ms(b)}** ({100 * (np.mean(b) - np.mean(a)):+.2f})")
            else:
                cells.append(f"{a:.2f} → **{b:.2f}** ({b - a:+.2f})")
        lines.append(f"| {v} | " + " | ".join(cells) + " |")
    lines += ["", "**Which texts to split**: only those longer than T tokens (the same cached "
              "features; zero-shot with `prior`, the full-data probe; % of the test texts "
              "split in brackets).", "",
              "| data | " + " | ".join("never" if T is None else f"T = {T}" for T in THRESHOLDS)
              + " |", "|---|" + "---|" * len(THRESHOLDS)]
    for d in data:
        lines.append(f"| {d} | " + " | ".join(
            f"{z:.2f} / {p:.2f} ({sp:.0f} %)" for z, p, sp in cuts[d].values()) + " |")
    lines += ["", f"Encoding 1,000 Amazon kitchen reviews, nothing cached: whole "
              f"{speed['whole']:.0f} texts/s, sentence by sentence {speed['sentences']:.0f} "
              f"texts/s (ratio {speed['sentences'] / speed['whole']:.2f}).",
              f"Whole benchmark {wall / 60:.1f} min (features cached after the first encoding)."]
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        write_section(SECTION, body)


if __name__ == "__main__":
    main()
