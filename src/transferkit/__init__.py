"""transferkit: transfer learning you can measure.

>>> import transferkit as tk
>>> ds = tk.load_dataset("banking77")
>>> model = tk.TransferClassifier(backbone="minilm-l6", strategy="probe").fit(ds.train)
>>> model.score(ds.test)  # doctest: +SKIP
"""

from ._version import __version__
from .backbones import (
    Backbone,
    TorchBackbone,
    create_backbone,
    list_backbones,
    register_backbone,
    register_module,
)
from .compare import CompareResult, baseline_score, compare, rank_sources
from .data import (
    Dataset,
    DatasetSplits,
    from_arrays,
    from_audio_folder,
    from_csv,
    from_image_folder,
    from_jsonl,
    from_parquet,
    from_table,
    from_tsv,
    list_datasets,
    load_dataset,
    sample_shots,
    train_test_split,
)
from .data.augment import AugmentPolicy, list_augmentations, register_augmentation
from .drift import DriftMonitor, DriftReport, readapt
from .exceptions import (
    BackboneError,
    ConfigError,
    DataError,
    NegativeTransferWarning,
    NotFittedError,
    RunError,
    SourceCollapseWarning,
    TransferKitError,
)
from .features import extract_features
from .heads import register_head
from .models import (
    DomainAdapter,
    MultiTaskClassifier,
    TransferClassifier,
    TransferModel,
    ZeroShotClassifier,
    lr_find,
)
from .pretrain import pretrain
from .registry import Registry
from .report import render_report, write_report
from .runs import list_runs, load
from .select import rank
from .shift import ShiftResult, shift
from .strategies import register_strategy
from .tuning import tune
from .utils.seed import seed_everything

__all__ = [
    "__version__",
    "AugmentPolicy",
    "Backbone",
    "BackboneError",
    "ConfigError",
    "CompareResult",
    "DataError",
    "Dataset",
    "DatasetSplits",
    "DomainAdapter",
    "DriftMonitor",
    "DriftReport",
    "MultiTaskClassifier",
    "NegativeTransferWarning",
    "NotFittedError",
    "Registry",
    "RunError",
    "ShiftResult",
    "SourceCollapseWarning",
    "TorchBackbone",
    "TransferClassifier",
    "TransferKitError",
    "TransferModel",
    "ZeroShotClassifier",
    "baseline_score",
    "compare",
    "create_backbone",
    "extract_features",
    "from_arrays",
    "from_audio_folder",
    "from_csv",
    "from_image_folder",
    "from_jsonl",
    "from_parquet",
    "from_table",
    "from_tsv",
    "list_augmentations",
    "list_backbones",
    "list_datasets",
    "list_runs",
    "load",
    "load_dataset",
    "lr_find",
    "pretrain",
    "rank",
    "rank_sources",
    "readapt",
    "register_augmentation",
    "register_backbone",
    "register_head",
    "register_module",
    "register_strategy",
    "render_report",
    "sample_shots",
    "seed_everything",
    "shift",
    "train_test_split",
    "tune",
    "write_report",
]
