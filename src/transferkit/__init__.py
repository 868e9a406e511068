"""transferkit: transfer learning you can measure.

>>> import transferkit as tk
>>> ds = tk.load_dataset("banking77")
>>> model = tk.TransferClassifier(backbone="minilm-l6", strategy="probe").fit(ds.train)
>>> model.score(ds.test)  # doctest: +SKIP
"""

__version__ = "0.1.0"

from .adapt import DomainAdapter  # noqa: E402
from .backbones import (  # noqa: E402
    Backbone,
    TorchBackbone,
    create_backbone,
    list_backbones,
    register_backbone,
    register_module,
)
from .compare import CompareResult, compare  # noqa: E402
from .data import (  # noqa: E402
    Dataset,
    DatasetSplits,
    from_arrays,
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
from .estimator import TransferClassifier  # noqa: E402
from .exceptions import (  # noqa: E402
    BackboneError,
    ConfigError,
    DataError,
    NegativeTransferWarning,
    NotFittedError,
    RunError,
    TransferKitError,
)
from .features import extract_features  # noqa: E402
from .fewshot import ZeroShotClassifier  # noqa: E402
from .heads import register_head  # noqa: E402
from .registry import Registry  # noqa: E402
from .report import render_report, write_report  # noqa: E402
from .runs import list_runs, load  # noqa: E402
from .select import rank  # noqa: E402
from .shift import ShiftResult, shift  # noqa: E402
from .strategies import register_strategy  # noqa: E402
from .utils.seed import seed_everything  # noqa: E402

__all__ = [
    "__version__",
    "Backbone",
    "BackboneError",
    "ConfigError",
    "CompareResult",
    "DataError",
    "Dataset",
    "DatasetSplits",
    "DomainAdapter",
    "NegativeTransferWarning",
    "NotFittedError",
    "Registry",
    "RunError",
    "ShiftResult",
    "TorchBackbone",
    "TransferClassifier",
    "TransferKitError",
    "ZeroShotClassifier",
    "compare",
    "create_backbone",
    "extract_features",
    "from_arrays",
    "from_csv",
    "from_image_folder",
    "from_jsonl",
    "from_parquet",
    "from_table",
    "from_tsv",
    "list_backbones",
    "list_datasets",
    "list_runs",
    "load",
    "load_dataset",
    "rank",
    "register_backbone",
    "register_head",
    "register_module",
    "register_strategy",
    "render_report",
    "sample_shots",
    "seed_everything",
    "shift",
    "train_test_split",
    "write_report",
]
