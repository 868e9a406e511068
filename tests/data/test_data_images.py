"""Image folders: layouts, load-time verification of every file, skip_bad, clear messages."""

from __future__ import annotations

import logging

import pytest

from transferkit.data import Dataset, DatasetSplits, from_image_folder, load_dataset
from transferkit.exceptions import DataError


def _tree(root, write_png, layout: dict[str, int]):
    for cls, n in layout.items():
        for i in range(n):
            write_png(root / cls / f"{i}.png", value=10 * i)


def test_class_folders(tmp_path, write_png):
    _tree(tmp_path, write_png, {"cat": 3, "dog": 2})
    (tmp_path / ".DS_Store").write_bytes(b"\0\0")
    ds = from_image_folder(tmp_path)
    assert isinstance(ds, Dataset) and ds.modality == "image"
    assert ds.labels.tolist() == ["cat"] * 3 + ["dog"] * 2
    assert all(p.endswith(".png") for p in ds.inputs)
    assert ds.meta["classes"] == ["cat", "dog"] and ds.meta["skipped"] == 0
    assert ds.meta["layout"] == "class-folders"


def test_nested_images_belong_to_their_class_and_other_files_are_ignored(tmp_path, write_png):
    write_png(tmp_path / "cat" / "a" / "deep.png")
    write_png(tmp_path / "cat" / "top.JPG")
    write_png(tmp_path / "dog" / "x.png")
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    ds = from_image_folder(tmp_path)
    assert ds.class_counts() == {"cat": 2, "dog": 1}
    assert ds.meta["ignored"] == ["dog/notes.txt"]


def test_train_test_val_layout(tmp_path, write_png):
    _tree(tmp_path / "train", write_png, {"a": 3, "b": 3})
    _tree(tmp_path / "test", write_png, {"a": 1, "b": 1})
    _tree(tmp_path / "val", write_png, {"a": 1, "b": 2})
    splits = from_image_folder(tmp_path, name="toy")
    assert isinstance(splits, DatasetSplits)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (6, 3, 2)
    assert splits.test.meta["split"] == "test" and splits.name == "toy"
    via = load_dataset(str(tmp_path))
    assert len(via.train) == 6 and len(via.test) == 2


def test_flat_folder_is_unlabelled(tmp_path, write_png):
    write_png(tmp_path / "x.png")
    write_png(tmp_path / "y.png")
    ds = from_image_folder(tmp_path)
    assert ds.labels is None and len(ds) == 2 and ds.meta["labelled"] is False


def _bad_files(root):
    (root / "dog" / "fake.jpg").write_text("this is text, not a JPEG")
    good = (root / "cat" / "0.png").read_bytes()
    (root / "cat" / "cut.png").write_bytes(good[: len(good) // 2])


def test_bad_images_raise_naming_the_files(tmp_path, write_png):
    _tree(tmp_path, write_png, {"cat": 2, "dog": 2})
    _bad_files(tmp_path)
    with pytest.raises(DataError) as e:
        from_image_folder(tmp_path)
    msg = str(e.value)
    assert "2 of 6 file(s)" in msg
    assert "dog/fake.jpg" in msg and "cat/cut.png" in msg and "skip_bad=True" in msg


def test_truncated_jpeg_is_caught(tmp_path):
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    (tmp_path / "a").mkdir()
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(
        tmp_path / "a" / "ok.jpg"
    )
    data = (tmp_path / "a" / "ok.jpg").read_bytes()
    (tmp_path / "a" / "cut.jpg").write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(DataError, match="a/cut.jpg"):
        from_image_folder(tmp_path)


def test_skip_bad_counts_and_logs(tmp_path, write_png, caplog):
    _tree(tmp_path, write_png, {"cat": 2, "dog": 2})
    _bad_files(tmp_path)
    with caplog.at_level(logging.WARNING, logger="transferkit.data.images"):
        ds = from_image_folder(tmp_path, skip_bad=True)
    assert len(ds) == 4 and ds.meta["skipped"] == 2
    assert sorted(ds.meta["skipped_files"]) == ["cat/cut.png", "dog/fake.jpg"]
    assert "skipped 2 unreadable" in caplog.text


def test_many_bad_files_message_is_short(tmp_path, write_png):
    _tree(tmp_path, write_png, {"a": 1})
    for i in range(9):
        (tmp_path / "a" / f"bad{i}.png").write_bytes(b"nope")
    with pytest.raises(DataError) as e:
        from_image_folder(tmp_path)
    assert "9 of 10" in str(e.value) and "and 4 more" in str(e.value)


def test_no_images_and_missing_folder(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.heic").write_bytes(b"x")
    with pytest.raises(DataError) as e:
        from_image_folder(tmp_path)
    assert "'.heic': 1" in str(e.value) and "extensions=" in str(e.value)
    with pytest.raises(DataError, match="all 1 image"):
        from_image_folder(tmp_path, extensions=("heic",), skip_bad=True)
    with pytest.raises(DataError, match="no such path"):
        from_image_folder(tmp_path / "nope")
