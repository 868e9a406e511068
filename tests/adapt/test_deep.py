"""Deep methods on the engine: DANN beats source-only on rotated moons; self-training never
sees target labels; paired batches; save/load of a trained network."""

import numpy as np
import pytest

import transferkit as tk
from transferkit.adapt.training import FeatureInput, PairedData
from transferkit.adapt.validators import information_maximization


def _dann(moons, **kw):
    S, T = moons
    # A random MLP trained from a random head: adaptation, not an LP-FT warm start, has to
    # move the boundary.
    params = dict(method="dann", backbone="test-mlp2", train_backbone=True, epochs=15,
                  steps_per_epoch=20, lr=0.01, backbone_lr_mult=1.0, batch_size=32, seed=0,
                  head_init="random", cache=False, progress=False)
    params.update(kw)
    return tk.DomainAdapter(**params).fit(S, T)


@pytest.fixture(scope="module")
def dann_model(moons):
    return _dann(moons)


def test_dann_beats_source_only_on_rotated_moons(dann_model, moons):
    rec = dann_model.evaluate_target(moons[1])
    assert rec["baseline"] == "source-net"
    assert rec["target_accuracy"] >= rec["source_only_accuracy"] + 0.1, rec
    assert rec["target_accuracy"] > 0.85
    hist = dann_model.strategy_.history
    assert len(hist) == 15 and all(np.isfinite(h["train_loss"]) for h in hist)
    # The schedule ramped the adversarial weight up to ~1 and the domains became harder to
    # tell apart than at the start.
    assert hist[0]["lambda"] < hist[-1]["lambda"] and hist[-1]["lambda"] > 0.99
    assert hist[-1]["domain_accuracy"] < 0.8
    assert set(rec["validators"]) == {"dev", "im", "entropy", "snd", "rv"}


def test_deep_run_round_trips_through_a_run_folder(dann_model, moons, tmp_path):
    S, T = moons
    dann_model.evaluate_target(T)  # the record then holds the target accuracy, in any order
    out = dann_model.save(tmp_path / "run")
    back = tk.DomainAdapter.load(out)
    np.testing.assert_allclose(back.predict_proba(T), dann_model.predict_proba(T), atol=1e-6)
    assert back.get_params() == dann_model.get_params()
    rec = tk.runs.read_record(out)
    assert rec["kind"] == "adapt" and rec["adapt"]["method"] == "dann"
    assert rec["adapt"]["target_accuracy"] == dann_model.adaptation_record()["target_accuracy"]
    assert (tmp_path / "run" / "backbone.safetensors").exists()  # the backbone trained
    assert back.adaptation_record()["method"] == "dann"
    assert back.evaluate_target(T)["target_accuracy"] == rec["adapt"]["target_accuracy"]


def test_selftraining_never_sees_target_labels(moons, monkeypatch):
    from transferkit.adapt.selftrain import SelfTrainingMethod

    S, T = moons
    assert T.labels is not None
    seen = {"contexts": [], "batches": 0, "target_label_batches": 0}
    fit = SelfTrainingMethod.fit
    batch = PairedData.batch

    def spy_fit(self, ctx):
        seen["contexts"].append((ctx.target.labels, ctx.target_labelled, ctx.yt,
                                 ctx.target.meta.get("labelled")))
        return fit(self, ctx)

    def spy_batch(self, idx):
        out = batch(self, idx)
        seen["batches"] += 1
        seen["target_label_batches"] += "target_labels" in out
        assert self.target_labels is None
        return out

    monkeypatch.setattr(SelfTrainingMethod, "fit", spy_fit)
    monkeypatch.setattr(PairedData, "batch", spy_batch)
    params = dict(method="selftrain", backbone="test-identity2", epochs=5, batch_size=32,
                  baseline=False, cache=False, progress=False, seed=0)
    with_labels = tk.DomainAdapter(**params).fit(S, T)
    assert seen["contexts"] and all(c[0] is None and c[1] is None and c[2] is None
                                    for c in seen["contexts"])
    assert seen["batches"] > 0 and seen["target_label_batches"] == 0
    # Behaviour: the same fit on the same inputs without any labels gives the same model.
    without = tk.DomainAdapter(**params).fit(S, T.without_labels())
    np.testing.assert_array_equal(with_labels.predict_proba(T), without.predict_proba(T))
    assert T.labels is not None  # the caller's dataset is left as it was


def test_paired_batches_hold_both_domains_and_cover_the_larger_one():
    xs = np.arange(10, dtype=np.float32)[:, None]
    xt = 100 + np.arange(25, dtype=np.float32)[:, None]
    data = PairedData(xs, np.arange(10) % 2, xt, FeatureInput.preprocess, seed=0)
    assert len(data) == 25
    b = data.batch(np.arange(25))
    x = b["inputs"]["x"].numpy()[:, 0]
    assert b["n_source"] == 25 and set(x[:25]) == set(range(10))
    assert sorted(x[25:]) == list(range(100, 125))  # every target row once per epoch
    assert "target_labels" not in b
    data.set_epoch(1)
    assert not np.array_equal(data.batch(np.arange(5))["inputs"]["x"], b["inputs"]["x"][:5])


