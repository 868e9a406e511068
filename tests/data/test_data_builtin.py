"""Named datasets, source strings, data lookup, fingerprints, and the real shared datasets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import transferkit.data as tkdata
from transferkit.data import (
    Dataset,
    from_arrays,
    from_csv,
    list_datasets,
    load_dataset,
    sample_shots,
)
from transferkit.data import builtin as builtin_mod
from transferkit.exceptions import ConfigError, DataError


def test_every_public_name_imports():
    for name in tkdata.__all__:
        assert getattr(tkdata, name) is not None


def test_banking77_bundled():
    s = load_dataset("banking77")
    assert (len(s.train), len(s.test)) == (10003, 3080)
    assert len(s.train.classes) == 77 and len(s.test.classes) == 77
    assert set(s.test.class_counts().values()) == {40}
    assert s.train.modality == "text" and isinstance(s.train.inputs[0], str)
    assert "CC BY 4.0" in s.train.meta["license"] and "Casanueva" in s.train.meta["attribution"]
    assert s.val is None


def test_digits_shapes_and_split():
    s = load_dataset("digits")
    assert s.train.inputs.shape == (1437, 8, 8) and s.test.inputs.shape == (360, 8, 8)
    assert s.train.inputs.dtype == np.uint8 and s.train.inputs.max() == 255
    assert len(s.test.classes) == 10
    again = load_dataset("digits", seed=0)
    assert np.array_equal(again.test.inputs, s.test.inputs)
    other = load_dataset("digits:seed=1")
    assert not np.array_equal(other.test.inputs, s.test.inputs)


def test_file_and_folder_sources_with_domain_suffix(tmp_path):
    df = pd.DataFrame(
        {"domain": ["books", "dvd", "books"], "text": ["a", "b", "c"], "y": [1, 0, 0]}
    )
    df.to_csv(tmp_path / "rev.csv", index=False)
    s = load_dataset(str(tmp_path / "rev.csv"))
    assert len(s.train) == 3 and s.test is None
    books = load_dataset(f"{tmp_path / 'rev.csv'}:domain=books")
    assert books.train.inputs == ["a", "c"] and books.name == "rev:books"
    same = load_dataset(tmp_path / "rev.csv", domain="books", text_col="text")
    assert same.train.inputs == ["a", "c"]
    # A folder with train/test tables.
    df.to_csv(tmp_path / "train.csv", index=False)
    df.iloc[:1].to_json(tmp_path / "test.jsonl", orient="records", lines=True)
    folder = load_dataset(str(tmp_path))
    assert (len(folder.train), len(folder.test)) == (3, 1)


def test_source_string_errors(tmp_path):
    with pytest.raises(DataError) as e:
        load_dataset("bankin77")
    assert "Did you mean 'banking77'?" in str(e.value) and "mnist" in str(e.value)
    with pytest.raises(ConfigError, match="text_col"):
        load_dataset("mnist", text_col="x")
    with pytest.raises(DataError, match="domains are"):
        load_dataset(_domain_csv(tmp_path), domain="music")
    with pytest.raises(DataError, match="no domain column"):
        load_dataset("banking77", domain="books")


def _domain_csv(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("domain,text,label\nbooks,a,1\ndvd,b,0\n")
    return str(p)


def test_missing_shared_dataset_says_where_and_how(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSFERKIT_DATA", str(tmp_path / "nowhere"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(builtin_mod, "_PACKAGE_DIR", tmp_path)
    if any((p / "mnist").is_dir() for p in builtin_mod.data_search_paths()):
        pytest.skip("a shared/datasets/mnist folder lies above the temporary folder")
    with pytest.raises(DataError) as e:
        load_dataset("mnist")
    msg = str(e.value)
    assert "TRANSFERKIT_DATA" in msg and "nowhere" in msg and "'mnist/'" in msg
    assert str(tmp_path) in msg
    listed = {d["name"]: d for d in list_datasets()}
    assert listed["mnist"]["available"] is False and listed["banking77"]["available"] is True


def test_transferkit_data_env_var_is_used(tmp_path, monkeypatch):
    root = tmp_path / "mydata" / "sst2" / "sentence"
    root.mkdir(parents=True)
    for f in ("stsa.binary.train", "stsa.binary.dev", "stsa.binary.test"):
        (root / f).write_text("1 a fine film\n0 a dull film\n")
    monkeypatch.setenv("TRANSFERKIT_DATA", str(tmp_path / "mydata"))
    s = load_dataset("sst2")
    assert s.train.inputs == ["a fine film", "a dull film"] and s.train.labels.tolist() == [1, 0]


def test_list_datasets_describes_every_name():
    rows = list_datasets()
    names = {r["name"] for r in rows}
    assert {"banking77", "digits", "mnist", "usps", "amazon", "sst2", "fsdd"} <= names
    assert all(r["description"] and isinstance(r["available"], bool) for r in rows)


def test_fingerprints_follow_content(tmp_path):
    a = from_arrays(["x", "y"], labels=[0, 1])
    b = from_arrays(["x", "y"], labels=[1, 1])  # labels do not change features
    c = from_arrays(["x", "z"])
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()
    arr = np.arange(12, dtype=np.uint8).reshape(3, 2, 2)
    assert from_arrays(arr).fingerprint() == from_arrays(arr.copy()).fingerprint()
    assert from_arrays(arr).fingerprint() != from_arrays(arr[::-1].copy()).fingerprint()
    p = tmp_path / "t.csv"
    p.write_text("text,label\nhello,a\nworld,b\n")
    q = tmp_path / "u.csv"
    q.write_text("label,text\na,hello\nb,world\n")
    assert from_csv(p).fingerprint() == from_csv(q).fingerprint()


def test_subset_does_not_inherit_a_cached_fingerprint():
    ds = load_dataset("banking77").train
    parent = ds.fingerprint()
    sub = sample_shots(ds, 2, seed=0)
    assert sub.fingerprint() != parent
    assert sub.fingerprint() == Dataset(list(sub.inputs), None, "text").fingerprint()


# ----------------------------------------------------------------------------- real data


@pytest.mark.real_data
def test_mnist_counts(shared):
    shared("mnist")
    s = load_dataset("mnist")
    assert s.train.inputs.shape == (60000, 28, 28) and s.test.inputs.shape == (10000, 28, 28)
    assert list(s.train.class_counts().values()) == [
        5923,
        6742,
        5958,
        6131,
        5842,
        5421,
        5918,
        6265,
        5851,
        5949,
    ]
    assert list(s.test.class_counts().values())[:3] == [980, 1135, 1032]
    assert abs(s.train.inputs.mean() / 255 - 0.130660) < 1e-5


@pytest.mark.real_data
def test_usps_counts(shared):
    shared("usps")
    s = load_dataset("usps")
    assert s.train.inputs.shape == (7291, 16, 16) and s.train.inputs.dtype == np.uint8
    assert len(s.test) == 2007 and s.train.inputs.max() == 255
    assert list(s.train.class_counts().values()) == [
        1194,
        1005,
        731,
        658,
        652,
        556,
        664,
        645,
        542,
        644,
    ]


@pytest.mark.real_data
def test_amazon_domains(shared):
    shared("amazon_multidomain")
    s = load_dataset("amazon")
    assert len(s.train) == 8000 and s.test is None
    assert s.train.summary()["domains"] == {
        d: 2000 for d in ("books", "dvd", "electronics", "kitchen")
    }
    books = load_dataset("amazon", domain="books").train
    assert len(books) == 2000 and books.class_counts() == {0: 1000, 1: 1000}
    assert books.inputs[0].startswith("One of the best Crichton novels. Sphere by")
    split = load_dataset("amazon:domain=kitchen,test_size=0.2")
    assert (len(split.train), len(split.test)) == (1600, 400)


@pytest.mark.real_data
def test_sst2_sentence_counts(shared):
    shared("sst2")
    s = load_dataset("sst2")
    assert (len(s.train), len(s.val), len(s.test)) == (6920, 872, 1821)
    assert s.train.class_counts() == {0: 3310, 1: 3610}
    assert s.test.class_counts() == {0: 912, 1: 909}


@pytest.mark.real_data
def test_fsdd_audio(shared):
    shared("fsdd")
    s = load_dataset("fsdd")
    assert (len(s.train), len(s.test)) == (2700, 300)
    assert s.train.meta["sample_rate"] == 8000 and s.train.modality == "audio"
    assert s.train.inputs[0].dtype == np.float32 and np.abs(s.train.inputs[0]).max() <= 1.0
    assert len(s.train.classes) == 10 and len(set(s.train.domains)) == 6
    spk = load_dataset("fsdd", target="speaker")
    assert len(spk.test.classes) == 6 and spk.test.class_counts()["george"] == 50
