"""Did transfer help? Strategies compared over amounts of labelled data and seeds."""

from .run import CompareResult, compare
from .stats import VERDICTS, data_efficiency, paired_test, transfer_verdict

__all__ = ["compare", "CompareResult", "VERDICTS", "paired_test", "transfer_verdict",
           "data_efficiency"]
