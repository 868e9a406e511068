"""Inputs that used to give silent wrong answers or misleading messages (issue 18)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import transferkit as tk
from transferkit.backbones.lenet import _to_gray_array
from transferkit.backbones.vision import load_images
from transferkit.data import check_modality, from_csv
from transferkit.data.images import to_8bit
from transferkit.exceptions import DataError

# --- 16-bit and float images ------------------------------------------------------------------


def _ramp16() -> np.ndarray:
    return (np.arange(64 * 64, dtype=np.uint32).reshape(64, 64) * 16).astype(np.uint16)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16bit_images_are_scaled_not_saturated(tmp_path, suffix):
    raw = _ramp16()
    path = tmp_path / f"g16{suffix}"
    Image.fromarray(raw).save(path)
    rgb = np.asarray(load_images([str(path)])[0])
    assert rgb.shape == (64, 64, 3) and rgb.dtype == np.uint8
    # Before: convert("RGB") clipped 99.6 % of the pixels to 255.
    assert (rgb == 255).mean() < 0.01
    np.testing.assert_allclose(rgb[..., 0], np.round(raw / 257.0), atol=1)
    gray = _to_gray_array([str(path)])  # lenet reads grey
    assert (gray == 1.0).mean() < 0.01 and abs(gray.mean() - raw.mean() / 65535) < 0.01


def test_float_images_in_0_1_and_other_ranges(tmp_path):
    f01 = np.linspace(0, 1, 32 * 32, dtype=np.float32).reshape(32, 32)
    Image.fromarray(f01).save(tmp_path / "f.tif")
    rgb = np.asarray(load_images([str(tmp_path / "f.tif")])[0])
    assert rgb.min() == 0 and rgb.max() == 255  # before: all 0 (black)
    depth = (f01 * 1000.0 - 200.0).astype(np.float32)
    out = np.asarray(to_8bit(Image.fromarray(depth)))
    assert out.min() == 0 and out.max() == 255
    bad = f01.copy()
    bad[0, 0] = np.nan
    with pytest.raises(DataError, match="NaN or infinite"):
        to_8bit(Image.fromarray(bad), "x.tif")


def test_32bit_int_image_with_16bit_values(tmp_path):
    raw = _ramp16().astype(np.int32)
    Image.fromarray(raw).save(tmp_path / "i.tif")
    rgb = np.asarray(load_images([str(tmp_path / "i.tif")])[0])
    np.testing.assert_allclose(rgb[..., 1], np.round(raw / 257.0), atol=1)


def test_8bit_images_unchanged(tmp_path):
    arr = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    Image.fromarray(arr).save(tmp_path / "c.png")
    np.testing.assert_array_equal(np.asarray(load_images([str(tmp_path / "c.png")])[0]), arr)


# --- blank labels -------------------------------------------------------------------------------


def test_whitespace_labels_are_missing_and_numbers_stay_numbers(tmp_path):
    blank = tmp_path / "blank.csv"
    blank.write_text("text,label\nhello,1\nworld, \nfoo,2\nbar,  \n")
    empty = tmp_path / "empty.csv"
    empty.write_text("text,label\nhello,1\nworld,\nfoo,2\nbar,\n")
    with pytest.raises(DataError, match="2 missing"):
        from_csv(blank)
    a = from_csv(blank, allow_unlabelled=True)
    b = from_csv(empty, allow_unlabelled=True)
    # Before: a blank cell turned the column into text, so 1 became "1" and matched nothing.
    assert a.labels.tolist() == b.labels.tolist() == [1, None, 2, None]
    assert a.labelled().labels.dtype.kind == "i"


def test_integer_label_too_large_is_a_data_error(tmp_path):
    p = tmp_path / "big.jsonl"
    p.write_text('{"text": "a", "label": 1000000000000000000000000000000}\n'
                 '{"text": "b", "label": 2}\n')
    with pytest.raises(DataError, match="fit in 64 bits"):  # before: OverflowError
        tk.load_dataset(str(p))


# --- separators and encodings -------------------------------------------------------------------


def test_tab_separated_file_named_csv_is_read_with_tabs(tmp_path, caplog):
    p = tmp_path / "tickets.csv"
    p.write_text("text\tlabel\ncard lost, please help\tcard\nrefund, now\trefund\n")
    ds = from_csv(p)  # before: one column "text\tlabel", so no labels
    assert ds.labels.tolist() == ["card", "refund"]
    assert ds.inputs == ["card lost, please help", "refund, now"]
    assert "separator '\\t'" in caplog.text
    # The command line spelling of a tab works as an option too.
    assert tk.load_dataset(f"{p}:sep=\\t").train.labels.tolist() == ["card", "refund"]


def test_latin1_hint_names_the_command_line_form(tmp_path):
    p = tmp_path / "latin.csv"
    p.write_bytes("text,label\ncaf\u00e9,a\nthe,b\n".encode("latin-1"))
    with pytest.raises(DataError) as e:
        from_csv(p)
    assert "encoding='latin-1'" in str(e.value) and "latin.csv:encoding=latin-1" in str(e.value)


# --- data of the wrong kind ---------------------------------------------------------------------


def test_modality_check_says_what_the_data_are():
    ds = tk.from_arrays(np.zeros((4, 3)), [0, 1, 0, 1])
    check_modality(ds, "tabular", "x")
    with pytest.raises(DataError, match="needs text inputs; got 'arrays', which is tabular"):
        check_modality(ds, "text", "this run")


def test_backbone_of_another_modality_is_named_before_it_is_built():
    digits = tk.load_dataset("digits").train
    with pytest.raises(DataError) as e:
        tk.TransferClassifier(backbone="tabular-mlp").fit(digits)
    msg = str(e.value)
    # Before: "tabular-mlp needs the number of input columns ... let TransferClassifier.fit
    # build it", which it was doing.
    assert "digits is image data; tabular-mlp encodes tables; image backbones:" in msg
    assert "lenet" in msg and "in_features" not in msg


def test_zeroshot_fit_refuses_non_text_before_labels():
    with pytest.raises(DataError, match="needs text inputs.*tabular data"):
        tk.ZeroShotClassifier(labels=["a", "b"]).fit(np.zeros((3, 4)))


def test_image_class_folders_with_blank_or_padded_names(tmp_path, write_png):
    write_png(tmp_path / "imgs" / "cat " / "a.png")
    write_png(tmp_path / "imgs" / "dog" / "b.png")
    assert tk.from_image_folder(tmp_path / "imgs").classes.tolist() == ["cat", "dog"]
    write_png(tmp_path / "imgs" / "  " / "c.png")
    with pytest.raises(DataError, match="only spaces"):  # before: a class named "  "
        tk.from_image_folder(tmp_path / "imgs")
