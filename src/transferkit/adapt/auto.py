"""``method="auto"``: which methods to try, and the label-free choice among them.

The candidates depend on what the data allow: methods needing labelled target rows only when
``target_labels=`` provides some; feature-level methods (seconds) when the backbone is
pre-trained (its frozen features mean something); deep methods always (on frozen features
for pre-trained backbones, end to end for randomly initialised ones). The baseline (no
adaptation) is always a candidate, so ``auto`` can decline to adapt. The choice uses
:func:`~transferkit.adapt.validators.rank_select` on validator scores computed without
target labels.
"""

from __future__ import annotations

from ..exceptions import ConfigError
from .base import ADAPT_METHODS
from .params import ADAPT_COMMON

__all__ = ["auto_candidates", "baseline_for", "check_method_sources", "parse_candidate",
           "tunable", "FEATURE_CANDIDATES", "DEEP_CANDIDATES", "FEW_LABEL_CANDIDATES",
           "MULTI_SOURCE_FEATURE_CANDIDATES", "MULTI_SOURCE_DEEP_CANDIDATES"]

FEATURE_CANDIDATES = ("source", "coral", "reweight", "kmm", "subspace")
DEEP_CANDIDATES = ("source-net", "dann", "cdan", "mmd", "selftrain")
FEW_LABEL_CANDIDATES = ("tradaboost", "union")
#: tried besides the others when there are several sources (every other method fits on their
#: union)
MULTI_SOURCE_FEATURE_CANDIDATES = ("ensemble", "select")
MULTI_SOURCE_DEEP_CANDIDATES = ("m3sda",)


def check_method_sources(name: str, multi_source: bool) -> None:
    """A multi-source method needs several sources.

    Raises:
        ConfigError: ``name`` weighs sources against each other but only one was given.
    """
    if ADAPT_METHODS.info(name).get("multi_source") and not multi_source:
        raise ConfigError(
            f"method={name!r} weighs several source domains against each other; got one "
            "source. Pass a list of sources (fit([source_1, source_2], target); on the command "
            "line --source A,B), or choose a single-source method.")


def tunable(name: str) -> list[str]:
    """The numeric settings method ``name`` declares that a candidate may set (``epochs``,
    ``tradeoff``, ``coral_eps``...): all but the ones every method shares."""
    table = ADAPT_METHODS.get(name).PARAMS
    return [n for n, p in table.items()
            if p.kind in ("int", "float") and n not in ADAPT_COMMON and n != "devices"]


def parse_candidate(spec: str) -> tuple[str, dict[str, float | int]]:
    """``"dann:tradeoff=0.3,epochs=10"`` -> ``("dann", {"tradeoff": 0.3, "epochs": 10})``.

    A candidate is a method name, optionally with hyper-parameter overrides, so that ``auto``
    chooses hyper-parameters (the adversarial weight, the number of epochs...) with the same
    label-free validators it uses to choose methods. The keys are the method's declared
    numeric parameters (:func:`tunable`), checked against their declared bounds.

    Raises:
        ConfigError: an unknown method, an override the method does not declare, or a bad value.
    """
    name, _, opts = str(spec).partition(":")
    table = ADAPT_METHODS.get(name).PARAMS  # unknown name: ConfigError with close matches
    keys = tunable(name)
    out: dict[str, float | int] = {}
    for pair in filter(None, (o.strip() for o in opts.split(","))):
        key, _, text = pair.partition("=")
        if key not in keys:
            raise ConfigError(f"Candidate {spec!r}: {key!r} cannot be set per candidate; "
                              f"tunable keys of {name!r} are {keys}.")
        try:
            value = float(text)
        except ValueError:
            raise ConfigError(f"Candidate {spec!r}: {key}={text!r} is not a number.") from None
        p = table[key]
        out[key] = int(value) if p.kind == "int" and value.is_integer() else value
        p.validate(f"candidate {spec!r}", out[key])
    return name, out


def auto_candidates(pretrained: bool, has_target_labels: bool,
                    candidates: list[str] | tuple[str, ...] | None = None,
                    multi_source: bool = False) -> list[str]:
    """Method names ``auto`` tries, in order (ties in the choice go to the earlier one).

    Args:
        pretrained: whether the backbone has pre-trained weights.
        has_target_labels: whether labelled target rows are available.
        candidates: an explicit list instead: method names, optionally with overrides
            (see :func:`parse_candidate`).
        multi_source: whether the source is the union of several sources (adds the
            multi-source methods).
    """
    if candidates:
        names = [str(n) for n in candidates]
        for spec in names:
            n, _ = parse_candidate(spec)
            if ADAPT_METHODS.info(n).get("needs_target_labels") and not has_target_labels:
                raise ConfigError(
                    f"The candidate {n!r} needs labelled target rows; pass target_labels= or "
                    "drop it from candidates.")
            check_method_sources(n, multi_source)
        return names
    names = list(FEATURE_CANDIDATES) if pretrained else []
    if multi_source and pretrained:
        names += list(MULTI_SOURCE_FEATURE_CANDIDATES)
    names += list(DEEP_CANDIDATES)
    if multi_source:
        names += list(MULTI_SOURCE_DEEP_CANDIDATES)
    if has_target_labels:
        names += list(FEW_LABEL_CANDIDATES)
    return names


def baseline_for(method: str) -> str:
    """The no-adaptation model comparable to ``method``: the probe for feature-level
    methods, the same network trained on the source alone for deep ones."""
    name, _ = parse_candidate(method)
    return "source-net" if ADAPT_METHODS.info(name).get("deep") else "source"
