"""Image folders: ``root/<class>/<image>``, optionally under ``train/``, ``val/`` and ``test/``.

Inputs stay file paths (the vision backbones decode them lazily, batch by batch), but every
file is opened and decoded once here, so a truncated or mislabelled file fails at load time
with its name, not an hour into training.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import DataError
from .dataset import Dataset, DatasetSplits
from .validate import require_path

__all__ = ["from_image_folder", "verify_images", "to_8bit", "to_rgb", "IMAGE_EXTENSIONS"]

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (
    ".jpg",
    ".jpeg",
    ".png",
    ".bmp",
    ".gif",
    ".tif",
    ".tiff",
    ".webp",
    ".ppm",
    ".pgm",
    ".pbm",
)
# Folder names that mark a split rather than a class.
_SPLIT_NAMES = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "dev": "val",
    "test": "test",
    "testing": "test",
}
_SHOW = 5


# 16- and 32-bit integer greyscale (PNG, TIFF); PIL's convert() clips them to 0..255.
_WIDE_INT_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N")


def to_8bit(im: Any, where: str = "image") -> Any:
    """A PIL image with more than 8 bits per pixel scaled into 8-bit greyscale (mode ``L``).

    ``convert("RGB")`` clips a 16-bit image to 0..255, which turns almost every pixel of a
    16-bit PNG white. Here 16-bit integer images (``I;16``, and ``I`` holding values in
    0..65535) are divided by 257, so 65535 is 255; ``I`` images with other values are scaled
    from their own minimum and maximum. Float images (``F``, e.g. 32-bit TIFF) in ``[0, 1]``
    are multiplied by 255; others are scaled from their minimum and maximum. Other modes come
    back unchanged.

    Raises:
        DataError: a float image holds NaN or infinite values.
    """
    from PIL import Image

    if im.mode not in _WIDE_INT_MODES and im.mode != "F":
        return im
    arr = np.asarray(im).astype(np.float64)
    if im.mode == "F" and not np.isfinite(arr).all():
        raise DataError(
            f"Expected finite pixel values in {where}; got NaN or infinite values in a float "
            "image. Fix: fill them in, or save the image as 8- or 16-bit.")
    lo, hi = (float(arr.min()), float(arr.max())) if arr.size else (0.0, 0.0)
    if im.mode == "F" and lo >= 0.0 and hi <= 1.0:
        arr = arr * 255.0
    elif im.mode != "F" and lo >= 0 and hi <= 65535:
        arr = arr / 257.0
    elif hi > lo:
        arr = (arr - lo) * (255.0 / (hi - lo))
    else:
        arr = np.zeros_like(arr)
    return Image.fromarray(np.clip(np.round(arr), 0, 255).astype(np.uint8), mode="L")


def to_rgb(im: Any, where: str = "image") -> Any:
    """A PIL image as RGB, with 16-bit and float images scaled first (:func:`to_8bit`)."""
    im = to_8bit(im, where)
    return im if im.mode == "RGB" else im.convert("RGB")


def _check_one(path: str) -> str | None:
    """``None`` if ``path`` decodes as an image, else the reason it does not."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.verify()
        # verify() checks structure only; a real decode is what catches truncation. A JPEG
        # draft decodes at 1/8 scale, which still reads every byte of the stream.
        with Image.open(path) as im:
            im.draft("RGB", (max(1, im.width // 8), max(1, im.height // 8)))
            im.load()
    except Exception as e:  # PIL raises many types (OSError, SyntaxError, ValueError...)
        msg = str(e).split("\n")[0] or type(e).__name__
        return msg[:120]
    return None


def verify_images(
    paths: Sequence[str],
    root: str | os.PathLike | None = None,
    raise_on_bad: bool = True,
    workers: int | None = None,
) -> list[tuple[str, str]]:
    """Open and decode every image; return the bad ones as ``(path, reason)``.

    Args:
        paths: image file paths.
        root: shown paths are relative to this folder in messages.
        raise_on_bad: raise :class:`DataError` naming the bad files instead of returning them.
        workers: decoding threads (PIL releases the GIL while decoding); default up to 8.

    Returns:
        The bad files, in input order (empty when all are good).
    """
    paths = list(paths)
    if workers is None:
        workers = min(8, os.cpu_count() or 1)
    if len(paths) < 64 or workers <= 1:
        reasons = [_check_one(p) for p in paths]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            reasons = list(pool.map(_check_one, paths, chunksize=16))
    bad = [(p, r) for p, r in zip(paths, reasons, strict=True) if r is not None]
    if bad and raise_on_bad:
        raise DataError(_bad_message(bad, len(paths), root))
    return bad


def _rel(p: str, root: str | os.PathLike | None) -> str:
    if root is None:
        return p
    try:
        return os.path.relpath(p, root)
    except ValueError:
        return p


def _bad_message(bad: list[tuple[str, str]], total: int, root: str | os.PathLike | None) -> str:
    shown = "; ".join(f"{_rel(p, root)} ({r})" for p, r in bad[:_SHOW])
    more = f"; and {len(bad) - _SHOW} more" if len(bad) > _SHOW else ""
    under = f" under {str(root)!r}" if root is not None else ""
    return (
        f"Expected readable images; got {len(bad)} of {total} file(s){under} that cannot be "
        f"decoded: {shown}{more}. Fix: delete or replace them, or pass skip_bad=True to "
        "leave them out."
    )


def _visible(p: Path) -> bool:
    # .DS_Store, Thumbs.db and friends are noise from file managers, never data.
    return not p.name.startswith(".") and p.name not in ("Thumbs.db", "desktop.ini")


def _scan(folder: Path, extensions: tuple[str, ...]) -> tuple[list[str], list[str], dict]:
    """(paths, labels, info) for one split folder; labels are class folder names, or empty."""
    subdirs = sorted(d for d in folder.iterdir() if d.is_dir() and _visible(d))
    loose = sorted(f for f in folder.iterdir() if f.is_file() and _visible(f))
    info: dict = {"ignored": [], "empty_classes": []}

    def images_in(d: Path, recursive: bool) -> list[Path]:
        found = d.rglob("*") if recursive else d.iterdir()
        out = []
        for f in sorted(found):
            if not f.is_file() or not _visible(f):
                continue
            if f.suffix.lower() in extensions:
                out.append(f)
            else:
                info["ignored"].append(str(f))
        return out

    paths: list[str] = []
    labels: list[str] = []
    if subdirs:
        for d in subdirs:
            imgs = images_in(d, recursive=True)
            if not imgs:
                info["empty_classes"].append(d.name)
                continue
            # A label is the folder name without surrounding spaces ("cat " is "cat").
            label = d.name.strip()
            if not label:
                raise DataError(
                    f"Expected class folders named after their label under {str(folder)!r}; "
                    f"got a folder named {d.name!r} (only spaces), holding {len(imgs)} "
                    "image(s). Fix: rename it to its class, or move its images out.")
            paths += [str(f) for f in imgs]
            labels += [label] * len(imgs)
        if loose:
            info["ignored"] += [str(f) for f in loose]
    else:
        paths = [str(f) for f in images_in(folder, recursive=False)]
    return paths, labels, info


def _no_images_error(root: Path, extensions: tuple[str, ...], ignored: list[str]) -> DataError:
    seen: dict[str, int] = {}
    for f in ignored:
        ext = Path(f).suffix.lower() or "(none)"
        seen[ext] = seen.get(ext, 0) + 1
    found = f"; found other files by extension: {seen}" if seen else "; the folder holds no files"
    return DataError(
        f"Expected image files ({', '.join(extensions)}) in class folders under {str(root)!r}"
        f"{found}. Fix: lay out images as root/<class>/<image>, or pass extensions=(...)."
    )


def from_image_folder(
    path: str | os.PathLike,
    skip_bad: bool = False,
    extensions: Sequence[str] = IMAGE_EXTENSIONS,
    name: str | None = None,
) -> Dataset | DatasetSplits:
    """Load a folder of images whose sub-folder names are the labels.

    Layouts:

    * ``root/<class>/<image>`` → a labelled :class:`Dataset` (images in nested folders
      below a class folder belong to that class);
    * ``root/<image>`` → an unlabelled :class:`Dataset`;
    * ``root/train/<class>/...`` with ``test/`` and/or ``val/`` (``valid``, ``validation``,
      ``dev``) → :class:`DatasetSplits`.

    Args:
        path: the root folder.
        skip_bad: leave out files that cannot be decoded (their count goes to
            ``meta["skipped"]`` and the log) instead of raising.
        extensions: file suffixes taken as images (case-insensitive); other files are ignored
            and listed in ``meta["ignored"]``.
        name: the dataset name; defaults to the folder name.

    Returns:
        A :class:`Dataset` of file paths, or :class:`DatasetSplits` for the split layout.

    Raises:
        DataError: missing folder, no images, or undecodable images without ``skip_bad``.
    """
    root = require_path(path, "folder")
    if not root.is_dir():
        raise DataError(
            f"Expected a folder of images at {str(root)!r}; got a file. Fix: pass its folder, "
            "or from_table(path) for a table."
        )
    exts = tuple(e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions)
    name = name or root.resolve().name
    subdirs = [d for d in root.iterdir() if d.is_dir() and _visible(d)]
    splits = {_SPLIT_NAMES[d.name.lower()]: d for d in subdirs if d.name.lower() in _SPLIT_NAMES}
    if "train" in splits:
        others = sorted(d.name for d in subdirs if d.name.lower() not in _SPLIT_NAMES)
        if others:
            log.warning("%s: split layout (train/...); ignoring other folders %s", root, others)
        parts = {k: _scan(splits[k], exts) for k in ("train", "val", "test") if k in splits}
        layout = "splits"
    else:
        parts = {"all": _scan(root, exts)}
        layout = "class-folders" if subdirs else "flat"

    all_paths = [p for paths, _, _ in parts.values() for p in paths]
    all_ignored = [f for _, _, info in parts.values() for f in info["ignored"]]
    if not all_paths:
        raise _no_images_error(root, exts, all_ignored)
    bad = verify_images(all_paths, root=root, raise_on_bad=False)
    if bad and not skip_bad:
        raise DataError(_bad_message(bad, len(all_paths), root))
    bad_set = {p for p, _ in bad}
    if bad:
        log.warning(
            "%s: skipped %d unreadable image(s), e.g. %s", root, len(bad), _rel(bad[0][0], root)
        )
    if all_ignored:
        log.info(
            "%s: ignored %d non-image file(s), e.g. %s",
            root,
            len(all_ignored),
            _rel(all_ignored[0], root),
        )

    datasets = {}
    for part, (paths, labels, info) in parts.items():
        keep = [i for i, p in enumerate(paths) if p not in bad_set]
        if not keep:
            where = f"{str(root)!r}" + (f" ({part})" if part != "all" else "")
            raise DataError(
                f"Expected readable images in {where}; got none: all {len(paths)} image(s) were "
                "unreadable and skipped. Fix: check the files (see the log for their names)."
            )
        meta = {
            "source": str(root),
            "layout": layout,
            "skipped": len(paths) - len(keep),
            "skipped_files": [_rel(p, root) for p in paths if p in bad_set][:20],
            "ignored": [_rel(f, root) for f in info["ignored"]][:20],
            "labelled": bool(labels),
        }
        if info["empty_classes"]:
            meta["empty_classes"] = info["empty_classes"]
            log.warning(
                "%s: class folder(s) without images ignored: %s", root, info["empty_classes"]
            )
        if part != "all":
            meta["split"] = part
        lab = np.asarray([labels[i] for i in keep]).astype(str) if labels else None
        if lab is not None:
            meta["classes"] = sorted(set(lab.tolist()))
        datasets[part] = Dataset([paths[i] for i in keep], lab, "image", name, None, meta)
    if layout != "splits":
        return datasets["all"]
    return DatasetSplits(datasets["train"], datasets.get("test"), datasets.get("val"), name=name)
