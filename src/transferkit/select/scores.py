"""The score registry: every transferability score ``rank`` can compute, with how to read it.

A score is registered with what it needs — ``"features"`` (a function of ``(features,
labels)``) or ``"source"`` (a function of ``(source_probabilities, labels)``, only for
backbones that keep their pre-training classifier) — and a one-line explanation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..registry import Registry
from .hscore import hscore
from .knn import knn_score, probe_score
from .leep import leep
from .logme import logme
from .nce import nce

__all__ = ["SCORES", "register_score", "list_scores", "score_info"]

SCORES: Registry[float] = Registry("score")


def register_score(name: str, needs: str, meaning: str, scale: str = "",
                   cross_validated: bool = False) -> Callable:
    """Decorator registering ``fn(x, labels) -> float`` as a score for :func:`~transferkit.rank`.

    Args:
        name: the name users type (``--scores logme,knn``).
        needs: ``"features"`` (``x`` is the ``(N, D)`` features) or ``"source"`` (``x`` is the
            ``(N, C_source)`` source-class probabilities).
        meaning: what the number measures, in a few words; higher must be better.
        scale: how to read its value (range, chance level); may use ``{k_minus_1}``,
            ``{neg_log_k}``, ``{chance}`` and ``{folds}``.
        cross_validated: whether it is cross-validated (it is then called with ``folds=`` and
            ``seed=``, and needs every class at least twice).
    """
    if needs not in ("features", "source"):
        raise ValueError(f"needs must be 'features' or 'source'; got {needs!r}")
    return SCORES.register(name, needs=needs, meaning=meaning, scale=scale,
                           cross_validated=cross_validated)


def list_scores() -> list[str]:
    return SCORES.names()


def score_info(name: str) -> dict[str, Any]:
    return SCORES.info(name)


register_score(
    "logme", "features",
    "log evidence per example of a Bayesian linear model on the features",
    "compare between candidates only; differences of 0.01 or more are meaningful",
)(logme)
register_score(
    "hscore", "features",
    "between-class share of the feature variance (Ledoit-Wolf shrinkage)",
    "0 (classes indistinguishable) up to about {k_minus_1} (K - 1)",
)(hscore)
register_score(
    "nce", "source",
    "minus the entropy of the target label given the source model's predicted class",
    "0 (source class decides the label) down to {neg_log_k} (-log K, no information)",
)(nce)
register_score(
    "leep", "source",
    "log-likelihood of the source classifier with its classes re-mapped to the target's",
    "0 is perfect; chance is about {neg_log_k} (-log K)",
)(leep)
register_score(
    "knn", "features",
    "cross-validated accuracy of a 10-nearest-neighbour classifier (cosine)",
    "{folds}-fold accuracy; chance about {chance}",
    cross_validated=True,
)(knn_score)
register_score(
    "probe", "features",
    "cross-validated accuracy of a logistic-regression probe",
    "{folds}-fold accuracy; chance about {chance}",
    cross_validated=True,
)(probe_score)
