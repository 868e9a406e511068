"""Run folders: the model-folder format with its registry of model kinds, and run records.

* :mod:`.model_folder` — ``save_model`` / ``load`` for every model kind (``model.json``,
  safetensors, config, metrics, record), ``register_model_kind``;
* :mod:`.records` — the record every run holds, analysis runs, listing runs;
* :mod:`.backbone` — the ``run:<folder>`` backbone spec.
"""

from . import backbone  # noqa: F401  (registers the run: backbone prefix)
from .model_folder import (
    MODEL_FORMAT,
    MODEL_KINDS,
    classes_from_json,
    classes_to_json,
    load,
    read_header,
    register_model_kind,
    save_model,
)
from .records import (
    RECORD_SCHEMA,
    environment,
    list_runs,
    read_record,
    record_frame,
    write_analysis_run,
    write_record,
)

__all__ = [
    "MODEL_FORMAT",
    "MODEL_KINDS",
    "RECORD_SCHEMA",
    "classes_from_json",
    "classes_to_json",
    "environment",
    "list_runs",
    "load",
    "read_header",
    "read_record",
    "record_frame",
    "register_model_kind",
    "save_model",
    "write_analysis_run",
    "write_record",
]
