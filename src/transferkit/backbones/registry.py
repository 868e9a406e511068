"""The backbone registry and the spec language users type.

Specs:

* ``minilm-l6`` — a registered name (``transferkit zoo`` lists them);
* ``minilm-l6@2`` — the same backbone, features from its feature layer 2;
* ``random:minilm-l6`` — the same architecture with random weights (a control);
* ``minilm-l6+sentences`` — a text backbone whose frozen features are the mean of each input's
  sentence embeddings (:mod:`transferkit.backbones.segment`; for multi-sentence texts);
* ``hf:<model id or local folder>`` — any Hugging Face text or vision encoder;
* ``run:<run folder>`` — the backbone of a model transferkit trained and saved.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from typing import Any

from ..exceptions import BackboneError, ConfigError, DataError
from ..registry import Registry
from .base import Backbone
from .segment import SEGMENT_SUFFIX, SentenceMean

__all__ = [
    "backbone_for_data",
    "bind_to_data",
    "create_for_data",
    "declared_modality",
    "modality_mismatch",
    "BACKBONES",
    "register_backbone",
    "list_backbones",
    "create_backbone",
    "parse_backbone_spec",
    "backbone_catalogue",
]

BACKBONES: Registry[Backbone] = Registry("backbone")

_PREFIXES: dict[str, Callable[[str], Backbone]] = {}


def register_backbone(name: str, **info: Any) -> Callable:
    """Decorator registering a zero-argument-capable backbone factory under ``name``.

    ``info`` should give ``modality``, ``num_features``, ``params`` and ``license`` so that
    ``transferkit zoo`` can list the backbone without loading its weights.
    """
    return BACKBONES.register(name, **info)


def register_prefix(prefix: str) -> Callable:
    """Decorator for spec prefixes such as ``hf:`` whose factory takes the rest of the spec."""

    def deco(fn: Callable[[str], Backbone]) -> Callable[[str], Backbone]:
        _PREFIXES[prefix] = fn
        return fn

    return deco


def list_backbones(pattern: str | None = None) -> list[str]:
    """Registered backbone names, optionally filtered by a shell pattern (``"efficientnet*"``)."""
    return BACKBONES.names(pattern)


def backbone_catalogue(pattern: str | None = None) -> list[dict[str, Any]]:
    """One dict per registered backbone: name plus its declared info (no weights loaded)."""
    return [{"name": n, **BACKBONES.info(n)} for n in list_backbones(pattern)]


def parse_backbone_spec(spec: str) -> tuple[str, int]:
    """Split ``"name@k"`` into ``("name", k)``; no suffix gives layer ``-1``."""
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(f"A backbone spec must be a non-empty string; got {spec!r}.")
    spec = spec.strip()
    base, sep, tail = spec.rpartition("@")
    if sep and tail.lstrip("-").isdigit() and base:
        return base, int(tail)
    return spec, -1


def create_backbone(spec: str | Backbone, **kwargs: Any) -> Backbone:
    """Build a backbone from a spec (see the module docstring) or pass an instance through.

    A ``@layer`` suffix is accepted here and ignored (use :func:`parse_backbone_spec` to read
    it); callers that extract features pass the layer separately.
    """
    if isinstance(spec, Backbone):
        return spec
    base, _ = parse_backbone_spec(spec)
    if base.endswith(SEGMENT_SUFFIX) and len(base) > len(SEGMENT_SUFFIX):
        bb = SentenceMean(create_backbone(base[: -len(SEGMENT_SUFFIX)], **kwargs))
        bb.name = base
        bb.init_kwargs = dict(kwargs)
        return bb
    if base.startswith("random:"):
        inner = base[len("random:") :]
        bb = create_backbone(inner, **kwargs)
        bb.reinitialize(seed=int(kwargs.get("seed", 0)))
        bb.name = base
        return bb
    for prefix, factory in _PREFIXES.items():
        if base.startswith(prefix):
            bb = factory(base[len(prefix) :], **kwargs)
            bb.init_kwargs = dict(kwargs)
            return bb
    if base not in BACKBONES:
        raise BackboneError(
            BACKBONES.unknown_message(base)
            + " Any Hugging Face model works as 'hf:<id or folder>', a saved run as 'run:<folder>'."
        )
    bb = BACKBONES.create(base, **kwargs)
    bb.name = base
    bb.init_kwargs = dict(kwargs)
    return bb


def create_for_data(spec: str, seed: int, data: Any) -> tuple[Backbone, int]:
    """Build backbone ``spec`` for ``data`` (tabular: sized to its columns); returns the
    backbone and the spec's ``@layer`` (``-1`` without one). No modality check."""
    import numpy as np

    base, spec_layer = parse_backbone_spec(spec)
    kwargs: dict[str, Any] = {"seed": int(seed)}
    if data.modality == "tabular":
        kwargs["in_features"] = int(np.asarray(data.inputs).shape[1])
    return create_backbone(base, **kwargs), spec_layer


