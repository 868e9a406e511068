"""Multi-process training: two spawned CPU processes (DDP over gloo) agree with one process."""

import pytest

import transferkit as tk


@pytest.mark.slow
def test_two_process_ddp_matches_one_process(digits):
    X, y = digits
    kw = dict(backbone="tabular-mlp", strategy="finetune", epochs=3, lr=3e-3, cache=False,
              progress=False)
    one = tk.TransferClassifier(**kw).fit(X[:1000], y[:1000])
    two = tk.TransferClassifier(devices=2, **kw).fit(X[:1000], y[:1000])
    assert two.strategy_.summary["world_size"] == 2 and one.strategy_.summary["world_size"] == 1
    # Same global batches and loss normalisation; only dropout masks (drawn per process) and
    # float reduction order differ. Measured: 0.900 vs 0.893 accuracy, val loss 0.161 vs 0.159.
    acc1, acc2 = one.score(X[1000:], y[1000:]), two.score(X[1000:], y[1000:])
    assert acc2 >= 0.85 and abs(acc1 - acc2) <= 0.02, (acc1, acc2)
    v1 = one.strategy_.history[-1]["val_loss"]
    v2 = two.strategy_.history[-1]["val_loss"]
    assert abs(v1 - v2) <= 0.15 * v1, (v1, v2)
    # The trained weights came back from rank 0 into this process.
    assert not any(p.is_shared() for p in two.backbone_.parameters())
