"""Audio files into waveforms: reading, checking, mono mixdown and resampling.

Audio inputs are 1-D ``float32`` waveforms in ``[-1, 1]`` with one sample rate per dataset,
``meta["sample_rate"]``; a backbone resamples them to its own rate when it encodes them.
WAV files are read with the standard library (8/16/24/32-bit integer PCM); FLAC, OGG and
WAV files the standard library cannot read (float samples, extensible headers) with
``soundfile`` (``pip install transferkit[audio]``). Every file is read and checked once at
load time, so a truncated or silent clip fails then, by name, not an hour into training.

Layouts of :func:`from_audio_folder`: ``root/<class>/<clip>``, or ``root/train/<class>/...``
with ``test/`` (and ``val/``); tables with a column of file paths load through
:func:`~transferkit.data.from_table` (``text_col="path", modality="audio"``).
"""

from __future__ import annotations

import logging
import math
import os
import re
import wave
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import DataError
from .dataset import Dataset, DatasetSplits
from .images import _SPLIT_NAMES, _rel, _scan, _visible
from .validate import require_path

__all__ = [
    "AUDIO_EXTENSIONS",
    "from_audio_folder",
    "read_audio",
    "read_audio_files",
    "resample",
    "check_waveform",
    "SILENCE",
]

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg")
#: a clip whose peak is below this (under one step of 16-bit audio) holds no signal
SILENCE = 1.0 / 32768.0
_SHOW = 5
_FIX_CONVERT = "convert it to 16-bit PCM WAV (e.g. `sox in.wav -b 16 out.wav`)"


def _soundfile() -> Any:
    try:
        import soundfile
    except ImportError:  # also raised when the libsndfile library itself is missing
        return None
    return soundfile


