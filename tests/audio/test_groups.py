"""Leave-one-group-out: no group (speaker) is ever on both sides."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import transferkit as tk
from transferkit.data.groups import group_values, leave_one_group_out, pool_splits
from transferkit.exceptions import DataError


def _tagged(groups: list[str]) -> tk.Dataset:
    n = len(groups)
    return tk.Dataset(list(np.arange(n, dtype=np.float32)[:, None]), np.arange(n) % 3, "audio",
                      "g", np.asarray(groups), {"sample_rate": 8000, "domain_col": "speaker"})


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(["ann", "bob", "cy", "dee", "eve"]), min_size=2, max_size=40))
def test_no_group_on_both_sides(groups):
    if len(set(groups)) < 2:
        with pytest.raises(DataError, match="at least two groups"):
            list(leave_one_group_out(_tagged(groups), "speaker"))
        return
    ds = _tagged(groups)
    seen = []
    for g, train, test in leave_one_group_out(ds, "speaker"):
        assert set(test.domains) == {g}
        assert g not in set(train.domains)
        assert len(train) + len(test) == len(ds)
        # the rows themselves: every row exactly once, on one side
        rows = sorted(float(x[0]) for x in [*train.inputs, *test.inputs])
        assert rows == list(range(len(ds)))
        seen.append(g)
    assert seen == sorted(set(groups))


def test_group_column_must_exist():
    ds = _tagged(["a", "b"])
    assert list(group_values(ds, "speaker")) == ["a", "b"]
    assert list(group_values(ds, "domain")) == ["a", "b"]
    with pytest.raises(DataError, match=r"group column 'site'.*'speaker'.*domain_col='site'"):
        group_values(ds, "site")


@pytest.mark.real_data
def test_fsdd_pooled_folds_are_speaker_independent(fsdd):
    pool = pool_splits(fsdd)
    assert len(pool) == 3000 and pool.meta["sample_rate"] == 8000
    folds = list(leave_one_group_out(pool, "speaker"))
    assert [g for g, _, _ in folds] == sorted(set(fsdd.train.domains))
    for g, train, test in folds:
        assert set(test.domains) == {g} and len(test) == 500
        assert not set(train.domains) & set(test.domains)


def test_compare_group_by_holds_out_each_speaker(make_tone):
    # Two tones per "speaker", each speaker a little off in pitch.
    waves, labels, spk = [], [], []
    for s, shift in enumerate((0.97, 1.0, 1.03)):
        for k in range(6):
            for lab, f in (("low", 300.0), ("high", 1500.0)):
                waves.append(make_tone(f * shift, seconds=0.3, seed=10 * s + k))
                labels.append(lab)
                spk.append(f"s{s}")
    ds = tk.from_arrays(waves, labels=labels, domains=spk, sample_rate=8000, modality="audio")
    ds.meta["domain_col"] = "speaker"
    res = tk.compare(ds, strategies=["baseline:logmel"], shots=[2], seeds=1,
                     group_by="speaker", progress=False)
    assert sorted(res.folds["group"]) == ["s0", "s1", "s2"]
    assert (res.folds["n_test"] == 12).all()
    assert res.config["group_by"] == "speaker" and res.config["groups"] == ["s0", "s1", "s2"]
    # the pooled accuracy is over every held-out row: the size-weighted mean of the folds
    assert res.table["accuracy"].iloc[0] == pytest.approx(res.folds["accuracy"].mean())
    assert res.table["accuracy"].iloc[0] >= 0.9  # two tones: easy even from 2 examples each
    assert "folds" in res.to_record()


def test_compare_defaults_for_audio_leave_out_training_an_onnx_backbone():
    from transferkit.compare.run import default_strategies

    assert default_strategies("audio", "speech-embedding") == [
        "probe", "baseline:logmel", "baseline:logmel-cnn"]
    assert default_strategies("audio", "hf:/some/wav2vec2") == [
        "probe", "finetune", "scratch", "baseline:logmel", "baseline:logmel-cnn"]
