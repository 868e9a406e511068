"""Task sampling, counted: each task's share of every epoch and of every optimiser step."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from transferkit.engine import ExampleData, epoch_plan
from transferkit.strategies.multitask import MultiTaskExamples, epoch_counts, task_shares


def _examples(sizes, sampling, temperature=2.0, batch_size=40, batches="mixed"):
    task_of_row = np.concatenate([np.full(n, t) for t, n in enumerate(sizes)])
    base = ExampleData(np.arange(len(task_of_row), dtype=np.float32)[:, None],
                       np.zeros(len(task_of_row)), lambda x: {"x": torch.as_tensor(x)})
    shares = task_shares(sizes, sampling, temperature)
    return MultiTaskExamples(base, task_of_row, shares, batch_size=batch_size, seed=3,
                             batches=batches)


def _drawn_per_step(data, batch_size, epoch):
    data.set_epoch(epoch)
    return [np.bincount(data.batch(mb.idx)["task"].numpy(), minlength=data.n_tasks)
            for step in epoch_plan(len(data), batch_size, epoch, 3) for mb in step]


def test_mixed_batches_hold_every_task_in_its_share_in_every_step():
    sizes = [900, 100]  # shares sqrt: 30 : 10 -> 0.75 / 0.25 (proportional: 0.9 / 0.1)
    data = _examples(sizes, "temperature", 2.0)
    steps = _drawn_per_step(data, 40, epoch=0)
    total = np.sum(steps, axis=0)
    assert total.tolist() == [750, 250]
    # every step of 40 holds 30 + 10, not only the epoch as a whole
    assert all(s.tolist() == [30, 10] for s in steps)
    # the small task is up-sampled: its 100 rows each seen 2 or 3 times
    rows = np.concatenate([data.mapping[mb.idx] for st in epoch_plan(1000, 40, 0, 3)
                           for mb in st])
    seen = np.bincount(rows[rows >= 900] - 900, minlength=100)
    assert seen.min() == 2 and seen.max() == 3


def test_per_task_batches_give_whole_steps_to_tasks_in_their_shares():
    data = _examples([900, 100], "temperature", 2.0, batches="per_task")
    steps = _drawn_per_step(data, 40, epoch=0)
    assert all(int((s > 0).sum()) == 1 for s in steps)  # one task per step
    step_tasks = [int(np.argmax(s)) for s in steps]
    # 25 steps, shares 0.75 / 0.25 -> 19 / 6 steps, the small task's spread over the epoch
    assert np.bincount(step_tasks).tolist() == [19, 6]
    assert max(np.diff(np.flatnonzero(np.array(step_tasks) == 1))) <= 5
    rr = _examples([900, 100], "round_robin", batches="per_task")
    assert [int(np.argmax(s)) for s in _drawn_per_step(rr, 40, 0)][:6] == [0, 1, 0, 1, 0, 1]


@pytest.mark.parametrize("sampling, expected", [("proportional", [900, 100]),
                                                 ("round_robin", [500, 500])])
def test_proportional_and_round_robin_counts(sampling, expected):
    data = _examples([900, 100], sampling)
    assert np.sum(_drawn_per_step(data, 40, epoch=1), axis=0).tolist() == expected


def test_a_new_epoch_draws_other_rows_of_a_down_sampled_task():
    data = _examples([900, 100], "round_robin")
    data.set_epoch(0)
    first = set(data.mapping[data.task_of_row[data.mapping] == 0])
    data.set_epoch(1)
    second = set(data.mapping[data.task_of_row[data.mapping] == 0])
    assert len(first) == len(second) == 500 and first != second


def test_epoch_counts_sum_to_the_total():
    counts = epoch_counts(1001, task_shares([5, 7, 11], "temperature", 3.0))
    assert counts.sum() == 1001 and np.all(counts > 0)
