"""Text encoding throughput: ``minilm-l6`` vs sentence-transformers ``encode``.

Protocol (from the issue): the first 2,000 sentences of the bundled Banking77 training split
(file order, no sampling), batch size 64, both models loaded once in this process, one warm-up
pass each, then ``--repeats`` timed passes of each, interleaved (the order alternates every
repeat so that neither side always runs first). Reported: the median sentences/s of each, the
ratio of the medians, and the smallest cosine between our embedding and
sentence-transformers' for the same sentence (the goal: ratio >= 1.3 with cosine >= 0.9999).
Then the whole of Banking77 (train + test, 13,083 sentences) is encoded once by each.

``--ablation`` also times, interleaved with the two above, our backbone with the fast
inference forward switched off (Hugging Face forward, but token-length sorting and one
tokenisation) and with the fast forward on plain torch matrix multiplies instead of oneDNN, to
show what each step brings.

Run: ``python benchmarks/bench_text_encode.py [--repeats 7] [--ablation] [--no-full] [--write]``
(``--write`` replaces this script's section of ``benchmarks/RESULTS.md``). Needs the bench
extra: ``pip install sentence-transformers``.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import machine, today, write_section  # noqa: E402

import transferkit  # noqa: E402
from transferkit.backbones import create_backbone  # noqa: E402
from transferkit.backbones.text import _onednn_linear_available, minilm_l6_path  # noqa: E402

HEADING = "Text encoding throughput (minilm-l6 vs sentence-transformers)"
DATA = Path(transferkit.__file__).parent / "data" / "builtin" / "banking77"
N_SENTENCES = 2000
BATCH = 64


def _read(split: str) -> list[str]:
    with open(DATA / f"{split}.csv", newline="", encoding="utf-8") as f:
        return [row["text"] for row in csv.DictReader(f)]


def _min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return float((a * b).sum(1).min())


def _timed(fn: Callable[[], np.ndarray]) -> tuple[float, np.ndarray]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--ablation", action="store_true", help="also time the intermediate steps")
    ap.add_argument("--no-full", action="store_true", help="skip the whole-Banking77 timing")
    ap.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = ap.parse_args(argv)
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")

    from sentence_transformers import SentenceTransformer

    sentences = _read("train")[:N_SENTENCES]
    ours = create_backbone("minilm-l6")
    ours.eval()
    peer = SentenceTransformer(str(minilm_l6_path()), device="cpu")

    def run_ours() -> np.ndarray:
        return ours.features(sentences, batch_size=BATCH)

    def run_peer() -> np.ndarray:
        return peer.encode(sentences, batch_size=BATCH, show_progress_bar=False)

    def variant(fast: bool, backend: str) -> Callable[[], np.ndarray]:
        def run() -> np.ndarray:
            ours.fast_inference, ours.linear_backend = fast, backend
            try:
                return ours.features(sentences, batch_size=BATCH)
            finally:
                ours.fast_inference, ours.linear_backend = True, "auto"

        return run

    runs: dict[str, Callable[[], np.ndarray]] = {"ours": run_ours, "sentence-transformers": run_peer}
    if args.ablation:
        runs["ours, Hugging Face forward (token sort only)"] = variant(False, "auto")
        runs["ours, fast forward on torch matmul (no oneDNN)"] = variant(True, "torch")

    # Warm-up (one pass each), and the embeddings for the cosine check.
    outputs = {name: fn() for name, fn in runs.items()}
    ref = outputs["sentence-transformers"]
    cosines = {name: _min_cosine(out, ref) for name, out in outputs.items()}

    load_before = os.getloadavg()
    times: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for r in range(args.repeats):
        for name in names if r % 2 == 0 else names[::-1]:
            times[name].append(_timed(runs[name])[0])
    load_after = os.getloadavg()

    rate = {name: N_SENTENCES / statistics.median(t) for name, t in times.items()}
    ratio = rate["ours"] / rate["sentence-transformers"]
    # The per-repeat ratio spread shows how noisy the machine was.
    per_rep = sorted(p / o for o, p in zip(times["ours"], times["sentence-transformers"], strict=True))

    full = None
    if not args.no_full:
        everything = _read("train") + _read("test")
        t_ours, e_ours = _timed(lambda: ours.features(everything, batch_size=BATCH))
        t_peer, e_peer = _timed(
            lambda: peer.encode(everything, batch_size=BATCH, show_progress_bar=False)
        )
        full = {
            "n": len(everything),
            "ours_s": t_ours,
            "peer_s": t_peer,
            "cos": _min_cosine(e_ours, e_peer),
        }

    # Padded tokens per pass: sorted by token length (ours) vs by characters (the peer).
    lens = ours.pretokenize(sentences).lengths

    def padded(order: np.ndarray) -> int:
        return sum(int(lens[order[i : i + BATCH]].max()) * len(order[i : i + BATCH])
                   for i in range(0, len(order), BATCH))

    pad_tok = padded(np.argsort(lens, kind="stable"))
    pad_chr = padded(np.argsort([-len(s) for s in sentences], kind="stable"))

    import sentence_transformers
    import transformers

    lines = [
        f"Run: `python benchmarks/bench_text_encode.py --repeats {args.repeats}"
        f"{' --ablation' if args.ablation else ''}{' --no-full' if args.no_full else ''}"
        f"{' --write' if args.write else ''}` on {today()}.",
        f"Machine: {machine()}; torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"transformers {transformers.__version__}, sentence-transformers "
        f"{sentence_transformers.__version__}; oneDNN linear path "
        f"{'on' if _onednn_linear_available() else 'off'}. Load average before/after the timed "
        f"repeats: {load_before[0]:.1f} / {load_after[0]:.1f} (the cores are shared).",
    ]
    if max(load_before[0], load_after[0]) > (os.cpu_count() or 1):
        lines[-1] += (
            " The load exceeded the core count, so the absolute rates (here and for the whole "
            "dataset) are well below an idle machine's; the ratio comes from interleaved passes."
        )
    lines += [
        "",
        f"Data: the first {N_SENTENCES:,} sentences of the bundled Banking77 training split (file "
        f"order), batch size {BATCH}, one warm-up pass each, then {args.repeats} timed passes "
        "each, interleaved (order alternating), in one process. Peer: "
        "`SentenceTransformer(minilm_l6_path()).encode(sentences, batch_size=64)`; ours: "
        "`create_backbone('minilm-l6').features(sentences, batch_size=64)`.",
        "",
        "| encoder | sentences/s (median) | median time (s) | min cosine vs sentence-transformers |",
        "|---|---|---|---|",
    ]
    for name in names:
        lines.append(
            f"| {name} | {rate[name]:.0f} | {statistics.median(times[name]):.2f} | "
            f"{cosines[name]:.7f} |"
        )
    lines += [
        "",
        f"**Ratio ours / sentence-transformers: {ratio:.2f}x** (median rates; per-repeat ratios "
        f"{per_rep[0]:.2f}-{per_rep[-1]:.2f}, median {statistics.median(per_rep):.2f}). "
        f"Goal >= 1.3x with cosine >= 0.9999: "
        f"{'met' if ratio >= 1.3 and cosines['ours'] >= 0.9999 else 'NOT met'}.",
    ]
    if full is not None:
        lines += [
            "",
            f"Whole Banking77 ({full['n']:,} sentences, train + test), one pass each: ours "
            f"{full['ours_s']:.1f} s ({full['n'] / full['ours_s']:.0f}/s), sentence-transformers "
            f"{full['peer_s']:.1f} s ({full['n'] / full['peer_s']:.0f}/s), ratio "
            f"{full['peer_s'] / full['ours_s']:.2f}x, min cosine {full['cos']:.7f} "
            "(anchor: ~41 s for sentence-transformers on this kind of machine).",
        ]
    lines += [
        "",
        "Where the time goes: ours tokenises the whole input once and sorts by true token length "
        f"({pad_tok:,} tokens per pass incl. padding, vs {pad_chr:,} when sorted by characters "
        f"as sentence-transformers does; {int(lens.sum()):,} real tokens), then runs an inference-only BERT forward: fused Q/K/V projection, every matrix multiply "
        "on the real tokens only (padding packed out; only attention sees the padded layout), "
        "oneDNN pre-packed fp32 matrix multiplies with GELU and residual adds fused (MKL's sgemm takes a generic path on "
        "this AMD CPU, oneDNN uses AVX-512), SDPA attention without a mask for batches that have "
        "no padding, no pooler. fp32 throughout, so the embeddings are unchanged.",
    ]
    body = "\n".join(lines)
    print(body)
    if args.write:
        write_section(HEADING, body)
    return {"ratio": ratio, "rates": rate, "cosines": cosines, "full": full}


if __name__ == "__main__":
    main()
