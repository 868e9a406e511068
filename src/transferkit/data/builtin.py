"""The one entry point that turns any source string into splits, and the dataset registry.

``load_dataset`` accepts a registered name (``"banking77"``, ``"mnist"``...), a table file, a
folder (class folders of images, or ``train``/``test`` tables), and an optional
``":key=value"`` suffix (``"reviews.csv:domain=books"``), which is how the CLI passes options.

Two built-ins ship inside the package (``banking77``, CC BY 4.0 with attribution, and
scikit-learn's ``digits``). The others are read in place from a local copy of the project's
``shared/datasets`` folder, found through ``$TRANSFERKIT_DATA`` or by walking up from the
current directory and from the package; they are never copied into the package. The loaders
of the named datasets live in :mod:`transferkit.data.named_datasets`.
"""

from __future__ import annotations

import difflib
import inspect
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..exceptions import ConfigError, DataError
from ..registry import Registry
from .audio import from_audio_folder, is_audio_folder
from .dataset import DatasetSplits
from .images import from_image_folder
from .loaders import from_table
from .readers import table_format, table_stem

__all__ = [
    "load_dataset",
    "list_datasets",
    "register_dataset",
    "data_search_paths",
    "find_shared_dataset",
    "DATASETS",
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
