"""Label names and descriptions for zero-shot classification: validation and the file format.

A label description file is YAML (``.yaml``/``.yml``) or JSON (``.json``) holding either a
mapping ``label -> description`` (a string, or a list of strings: several phrasings are
embedded and averaged), a list of label names, or a mapping with a ``labels`` key holding one
of those plus an optional ``template``::

    # labels.yaml
    template: "This is about {}."
    labels:
      card_arrival: "when my new card will arrive"
      lost_or_stolen_card:
        - "I lost my card"
        - "my card was stolen"
      cash_withdrawal_charge: ""        # empty: the templated label name is used

Labels are compared with a dataset's labels as strings, so ``0``/``1`` in a file match
integer labels, and a dataset's ``meta["label_names"]`` (SST-2: ``{0: "negative", 1:
"positive"}``) lets names stand for integer labels.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import ConfigError, DataError
from ..strategies.label_names import humanize

__all__ = [
    "LabelSpec",
    "check_label_names",
    "humanize",
    "read_label_file",
    "label_prompts",
    "match_dataset_labels",
]

#: what a label maps to: no description, one, or several phrasings
LabelSpec = dict[str, list[str]]


def check_label_names(labels: Iterable[Any], owner: str = "ZeroShotClassifier",
                      min_labels: int = 2) -> list[str]:
    """Labels as non-empty, distinct strings (after stripping), in the order given.

    Raises:
        ConfigError: fewer than two labels, an empty name, or a name given twice.
    """
    if isinstance(labels, str):
        raise ConfigError(
            f"The 'labels' parameter of {owner} must be a list of label names; got the string "
            f"{labels[:60]!r}. Fix: labels={[s.strip() for s in labels.split(',')]!r}."
        )
    out = [str(v).strip() if v is not None else "" for v in labels]
    empty = [i for i, v in enumerate(out) if not v]
    if empty:
        raise ConfigError(
            f"The labels of {owner} must be non-empty names; got an empty name at position(s) "
            f"{empty[:10]} of {out!r}. Fix: remove the empty entries (a trailing comma?)."
        )
    dups = sorted({v for v in out if out.count(v) > 1})
    if dups:
        raise ConfigError(
            f"The labels of {owner} must be distinct; got {dups} more than once. Fix: give "
            "each label once (several phrasings of one label go in its description list)."
        )
    if len(out) < min_labels:
        raise ConfigError(
            f"{owner} needs at least two labels to choose between; got {out!r}."
        )
    return out


def _as_texts(label: str, value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    raise ConfigError(
        f"The description of label {label!r} in {where} must be a string or a list of strings; "
        f"got {type(value).__name__}."
    )


def normalize_descriptions(obj: Any, where: str = "descriptions", min_labels: int = 2
                           ) -> LabelSpec:
    """A mapping ``label -> description(s)`` or a list of names, as ``{label: [texts]}``."""
    if isinstance(obj, Mapping):
        names = check_label_names(list(obj.keys()), min_labels=min_labels)
        values = list(obj.values())
        return {n: _as_texts(n, v, where) for n, v in zip(names, values, strict=True)}
    if isinstance(obj, Sequence) and not isinstance(obj, str):
        return {n: [] for n in check_label_names(obj, min_labels=min_labels)}
    raise ConfigError(
        f"Expected {where} to be a mapping of label -> description or a list of labels; "
        f"got {type(obj).__name__}."
    )


def read_label_file(path: str | os.PathLike) -> tuple[LabelSpec, str | None]:
    """Read a YAML/JSON label description file; returns ``({label: [texts]}, template)``.

    Raises:
        DataError: the file is missing or cannot be parsed.
        ConfigError: its content is not one of the forms in the module docstring.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(
            f"Label description file {str(p)!r} does not exist. Expected a YAML or JSON file "
            "mapping each label to a description."
        )
    import yaml

    text = p.read_text(encoding="utf-8")
    try:
        obj = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as e:
        raise DataError(f"Cannot parse label description file {str(p)!r}: {e}") from None
    template = None
    if isinstance(obj, Mapping) and "labels" in obj and set(obj) <= {"labels", "template"}:
        template = obj.get("template")
        if template is not None and not isinstance(template, str):
            raise ConfigError(f"'template' in {str(p)!r} must be a string; got {template!r}.")
        obj = obj["labels"]
    if obj is None:
        raise ConfigError(f"Label description file {str(p)!r} is empty; expected labels in it.")
    return normalize_descriptions(obj, where=repr(str(p))), template


def check_template(template: str | None, owner: str = "ZeroShotClassifier") -> str:
    """``None`` means the bare label text; otherwise exactly one ``{}`` slot is required."""
    if template is None:
        return "{}"
    if not isinstance(template, str) or template.count("{}") != 1:
        raise ConfigError(
            f"The 'template' parameter of {owner} must be a string with one '{{}}' slot for the "
            f"label, such as 'This is about {{}}.'. Got {template!r} instead."
        )
    return template


def label_prompts(spec: LabelSpec, template: str | None) -> dict[str, list[str]]:
    """The texts embedded for each label: its descriptions as written, or, for a label without
    any, the template filled with its name (``card_arrival`` -> "This is about card arrival.")."""
    tpl = check_template(template)
    return {name: list(texts) if texts else [tpl.format(humanize(name))]
            for name, texts in spec.items()}


def match_dataset_labels(
    labels: Sequence[str], data_labels: np.ndarray, label_names: Mapping[Any, str] | None = None,
    where: str = "the data", allow_extra: bool = False,
) -> np.ndarray:
    """The dataset's labels expressed as the zero-shot label names.

    Matching is on the string form; when the data's labels are codes with
    ``label_names`` (``{0: "negative", 1: "positive"}``), the names are used instead.

    Raises:
        DataError: listing the data's labels the model lacks and (unless ``allow_extra``) the
            given labels the data lacks.
    """
    raw = np.asarray(data_labels)
    as_str = np.array([str(v.item() if isinstance(v, np.generic) else v) for v in raw],
                      dtype=object)
    want = set(labels)
    if label_names and not set(np.unique(as_str)) <= want:
        names = {str(k): str(v) for k, v in label_names.items()}
        as_str = np.array([names.get(v, v) for v in as_str], dtype=object)
    have = set(np.unique(as_str).tolist())
    missing = sorted(have - want)
    extra = [] if allow_extra else sorted(want - have)
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"{len(missing)} label(s) of {where} not among the given labels: "
                         f"{missing[:15]}{' ...' if len(missing) > 15 else ''}")
        if extra:
            parts.append(f"{len(extra)} given label(s) that {where} does not have: "
                         f"{extra[:15]}{' ...' if len(extra) > 15 else ''}")
        raise DataError(
            "The labels do not match: " + "; ".join(parts) + ". Fix: give exactly the data's "
            "labels (names as they appear in the label column)."
        )
    return as_str.astype(str)
