"""The datasets ``load_dataset`` knows by name: Banking77 (bundled) and those read from
``shared/datasets`` (digits, MNIST, USPS, Amazon reviews, SST-2, FSDD). Importing this module
registers them; :mod:`transferkit.data` does so, so every name works once the package loads."""

from __future__ import annotations

import gzip
import os
import wave
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import ConfigError, DataError
from .builtin import _BUNDLED, _need, find_shared_dataset, register_dataset
from .dataset import Dataset, DatasetSplits
from .loaders import from_csv
from .splits import train_test_split

__all__ = ["read_wav"]


@register_dataset(
    "banking77",
    "Online-banking queries -> 77 intents (10,003 / 3,080); bundled, CC BY 4.0",
    license="CC BY 4.0",
    modality="text",
)
def _banking77() -> DatasetSplits:
    folder = _BUNDLED / "banking77"
    attribution = (folder / "ATTRIBUTION.md").read_text(encoding="utf-8")
    parts = {}
    for split in ("train", "test"):
        ds = from_csv(
            folder / f"{split}.csv", text_col="text", label_col="category", name="banking77"
        )
        ds.meta.update(
            split=split,
            license="CC BY 4.0",
            attribution=attribution,
            citation="Casanueva et al., Efficient Intent Detection with Dual Sentence "
            "Encoders, NLP4ConvAI @ ACL 2020, arXiv:2003.04807",
        )
        parts[split] = ds
    return DatasetSplits(parts["train"], parts["test"], name="banking77")


@register_dataset(
    "digits",
    "scikit-learn's 8x8 handwritten digits (1,797 images, 10 classes); bundled",
    license="CC BY 4.0 (UCI optdigits)",
    modality="image",
)
def _digits(test_size: float = 0.2, seed: int = 0) -> DatasetSplits:
    from sklearn.datasets import load_digits

    d = load_digits()
    # The source grey levels run 0..16; images here are uint8 0..255 like every other set.
    images = np.rint(d.images * (255.0 / 16.0)).clip(0, 255).astype(np.uint8)
    ds = Dataset(
        images,
        d.target.astype(np.int64),
        "image",
        "digits",
        None,
        {
            "source": "sklearn.datasets.load_digits",
            "license": "CC BY 4.0",
            "citation": "Alpaydin & Kaynak, Optical Recognition of Handwritten Digits, UCI "
            "Machine Learning Repository, 1998",
        },
    )
    return train_test_split(ds, test_size=test_size, seed=seed)


# ----------------------------------------------------------------------------- shared/datasets


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3] if len(data) > 4 else 0
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    if data[:3] != b"\x00\x00\x08" or len(data) - offset != int(np.prod(dims)):
        raise DataError(
            f"Expected an IDX file of unsigned bytes in {str(path)!r}; got a bad header or size. "
            "Fix: restore the file (see SOURCE.md there)."
        )
    return np.frombuffer(bytearray(data), dtype=np.uint8, offset=offset).reshape(dims)


