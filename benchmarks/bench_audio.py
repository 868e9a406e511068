"""Audio (FSDD): speech-embedding + probe vs the from-scratch log-mel baselines, and encoding
throughput against the ONNX models run directly.

Protocols (issue 20), all on FSDD (3,000 clips, 10 digits, 6 speakers, 8 kHz):

* leave-one-speaker-out (LOSO): both splits pooled; each speaker in turn is the test set and
  the model is fitted on the other five (``tk.compare(..., group_by="speaker")``). With all
  data: probe on speech-embedding, log-mel statistics + logistic regression, and the log-mel
  CNN trained from scratch (one seed: it is the slow one). With 1 / 5 / 20 clips per digit
  (drawn from the five training speakers, ``--seeds`` seeds): the probe and log-mel + LR.
  Accuracy is over all 3,000 held-out predictions.
* the official split (2,700 / 300): the same three fitted on train, scored on test.
* throughput: clips/s of ``tk.extract_features(speech-embedding)`` (no cache) against a loop
  that runs the two ONNX models directly on the same clips the same way (openWakeWord's
  recipe: resample, pad, int16 scale, mel per clip, ``x/10+2``, 76-frame windows every 8);
  the first ``--clips`` clips, interleaved repeats, medians.

Goals: LOSO >= 95 % with 5 clips per digit and >= 98 % with all data; official split
>= 99.5 %; throughput ratio >= 0.9. Anchors measured in the issue beforehand (LOSO, all
data): log-mel + LR 67.3 %, log-mel CNN 80.7 %, speech embedding + LR 96.9 %; 1 / 5 / 20 per
digit: 83.2 / 93.0 / 96.1 (log-mel + LR 26.0 / 52.8 / 64.3).

Run: ``python benchmarks/bench_audio.py [--seeds 3] [--clips 500] [--repeats 3] [--no-cnn]
[--write]`` (``--write`` replaces the "Audio (FSDD)" section of ``benchmarks/RESULTS.md``).
Needs ``pip install 'transferkit[audio]'`` and ``shared/datasets/fsdd``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import machine, today, use_cache, write_section  # noqa: E402

import transferkit as tk  # noqa: E402
from transferkit.data import resample  # noqa: E402
from transferkit.data.groups import pool_splits  # noqa: E402

HEADING = "Audio (FSDD)"
BACKBONE = "speech-embedding"
ANCHOR_LOSO = {"probe": 96.9, "baseline:logmel-cnn": 80.7, "baseline:logmel": 67.3}
ANCHOR_SHOTS = {"probe": {1: 83.2, 5: 93.0, 20: 96.1},
                "baseline:logmel": {1: 26.0, 5: 52.8, 20: 64.3}}
NAMES = {"probe": "speech-embedding + probe (logistic)", "baseline:logmel":
         "log-mel statistics + logistic (no transfer)", "baseline:logmel-cnn":
         "log-mel CNN from scratch (no transfer)"}


def _direct(bb, waves: list[np.ndarray], rate: int) -> np.ndarray:
    """The ONNX models run by hand, as openWakeWord does, pooled like the backbone."""
    mel, emb = bb.sessions()
    out = np.empty((len(waves), bb.num_features), np.float32)
    for i, w in enumerate(waves):
        x = resample(w, rate, 16000)
        short = bb.min_samples - len(x)
        if short > 0:
            x = np.pad(x, (short // 2, short - short // 2))
        spec = np.squeeze(mel.run(None, {"input": (x * 32768).astype(np.float32)[None]})[0])
        spec = spec / 10 + 2
        wins = [spec[j:j + 76] for j in range(0, len(spec), 8) if len(spec[j:j + 76]) == 76]
        e = emb.run(None, {"input_1": np.array(wins, np.float32)[..., None]})[0].reshape(-1, 96)
        out[i] = np.concatenate([e.mean(0), e.max(0), e.std(0)])
    return out


def throughput(ds, n: int, repeats: int) -> dict:
    clips = ds.test.subset(range(min(n, len(ds.test)))) if n <= len(ds.test) else \
        ds.train.subset(range(n))
    bb = tk.create_backbone(BACKBONE)
    ours, direct = [], []
    a = tk.extract_features(bb, clips, cache=False, progress=False)  # warm-up (sessions)
    b = _direct(bb, clips.inputs, clips.meta["sample_rate"])
    diff = float(np.abs(a - b).max())
    for r in range(repeats):
        for which in ((0, 1) if r % 2 == 0 else (1, 0)):
            t0 = time.perf_counter()
            if which == 0:
                tk.extract_features(bb, clips, cache=False, progress=False)
                ours.append(len(clips) / (time.perf_counter() - t0))
            else:
                _direct(bb, clips.inputs, clips.meta["sample_rate"])
                direct.append(len(clips) / (time.perf_counter() - t0))
    o, d = statistics.median(ours), statistics.median(direct)
    return {"n": len(clips), "ours": o, "direct": d, "ratio": o / d, "max_abs_diff": diff,
            "threads": bb.threads}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--clips", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-cnn", action="store_true", help="leave out the log-mel CNN")
    ap.add_argument("--cache", default=None, help="feature cache folder (default: a fresh one)")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    _tmp = use_cache(args.cache, "tk-bench-audio-")  # noqa: F841  kept alive for the run
    t_start = time.perf_counter()
    ds = tk.load_dataset("fsdd")
    pool = pool_splits(ds)
    baselines = ["baseline:logmel"] + ([] if args.no_cnn else ["baseline:logmel-cnn"])

    t0 = time.perf_counter()
    tk.extract_features(tk.create_backbone(BACKBONE), pool, progress=False)
    encode_s = time.perf_counter() - t0
    print(f"encoded {len(pool)} clips in {encode_s:.1f}s", flush=True)

    tp = throughput(ds, args.clips, args.repeats)
    print(f"throughput: {tp}", flush=True)

    official = {}
    for name in ["probe", *baselines]:
        base, _, kind = name.partition(":")
        kw = {"baseline": kind} if kind else {}
        t0 = time.perf_counter()
        m = tk.TransferClassifier(backbone=BACKBONE, strategy=base, progress=False, **kw)
        m.fit(ds.train)
        official[name] = (100 * m.score(ds.test), time.perf_counter() - t0)
        print(f"official split {name}: {official[name][0]:.2f} % ({official[name][1]:.0f}s)",
              flush=True)

    shots = tk.compare(pool, strategies=["probe", "baseline:logmel"], shots=[1, 5, 20],
                       seeds=args.seeds, backbone=BACKBONE, group_by="speaker", progress=False)
    print(shots, flush=True)
    full = tk.compare(pool, strategies=["probe", *baselines], fractions=[1.0], seeds=1,
                      backbone=BACKBONE, group_by="speaker", progress=True)
    print(full, flush=True)

    loso = {r.strategy: 100 * r.accuracy for r in full.table.itertuples()}
    per_speaker = full.folds.pivot(index="strategy", columns="group", values="accuracy")
    sm = shots.table.groupby(["strategy", "shots"])["accuracy"].agg(["mean", "std"])
    minutes = (time.perf_counter() - t_start) / 60

    def mark(v, goal):
        return "**met**" if v >= goal else "not met"

    lines = [
        "Written by `benchmarks/bench_audio.py` (issue 20). FSDD: 3,000 clips, 10 digits, "
        "6 speakers, 8 kHz (resampled to 16 kHz by the models). Leave-one-speaker-out (LOSO): "
        "both splits pooled, each speaker in turn held out, accuracy over all 3,000 held-out "
        "predictions (`tk.compare(..., group_by=\"speaker\")`).",
        "",
        f"Machine: {machine(load=True)}; run with `taskset -c 1` (one core). Date: {today()}. "
        f"Whole script: {minutes:.0f} min.",
        "",
        "### LOSO, all data",
        "",
        "| model | accuracy % | anchor (issue, measured beforehand) | "
        + " | ".join(f"held-out {g}" for g in per_speaker.columns) + " |",
        "|---|---|---|" + "---|" * len(per_speaker.columns),
    ]
    for name in ["probe", *baselines]:
        cells = " | ".join(f"{100 * per_speaker.loc[name, g]:.1f}" for g in per_speaker.columns)
        lines.append(f"| {NAMES[name]} | {loso[name]:.1f} | {ANCHOR_LOSO[name]} | {cells} |")
    lines += ["", f"Goal: speech-embedding + probe >= 98 % with all data: "
              f"{mark(loso['probe'], 98.0)} ({loso['probe']:.1f} %).", "",
              f"### LOSO, 1 / 5 / 20 clips per digit ({args.seeds} seeds, mean ± std)", "",
              "| model | 1 | 5 | 20 | anchor 1 / 5 / 20 |", "|---|---|---|---|---|"]
    for name in ["probe", "baseline:logmel"]:
        cells = " | ".join(f"{100 * sm.loc[(name, s), 'mean']:.1f} ± "
                           f"{100 * sm.loc[(name, s), 'std']:.1f}" for s in (1, 5, 20))
        anchor = " / ".join(str(ANCHOR_SHOTS[name][s]) for s in (1, 5, 20))
        lines.append(f"| {NAMES[name]} | {cells} | {anchor} |")
    five = 100 * sm.loc[("probe", 5), "mean"]
    lines += ["", f"Goal: >= 95 % with 5 clips per digit: {mark(five, 95.0)} ({five:.1f} %). "
              f"Verdict over these {args.seeds} seeds x 3 amounts (paired by sample): "
              f"{shots.verdict} — {shots.reason} (The all-data comparison has one seed, one "
              "pair: its verdict cannot reach significance and is not shown.)", "",
              "### Official split (2,700 / 300; test speakers also in training)", "",
              "| model | accuracy % | fit + score s |", "|---|---|---|"]
    for name, (acc, secs) in official.items():
        lines.append(f"| {NAMES[name]} | {acc:.2f} | {secs:.0f} |")
    lines += ["", f"Goal: speech-embedding + probe >= 99.5 %: "
              f"{mark(official['probe'][0], 99.5)} ({official['probe'][0]:.2f} %).", "",
              "### Encoding throughput", "",
              f"First {tp['n']} test clips, onnxruntime with {tp['threads']} thread(s), "
              f"{args.repeats} interleaved repeats, medians. `extract_features` (no cache) vs "
              "the two ONNX models run directly in a loop the same way; largest difference "
              f"between their features {tp['max_abs_diff']:.1e}.", "",
              "| path | clips/s |", "|---|---|",
              f"| transferkit `extract_features(speech-embedding)` | {tp['ours']:.1f} |",
              f"| onnxruntime directly | {tp['direct']:.1f} |", "",
              f"Ratio {tp['ratio']:.2f} (goal >= 0.9: {mark(tp['ratio'], 0.9)}). All 3,000 "
              f"clips encoded once in {encode_s:.0f} s."]
    body = "\n".join(lines)
    print(body)
    if args.write:
        write_section(HEADING, body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
