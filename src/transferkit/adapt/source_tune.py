"""Tune a pre-trained encoder on the labelled source before adapting (``source_finetune=K``).

Frozen pre-trained features only weakly encode the source task (sentiment, say), and no
feature-level or head-level adaptation can add what the features lack. Fine-tuning the top
blocks on the source labels first, with a linear-probe start (LP-FT; Kumar et al. 2022, who
show it distorts the pre-trained features less and transfers better out of distribution than
tuning from a random head), gives every method a representation of the task itself; the
methods then adapt on that encoder's frozen features, which cost one encoding per domain.

Only the source rows the methods train on are used: the held-out source rows stay unseen for
the validators and the collapse check, and target rows (labelled or not) are never read here.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from ..backbones.base import Backbone
from ..data.dataset import Dataset
from ..exceptions import ConfigError

__all__ = ["tune_on_source", "SOURCE_EPOCHS"]

log = logging.getLogger(__name__)

#: epochs of the source fine-tuning when ``source_epochs`` is ``None``
SOURCE_EPOCHS = 3


def tune_on_source(bb: Backbone, source: Dataset, params: dict[str, Any]
                   ) -> tuple[Backbone, dict[str, Any]]:
    """Fine-tune a copy of ``bb``'s top ``params["source_finetune"]`` groups on ``source``.

    Returns the tuned backbone (``bb`` itself is left as it was) and a record of the stage:
    groups and parameters trained, epochs, the source validation accuracy of the best epoch,
    and seconds.

    Raises:
        ConfigError: ``bb`` has no pre-trained weights (``lenet``, ``tabular-mlp``): it trains
            end to end with the deep methods instead.
    """
    from ..estimator import TransferClassifier

    if not bb.rebuildable:
        raise ConfigError(
            f"source_finetune={params['source_finetune']!r} tunes a pre-trained encoder on the "
            f"source first, but backbone {bb.name!r} has no pre-trained weights. Leave "
            "source_finetune unset: the deep methods (dann, cdan, mmd, selftrain) train a "
            "randomly initialised backbone end to end.")
    epochs = params.get("source_epochs") or SOURCE_EPOCHS
    clf = TransferClassifier(
        backbone=bb, strategy="finetune", unfreeze=params["source_finetune"], epochs=epochs,
        head_init="probe", batch_size=params.get("batch_size") or 64,
        devices=params.get("devices") or 1, precision=params.get("precision") or "auto",
        cache=params.get("cache", True), seed=params.get("seed") or 0,
        progress=params.get("progress", False))
    t0 = time.perf_counter()
    log.info("adapt: fine-tuning the top %s groups of %s on %d source rows",
             params["source_finetune"], bb.name, len(source))
    clf.fit(source)
    summary = clf.strategy_.summary
    best = summary.get("best_epoch")
    val_acc = next((h.get("val_accuracy") for h in clf.strategy_.history
                    if h.get("epoch") == best), None)
    tuned = clf.backbone_
    tuned.eval()
    record = {
        "unfreeze": params["source_finetune"],
        "trainable_groups": summary["freezing"]["trainable_groups"],
        "trainable_params": summary["trainable_params"],
        "epochs": epochs,
        "epochs_run": summary.get("epochs_run"),
        "best_epoch": summary.get("best_epoch"),
        "val_accuracy": None if val_acc is None else round(float(val_acc), 4),
        "validation": summary["validation"],
        "head_init": "probe",
        "n_source_rows": len(source),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    return tuned, record