@register_dataset(
    "mnist",
    "MNIST handwritten digits 28x28 (60,000 / 10,000)",
    folder="mnist",
    license="CC BY-SA 3.0",
    modality="image",
)
def _mnist() -> DatasetSplits:
    root = find_shared_dataset("mnist")
    parts = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        img, lab = _need(root, f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz")
        x, y = _read_idx(img), _read_idx(lab).astype(np.int64)
        parts[split] = Dataset(
            x,
            y,
            "image",
            "mnist",
            None,
            {
                "source": str(root),
                "split": split,
                "license": "CC BY-SA 3.0",
                "citation": "LeCun et al., Proc. IEEE 86(11), 1998",
            },
        )
    return DatasetSplits(parts["train"], parts["test"], name="mnist")


@register_dataset(
    "usps",
    "USPS handwritten digits 16x16 (7,291 / 2,007); research use",
    folder="usps",
    license="none stated",
    modality="image",
)
def _usps() -> DatasetSplits:
    root = find_shared_dataset("usps")
    (f,) = _need(root, "usps.npz")
    parts = {}
    with np.load(f) as z:
        for split in ("train", "test"):
            # Stored as floats in [0, 1]; uint8 0..255 matches MNIST for digit transfer.
            x = np.rint(z[f"X_{split}"] * 255.0).clip(0, 255).astype(np.uint8)
            parts[split] = Dataset(
                x,
                z[f"y_{split}"].astype(np.int64),
                "image",
                "usps",
                None,
                {
                    "source": str(f),
                    "split": split,
                    "license": "none stated",
                    "citation": "Hull, IEEE TPAMI 16(5), 1994",
                },
            )
    return DatasetSplits(parts["train"], parts["test"], name="usps")


@register_dataset(
    "amazon",
    "Amazon reviews, 4 domains x 2,000, binary sentiment (domain shift); research use",
    folder="amazon_multidomain",
    license="none stated",
    modality="text",
)
def _amazon(
    domain: str | None = None, test_size: float | None = None, seed: int = 0
) -> DatasetSplits:
    """All four domains (``domains`` set) or one; no official split unless ``test_size``."""
    root = find_shared_dataset("amazon_multidomain", "amazon")
    (f,) = _need(root, "amazon_mds_labeled.csv")
    df = pd.read_csv(f, keep_default_na=False)
    titles, texts = df["title"].astype(str).tolist(), df["review_text"].astype(str).tolist()
    # Title and body together, as in the usual processed versions of this corpus.
    inputs = [
        f"{t}{'' if not t or t[-1] in '.!?' else '.'} {x}".strip()
        for t, x in zip(titles, texts, strict=True)
    ]
    ds = Dataset(
        inputs,
        df["label"].to_numpy().astype(np.int64),
        "text",
        "amazon",
        df["domain"].astype(str).to_numpy().astype(str),
        {
            "source": str(f),
            "label_names": {0: "negative", 1: "positive"},
            "license": "none stated (research use)",
            "citation": "Blitzer, Dredze, Pereira, ACL 2007",
        },
    )
    if domain is not None:
        ds = ds.select_domain(domain)
    if test_size is None:
        return DatasetSplits(ds, name=ds.name)
    return train_test_split(ds, test_size=float(test_size), seed=int(seed))


@register_dataset(
    "sst2",
    "SST-2 movie-review sentences, binary sentiment (6,920 / 872 / 1,821)",
    folder="sst2",
    license="none stated",
    modality="text",
)
def _sst2() -> DatasetSplits:
    root = find_shared_dataset("sst2") / "sentence"
    parts = {}
    for split, fname in (
        ("train", "stsa.binary.train"),
        ("val", "stsa.binary.dev"),
        ("test", "stsa.binary.test"),
    ):
        (f,) = _need(root, fname)
        labels, texts = [], []
        for i, line in enumerate(f.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            lab, _, text = line.partition(" ")
            if lab not in ("0", "1") or not text.strip():
                raise DataError(
                    f"Expected '<0|1> <sentence>' on line {i} of {str(f)!r}; got {line[:60]!r}."
                )
            labels.append(int(lab))
            texts.append(text)
        parts[split] = Dataset(
            texts,
            np.asarray(labels, dtype=np.int64),
            "text",
            "sst2",
            None,
            {
                "source": str(f),
                "split": split,
                "label_names": {0: "negative", 1: "positive"},
                "license": "none stated (research use)",
                "citation": "Socher et al., EMNLP 2013",
            },
        )
    return DatasetSplits(parts["train"], parts["test"], parts["val"], name="sst2")


def read_wav(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """A 16-bit PCM wav file as a mono ``float32`` waveform in ``[-1, 1)`` and its sample rate."""
    try:
        with wave.open(str(path), "rb") as w:
            width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
            frames = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as e:
        raise DataError(
            f"Expected a PCM wav file at {str(path)!r}; could not read it: {e}."
        ) from None
    if width != 2:
        raise DataError(f"Expected 16-bit PCM in {str(path)!r}; got {8 * width}-bit samples.")
    x = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
    if channels > 1:
        x = x.reshape(-1, channels).mean(axis=1)
    return x, rate


@register_dataset(
    "fsdd",
    "Free Spoken Digit Dataset, 8 kHz speech, 10 digits, 6 speakers (2,700 / 300)",
    folder="fsdd",
    license="CC BY-SA 4.0",
    modality="audio",
)
def _fsdd(target: str = "digit") -> DatasetSplits:
    """Labels are the digit, or the speaker with ``target="speaker"``; domains are the speakers."""
    if target not in ("digit", "speaker"):
        raise ConfigError(
            f"The 'target' option of fsdd must be 'digit' or 'speaker'; got {target!r}."
        )
    root = find_shared_dataset("fsdd")
    (index,) = _need(root, "index.csv")
    df = pd.read_csv(index)
    parts = {}
    for split in ("train", "test"):
        rows = df[df["split"] == split]
        waves, rates = [], set()
        for fname in rows["file"]:
            x, rate = read_wav(root / "recordings" / fname)
            waves.append(x)
            rates.add(rate)
        if len(rates) != 1:
            raise DataError(f"Expected one sample rate in {str(root)!r}; got {sorted(rates)}.")
        labels = (
            rows["digit"].to_numpy().astype(np.int64)
            if target == "digit"
            else rows["speaker"].astype(str).to_numpy().astype(str)
        )
        parts[split] = Dataset(
            waves,
            labels,
            "audio",
            "fsdd",
            rows["speaker"].astype(str).to_numpy().astype(str),
            {
                "source": str(root),
                "split": split,
                "sample_rate": rates.pop(),
                "domain_col": "speaker",
                "target": target,
                "license": "CC BY-SA 4.0",
                "citation": "Jackson et al., Free Spoken Digit Dataset, 2016",
            },
        )
    return DatasetSplits(parts["train"], parts["test"], name="fsdd")
