"""Amazon reviews, 12 domain pairs, frozen MiniLM: whole reviews vs sentence by sentence.

The same 8,000 reviews (Blitzer et al. 2007; 2,000 per domain) encoded by ``minilm-l6`` (each
review at once, as ``bench_adapt.py`` measured) and by ``minilm-l6+sentences`` (each sentence
on its own, the embeddings averaged). Then ``tk.DomainAdapter`` on every ordered pair with
the feature-level methods on the frozen features: source only, CORAL, and CDAN + information
maximisation on the target (the deep method on frozen features, bottleneck and classifier
trained). The target's labels are read only after fitting. Also the in-domain ceiling: a
probe trained on half of the target's own reviews, tested on the other half.

Run: ``python benchmarks/bench_adapt_sentences.py [--seeds 1]`` (encoding the sentences of
8,000 reviews takes about 5 minutes on 2 cores; features are cached).
Writes a subsection of "## Domain adaptation (issue 5)".
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from _results import machine, today, write_subsection

SECTION = "## Domain adaptation (issue 5)"
TITLE = "Amazon reviews, 12 pairs, frozen MiniLM: whole reviews vs sentence by sentence"
DOMAINS = ("books", "dvd", "electronics", "kitchen")
METHODS = {"source only": ("source", {}), "CORAL": ("coral", {}),
           "CDAN + IM": ("cdan", {"im_weight": 1.0})}


def _features(tk, spec, ds, name):
    """``ds``'s features under ``spec`` (cached) and an identity "backbone" over them."""
    from torch import nn

    t0 = time.perf_counter()
    X = np.asarray(tk.extract_features(tk.create_backbone(spec), ds, batch_size=32,
                                       progress=False))
    seconds = time.perf_counter() - t0
    if name not in tk.list_backbones():
        tk.register_module(name, lambda **kw: nn.Identity(), modality="tabular",
                           num_features=X.shape[1])
    return X, seconds


def _in_domain(tk, X, y, seed):
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(y))
    half = len(y) // 2
    a, b = idx[:half], idx[half:]
    m = tk.TransferClassifier(backbone="tk-identity-in-domain", progress=False, cache=False,
                              seed=seed)
    return m.fit(tk.from_arrays(X[a], y[a])).score(tk.from_arrays(X[b], y[b]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    import torch
    from torch import nn

    torch.set_num_threads(args.threads)
    os.environ.setdefault("TRANSFERKIT_CACHE", str(Path(tempfile.gettempdir()) / "tk-bench-cache"))
    import transferkit as tk

    where, t0 = machine(load=True), time.perf_counter()
    ds = tk.load_dataset("amazon").train
    dom = ds.domains.astype(str)
    y = np.asarray(ds.labels)
    if "tk-identity-in-domain" not in tk.list_backbones():
        tk.register_module("tk-identity-in-domain", lambda **kw: nn.Identity(),
                           modality="tabular", num_features=384)
    acc: dict[tuple[str, str, str], list[float]] = {}
    ceiling: dict[tuple[str, str], list[float]] = {}
    enc = {}
    for tag, spec in (("whole", "minilm-l6"), ("sentences", "minilm-l6+sentences")):
        X, enc[tag] = _features(tk, spec, ds, f"tk-features-{tag}")
        for d in DOMAINS:
            ceiling[(tag, d)] = [_in_domain(tk, X[dom == d], y[dom == d], s)
                                 for s in range(args.seeds)]
        for s, t in itertools.permutations(DOMAINS, 2):
            S = tk.from_arrays(X[dom == s], y[dom == s], name=s)
            T = tk.from_arrays(X[dom == t], y[dom == t], name=t)
            for label, (method, kw) in METHODS.items():
                for seed in range(args.seeds):
                    model = tk.DomainAdapter(method=method, backbone=f"tk-features-{tag}",
                                             seed=seed, cache=False, progress=False,
                                             baseline=False, **kw)
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        model.fit(S, T.without_labels())
                    acc.setdefault((tag, f"{s}->{t}", label), []).append(
                        model.evaluate_target(T)["target_accuracy"])
            print(f"{tag} {s}->{t}: " + ", ".join(
                f"{m} {100 * np.mean(acc[(tag, f'{s}->{t}', m)]):.1f}" for m in METHODS),
                flush=True)
    pairs = [f"{s}->{t}" for s, t in itertools.permutations(DOMAINS, 2)]
    short = {d: d[0].upper() for d in DOMAINS}
    lines = [f"{today()} · {where} · torch threads {args.threads} · "
             f"`python benchmarks/bench_adapt_sentences.py --seeds {args.seeds}`", "",
             f"Each cell: whole reviews → sentence by sentence, accuracy % on all 2,000 target "
             f"reviews (mean of {args.seeds} seed(s)); methods on the frozen features through "
             "`tk.DomainAdapter` (no source rows held out: `baseline=False`).", "",
             "| pair | " + " | ".join(METHODS) + " |", "|---|" + "---|" * len(METHODS)]
    for p in pairs:
        s, t = p.split("->")
        lines.append(f"| {short[s]} → {short[t]} | " + " | ".join(
            f"{100 * np.mean(acc[('whole', p, m)]):.1f} → "
            f"{100 * np.mean(acc[('sentences', p, m)]):.1f}" for m in METHODS) + " |")
    avg = {(tag, m): 100 * np.mean([np.mean(acc[(tag, p, m)]) for p in pairs])
           for tag in ("whole", "sentences") for m in METHODS}
    lines.append("| **average** | " + " | ".join(
        f"**{avg[('whole', m)]:.1f} → {avg[('sentences', m)]:.1f}** "
        f"({avg[('sentences', m)] - avg[('whole', m)]:+.1f})" for m in METHODS) + " |")
    lines += ["", "In-domain ceiling (a probe on 1,000 of the target's own reviews, tested on the "
              "other 1,000): " + ", ".join(
                  f"{d} {100 * np.mean(ceiling[('whole', d)]):.1f} → "
                  f"{100 * np.mean(ceiling[('sentences', d)]):.1f}" for d in DOMAINS) + ".",
              f"Encoding the 8,000 reviews (or reading the cache): whole {enc['whole']:.0f} s, "
              f"sentence by sentence {enc['sentences']:.0f} s. Whole benchmark "
              f"{(time.perf_counter() - t0) / 60:.1f} min."]
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        write_subsection(SECTION, TITLE, body)


if __name__ == "__main__":
    main()