def _read_wav_stdlib(path: str) -> tuple[np.ndarray, int]:
    """Integer-PCM WAV through the standard library; ``wave.Error`` for what it cannot read."""
    with wave.open(path, "rb") as w:
        width, channels, rate, n = (w.getsampwidth(), w.getnchannels(), w.getframerate(),
                                    w.getnframes())
        if width not in (1, 2, 3, 4):
            raise DataError(
                f"Expected 8-, 16-, 24- or 32-bit PCM samples in {path!r}; got {8 * width}-bit "
                f"samples. Fix: {_FIX_CONVERT}.")
        frames = w.readframes(n)
    got = len(frames) // (width * channels)
    if got < n:
        raise DataError(
            f"Expected {n} frames in {path!r} (as its header says); got {got}: the file is "
            "truncated. Fix: re-export or re-download it, or skip_bad=True (--skip-bad) to "
            "leave it out.")
    if width == 1:  # 8-bit WAV is unsigned
        x = (np.frombuffer(frames, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 3:
        b = np.frombuffer(frames, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        x = (np.where(v >= 1 << 23, v - (1 << 24), v) / float(1 << 23)).astype(np.float32)
    else:
        dtype, scale = ("<i2", 32768.0) if width == 2 else ("<i4", 2147483648.0)
        x = (np.frombuffer(frames, dtype=dtype).astype(np.float64) / scale).astype(np.float32)
    return x.reshape(-1, channels), rate


def _read_soundfile(path: str, sf: Any) -> tuple[np.ndarray, int]:
    try:
        info = sf.info(path)
        x, rate = sf.read(path, dtype="float32", always_2d=True)
    except Exception as e:  # soundfile raises LibsndfileError, RuntimeError, TypeError...
        msg = str(e).split("\n")[0] or type(e).__name__
        raise DataError(
            f"Expected a readable audio file at {path!r}; could not decode it ({msg[:120]}). "
            "Fix: re-export or replace it, or skip_bad=True (--skip-bad) to leave it out."
        ) from None
    if info.frames > 0 and len(x) < info.frames:
        raise DataError(
            f"Expected {info.frames} frames in {path!r} (as its header says); got {len(x)}: "
            "the file is truncated. Fix: re-export or re-download it, or skip_bad=True "
            "(--skip-bad) to leave it out.")
    return x, int(rate)


def read_audio(path: str | os.PathLike, check: bool = True) -> tuple[np.ndarray, int]:
    """One audio file as a mono ``float32`` waveform in ``[-1, 1]`` and its sample rate.

    Several channels are averaged (mono mixdown). WAV with integer PCM needs nothing beyond
    the standard library; FLAC, OGG and float WAV need ``soundfile``.

    Args:
        path: a ``.wav``, ``.flac`` or ``.ogg`` file.
        check: also refuse a zero-length or silent clip (:func:`check_waveform`).

    Raises:
        DataError: missing, unreadable or truncated file; a sample width the reader cannot
            take; a zero-length or silent clip. The message names the file.
    """
    p = str(require_path(path, "file"))
    sf = _soundfile()
    x = rate = None
    if p.lower().endswith(".wav"):
        try:
            x, rate = _read_wav_stdlib(p)
        except (wave.Error, EOFError) as e:
            if sf is None:
                raise DataError(
                    f"Expected a PCM WAV file at {p!r}; the standard library cannot read it "
                    f"({e}). Fix: {_FIX_CONVERT}, or install soundfile (pip install "
                    "'transferkit[audio]') for float and other WAV encodings.") from None
    if x is None:
        if sf is None:
            raise DataError(
                f"Expected WAV audio, or soundfile installed for {Path(p).suffix or 'this'} "
                f"files; got {p!r} and no soundfile. Fix: pip install 'transferkit[audio]', or "
                "convert the file to WAV.")
        x, rate = _read_soundfile(p, sf)
    mono = x.mean(axis=1).astype(np.float32) if x.shape[1] > 1 else x[:, 0]
    if check:
        check_waveform(mono, p)
    return np.ascontiguousarray(mono), int(rate)


def check_waveform(x: np.ndarray, where: str) -> None:
    """Refuse an empty, non-finite or silent waveform, naming ``where`` it came from."""
    if x.size == 0:
        raise DataError(
            f"Expected audio samples in {where!r}; got a zero-length clip. Fix: delete or "
            "re-record it, or skip_bad=True (--skip-bad) to leave it out.")
    if not np.isfinite(x).all():
        raise DataError(f"Expected finite samples in {where!r}; got NaN or infinite values.")
    peak = float(np.abs(x).max())
    if peak < SILENCE:
        raise DataError(
            f"Expected sound in {where!r}; got a silent clip ({x.size} samples, peak "
            f"{peak:.2g}). Fix: delete or re-record it, or skip_bad=True (--skip-bad) to leave "
            "it out.")


def resample(x: np.ndarray, rate: int, target: int) -> np.ndarray:
    """``x`` at ``rate`` Hz resampled to ``target`` Hz (polyphase filter, SciPy's
    ``resample_poly``); the same array when the rates are equal."""
    rate, target = int(rate), int(target)
    if rate == target:
        return x
    from scipy.signal import resample_poly

    g = math.gcd(rate, target)
    return resample_poly(np.asarray(x, dtype=np.float32), target // g, rate // g
                         ).astype(np.float32)


def read_audio_files(paths: Sequence[str], sample_rate: int | None = None,
                     root: str | os.PathLike | None = None, skip_bad: bool = False
                     ) -> tuple[list[np.ndarray], int, list[int], list[tuple[str, str]]]:
    """Read ``paths``; all at one rate: ``sample_rate``, else their common (or highest) rate.

    Returns:
        ``(waveforms, rate, kept, bad)``: the waveforms of the readable files, their rate, the
        positions in ``paths`` they came from, and the skipped ``(path, reason)`` pairs.

    Raises:
        DataError: a bad file without ``skip_bad`` (the first one named with its reason, and
            how many others are bad); no readable file at all.
    """
    read: list[tuple[int, np.ndarray, int]] = []
    bad: list[tuple[str, str]] = []
    for i, p in enumerate(paths):
        try:
            x, r = read_audio(p)
        except DataError as e:
            if not skip_bad:
                raise
            bad.append((p, str(e)))
            continue
        read.append((i, x, r))
    if bad:
        shown = "; ".join(_rel(p, root) for p, _ in bad[:_SHOW])
        log.warning("skipped %d bad audio file(s): %s", len(bad), shown)
    if not read:
        raise DataError(
            f"Expected readable audio files; got none: all {len(paths)} were bad and skipped "
            f"(first: {bad[0][1] if bad else 'no files'}).")
    rates = sorted({r for _, _, r in read})
    target = int(sample_rate) if sample_rate is not None else rates[-1]
    if target <= 0:
        raise DataError(f"Expected a positive sample_rate in Hz; got {sample_rate!r}.")
    if len(rates) > 1 and sample_rate is None:
        log.info("clips at %s Hz: resampling all to %d Hz", rates, target)
    waves = [resample(x, r, target) for _, x, r in read]
    return waves, target, [i for i, _, _ in read], bad


def _groups_of(paths: Sequence[str], pattern: str | None) -> np.ndarray | None:
    if pattern is None:
        return None
    rx = re.compile(pattern)
    out = []
    for p in paths:
        m = rx.search(Path(p).stem)
        if m is None:
            raise DataError(
                f"Expected group_pattern={pattern!r} to match every file name; got no match in "
                f"{Path(p).name!r}. Fix: a regular expression with one group that finds the "
                "group (speaker) in every name, e.g. r'_(\\w+)_' for '7_jackson_12.wav'.")
        out.append(m.group(1) if m.groups() else m.group(0))
    return np.asarray(out).astype(str)


def from_audio_folder(
    path: str | os.PathLike,
    sample_rate: int | None = None,
    skip_bad: bool = False,
    group_pattern: str | None = None,
    group_name: str = "group",
    extensions: Sequence[str] = AUDIO_EXTENSIONS,
    name: str | None = None,
) -> Dataset | DatasetSplits:
    """Load a folder of audio clips whose sub-folder names are the labels.

    Layouts: ``root/<class>/<clip>`` gives a labelled :class:`Dataset`; ``root/<clip>`` an
    unlabelled one; ``root/train/<class>/...`` with ``test/`` and/or ``val/`` gives
    :class:`DatasetSplits`.

    Args:
        path: the root folder.
        sample_rate: resample every clip to this rate (Hz); default: the clips' own rate, or
            the highest of them when they differ (the backbone resamples to its own rate when
            it encodes).
        skip_bad: leave out unreadable, truncated, zero-length and silent clips (logged, and
            named in ``meta["skipped_files"]``) instead of raising.
        group_pattern: a regular expression whose first group finds each clip's group (its
            speaker) in the file name: ``r"^\\d+_(\\w+)_\\d+$"`` for ``7_jackson_12.wav``. The
            groups become the dataset's domains, for ``group_by=`` (leave-one-group-out).
        group_name: what a group is called (``"speaker"``); ``group_by=`` takes this name.
        extensions: file suffixes taken as audio.
        name: the dataset name; defaults to the folder name.

    Raises:
        DataError: missing folder, no audio files, or a bad clip without ``skip_bad``.
    """
    root = require_path(path, "folder")
    if not root.is_dir():
        raise DataError(f"Expected a folder of audio clips at {str(root)!r}; got a file. Fix: "
                        "pass its folder, or from_table(path) for a table of paths.")
    exts = tuple(e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions)
    name = name or root.resolve().name
    subdirs = [d for d in root.iterdir() if d.is_dir() and _visible(d)]
    splits = {_SPLIT_NAMES[d.name.lower()]: d for d in subdirs if d.name.lower() in _SPLIT_NAMES}
    if "train" in splits:
        parts = {k: _scan(splits[k], exts) for k in ("train", "val", "test") if k in splits}
    else:
        parts = {"all": _scan(root, exts)}
    if not any(paths for paths, _, _ in parts.values()):
        raise DataError(f"Expected audio files ({', '.join(exts)}) in class folders under "
                        f"{str(root)!r}; got none. Fix: lay out clips as root/<class>/<clip>.")
    rate = sample_rate
    if rate is None:  # one rate for every split
        rate = max(read_audio(p, check=False)[1] for paths, _, _ in parts.values()
                   for p in paths[:1]) if len(parts) > 1 else None
    out = {}
    for part, (paths, labels, _info) in parts.items():
        waves, r, kept, bad = read_audio_files(paths, rate, root, skip_bad)
        kept_paths = [paths[i] for i in kept]
        meta = {"source": str(root), "sample_rate": r, "skipped": len(bad),
                "skipped_files": [_rel(p, root) for p, _ in bad][:20],
                "files": [_rel(p, root) for p in kept_paths], "labelled": bool(labels)}
        domains = _groups_of(kept_paths, group_pattern)
        if domains is not None:
            meta["domain_col"] = group_name
        if part != "all":
            meta["split"] = part
        lab = np.asarray([labels[i] for i in kept]).astype(str) if labels else None
        out[part] = Dataset(waves, lab, "audio", name, domains, meta)
    if "all" in out:
        return out["all"]
    return DatasetSplits(out["train"], out.get("test"), out.get("val"), name=name)


def is_audio_folder(folder: Path) -> bool:
    """Whether ``folder`` (or its ``train/``) holds audio clips in class folders."""
    base = folder / "train" if (folder / "train").is_dir() else folder
    for d in (base, *(d for d in base.iterdir() if d.is_dir())):
        for f in d.iterdir():
            if f.is_file() and f.suffix.lower() in AUDIO_EXTENSIONS:
                return True
    return False
