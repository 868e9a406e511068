"""Did transfer help? Strategies compared over amounts of labelled data and seeds; candidate
source domains ranked for a target (:func:`rank_sources`)."""

from .reference import baseline_score
from .run import CompareResult, compare, default_strategies
from .sources import format_source_ranking, rank_sources
from .stats import (
    VERDICTS,
    data_efficiency,
    efficiency_points,
    paired_test,
    stronger_reference,
    transfer_verdict,
)

__all__ = ["compare", "CompareResult", "VERDICTS", "paired_test", "transfer_verdict",
           "data_efficiency", "efficiency_points", "stronger_reference", "default_strategies",
           "baseline_score", "rank_sources", "format_source_ranking"]
