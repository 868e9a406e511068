"""Tune a pre-trained encoder on the labelled source before adapting (``source_finetune=K``).

Frozen pre-trained features only weakly encode the source task (sentiment, say), and no
feature-level or head-level adaptation can add what the features lack. Fine-tuning the top
blocks on the source labels first, with a linear-probe start (LP-FT; Kumar et al. 2022, who
show it distorts the pre-trained features less and transfers better out of distribution than
tuning from a random head), gives every method a representation of the task itself; the
methods then adapt on that encoder's frozen features, which cost one encoding per domain.

Only the source rows the methods train on are used: the held-out source rows stay unseen for
the validators and the collapse check, and target rows (labelled or not) are never read here.

The tuning depends on the source alone, so it is cached (``cache=True``): the weights that
changed, keyed by the backbone's fingerprint, the source rows and labels, and every setting
that shapes the training. Adapting one source to several targets, or trying several methods,
tunes once.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..backbones.base import Backbone
from ..data.dataset import Dataset
from ..exceptions import ConfigError
from ..features import cache_dir
from ..strategies import FineTuneStrategy, FitContext
from ..utils.fingerprint import hash_array, hash_json
from ..utils.io import atomic_open
from ..utils.seed import seed_everything

__all__ = ["tune_on_source", "SOURCE_EPOCHS", "tuned_cache_path"]

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
    if not bb.rebuildable:
        raise ConfigError(
            f"source_finetune={params['source_finetune']!r} tunes a pre-trained encoder on the "
            f"source first, but backbone {bb.name!r} has no pre-trained weights. Leave "
            "source_finetune unset: the deep methods (dann, cdan, mmd, selftrain) train a "
            "randomly initialised backbone end to end.")
    epochs = params["source_epochs"] or SOURCE_EPOCHS
    settings = {"unfreeze": params["source_finetune"], "epochs": epochs, "head_init": "probe",
                "batch_size": params["batch_size"], "devices": params["devices"],
                "precision": params["precision"], "seed": params["seed"]}
    path = tuned_cache_path(bb, source, settings) if params["cache"] else None
    t0 = time.perf_counter()
    if path is not None and path.exists():
        tuned, record = _load_tuned(bb, path)
        if tuned is not None:
            log.info("adapt: source-tuned weights of %s read from the cache", bb.name)
            record.update(cached=True, seconds_when_tuned=record["seconds"],
                          seconds=round(time.perf_counter() - t0, 3))
            return tuned, record
    log.info("adapt: fine-tuning the top %s groups of %s on %d source rows",
             params["source_finetune"], bb.name, len(source))
    tuned, tuner = _finetune(bb, source, {**settings, "cache": params["cache"],
                                          "progress": params["progress"]})
    summary = tuner.summary
    best = summary.get("best_epoch")
    val_acc = next((h.get("val_accuracy") for h in tuner.history
                    if h.get("epoch") == best), None)
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
    if path is not None:
        _store_tuned(bb, tuned, record, path)
    record["cached"] = False
    return tuned, record


def _finetune(bb: Backbone, source: Dataset, settings: dict[str, Any]
              ) -> tuple[Backbone, FineTuneStrategy]:
    """Fine-tune a copy of ``bb`` on ``source`` as ``TransferClassifier(strategy="finetune")``
    would (seeded the same way, so the numbers are the same); returns the tuned copy and the
    fitted strategy (its summary and history)."""
    seed_everything(settings["seed"])
    classes = np.unique(source.labels)
    tuned = copy.deepcopy(bb)
    ctx = FitContext(tuned, -1, source, np.searchsorted(classes, source.labels), len(classes),
                     settings)
    return tuned, FineTuneStrategy(**settings).fit(ctx)


def tuned_cache_path(bb: Backbone, source: Dataset, settings: dict[str, Any]) -> Path:
    """Where the source-tuned weights of ``bb`` on ``source`` with ``settings`` are cached."""

    labels = np.asarray(source.labels)
    key = hash_json([bb.fingerprint(), source.fingerprint(),
                     hash_array(labels.astype(str) if labels.dtype == object else labels),
                     settings])
    return cache_dir() / "source_tuned" / f"{key}.safetensors"


def _store_tuned(bb: Backbone, tuned: Backbone, record: dict[str, Any], path: Path) -> None:
    """Write the tensors that tuning changed, and the stage's record, atomically."""
    from safetensors.torch import save

    before = bb.state_dict()
    changed = {k: v.detach().cpu().contiguous() for k, v in tuned.state_dict().items()
               if not torch.equal(v, before[k])}
    try:
        with atomic_open(path, "wb") as f:
            f.write(save(changed, metadata={"record": json.dumps(record)}))
    except OSError as e:  # a full or read-only disk costs the cache, never the fit
        log.warning("could not cache the source-tuned weights in %s: %s", path.parent, e)


def _load_tuned(bb: Backbone, path: Path) -> tuple[Backbone | None, dict[str, Any]]:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            record = json.loads(f.metadata()["record"])
            changed = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # noqa: BLE001 - a damaged entry is re-computed, not fatal
        log.warning("ignoring the unreadable cache entry %s: %s", path, e)
        return None, {}
    tuned = copy.deepcopy(bb)
    missing = set(changed) - set(tuned.state_dict())
    if missing:
        return None, {}
    tuned.load_state_dict(changed, strict=False)
    tuned.eval()
    return tuned, record
