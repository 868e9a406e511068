"""The ``hf:`` spec prefix: any Hugging Face text, image or waveform speech encoder, by hub id
or local folder.

``hf:sentence-transformers/all-mpnet-base-v2`` or ``hf:/models/my-vit`` (a folder written by
``save_pretrained``). Local folders never touch the network. A hub id is fetched when the
hub is reachable, read from the local hub cache when it is not, and otherwise fails at once
with a message saying how to get the model onto this machine (rather than after the hub
client's half-minute of retries).
"""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ..exceptions import BackboneError
from .base import Backbone
from .hf_audio import HFAudioBackbone
from .registry import register_prefix
from .text import HFTextBackbone
from .vision import HFVisionBackbone

__all__ = ["hf_backbone", "hub_reachable", "no_downloads"]

# Set while a saved run is loaded: a spec that arrives inside a run folder must never make
# loading it reach the network (a crafted model.json could name any hub id).
_NO_DOWNLOADS: ContextVar[str | None] = ContextVar("transferkit_no_downloads", default=None)


@contextmanager
def no_downloads(why: str) -> Iterator[None]:
    """Within the block, ``hf:`` hub ids load from the local hub cache only; ``why`` names
    the reason in the error (e.g. "the run in 'runs/x'")."""
    token = _NO_DOWNLOADS.set(why)
    try:
        yield
    finally:
        _NO_DOWNLOADS.reset(token)

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[A-Za-z0-9][\w.\-]*)?$")
_MODALITIES = ("text", "image", "audio")
_FIX_OFFLINE = (
    "On a machine with network access, download it with `hf download {ref} --local-dir DIR` "
    "(`huggingface-cli download` with older huggingface_hub; or model.save_pretrained(DIR) "
    "plus the tokenizer / image processor), copy DIR here and use 'hf:DIR'."
)


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hugging Face hub answers a TCP connection within ``timeout`` seconds.

    ``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE`` mean no. Behind an HTTP(S) proxy the hub
    host need not resolve locally, so the answer is assumed yes and the download decides.
    """
    if _env_true("HF_HUB_OFFLINE") or _env_true("TRANSFORMERS_OFFLINE"):
        return False
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")):
        return True
    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host, port = url.hostname or "huggingface.co", url.port or (80 if url.scheme == "http" else 443)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _looks_like_path(ref: str) -> bool:
    return (
        ref.startswith(("/", "./", "../", "~", "\\"))
        or bool(re.match(r"^[A-Za-z]:[\\/]", ref))
        or ref.count("/") > 1
        or "\\" in ref
    )


def _check_folder(folder: Path) -> None:
    if not folder.is_dir():
        raise BackboneError(
            f"'hf:{folder}' is a file; expected a model folder (with config.json, weights and "
            f"tokenizer or image-processor files). Did you mean 'hf:{folder.parent}'?"
        )
    if not (folder / "config.json").is_file():
        found = sorted(p.name for p in folder.iterdir())
        shown = ", ".join(found[:12]) + (", ..." if len(found) > 12 else "") or "nothing"
        raise BackboneError(
            f"The folder {str(folder)!r} is not a Hugging Face model folder: it has no "
            f"config.json (found: {shown}). Expected config.json, the weights "
            "(model.safetensors or pytorch_model.bin) and the tokenizer files (text) or "
            "preprocessor_config.json (images), as written by model.save_pretrained(folder) and "
            "tokenizer.save_pretrained(folder) / image_processor.save_pretrained(folder)."
        )


def _resolve(ref: str) -> tuple[str, bool, str]:
    """``(where to load from, local_files_only, canonical name)`` for the text after ``hf:``."""
    path = Path(ref).expanduser()
    if path.exists():
        _check_folder(path)
        folder = str(path.resolve())
        return folder, True, f"hf:{folder}"
    if _looks_like_path(ref) or not _HUB_ID.match(ref):
        raise BackboneError(
            f"'hf:{ref}': the folder {str(path.absolute())!r} does not exist, and {ref!r} is not "
            "a hub id either (those look like 'owner/name'). Check the path, or give a hub id "
            "such as 'hf:google/vit-base-patch16-224'."
        )
    saved_by = _NO_DOWNLOADS.get()
    if saved_by is None and hub_reachable():
        return ref, False, f"hf:{ref}"
    from huggingface_hub import snapshot_download

    try:
        cached = snapshot_download(ref, local_files_only=True)
    except Exception:  # LocalEntryNotFoundError, or a malformed cache entry
        if saved_by is not None:
            raise BackboneError(
                f"{saved_by} names the backbone 'hf:{ref}', which is neither a local folder "
                f"({str(path.absolute())!r} does not exist) nor in the local hub cache; "
                "transferkit never downloads while loading a saved run. "
                + _FIX_OFFLINE.format(ref=ref)) from None
        raise BackboneError(
            f"Cannot load 'hf:{ref}': there is no folder {str(path.absolute())!r}, the Hugging "
            "Face hub is unreachable (offline, or HF_HUB_OFFLINE is set), and the model is not "
            "in the local hub cache. " + _FIX_OFFLINE.format(ref=ref)
        ) from None
    return cached, True, f"hf:{ref}"


def _load_config(where: str, local: bool, ref: str) -> Any:
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(where, local_files_only=local)
    except (OSError, ValueError, KeyError) as e:
        hint = "" if local else " " + _FIX_OFFLINE.format(ref=ref)
        raise BackboneError(
            f"Could not read the model config of 'hf:{ref}': {e}. Expected a model folder or hub "
            "repository with a config.json whose model_type this transformers version knows "
            f"(upgrade transformers for newer architectures).{hint}"
        ) from None


def detect_modality(config: Any) -> str:
    """``"text"``, ``"image"`` or ``"audio"`` from a transformers config: by the input its
    model takes (``input_ids``, ``pixel_values``, ``input_values``), else by its fields."""
    if hasattr(config, "text_config") and hasattr(config, "vision_config"):
        raise BackboneError(
            f"{type(config).__name__} is a two-tower text+image model (CLIP-style); 'hf:' loads "
            "single encoders. Save one tower (e.g. CLIPVisionModel) to a folder and use that."
        )
    try:
        from transformers.models.auto.modeling_auto import MODEL_MAPPING

        main_input = MODEL_MAPPING[type(config)].main_input_name
    except Exception:  # unknown to the mapping, or a lazy import that fails
        main_input = None
    if main_input == "pixel_values":
        return "image"
    if main_input == "input_ids":
        return "text"
    if main_input == "input_values":
        return "audio"
    if main_input == "input_features":
        raise BackboneError(
            f"{type(config).__name__} is an audio model that reads spectrograms "
            "(input_features: Whisper, Speech2Text); 'hf:' supports waveform encoders "
            "(input_values: wav2vec 2.0, HuBERT, WavLM), text and image encoders."
        )
    if getattr(config, "num_channels", None) and getattr(config, "image_size", None):
        return "image"
    if getattr(config, "vocab_size", None):
        return "text"
    raise BackboneError(
        f"Cannot tell whether {type(config).__name__} is a text or an image model; pass "
        "modality='text' or modality='image'."
    )


def _sentence_transformers_defaults(folder: Path) -> dict[str, Any]:
    """Pooling and normalisation declared by a sentence-transformers folder, if it is one."""
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    out: dict[str, Any] = {"normalize": False}
    for mod in modules:
        kind = str(mod.get("type", ""))
        if kind.endswith("Normalize"):
            out["normalize"] = True
        elif kind.endswith("Pooling"):
            try:
                cfg = json.loads((folder / mod["path"] / "config.json").read_text("utf-8"))
            except (OSError, ValueError, KeyError):
                continue
            if cfg.get("pooling_mode_cls_token"):
                out["pooling"] = "cls"
            elif cfg.get("pooling_mode_mean_tokens"):
                out["pooling"] = "mean"
    return out


def _card_license(folder: Path) -> str:
    """The ``license:`` field of a model card's YAML header, if there is one."""
    try:
        text = (folder / "README.md").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    if not text.startswith("---"):
        return ""
    header = text[3:].split("\n---", 1)[0]
    m = re.search(r"^license:\s*['\"]?([^'\"\n]+)", header, flags=re.MULTILINE)
    return m.group(1).strip() if m else ""


