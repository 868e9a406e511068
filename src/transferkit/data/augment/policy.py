"""Augmentation policies: the base class, their registry and the spec strings users write.

A policy is one named, parameterised transformation of training inputs for one modality
(``randaugment`` for images, ``eda`` for text, ``specaugment`` for audio ...). Users name it
with a spec string, the same in the library and on the command line::

    "randaugment"              the policy with its defaults
    "randaugment,n=2,m=9"      with parameters ("randaugment:n=2,m=9" reads the same)

A policy transforms either the raw rows before the backbone's ``preprocess`` (``stage =
"rows"``: text edits that need words) or the preprocessed tensors after it (``stage =
"tensors"``: pixels, token ids, waveforms). How often it applies, the seeding and which
batches it touches are decided by :class:`~transferkit.data.augment.augmenter.Augmenter`.
"""

from __future__ import annotations

import difflib
import random
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from ...exceptions import ConfigError
from ...registry import Registry

__all__ = ["AugmentPolicy", "AugmentContext", "Knob", "AUGMENTATIONS", "MODALITIES",
           "register_augmentation", "list_augmentations", "parse_policy", "policies_by_modality"]

MODALITIES = ("image", "text", "audio")

AUGMENTATIONS: Registry[type[AugmentPolicy]] = Registry("augmentation policy")


def register_augmentation(name: str, modality: str, description: str = ""):
    """Decorator: ``@register_augmentation("eda", "text")`` on an :class:`AugmentPolicy`."""
    if modality not in MODALITIES:
        raise ConfigError(f"An augmentation policy's modality must be one of {MODALITIES}; got "
                          f"{modality!r}.")

    def decorator(cls: type[AugmentPolicy]) -> type[AugmentPolicy]:
        cls.name, cls.modality = name, modality
        return AUGMENTATIONS.register(name, modality=modality, description=description)(cls)

    return decorator


def list_augmentations(modality: str | None = None) -> list[str]:
    """Registered policy names, sorted; only those for ``modality`` when given."""
    return [n for n in AUGMENTATIONS.names()
            if modality is None or AUGMENTATIONS.info(n)["modality"] == modality]


def policies_by_modality() -> str:
    """``"image: affine, crop-flip, ...; text: eda, token-mask; audio: ..."`` for messages."""
    return "; ".join(f"{m}: {', '.join(list_augmentations(m)) or '(none)'}" for m in MODALITIES)


@dataclass(frozen=True)
class Knob:
    """One parameter of a policy: its default, type and bounds (both bounds included)."""

    name: str
    default: Any
    kind: str = "float"  # "int", "float" or "range" (a "lo-hi" pair of floats)
    low: float | None = None
    high: float | None = None
    help: str = ""

    def kind_words(self) -> str:
        return {"int": "an int", "float": "a number", "range": "a range lo-hi"}[self.kind]

    def bounds(self) -> str:
        return f"[{'-inf' if self.low is None else self.low}, " \
               f"{'inf' if self.high is None else self.high}]"

    def convert(self, text: str) -> Any:
        """The value a spec string gives (``"9"``, ``"0.6-1.0"``); raises ``ValueError``."""
        if self.kind == "int":
            return int(text)
        if self.kind == "range":
            lo, sep, hi = text.partition("-")
            return (float(lo), float(hi if sep else lo))
        return float(text)

    def in_bounds(self, value: Any) -> bool:
        values = value if self.kind == "range" else (value,)
        return all((self.low is None or v >= self.low) and (self.high is None or v <= self.high)
                   for v in values) and (self.kind != "range" or value[0] <= value[1])


@dataclass
class AugmentContext:
    """What a policy may need to know about the backbone whose training inputs it changes.

    Attributes:
        modality: the backbone's modality.
        backbone: its name, for messages.
        image_mean, image_std: how ``preprocess`` normalised pixels (``None``: unknown; image
            policies then rescale each batch to [0, 1] by its own range).
        mask_token_id: the tokenizer's mask token (text), ``None`` if it has none.
        special_ids: token ids never to edit (CLS, SEP, PAD ...).
        sample_rate: the rate of preprocessed waveforms (audio).
    """

    modality: str
    backbone: str = "?"
    image_mean: tuple[float, ...] | None = None
    image_std: tuple[float, ...] | None = None
    mask_token_id: int | None = None
    special_ids: frozenset[int] = frozenset()
    sample_rate: int | None = None


