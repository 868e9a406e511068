"""Property tests: any bytes in a table or an image folder give a Dataset or a TransferKitError
(one clear message), never another exception."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import transferkit as tk
from transferkit.data import Dataset, DatasetSplits
from transferkit.exceptions import TransferKitError

SETTINGS = settings(max_examples=60, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

# Bytes that look like tables: cells from a small alphabet of separators, quotes, numbers,
# blanks and non-ASCII, so that the parser's interesting paths are reached often.
_CELL = st.sampled_from(["", " ", "  ", "a", "b", "1", "2", "1.5", "-3", "nan", "inf", '"',
                         '"x,y"', "label", "text", "\u00e9", "\t", ";", "|", "\\", "null",
                         "[1]", "{}", "true"])
_ROW = st.lists(_CELL, min_size=1, max_size=4)
_TEXT_TABLE = st.builds(
    lambda rows, sep, nl: nl.join(sep.join(r) for r in rows),
    st.lists(_ROW, min_size=0, max_size=6), st.sampled_from([",", "\t", ";"]),
    st.sampled_from(["\n", "\r\n"]))
_RAW = st.one_of(
    st.binary(max_size=200),
    _TEXT_TABLE.map(lambda t: t.encode("utf-8")),
    _TEXT_TABLE.map(lambda t: t.encode("latin-1", "replace")),
)

_JSON_LINE = st.one_of(
    st.sampled_from(['{"text": "a", "label": 1}', '{"text": "b", "label": "x"}',
                     '{"text": " ", "label": " "}', '{"text": "c", "label": [" ", "a"]}',
                     '{"text": "d", "label": null}', '{"text": 1, "label": {}}', "[1, 2]",
                     '{"x": 1.5, "y": 2}', '{"text": "e"}', "", "  ", "{", "null", '"s"',
                     '{"label": [[1]], "text": "f"}', '{"text": ["a"], "label": 1}',
                     '{"text": "g", "label": 1000000000000000000000000000000}']),
    st.text(max_size=20),
)
_JSONL = st.one_of(
    st.binary(max_size=200),
    st.lists(_JSON_LINE, max_size=6).map(lambda ls: "\n".join(ls).encode("utf-8")),
    st.lists(_JSON_LINE, max_size=4).map(lambda ls: ("[" + ",".join(ls) + "]").encode()),
)


def _load(path: Path, **kw) -> None:
    try:
        out = tk.load_dataset(str(path), **kw)
    except TransferKitError:
        return
    assert isinstance(out, DatasetSplits | Dataset)
    for _, part in (out if isinstance(out, DatasetSplits) else [("data", out)]):
        assert len(part) > 0
        if part.labels is not None:
            assert len(part.labels) == len(part)


def _quiet():
    logging.getLogger("transferkit").setLevel(logging.ERROR)


@SETTINGS
@given(data=_RAW, kw=st.sampled_from([{}, {"allow_unlabelled": True}, {"label_col": "label"},
                                       {"text_col": "text"}, {"feature_cols": ["1", "a"]},
                                       {"label_sep": "|", "allow_unlabelled": True}]),
       suffix=st.sampled_from([".csv", ".tsv", ".csv.gz"]))
def test_any_bytes_as_csv(data, kw, suffix):
    _quiet()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"t{suffix}"
        if suffix.endswith(".gz"):
            import gzip

            path.write_bytes(gzip.compress(data) if data[:1] != b"x" else data)
        else:
            path.write_bytes(data)
        _load(path, **kw)


@SETTINGS
@given(data=_JSONL, kw=st.sampled_from([{}, {"allow_unlabelled": True},
                                        {"label_col": "label", "text_col": "text"}]))
def test_any_bytes_as_jsonl(data, kw):
    _quiet()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "t.jsonl"
        path.write_bytes(data)
        _load(path, **kw)


_PNG_8 = None


def _image_bytes(kind: str, data: bytes) -> bytes:
    """A real image of ``kind``, or its bytes cut or altered by ``data``."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    if kind == "png16":
        Image.fromarray(np.full((6, 5), 40000, dtype=np.uint16)).save(buf, format="PNG")
    elif kind == "tiff-f":
        Image.fromarray(np.full((6, 5), 0.5, dtype=np.float32)).save(buf, format="TIFF")
    else:
        Image.fromarray(np.full((6, 5, 3), 90, dtype=np.uint8)).save(buf, format="PNG")
    good = buf.getvalue()
    if not data:
        return good
    cut = data[0] * len(good) // 256
    return good[:cut] + data[1:]


@settings(max_examples=30, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(files=st.lists(st.tuples(st.sampled_from(["a", "b", " ", "train", ".hidden"]),
                                st.sampled_from(["x.png", "y.tif", "z.jpg", "w.txt"]),
                                st.sampled_from(["png8", "png16", "tiff-f"]),
                                st.binary(max_size=40)),
                      min_size=0, max_size=5),
       skip_bad=st.booleans())
def test_any_bytes_in_an_image_folder(files, skip_bad):
    _quiet()
    with tempfile.TemporaryDirectory() as d:
        root = Path(d) / "imgs"
        root.mkdir()
        for i, (cls, name, kind, data) in enumerate(files):
            folder = root / cls
            folder.mkdir(exist_ok=True)
            (folder / f"{i}{name}").write_bytes(_image_bytes(kind, data))
        try:
            out = tk.from_image_folder(root, skip_bad=skip_bad)
        except TransferKitError:
            return
        parts = out if isinstance(out, DatasetSplits) else [("all", out)]
        for _, part in parts:
            assert len(part) > 0 and part.modality == "image"
            if part.labels is not None:
                assert all(str(c).strip() for c in part.classes)
            # Every file the loader accepted decodes to an 8-bit RGB image.
            from transferkit.backbones.vision import load_images

            for im in load_images(list(part.inputs)):
                assert im.mode == "RGB"
