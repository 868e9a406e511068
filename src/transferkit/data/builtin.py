"""Named datasets and the one entry point that turns any source string into splits.

``load_dataset`` accepts a registered name (``"banking77"``, ``"mnist"``...), a table file, a
folder (class folders of images, or ``train``/``test`` tables), and an optional
``":key=value"`` suffix (``"reviews.csv:domain=books"``), which is how the CLI passes options.

Two built-ins ship inside the package (``banking77``, CC BY 4.0 with attribution, and
scikit-learn's ``digits``). The others are read in place from a local copy of the project's
``shared/datasets`` folder, found through ``$TRANSFERKIT_DATA`` or by walking up from the
current directory and from the package; they are never copied into the package.
"""

from __future__ import annotations

import difflib
import gzip
import inspect
import logging
import os
import re
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import ConfigError, DataError
from ..registry import Registry
from .audio import from_audio_folder, is_audio_folder
from .dataset import Dataset, DatasetSplits
from .images import from_image_folder
from .loaders import from_csv, from_table
from .readers import table_format, table_stem
from .splits import train_test_split

__all__ = [
    "load_dataset",
    "list_datasets",
    "register_dataset",
    "data_search_paths",
    "find_shared_dataset",
    "DATASETS",
    "read_wav",
]

log = logging.getLogger(__name__)

DATASETS: Registry[DatasetSplits] = Registry("dataset")
ENV_VAR = "TRANSFERKIT_DATA"
_BUNDLED = Path(__file__).resolve().parent / "builtin"
# Where the walk up "from the package" starts; a module constant so tests can move it.
_PACKAGE_DIR = Path(__file__).resolve().parent
_SPEC = re.compile(r"^(?P<src>.+?):(?P<opts>[A-Za-z_]\w*=[^:]*)$")


def register_dataset(
    name: str, description: str, folder: str | None = None, **info: Any
) -> Callable:
    """Decorator registering a loader ``fn(**options) -> DatasetSplits`` under ``name``.

    Args:
        name: the name users type.
        description: one line for :func:`list_datasets`.
        folder: for data read from ``shared/datasets``, the sub-folder that must exist there;
            ``None`` for data bundled or generated in the package.
        **info: free metadata (``license``, ``modality``...).
    """
    return DATASETS.register(name, description=description, folder=folder, **info)


# ----------------------------------------------------------------------------- locating data


def data_search_paths() -> list[Path]:
    """Candidate ``datasets`` folders, in the order they are tried."""
    out: list[Path] = []
    env = os.environ.get(ENV_VAR)
    if env:
        out.append(Path(env).expanduser())
    for start in (Path.cwd(), _PACKAGE_DIR):
        for p in (start, *start.parents):
            out.append(p / "shared" / "datasets")
    seen: set[str] = set()
    return [p for p in out if not (str(p) in seen or seen.add(str(p)))]


def find_shared_dataset(folder: str, name: str | None = None) -> Path:
    """The first ``<candidate>/<folder>`` that exists.

    Raises:
        DataError: saying where it looked and how to point ``$TRANSFERKIT_DATA`` at the data.
    """
    for base in data_search_paths():
        if (base / folder).is_dir():
            return base / folder
    env = os.environ.get(ENV_VAR)
    env_txt = f"${ENV_VAR}={env!r} (no {folder}/ there)" if env else f"${ENV_VAR} (not set)"
    raise DataError(
        f"Expected the {name or folder!r} dataset in a local folder '{folder}/'; it is not bundled "
        f"with transferkit and was not found. Looked in: {env_txt}; 'shared/datasets' in "
        f"{str(Path.cwd())!r} and each parent; 'shared/datasets' above the package "
        f"({str(_PACKAGE_DIR)!r}). Fix: export {ENV_VAR}=/path/to/datasets (the folder that "
        f"holds '{folder}/')."
    )


def _need(folder: Path, *names: str) -> list[Path]:
    paths = [folder / n for n in names]
    missing = [p.name for p in paths if not p.exists()]
    if missing:
        raise DataError(
            f"Expected {list(names)} in {str(folder)!r}; got {missing} missing. Fix: restore "
            "the files (see SOURCE.md there)."
        )
    return paths


# ----------------------------------------------------------------------------- the entry point


def list_datasets() -> list[dict[str, Any]]:
    """One dict per named dataset.

    Keys: ``name``, ``description``, ``available`` (bool), ``location`` (``"bundled"``, the
    folder found, or ``None``) and ``license``.
    """
    out = []
    for name in DATASETS.names():
        info = DATASETS.info(name)
        folder = info.get("folder")
        if folder is None:
            available, location = True, "bundled"
        else:
            try:
                available, location = True, str(find_shared_dataset(folder, name))
            except DataError:
                available, location = False, None
        out.append(
            {
                "name": name,
                "description": info["description"],
                "available": available,
                "location": location,
                "license": info.get("license"),
            }
        )
    return out