class AugmentPolicy:
    """Base class. Subclasses are registered with :func:`register_augmentation`, declare their
    ``KNOBS`` and implement :meth:`augment_row` (``stage = "rows"``) or
    :meth:`augment_tensors` (``stage = "tensors"``)."""

    name: ClassVar[str] = ""
    modality: ClassVar[str] = ""
    stage: ClassVar[str] = "tensors"
    KNOBS: ClassVar[tuple[Knob, ...]] = ()
    #: a spec with typical values, shown in error messages as the fix
    EXAMPLE: ClassVar[str] = ""

    def __init__(self, **values: Any) -> None:
        knobs = {k.name: k for k in self.KNOBS}
        for key, value in values.items():
            if key not in knobs:
                raise ConfigError(
                    f"augment policy {self.name!r}: unknown parameter {key!r}. Expected one of "
                    f"{sorted(knobs) or '(none: it takes no parameters)'}; got {key}={value!r}. "
                    f"Fix: {self._fix()}.")
            if not knobs[key].in_bounds(value):
                raise ConfigError(
                    f"augment policy {self.name!r}: {key} must be {knobs[key].kind_words()} in "
                    f"{knobs[key].bounds()}{' with lo <= hi' if knobs[key].kind == 'range' else ''}"
                    f"; got {value!r}. Fix: {self._fix()}.")
        self.values = {k.name: values.get(k.name, k.default) for k in self.KNOBS}
        self.context: AugmentContext | None = None

    def _fix(self) -> str:
        return f"e.g. --augment {self.EXAMPLE or self.name!r}"

    def __getattr__(self, key: str) -> Any:
        values = self.__dict__.get("values", {})
        if key in values:
            return values[key]
        raise AttributeError(key)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.values == self.values  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec_string()!r})"

    def spec_string(self) -> str:
        """The spec that recreates this policy: ``"randaugment,n=2,m=9"``."""
        parts = [self.name] + [
            f"{k}={'-'.join(f'{x:g}' for x in v) if isinstance(v, tuple) else v}"
            for k, v in self.values.items()]
        return ",".join(parts)

    def spec(self) -> dict[str, Any]:
        """The run record's entry: policy, modality and every parameter's value."""
        return {"policy": self.name, "modality": self.modality,
                "params": {k: list(v) if isinstance(v, tuple) else v
                           for k, v in self.values.items()}}

    def bind(self, context: AugmentContext) -> None:
        """Learn about the backbone (mask token, pixel normalisation); raise if unusable."""
        self.context = context

    # --- to implement (one of) -------------------------------------------------------------
    def augment_row(self, row: Any, rng: random.Random) -> Any:
        raise NotImplementedError

    def augment_tensors(self, inputs: dict[str, Any], generator: torch.Generator
                        ) -> dict[str, Any]:
        raise NotImplementedError


def parse_policy(spec: Any) -> AugmentPolicy | None:
    """``None`` / ``"none"`` -> ``None``; a spec string -> a new policy; a policy -> itself.

    Raises:
        ConfigError: an unknown policy (listing the registered ones by modality), an unknown
            parameter, a value that is not a number or is out of bounds.
    """
    if spec is None or isinstance(spec, AugmentPolicy):
        return spec
    if not isinstance(spec, str):
        raise ConfigError(f"augment: expected a policy name such as 'randaugment' or "
                          f"'eda,alpha=0.1'; got {type(spec).__name__} {spec!r}.")
    text = spec.strip()
    cut = min((i for i in (text.find(","), text.find(":")) if i >= 0), default=len(text))
    name, opts = text[:cut].strip().lower(), text[cut + 1:]
    if name in ("none", "") and not opts.strip():
        return None
    if name not in AUGMENTATIONS:
        close = difflib.get_close_matches(name, AUGMENTATIONS.names(), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ConfigError(f"augment={spec!r}: unknown policy {name!r}.{hint} Expected one of "
                          f"({policies_by_modality()}), or 'none'. Fix: e.g. --augment "
                          "randaugment (images), eda (text), specaugment (audio).")
    cls = AUGMENTATIONS.get(name)
    knobs = {k.name: k for k in cls.KNOBS}
    values: dict[str, Any] = {}
    for pair in filter(None, (o.strip() for o in opts.split(","))):
        key, eq, raw = (s.strip() for s in pair.partition("="))
        if key not in knobs or not eq:
            cls(**{key: raw})  # the unknown-parameter message
            raise ConfigError(f"augment={spec!r}: expected key=value pairs after the policy "
                              f"name; got {pair!r}. Fix: e.g. --augment {cls.EXAMPLE!r}.")
        try:
            values[key] = knobs[key].convert(raw)
        except ValueError:
            raise ConfigError(f"augment={spec!r}: {key} must be {knobs[key].kind_words()}; "
                              f"got {raw!r}. Fix: e.g. "
                              f"--augment {cls.EXAMPLE or name!r}.") from None
    return cls(**values)


def tensor_key(inputs: dict[str, Any], dim: int, expected: str, modality: str) -> str:
    """The key of the batch's ``dim``-D floating-point tensor: the one a policy transforms.

    Raises:
        ConfigError: no such tensor; says what the policy expected, the tensors the batch
            holds, and to use a backbone of ``modality`` (or no augmentation).
    """
    for k, v in inputs.items():
        if isinstance(v, torch.Tensor) and v.dim() == dim and v.is_floating_point():
            return k
    shapes = {k: tuple(v.shape) for k, v in inputs.items() if isinstance(v, torch.Tensor)}
    raise ConfigError(f"{expected} in the preprocessed batch; got {shapes or 'no tensors'}. "
                      f"Fix: use it with {modality} backbone, or augment='none'.")