@register_prefix("hf:")
def hf_backbone(
    ref: str,
    modality: str | None = None,
    max_length: int = 256,
    pooling: str | None = None,
    normalize: bool | None = None,
    **_: object,
) -> Backbone:
    """Load ``hf:<hub id or local folder>`` as a text, image or audio backbone.

    Args:
        ref: the text after ``hf:``.
        modality: ``"text"``, ``"image"`` or ``"audio"`` (a waveform encoder such as wav2vec
            2.0 or HuBERT); detected from the config when ``None``.
        max_length: longest text input in tokens (text only).
        pooling: text: ``"mean"`` (default) or ``"cls"``; images: ``"auto"`` (default),
            ``"pooler"``, ``"mean"`` or ``"cls"``. A sentence-transformers folder's own
            pooling is the text default.
        normalize: L2-normalise text features (default: as a sentence-transformers folder
            declares, else no).

    Raises:
        BackboneError: the folder or hub id cannot be found or loaded; the message says what
            was expected and how to fix it.
    """

    ref = ref.strip()
    if not ref:
        raise BackboneError(
            "'hf:' needs a model after it: 'hf:<hub id>' (e.g. 'hf:google/vit-base-patch16-224') "
            "or 'hf:<local folder>' (a folder written by save_pretrained)."
        )
    if modality is not None and modality not in _MODALITIES:
        raise BackboneError(f"modality must be one of {list(_MODALITIES)}; got {modality!r}.")
    where, local, name = _resolve(ref)
    kind = modality or detect_modality(_load_config(where, local, ref))
    if modality == "audio":  # audio is read by the model's own input kind: check it
        found = detect_modality(_load_config(where, local, ref))
        if found != "audio":
            raise BackboneError(
                f"modality='audio' but 'hf:{ref}' is a {found} model (its input is not a "
                "waveform). Fix: leave modality out, or give a waveform speech encoder "
                "(wav2vec 2.0, HuBERT, WavLM).")
    folder = Path(where) if local else None
    card_license = _card_license(folder) if folder else ""
    if kind == "audio":
        bb: Backbone = HFAudioBackbone(where, name=name, local_files_only=local,
                                       license=card_license)
    elif kind == "image":
        bb = HFVisionBackbone(
            where, name=name, pooling=pooling or "auto", local_files_only=local,
            license=card_license,
        )
    else:
        if pooling not in (None, "mean", "cls"):
            raise BackboneError(
                f"pooling for a text model must be 'mean' or 'cls'; got {pooling!r}."
            )
        st = _sentence_transformers_defaults(folder) if folder else {}
        bb = HFTextBackbone(
            where,
            name=name,
            max_length=max_length,
            pooling=pooling or st.get("pooling", "mean"),
            normalize=st.get("normalize", False) if normalize is None else normalize,
            license=card_license,
        )
    bb.init_kwargs = {
        k: v
        for k, v in {"modality": modality, "max_length": max_length, "pooling": pooling,
                     "normalize": normalize}.items()
        if v is not None
    }
    return bb