def load_dataset(name: str | os.PathLike, **kw: Any) -> DatasetSplits:
    """Load a named dataset, a table file or a folder as :class:`DatasetSplits`.

    Args:
        name: a registered name (see :func:`list_datasets`), a path to a table
            (``.csv``/``.tsv``/``.jsonl``/``.parquet``), or a folder: class folders of images,
            a ``train``/``test`` image layout, or ``train.csv`` + ``test.csv`` style tables. A
            suffix ``":domain=books"`` (comma-separated ``key=value`` pairs) adds options; a
            value may hold commas (``"tickets.csv:label_col=queue,priority"``).
        **kw: options of the named loader, or of :func:`from_table` /
            :func:`from_image_folder`; ``domain=`` keeps the rows of one domain in every split;
            ``label_col="queue,priority"`` loads several label columns.

    Returns:
        ``.train`` and ``.test`` (and ``.val`` where the source has one). A single file or an
        image folder without splits gives ``train`` only (``test`` is ``None``): split it with
        :func:`train_test_split`.

    Raises:
        DataError: unknown name (with close matches), missing local data, or bad input.
        ConfigError: an option the loader does not accept.

    Example:
        >>> splits = load_dataset("banking77")
        >>> len(splits.train), len(splits.test)
        (10003, 3080)
    """
    spec = os.fspath(name)
    if not Path(spec).exists():
        m = _SPEC.match(spec)
        if m:
            spec = m["src"]
            pairs: list[str] = []
            for piece in m["opts"].split(","):
                if "=" in piece or not pairs:
                    pairs.append(piece)
                else:  # "label_col=a,b": a comma inside a value, not a new option
                    pairs[-1] += "," + piece
            for pair in pairs:
                key, _, text = pair.partition("=")
                value = _literal(text)
                if key in kw and kw[key] != value:
                    raise ConfigError(
                        f"Option {key!r} given twice: {value!r} in the source string "
                        f"and {kw[key]!r} as a keyword. Give it once."
                    )
                kw.setdefault(key, value)
    domain = kw.pop("domain", None)
    key = spec.lower()
    if key in DATASETS:
        fn = DATASETS.get(key)
        if domain is not None and "domain" in inspect.signature(fn).parameters:
            # The loader selects the domain itself, before it splits.
            kw["domain"], domain = domain, None
        splits = _call(fn, f"load_dataset({key!r})", kw)
    elif Path(spec).is_file():
        ds = _call(from_table, f"load_dataset({spec!r})", {"path": spec, **kw})
        splits = DatasetSplits(ds, name=ds.name)
    elif Path(spec).is_dir():
        splits = _load_folder(Path(spec), kw)
    else:
        raise DataError(_unknown_message(spec))
    if domain is not None:
        parts = {k: v.select_domain(domain) for k, v in splits}
        splits = DatasetSplits(
            parts["train"], parts.get("test"), parts.get("val"), name=f"{splits.name}:{domain}"
        )
    return splits


def _literal(value: str) -> Any:
    """Option values from a source string: numbers and true/false/none as such, else text."""
    low = value.lower()
    if low in ("true", "false", "none"):
        return {"true": True, "false": False, "none": None}[low]
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def _unknown_message(spec: str) -> str:
    names = DATASETS.names()
    close = difflib.get_close_matches(spec.lower(), names, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return (
        f"Expected a dataset name or an existing file or folder; got {spec!r}, which is neither."
        f"{hint} Named datasets: {', '.join(names)}. Fix: check the spelling, or the path "
        f"relative to {os.getcwd()!r}."
    )


def _call(fn: Callable, what: str, kw: dict[str, Any]) -> Any:
    """Call ``fn(**kw)``; an unknown keyword becomes a ConfigError listing the accepted ones."""
    sig = inspect.signature(fn)
    try:
        sig.bind(**kw)
    except TypeError:
        accepted = [p for p in sig.parameters if p != "path"]
        unknown = sorted(set(kw) - set(sig.parameters))
        raise ConfigError(
            f"{what} does not accept option(s) {unknown}; it accepts {accepted or 'none'} "
            "(and domain=)."
        ) from None
    return fn(**kw)


def _is_table(f: Path) -> bool:
    try:
        table_format(f)
    except DataError:
        return False
    return True


def _load_folder(folder: Path, kw: dict[str, Any]) -> DatasetSplits:
    """``train``/``test``/``val`` tables if the folder has them, else an audio or image folder."""
    tables: dict[str, Path] = {}
    aliases = {
        "train": "train",
        "test": "test",
        "val": "val",
        "valid": "val",
        "validation": "val",
        "dev": "val",
    }
    for f in sorted(folder.iterdir()):
        stem = table_stem(f).lower()
        if stem in aliases and f.is_file() and _is_table(f):
            tables.setdefault(aliases[stem], f)
    if "train" in tables:
        kw.setdefault("name", folder.resolve().name)
        parts = {
            k: _call(from_table, f"load_dataset({str(folder)!r})", {"path": p, **kw})
            for k, p in tables.items()
        }
        return DatasetSplits(parts["train"], parts.get("test"), parts.get("val"), name=kw["name"])
    if is_audio_folder(folder):
        out = _call(from_audio_folder, f"load_dataset({str(folder)!r})", {"path": folder, **kw})
        return out if isinstance(out, DatasetSplits) else DatasetSplits(out, name=out.name)
    out = _call(from_image_folder, f"load_dataset({str(folder)!r})", {"path": folder, **kw})
    return out if isinstance(out, DatasetSplits) else DatasetSplits(out, name=out.name)


# ----------------------------------------------------------------------------- bundled


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
