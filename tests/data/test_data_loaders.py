"""Table and array loaders: role detection, every format, and every bad input's message."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from transferkit.data import (
    from_arrays,
    from_csv,
    from_dataframe,
    from_jsonl,
    from_parquet,
    from_table,
    from_tsv,
)
from transferkit.exceptions import ConfigError, DataError

ROWS = [
    {"text": "the card has not arrived", "label": "card"},
    {"text": "how do I top up, please", "label": "top_up"},
    {"text": "my card, still missing", "label": "card"},
]


def _csv(tmp_path, text: str, name: str = "d.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# ----------------------------------------------------------------------------- formats


def test_csv_text_auto_detects_text_and_label(tmp_path):
    p = tmp_path / "train.csv"
    pd.DataFrame(ROWS).to_csv(p, index=False)
    ds = from_csv(p)
    assert ds.modality == "text"
    assert ds.inputs == [r["text"] for r in ROWS]
    assert ds.labels.tolist() == ["card", "top_up", "card"]
    assert ds.name == "train"
    assert ds.meta["text_col"] == "text" and ds.meta["label_col"] == "label"
    assert ds.meta["labelled"] is True


@pytest.mark.parametrize("label", ["labels", "Category", "class", "target", "y"])
def test_default_label_names(tmp_path, label):
    p = _csv(tmp_path, f"sentence,{label}\nhello there,a\ngood bye,b\n")
    ds = from_csv(p)
    assert ds.labels.tolist() == ["a", "b"]
    assert ds.inputs == ["hello there", "good bye"]


def test_tsv_jsonl_json_parquet_give_the_same_dataset(tmp_path):
    df = pd.DataFrame(ROWS)
    df.to_csv(tmp_path / "d.tsv", sep="\t", index=False)
    (tmp_path / "d.jsonl").write_text("\n".join(json.dumps(r) for r in ROWS) + "\n\n")
    (tmp_path / "d.json").write_text(json.dumps(ROWS))
    df.to_parquet(tmp_path / "d.parquet")
    df.to_csv(tmp_path / "d.csv.gz", index=False)
    loaded = [
        from_tsv(tmp_path / "d.tsv"),
        from_jsonl(tmp_path / "d.jsonl"),
        from_table(tmp_path / "d.json"),
        from_parquet(tmp_path / "d.parquet"),
        from_table(tmp_path / "d.parquet"),
        from_table(tmp_path / "d.tsv"),
        from_table(tmp_path / "d.csv.gz"),
    ]
    for ds in loaded:
        assert ds.inputs == [r["text"] for r in ROWS]
        assert ds.labels.tolist() == ["card", "top_up", "card"]
        assert ds.name == "d"
    assert {ds.meta["format"] for ds in loaded} == {"tsv", "jsonl", "parquet", "csv"}


def test_custom_sep_and_explicit_columns(tmp_path):
    p = _csv(tmp_path, "id;body;intent;src\n1;hi there;greet;web\n2;bye now;leave;app\n")
    ds = from_csv(p, sep=";", text_col="body", label_col="intent", domain_col="src", name="x")
    assert ds.inputs == ["hi there", "bye now"]
    assert ds.labels.tolist() == ["greet", "leave"]
    assert ds.domains.tolist() == ["web", "app"]
    assert ds.name == "x"


def test_text_values_like_na_and_none_are_kept_as_text(tmp_path):
    p = _csv(tmp_path, "text,label\nNA,a\nNone,b\nnull,a\n")
    assert from_csv(p).inputs == ["NA", "None", "null"]


def test_numeric_columns_are_tabular_with_integer_labels(tmp_path):
    p = _csv(tmp_path, "f1,f2,label\n0.5,1,0\n1.5,2,1\n-2,3e2,1\n")
    ds = from_csv(p)
    assert ds.modality == "tabular"
    assert ds.inputs.dtype == np.float32 and ds.inputs.shape == (3, 2)
    np.testing.assert_allclose(ds.inputs[2], [-2, 300])
    assert ds.labels.tolist() == [0, 1, 1] and ds.labels.dtype.kind == "i"
    assert ds.meta["feature_cols"] == ["f1", "f2"]


def test_feature_cols_select_columns_and_string_label_col(tmp_path):
    p = _csv(tmp_path, "a,b,note,kind\n1,2,x,cat\n3,4,y,dog\n")
    ds = from_csv(p, feature_cols=["b"], label_col="kind")
    assert ds.modality == "tabular" and ds.inputs.tolist() == [[2.0], [4.0]]
    assert ds.labels.tolist() == ["cat", "dog"]


def test_unlabelled_when_no_label_column(tmp_path):
    p = _csv(tmp_path, "text\nfirst line\nsecond line\n")
    ds = from_csv(p)
    assert ds.labels is None and ds.meta["labelled"] is False and ds.modality == "text"


def test_domain_column_is_detected_and_not_taken_as_text(tmp_path):
    p = _csv(tmp_path, "domain,label,text\nbooks,1,good book\ndvd,0,bad film\n")
    ds = from_csv(p)
    assert ds.inputs == ["good book", "bad film"]
    assert ds.domains.tolist() == ["books", "dvd"]
    assert len(ds.select_domain("dvd")) == 1


def test_modality_override_text_for_numeric_column(tmp_path):
    p = _csv(tmp_path, "code,label\n101,a\n202,b\n")
    assert from_csv(p, text_col="code").inputs == ["101", "202"]
    assert from_csv(p, modality="text").inputs == ["101", "202"]


def test_image_paths_column(tmp_path, write_png):
    write_png(tmp_path / "img" / "a.png")
    write_png(tmp_path / "img" / "b.png", value=10)
    p = _csv(tmp_path, "path,label\nimg/a.png,x\nimg/b.png,y\n")
    ds = from_csv(p, text_col="path", modality="image")
    assert ds.modality == "image"
    assert ds.inputs == [str(tmp_path / "img" / "a.png"), str(tmp_path / "img" / "b.png")]


def test_from_dataframe(tmp_path):
    ds = from_dataframe(pd.DataFrame(ROWS), name="frame")
    assert ds.name == "frame" and ds.labels.tolist()[1] == "top_up"


# ----------------------------------------------------------------------------- arrays


def test_from_arrays_infers_modality():
    t = from_arrays(["a b", "c d"], labels=[0, 1])
    assert t.modality == "text" and t.labels.tolist() == [0, 1]
    im = from_arrays(np.zeros((4, 8, 8), dtype=np.uint8), labels=[0, 1, 0, 1])
    assert im.modality == "image" and im.inputs.shape == (4, 8, 8)
    rgb = from_arrays(np.zeros((2, 5, 5, 3), dtype=np.float64) + 0.5)
    assert rgb.modality == "image" and rgb.inputs.dtype == np.float32
    tab = from_arrays(np.arange(12).reshape(6, 2), labels=list("aabbcc"), domains=[1] * 6)
    assert tab.modality == "tabular" and tab.inputs.dtype == np.float32
    assert tab.domains.tolist() == ["1"] * 6
    au = from_arrays([np.zeros(10), np.ones(7)], labels=[1, 2], sample_rate=8000)
    assert au.modality == "audio" and au.meta["sample_rate"] == 8000
    assert [len(w) for w in au.inputs] == [10, 7] and au.inputs[0].dtype == np.float32
    over = from_arrays(np.zeros((3, 4, 4), dtype=np.uint8), modality="tabular")
    assert over.modality == "tabular" and over.inputs.shape == (3, 16)


@pytest.mark.parametrize(
    "inputs, kw, needle",
    [
        (np.zeros((2, 3, 8, 8), dtype=np.uint8), {}, "channels-first"),
        (np.full((2, 4, 4), 3.0), {}, "values in [0, 1]"),
        (np.array([[1.0, np.nan], [2.0, 3.0]]), {}, "column 1"),
        (["a", ""], {}, "1 empty cell"),
        ([np.zeros(3)], {}, "sample_rate"),
        ([], {}, "at least one input"),
        (["a", "b"], {"labels": [1]}, "one label per input"),
        (["a", "b"], {"labels": ["x", None]}, "1 missing"),
        (["a", "b"], {"labels": [1, "1"]}, "mix of"),
    ],
)
def test_from_arrays_errors(inputs, kw, needle):
    with pytest.raises(DataError, match=None) as e:
        from_arrays(inputs, **kw)
    assert needle in str(e.value)


# ----------------------------------------------------------------------------- bad inputs


def test_missing_file_suggests_close_name(tmp_path):
    _csv(tmp_path, "text,label\na,b\n", name="train.csv")
    with pytest.raises(DataError) as e:
        from_table(tmp_path / "trian.csv")
    msg = str(e.value)
    assert "no such path" in msg and "train.csv" in msg and "Did you mean" in msg


def test_empty_file_and_header_only(tmp_path):
    with pytest.raises(DataError, match="empty file"):
        from_csv(_csv(tmp_path, "", "empty.csv"))
    with pytest.raises(DataError, match="at least one row"):
        from_csv(_csv(tmp_path, "text,label\n", "header.csv"))
    with pytest.raises(DataError, match="empty file"):
        from_jsonl(_csv(tmp_path, "", "e.jsonl"))


def test_missing_column_lists_columns_and_closest(tmp_path):
    p = _csv(tmp_path, "review_text,sentiment\ngood,1\nbad,0\n")
    with pytest.raises(DataError) as e:
        from_csv(p, text_col="reviewtext", label_col="sentiment")
    msg = str(e.value)
    assert "'reviewtext'" in msg and "['review_text', 'sentiment']" in msg
    assert "Did you mean 'review_text'?" in msg
    with pytest.raises(DataError, match="label column 'label'"):
        from_csv(p, label_col="label")


def test_wrong_separator_hint(tmp_path):
    p = _csv(tmp_path, "text;label\nhello;a\n")
    # Without sep= the header's own separator is used; with a wrong sep= the message hints.
    assert from_csv(p, text_col="text").labels.tolist() == ["a"]
    with pytest.raises(DataError, match="another separator"):
        from_csv(p, text_col="text", sep=",")


def test_non_utf8_file_names_encoding_fix(tmp_path):
    p = tmp_path / "latin.csv"
    p.write_bytes("text,label\ncaf\u00e9 au lait,a\nna\u00efve,b\n".encode("latin-1"))
    with pytest.raises(DataError) as e:
        from_csv(p)
    msg = str(e.value)
    assert "utf-8" in msg and "line 2" in msg and "0xe9" in msg and "encoding=" in msg
    assert from_csv(p, encoding="latin-1").inputs[0] == "caf\u00e9 au lait"
    j = tmp_path / "latin.jsonl"
    j.write_bytes('{"text": "caf\u00e9", "label": 1}\n'.encode("latin-1"))
    with pytest.raises(DataError, match="encoding="):
        from_jsonl(j)


def test_bad_json_line_is_named(tmp_path):
    p = _csv(tmp_path, '{"text": "a", "label": 1}\n{"text": "b", label: 2}\n', "bad.jsonl")
    with pytest.raises(DataError, match="line 2 is not valid JSON"):
        from_jsonl(p)


def test_nan_and_inf_features_name_columns_and_rows(tmp_path):
    p = _csv(tmp_path, "a,b,c,label\n1,2,3,x\n1,,3,y\n1,inf,nan,x\n4,5,6,y\n")
    with pytest.raises(DataError) as e:
        from_csv(p)
    msg = str(e.value)
    assert "'b' (2 rows)" in msg and "'c' (1 rows)" in msg
    assert "2 row(s) affected" in msg and "data rows 2, 3" in msg


def test_non_numeric_feature_column(tmp_path):
    p = _csv(tmp_path, "a,colour,label\n1,red,x\n2,blue,y\n")
    with pytest.raises(DataError) as e:
        from_csv(p, feature_cols=["a", "colour"])
    assert "non-numeric columns ['colour']" in str(e.value)


def test_empty_text_cells_counted_with_rows(tmp_path):
    p = _csv(tmp_path, 'text,label\nhello,a\n,b\n"   ",a\nok,b\n')
    with pytest.raises(DataError) as e:
        from_csv(p)
    assert "2 empty cell(s)" in str(e.value) and "data rows 2, 3" in str(e.value)


def test_missing_labels_named(tmp_path):
    p = _csv(tmp_path, "text,label\nhello,a\nworld,\n")
    with pytest.raises(DataError, match=r"1 missing .* data rows 2"):
        from_csv(p)


def test_ambiguous_text_columns(tmp_path):
    p = _csv(tmp_path, "title,body,label\nt1,b1,a\nt2,b2,b\n")
    with pytest.raises(DataError, match="several candidates"):
        from_csv(p)
    assert from_csv(p, text_col="body").inputs == ["b1", "b2"]


def test_unknown_suffix_and_sep_misuse(tmp_path):
    p = _csv(tmp_path, "x", "data.xlsx")
    with pytest.raises(DataError, match="ending in"):
        from_table(p)
    j = _csv(tmp_path, '{"text": "a"}\n', "d.jsonl")
    with pytest.raises(ConfigError, match="sep="):
        from_table(j, sep=";")


def test_not_a_parquet_file(tmp_path):
    p = _csv(tmp_path, "text,label\na,b\n", "fake.parquet")
    with pytest.raises(DataError, match="Parquet"):
        from_parquet(p)


# ----------------------------------------------------------------------------- chunked


def test_table_chunks_concatenate_to_the_whole_table(tmp_path):
    from transferkit.data.table_chunks import iter_table_chunks

    rows = [{"text": f"query number {i}", "label": "ab"[i % 2], "domain": "d"} for i in range(11)]
    p = tmp_path / "t.csv"
    pd.DataFrame(rows).to_csv(p, index=False)
    whole = from_csv(p)
    chunks = list(iter_table_chunks(p, rows=4))
    assert [len(c) for c in chunks] == [4, 4, 3]
    assert sum((list(c.inputs) for c in chunks), []) == list(whole.inputs)
    assert np.concatenate([c.labels for c in chunks]).tolist() == whole.labels.tolist()
    assert all(c.meta == whole.meta for c in chunks)


def test_table_chunks_keep_the_first_chunks_column_roles(tmp_path):
    """A column of numbers in the first chunk and words later stays what the first made it."""
    from transferkit.data.table_chunks import iter_table_chunks

    p = _csv(tmp_path, "code,note\n1,first\n2,second\n3,third\nx,fourth\n")
    chunks = list(iter_table_chunks(p, rows=3))
    assert [c.meta["text_col"] for c in chunks] == ["note", "note"]
    assert list(chunks[1].inputs) == ["fourth"]
    with pytest.raises(ConfigError, match="rows must be a positive integer"):
        next(iter_table_chunks(p, rows=0))
    with pytest.raises(DataError, match="at least one row"):
        next(iter_table_chunks(_csv(tmp_path, "text,label\n", "header.csv")))
