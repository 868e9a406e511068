"""Choosing a backbone: transferability scores (pure numpy functions) and ``rank``.

Scores are functions of ``(features, labels)`` — or of ``(source_probabilities, labels)`` for
LEEP and NCE — and higher is better for every one of them.
"""

from .hscore import hscore, ledoit_wolf_shrinkage
from .knn import knn_score, probe_score, stratified_folds
from .leep import leep
from .logme import log_evidence, logme
from .nce import nce
from .rank import (
    DEFAULT_SCORES,
    format_ranking,
    rank,
    rank_sample,
    ranking_record,
    source_probabilities,
)
from .scores import SCORES, list_scores, register_score, score_info

__all__ = [
    "DEFAULT_SCORES",
    "SCORES",
    "format_ranking",
    "hscore",
    "knn_score",
    "ledoit_wolf_shrinkage",
    "leep",
    "list_scores",
    "log_evidence",
    "logme",
    "nce",
    "probe_score",
    "rank",
    "rank_sample",
    "ranking_record",
    "register_score",
    "score_info",
    "source_probabilities",
    "stratified_folds",
]
