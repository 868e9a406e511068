"""Datasets: the in-memory form, loaders per source kind, splits, and built-in datasets."""

from .audio import AUDIO_EXTENSIONS, from_audio_folder, read_audio, resample
from .builtin import (
    data_search_paths,
    find_shared_dataset,
    list_datasets,
    load_dataset,
    register_dataset,
)
from .coerce import as_dataset
from .dataset import MODALITIES, Dataset, DatasetSplits
from .images import IMAGE_EXTENSIONS, from_image_folder, verify_images
from .loaders import (
    from_arrays,
    from_csv,
    from_dataframe,
    from_jsonl,
    from_parquet,
    from_table,
    from_tsv,
)
from .named_datasets import read_wav  # registers the named datasets
from .splits import sample_fraction, sample_shots, train_test_split
from .validate import check_labels, check_modality

__all__ = [
    "AUDIO_EXTENSIONS",
    "Dataset",
    "DatasetSplits",
    "IMAGE_EXTENSIONS",
    "MODALITIES",
    "as_dataset",
    "check_labels",
    "check_modality",
    "data_search_paths",
    "find_shared_dataset",
    "from_arrays",
    "from_audio_folder",
    "from_csv",
    "from_dataframe",
    "from_image_folder",
    "from_jsonl",
    "from_parquet",
    "from_table",
    "from_tsv",
    "list_datasets",
    "load_dataset",
    "read_audio",
    "read_wav",
    "register_dataset",
    "resample",
    "sample_fraction",
    "sample_shots",
    "train_test_split",
    "verify_images",
]