def test_union_trains_on_the_few_labelled_target_rows(moons, monkeypatch):
    S, T = moons
    seen = []
    batch = PairedData.batch

    def spy(self, idx):
        out = batch(self, idx)
        seen.append(out["target_labels"].numpy())
        return out

    monkeypatch.setattr(PairedData, "batch", spy)
    model = tk.DomainAdapter(method="union", backbone="test-identity2", target_labels=5,
                             epochs=3, batch_size=32, baseline=False, cache=False,
                             progress=False).fit(S, T)
    rec = model.evaluate_target(T)
    assert rec["n_target_labelled"] == 10 and rec["n_target_evaluated"] == len(T) - 10
    used = set(np.concatenate(seen).tolist())
    assert used == {0, 1}
    # Only the 10 labelled target rows are ever paired: 5 per class.
    assert len(model.target_label_rows_) == 10


def test_information_maximization_on_target_pulls_the_boundary_into_the_gap(moons):
    # Rotated moons: the source boundary cuts through the target's moons; confident and
    # balanced target predictions are only possible with the boundary in the low-density gap.
    S, T = moons
    plain = _dann(moons, method="source-net", baseline=False)
    im = _dann(moons, method="source-net", baseline=False, im_weight=1.0)
    acc_plain, acc_im = plain.score(T), im.score(T)
    assert acc_im >= acc_plain + 0.1 and acc_im > 0.9, (acc_plain, acc_im)
    assert im.strategy_.summary["im_weight"] == 1.0
    # Its training loss ends below the loss of the plain network's target predictions.
    assert im.strategy_.history[-1]["target_im"] < -information_maximization(
        plain.predict_proba(T))


def test_unfreeze_trains_only_the_top_layer_groups(moons):
    import torch

    S, T = moons
    bb = tk.create_backbone("tabular-mlp", in_features=2)
    before = {n: {k: v.clone() for k, v in g.state_dict().items()} for n, g in bb.layer_groups()}
    model = tk.DomainAdapter(method="dann", backbone=bb, train_backbone=True, unfreeze=1,
                             epochs=3, steps_per_epoch=10, batch_size=32, seed=0, cache=False,
                             progress=False).fit(S, T.without_labels())
    for name in ("source-net", "dann"):
        summary = model.candidates_[name]["model"].summary
        assert summary["trainable_groups"] == ["block.1"]
        assert not summary["cached_frozen_part"]  # an MLP has no split: the full forward runs
        assert summary["head_init"] is None  # trained from scratch: no frozen features to probe
    tuned = dict(model.backbone_.layer_groups())
    assert all(torch.equal(v, tuned["block.0"].state_dict()[k])
               for k, v in before["block.0"].items())
    assert any(not torch.equal(v, tuned["block.1"].state_dict()[k])
               for k, v in before["block.1"].items())
    # unfreeze=0: no backbone group trains, so the method trains on frozen features.
    frozen = tk.DomainAdapter(method="source-net", backbone="tabular-mlp", train_backbone=True,
                              unfreeze=0, epochs=2, seed=0, cache=False, progress=False,
                              baseline=False).fit(S, T.without_labels())
    assert frozen.strategy_.summary["train_backbone"] is False


@pytest.mark.parametrize("bad", [-1, 1.5, "layer.x,", {"top": 2}])
def test_a_bad_unfreeze_fails_before_fitting(moons, bad):
    with pytest.raises(tk.ConfigError, match="unfreeze"):
        tk.DomainAdapter(method="dann", backbone="tabular-mlp", unfreeze=bad).fit(*moons)


def test_unfreeze_is_checked_against_the_backbone_before_any_candidate_fits(moons):
    S, T = moons
    with pytest.raises(tk.ConfigError, match="more layer groups than there are"):
        tk.DomainAdapter(method="auto", backbone="tabular-mlp", unfreeze=5, cache=False,
                         progress=False).fit(S, T)
    with pytest.raises(tk.ConfigError, match="Unknown layer group"):
        tk.DomainAdapter(method="dann", backbone="tabular-mlp", unfreeze=["block.9"],
                         cache=False, progress=False).fit(S, T)


def test_unfreeze_alone_turns_training_on_and_zero_turns_it_off():
    from transferkit.adapt.deep import trains_backbone

    pretrained = tk.create_backbone("test-mlp2")  # rebuildable: frozen unless asked
    assert not trains_backbone({}, pretrained)
    assert trains_backbone({"unfreeze": 1}, pretrained)
    assert not trains_backbone({"unfreeze": 0, "train_backbone": True}, pretrained)
    assert not trains_backbone({"unfreeze": 2, "train_backbone": False}, pretrained)


def test_frozen_states_beyond_the_memory_budget_fall_back_to_the_full_forward(moons,
                                                                              monkeypatch):
    from transferkit.adapt import base
    from transferkit.backbones import split as split_mod

    class Split:  # 100 bytes of states per row
        k = 1

        def estimate_nbytes(self, inputs):
            return 100 * len(inputs)

        @staticmethod
        def nbytes(states):
            return 0

    S, T = moons
    ctx = base.AdaptContext(None, -1, S, S.labels, T.without_labels(), 2, {})
    monkeypatch.setattr(split_mod, "MAX_FROZEN_STATE_BYTES", 100 * (len(S) + len(T)))
    assert ctx.fits_frozen_states(Split(), S, T.without_labels())
    monkeypatch.setattr(split_mod, "MAX_FROZEN_STATE_BYTES", 100 * (len(S) + len(T)) - 1)
    assert not ctx.fits_frozen_states(Split(), S, None, T.without_labels())
