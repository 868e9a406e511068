"""Audio fixtures: WAV files written here, FSDD read in place (skipped when absent)."""

from __future__ import annotations

import importlib.util
import struct
import wave
from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


def write_wav(path, x, rate: int = 8000, width: int = 2, channels: int = 1) -> Path:
    """``x`` (floats in [-1, 1], ``(T,)`` or ``(T, channels)``) as integer-PCM WAV."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    a = np.asarray(x, dtype=np.float64).reshape(len(x), channels)
    if width == 1:
        data = np.clip(np.round(a * 128 + 128), 0, 255).astype(np.uint8).tobytes()
    elif width == 2:
        data = np.clip(np.round(a * 32768), -32768, 32767).astype("<i2").tobytes()
    elif width == 3:
        v = np.clip(np.round(a * 2**23), -2**23, 2**23 - 1).astype("<i4")
        data = v.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    else:
        data = np.clip(np.round(a * 2**31), -2**31, 2**31 - 1).astype("<i4").tobytes()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(data)
    return path


def wav_header(bits: int, n_frames: int, rate: int = 8000) -> bytes:
    """A PCM WAV header declaring ``bits`` per sample and ``n_frames`` mono frames."""
    width = (bits + 7) // 8
    size = n_frames * width
    return (b"RIFF" + struct.pack("<I", 36 + size) + b"WAVE" + b"fmt "
            + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * width, width, bits)
            + b"data" + struct.pack("<I", size))


def tone(freq: float, seconds: float = 0.5, rate: int = 8000, amp: float = 0.5,
         seed: int | None = None) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    x = amp * np.sin(2 * np.pi * freq * t)
    if seed is not None:
        x = x + 0.01 * np.random.default_rng(seed).standard_normal(len(t))
    return x.astype(np.float32)


@pytest.fixture(scope="session")
def fsdd():
    if not (SHARED / "fsdd" / "index.csv").is_file():
        pytest.skip(f"FSDD is not at {SHARED / 'fsdd'} (shared/datasets absent in this checkout)")
    import transferkit as tk

    return tk.load_dataset("fsdd")


@pytest.fixture(scope="session")
def speech_embedding():
    missing = [m for m in ("openwakeword", "onnxruntime")
               if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: the speech-embedding backbone needs "
                    "pip install 'transferkit[audio]'")
    import transferkit as tk

    return tk.create_backbone("speech-embedding")


@pytest.fixture(scope="session")
def make_wav():
    return write_wav


@pytest.fixture(scope="session")
def make_tone():
    return tone


@pytest.fixture(scope="session")
def make_header():
    return wav_header