# How messages name the data of each modality and what a backbone of it encodes.
_DATA_WORDS = {"text": "text", "image": "image", "tabular": "tabular", "audio": "audio"}
_ENCODES = {"text": "text", "image": "images", "tabular": "tables", "audio": "audio"}


def declared_modality(spec: str) -> str | None:
    """The modality a registered backbone declares (``random:`` and ``@k`` allowed), without
    building it; ``None`` for prefixes (``hf:``, ``run:``) and names not registered."""
    base, _ = parse_backbone_spec(spec)
    base = base.removesuffix(SEGMENT_SUFFIX)
    if base.startswith("random:"):
        base = base[len("random:"):]
    if base not in BACKBONES:
        return None
    return BACKBONES.info(base).get("modality")


def modality_mismatch(name: str, encodes: str, data: Any, role: str = "data") -> DataError:
    """The error for backbone ``name`` (of modality ``encodes``) given ``data`` of another
    modality: it names the data's modality and the registered backbones that fit it."""
    fitting = [n for n in list_backbones() if BACKBONES.info(n).get("modality") == data.modality]
    listed = (f"{data.modality} backbones: {', '.join(fitting)}" if fitting
              else f"no {data.modality} backbone is registered")
    who = data.name if role == "data" else f"the {role} {data.name!r}"
    return DataError(
        f"{who} is {_DATA_WORDS.get(data.modality, data.modality)} data; {name} encodes "
        f"{_ENCODES.get(encodes, encodes)}; {listed}. Pick one with --backbone (backbone=), "
        "or see `transferkit zoo`.")


def bind_to_data(backbone: Backbone, data: Any) -> None:
    """Tell ``backbone`` what it needs to know about ``data`` beyond the inputs before it
    encodes them (audio: their sample rate); a no-op for backbones that need nothing, and
    for ``data`` that is not a Dataset."""
    bind = getattr(backbone, "bind_data", None)
    if bind is not None and hasattr(data, "meta"):
        bind(data)


def backbone_for_data(backbone: str | Backbone, layer: int, seed: int, data: Any,
                      role: str = "data", fit_on: Any = None, copy: bool = False
                      ) -> tuple[Backbone, int]:
    """The backbone (built from a spec, or the object given) and layer to encode ``data`` with,
    its data-dependent preprocessing fitted: the one place every estimator and workflow gets
    a backbone for its data.

    Tabular backbones get the data's column count and standardise on ``fit_on`` (default
    ``data.inputs``; the domain adapter passes both domains' inputs); the spec's ``@layer``
    wins over ``layer``. ``copy``: a backbone object given is copied first, so that a fit that
    trains it leaves the caller's object as it was.

    Raises:
        DataError: the backbone encodes another modality than ``data`` holds.
    """

    if isinstance(backbone, Backbone):
        bb = backbone
    else:
        # Before building: a backbone of another modality may not even be buildable for these
        # data (tabular-mlp needs a column count that images do not have).
        declared = declared_modality(backbone)
        if declared is not None and declared != data.modality:
            raise modality_mismatch(parse_backbone_spec(backbone)[0], declared, data, role)
        bb, spec_layer = create_for_data(backbone, seed, data)
        layer = spec_layer if spec_layer != -1 else layer
    if bb.modality != data.modality:
        raise modality_mismatch(bb.name, bb.modality, data, role)
    bb.check_layer(layer)
    if copy and bb is backbone:
        bb = deepcopy(bb)
    bind_to_data(bb, data)
    fit_preprocessing = getattr(bb, "fit_preprocessing", None)
    if fit_preprocessing is not None:
        fit_preprocessing(data.inputs if fit_on is None else fit_on)
    return bb, layer
