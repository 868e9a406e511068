"""Several named label columns, multi-label cells and unlabelled rows (issue 17, part 4)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import transferkit as tk
from transferkit.data import (
    Dataset,
    check_labels,
    from_arrays,
    from_csv,
    from_dataframe,
    from_jsonl,
    load_dataset,
    sample_fraction,
    sample_shots,
    train_test_split,
)
from transferkit.data import builtin as builtin_mod
from transferkit.exceptions import ConfigError, DataError

TICKETS = (
    "text,queue,priority,tags\n"
    "card never arrived,cards,high,billing|urgent\n"
    "refund my top up,payments,,  urgent | billing | urgent\n"
    "thanks for the help,  ,low,\n"
    "change my pin,cards,   ,security\n"
    "wrong exchange rate,payments,high,billing\n"
)


def _write(tmp_path, text: str, name: str = "tickets.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


@pytest.fixture
def tickets(tmp_path) -> Dataset:
    return from_csv(_write(tmp_path, TICKETS), label_col="queue,priority")


def test_several_columns_from_csv_with_missing_and_blank_cells(tickets):
    ds = tickets
    assert ds.labels is None and ds.label_names == ["queue", "priority"]
    assert ds.meta["label_cols"] == ["queue", "priority"] and ds.meta["labelled"] is True
    # Blank and whitespace-only cells are missing; labels are stripped.
    assert ds.label_columns["queue"].tolist() == ["cards", "payments", None, "cards", "payments"]
    assert ds.label_columns["priority"].tolist() == ["high", None, "low", None, "high"]
    # The other label column is not mistaken for the text, nor the tags column for a label.
    assert ds.inputs[0] == "card never arrived" and ds.meta["ignored_columns"] == ["tags"]
    assert "label columns ['queue', 'priority']" in repr(ds)
    s = ds.summary()
    assert "class_counts" not in s
    assert s["label_columns"]["queue"] == {
        "n_classes": 2, "class_counts": {"cards": 2, "payments": 2}, "n_labelled": 4}
    assert s["label_columns"]["priority"]["class_counts"] == {"high": 2, "low": 1}
    assert s["label_columns"]["priority"]["n_labelled"] == 3


def test_label_col_as_list_and_from_dataframe(tmp_path):
    df = pd.read_csv(_write(tmp_path, TICKETS))
    a = from_dataframe(df, label_col=["queue", "priority"], text_col="text")
    b = from_csv(_write(tmp_path, TICKETS), label_col=" queue , priority ", text_col="text")
    for ds in (a, b):
        assert ds.label_names == ["queue", "priority"]
        assert ds.label_columns["priority"].tolist() == ["high", None, "low", None, "high"]


def test_label_sep_makes_sets_only_where_a_cell_holds_it(tmp_path):
    ds = from_csv(_write(tmp_path, TICKETS), label_col="queue,tags", label_sep="|",
                  allow_unlabelled=True)
    tags = ds.label_columns["tags"]
    assert tags.tolist() == [
        ("billing", "urgent"), ("billing", "urgent"), None, ("security",), ("billing",)]
    assert ds.is_multilabel("tags") and not ds.is_multilabel("queue")
    assert not ds.is_multilabel()  # no column selected: labels is None
    assert ds.label_columns["queue"].tolist()[:2] == ["cards", "payments"]
    s = ds.summary()["label_columns"]["tags"]
    assert s["multilabel"] is True and s["n_labelled"] == 4
    assert s["class_counts"] == {"billing": 3, "security": 1, "urgent": 2}
    assert s["mean_labels_per_row"] == pytest.approx(6 / 4)
    assert ds.meta["label_sep"] == "|"
    with pytest.raises(ConfigError, match="label_sep"):
        from_csv(_write(tmp_path, TICKETS), label_col="tags", label_sep="")


def test_one_multilabel_column_is_labels(tmp_path):
    p = _write(tmp_path, "text,tags\na,x|y\nb,y\nc, y |x|x \n")
    ds = from_csv(p, label_col="tags", label_sep="|")
    assert ds.label_columns is None and ds.label_names == ["tags"]
    assert ds.labels.tolist() == [("x", "y"), ("y",), ("x", "y")]
    assert ds.is_multilabel() and ds.classes.tolist() == ["x", "y"]
    assert ds.class_counts() == {"x": 2, "y": 3}
    assert "multi-label" in repr(ds)


def test_jsonl_lists_are_sets_and_null_is_missing(tmp_path):
    rows = [
        {"text": "a", "intent": "cancel", "tags": ["urgent", "billing", "urgent"]},
        {"text": "b", "intent": None, "tags": []},
        {"text": "c", "intent": "refund", "tags": "billing"},
        {"text": "d", "intent": "  ", "tags": ["vip"]},
    ]
    p = _write(tmp_path, "\n".join(json.dumps(r) for r in rows) + "\n", "t.jsonl")
    ds = from_jsonl(p, label_col=["intent", "tags"])
    assert ds.label_columns["intent"].tolist() == ["cancel", None, "refund", None]
    # A list is a set of labels, sorted and without repeats; [] is a row with none of them,
    # and a plain value in a multi-label column is a set of one.
    assert ds.label_columns["tags"].tolist() == [
        ("billing", "urgent"), (), ("billing",), ("vip",)]
    assert ds.labelled("intent").inputs == ["a", "c"]


def test_numeric_column_with_empty_cells_keeps_integers(tmp_path):
    p = _write(tmp_path, "text,queue,level\na,x,1\nb,y,\nc,x,3\n")
    ds = from_csv(p, label_col="queue,level")
    level = ds.label_columns["level"]
    assert level.dtype == object and level.tolist() == [1, None, 3]
    assert all(type(v) is int for v in level.tolist() if v is not None)
    assert ds.labelled("level").select_labels("level").labelled().labels.dtype == np.int64


def test_whitespace_only_label_is_missing_and_labels_are_stripped(tmp_path):
    p = _write(tmp_path, "text,label\nhello, a \nworld,   \nagain,b\n")
    with pytest.raises(DataError, match=r"1 missing .* data rows 2"):
        from_csv(p)
    ds = from_csv(p, allow_unlabelled=True)
    assert ds.label_columns is None and ds.labels.tolist() == ["a", None, "b"]
    assert ds.summary()["n_labelled"] == 2 and ds.summary()["class_counts"] == {"a": 1, "b": 1}
    kept = ds.labelled()
    assert kept.inputs == ["hello", "again"] and kept.labels.tolist() == ["a", "b"]
    assert kept.labels.dtype.kind == "U"  # its plain type back, as single-label code expects


def test_row_with_no_label_in_any_column(tmp_path):
    p = _write(tmp_path, "text,queue,priority\na,x,\nb,,\nc,,low\n")
    with pytest.raises(DataError) as e:
        from_csv(p, label_col="queue,priority")
    msg = str(e.value)
    assert "['queue', 'priority']" in msg and "data rows 2" in msg
    assert "allow_unlabelled=True" in msg and "--allow-unlabelled" in msg
    ds = from_csv(p, label_col="queue,priority", allow_unlabelled=True)
    assert ds.labelled().inputs == ["a", "c"]  # labelled in at least one column


def test_select_labels_labelled_and_subset_stay_aligned(tickets):
    ds = tickets
    q = ds.select_labels("priority")
    assert q.labels.tolist() == ["high", None, "low", None, "high"]
    assert q.label_columns["queue"] is ds.label_columns["queue"]
    assert q.meta["label_col"] == "priority" and "label column 'priority'" in repr(q)
    kept = q.labelled()
    assert kept.inputs == ["card never arrived", "thanks for the help", "wrong exchange rate"]
    assert kept.labels.tolist() == ["high", "low", "high"]
    assert kept.label_columns["queue"].tolist() == ["cards", None, "payments"]
    assert kept.label_columns["priority"].tolist() == ["high", "low", "high"]
    by_name = ds.labelled("queue")
    assert by_name.labels is None
    assert by_name.inputs == [ds.inputs[i] for i in (0, 1, 3, 4)]
    assert by_name.label_columns["priority"].tolist() == ["high", None, None, "high"]
    sub = q.subset([4, 0, 2], name="three")
    assert sub.inputs == ["wrong exchange rate", "card never arrived", "thanks for the help"]
    assert sub.labels.tolist() == ["high", "high", "low"]
    assert sub.label_columns["queue"].tolist() == ["payments", "cards", None]
    gone = q.without_labels()
    assert gone.labels is None and gone.label_columns is None and gone.label_names == []
    # Features depend on inputs alone.
    assert q.fingerprint() == ds.fingerprint() == from_arrays(ds.inputs).fingerprint()


def test_select_labels_unknown_name_lists_columns(tickets):
    with pytest.raises(DataError) as e:
        tickets.select_labels("prority")
    msg = str(e.value)
    assert "['queue', 'priority']" in msg and "Did you mean 'priority'?" in msg
    with pytest.raises(DataError, match="has no labels"):
        tickets.without_labels().select_labels("queue")


def test_select_domain_carries_every_column(tmp_path):
    p = _write(tmp_path, "text,domain,queue,priority\na,web,x,hi\nb,app,y,\nc,web,,lo\n")
    ds = from_csv(p, label_col="queue,priority").select_domain("web")
    assert ds.inputs == ["a", "c"] and ds.label_names == ["queue", "priority"]
    assert ds.label_columns["queue"].tolist() == ["x", None]
    assert ds.label_columns["priority"].tolist() == ["hi", "lo"]


def test_single_column_data_unchanged(tmp_path):
    ds = from_csv(_write(tmp_path, "text,label\na,x\nb,y\n"))
    assert ds.label_columns is None and ds.label_names == ["label"]
    assert ds.labels.dtype.kind == "U" and not ds.is_multilabel()
    assert ds.select_labels("label").labels.tolist() == ["x", "y"]
    ds.require_single_labels("TransferClassifier")  # no error
    assert from_arrays(["a", "b"], labels=[0, 1]).label_names == ["label"]
    assert from_arrays(["a", "b"]).label_names == []


def test_from_arrays_with_a_dict_of_columns():
    ds = from_arrays(["a", "b", "c"], labels={"x": [1, None, 2], "y": [["p"], ["q", "p"], None]})
    assert ds.labels is None and ds.label_names == ["x", "y"]
    assert ds.label_columns["x"].tolist() == [1, None, 2]
    assert ds.label_columns["y"].tolist() == [("p",), ("p", "q"), None]
    one = from_arrays(["a", "b"], labels={"intent": ["u", "v"]})
    assert one.label_columns is None and one.labels.tolist() == ["u", "v"]
    assert one.label_names == ["intent"]
    with pytest.raises(DataError, match=r"\{'y': 1\}"):
        from_arrays(["a", "b"], labels={"x": ["u", "v"], "y": ["w"]})
    with pytest.raises(DataError, match="1 row"):
        from_arrays(["a", "b"], labels={"x": ["u", None], "y": ["w", None]})
    kept = from_arrays(["a", "b"], labels=["u", None], allow_unlabelled=True)
    assert kept.labels.tolist() == ["u", None]


def test_dataset_takes_label_columns_directly():
    ds = Dataset(["a", "b"], label_columns={"x": ["u", None], "y": [("p", "q"), ("p",)]})
    assert ds.labels is None and ds.is_multilabel("y") and not ds.is_multilabel("x")
    one = Dataset(["a", "b"], label_columns={"x": ["u", "v"]})
    assert one.labels.tolist() == ["u", "v"] and one.label_names == ["x"]
    with pytest.raises(DataError, match="label column 'y'"):
        Dataset(["a", "b"], label_columns={"x": ["u", "v"], "y": ["w"]})


# ----------------------------------------------------------------------------- single-label use


def test_require_single_labels_says_what_to_do(tmp_path, tickets):
    with pytest.raises(DataError) as e:
        tickets.require_single_labels("TransferClassifier")
    msg = str(e.value)
    assert "['queue', 'priority']" in msg and "TransferClassifier learns one" in msg
    assert "Pick one" in msg and "data.select_labels('queue')" in msg
    assert "label_col='queue'" in msg and "--label-col queue" in msg

    with pytest.raises(DataError) as e:
        tickets.select_labels("priority").require_single_labels("TransferClassifier")
    msg = str(e.value)
    assert "2 missing" in msg and "'priority'" in msg and "data.labelled()" in msg

    tagged = from_csv(_write(tmp_path, TICKETS), label_col="queue,tags", label_sep="|",
                      allow_unlabelled=True)
    with pytest.raises(DataError) as e:
        tagged.select_labels("tags").require_single_labels("TransferClassifier")
    msg = str(e.value)
    assert "sets of labels" in msg and "'tags'" in msg
    assert "single-label column" in msg and "select_labels('queue')" in msg

    with pytest.raises(DataError) as e:
        tickets.without_labels().require_single_labels("TransferClassifier")
    assert "has no labels. Give label_col= when loading, or pass y= to fit()" in str(e.value)


def test_transfer_classifier_asks_to_pick_a_column(tickets):
    model = tk.TransferClassifier(strategy="probe", backbone="minilm-l6")
    with pytest.raises(DataError) as e:
        model.fit(tickets)
    msg = str(e.value)
    assert "['queue', 'priority']" in msg and "TransferClassifier learns one" in msg
    assert "--label-col queue" in msg


def test_check_labels_and_sample_shots_ask_to_pick_a_column(tickets):
    with pytest.raises(DataError, match="Pick one"):
        check_labels(tickets)
    with pytest.raises(DataError, match="sample_shots learns one"):
        sample_shots(tickets, 1)
    picked = tickets.select_labels("queue")
    with pytest.raises(DataError, match="data.labelled"):
        sample_shots(picked, 1)
    one = sample_shots(picked.labelled(), 1, seed=0)
    assert sorted(one.labels.tolist()) == ["cards", "payments"]


# ----------------------------------------------------------------------------- splits


def _many(n: int = 60) -> Dataset:
    rng = np.random.default_rng(1)
    text = [f"row {i}" for i in range(n)]
    queue = rng.choice(["a", "b", "c"], n).tolist()
    prio = [None if i % 4 == 0 else str(v) for i, v in enumerate(rng.choice(["hi", "lo"], n))]
    return from_arrays(text, labels={"queue": queue, "priority": prio})


def test_split_with_several_columns_is_random_and_carries_every_column():
    ds = _many()
    s = train_test_split(ds, test_size=0.25, seed=3)
    assert len(s.test) == 15 and len(s.train) == 45
    assert sorted(s.train.inputs + s.test.inputs) == sorted(ds.inputs)
    row = {t: i for i, t in enumerate(ds.inputs)}
    for part in (s.train, s.test):
        idx = [row[t] for t in part.inputs]
        for name in ("queue", "priority"):
            assert part.label_columns[name].tolist() == ds.label_columns[name][idx].tolist()
    again = train_test_split(ds, test_size=0.25, seed=3)
    assert again.test.inputs == s.test.inputs


def test_split_on_a_selected_column_stratifies_unlabelled_rows_too():
    ds = _many().select_labels("priority")
    s = train_test_split(ds, test_size=0.5, seed=0)
    missing = sum(v is None for v in ds.labels)
    assert missing == 15 and sum(v is None for v in s.test.labels) in (7, 8)
    for label in ("hi", "lo"):
        total = int(np.sum(ds.labels == label))
        assert abs(int(np.sum(s.test.labels == label)) - total / 2) <= 1
    f = sample_fraction(ds, 0.5, seed=0)
    assert sum(v is None for v in f.labels) in (7, 8)


# ----------------------------------------------------------------------------- loading by name


def test_load_dataset_with_several_label_columns(tmp_path):
    p = _write(tmp_path, TICKETS)
    a = load_dataset(str(p), label_col="queue,priority").train
    b = load_dataset(f"{p}:label_col=queue,priority").train
    for ds in (a, b):
        assert ds.label_names == ["queue", "priority"]
        assert ds.label_columns["queue"].tolist()[:2] == ["cards", "payments"]
    c = load_dataset(f"{p}:label_col=tags", label_sep="|", allow_unlabelled=True).train
    assert c.is_multilabel()


# ----------------------------------------------------------------------------- real data


def test_banking77_with_two_label_columns(tmp_path):
    """The bundled Banking77 training CSV with its intent and a coarser topic (the intent's
    first word, e.g. ``card`` for ``card_arrival``) as two label columns."""
    src = pd.read_csv(builtin_mod._BUNDLED / "banking77" / "train.csv")
    src["topic"] = src["category"].str.split("_").str[0]
    # A row in twenty has no topic: two tasks need not label the same rows.
    src.loc[src.index % 20 == 7, "topic"] = ""
    p = tmp_path / "banking_two.csv"
    src.to_csv(p, index=False)

    ds = from_csv(p, label_col="category,topic")
    assert len(ds) == 10003 and ds.labels is None
    single = load_dataset("banking77").train
    assert ds.inputs == single.inputs
    s = ds.summary()["label_columns"]
    assert s["category"]["n_classes"] == 77 and s["category"]["n_labelled"] == 10003
    assert s["category"]["class_counts"] == single.class_counts()
    # Topic counts computed independently from the intent column, over the rows that kept one.
    keep = np.arange(len(ds)) % 20 != 7
    expected = pd.Series(single.labels[keep]).str.split("_").str[0].value_counts().to_dict()
    assert s["topic"]["class_counts"] == expected
    assert s["topic"]["n_labelled"] == int(keep.sum()) == 9503
    assert s["topic"]["n_classes"] == 45 and s["topic"]["class_counts"]["card"] > 1000

    with pytest.raises(DataError, match=r"\['category', 'topic'\]"):
        ds.require_single_labels("TransferClassifier")
    topic = ds.select_labels("topic").labelled()
    topic.require_single_labels("TransferClassifier")
    assert topic.labels.dtype.kind == "U" and len(topic) == 9503
    assert (topic.labels == pd.Series(topic.label_columns["category"]).str.split("_").str[0]
            ).all()
    split = train_test_split(topic, test_size=0.2, seed=0)
    assert set(split.train.classes) == set(topic.classes)
